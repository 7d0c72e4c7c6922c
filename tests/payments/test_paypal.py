"""The PayPal adapter against a local fake of PayPal's REST API (no database, no internet)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator

import pytest

from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.payments.providers import paypal as paypal_module
from esimdesk.payments.providers.base import (
    FinalProviderError,
    NotConfigured,
    ProviderEvent,
    RetryableProviderError,
    SavedMethod,
    SignatureError,
    StartRequest,
)
from esimdesk.payments.providers.paypal import PayPalProvider
from esimdesk.payments.providers.paypal_resources import mask_email
from tests.payments.fakes.paypal import PayPalFake, paypal_fake  # noqa: F401

USD_12_34 = Money(1234, "USD")


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    """The adapter shares OAuth tokens process-wide; each test starts without any."""
    paypal_module._tokens.clear()
    yield
    paypal_module._tokens.clear()


@pytest.fixture
def fake(paypal_fake: PayPalFake) -> PayPalFake:  # noqa: F811
    return paypal_fake


@pytest.fixture
def provider(fake: PayPalFake) -> PayPalProvider:
    return PayPalProvider()


def request(payment_id: str = "pay_1", amount: Money = USD_12_34, **extra: object) -> StartRequest:
    fields: dict = {"payment_id": payment_id, "amount": amount, "description": "Order ES-1001",
                    "return_url": "https://shop.example/pay/return",
                    "cancel_url": "https://shop.example/pay/cancel",
                    "notify_url": "https://shop.example/hooks/payments/paypal", **extra}
    return StartRequest(**fields)


def paid(provider: PayPalProvider, fake: PayPalFake, payment_id: str = "pay_1",
         amount: Money = USD_12_34, **extra: object) -> tuple[str, ProviderEvent]:
    """Start, approve at PayPal, come back: the order id and the captured fact."""
    order_id = provider.start(request(payment_id, amount, **extra)).provider_reference
    fake.approve(order_id, payer_email="alex@example.com")
    event = provider.query(payment_id=payment_id, provider_reference=order_id)
    assert event is not None
    return order_id, event


def same_fact(a: ProviderEvent, b: ProviderEvent) -> bool:
    return (a.type, a.provider_reference, a.amount, a.method, a.saved_method) == \
        (b.type, b.provider_reference, b.amount, b.method, b.saved_method)


# -- start ----------------------------------------------------------------------------------

def test_start_creates_an_order_and_redirects_to_paypal(provider: PayPalProvider,
                                                         fake: PayPalFake) -> None:
    result = provider.start(request(language="zh-hans"))
    sent = fake.requests[-1]
    assert (sent["method"], sent["path"]) == ("POST", "/v2/checkout/orders")
    assert sent["headers"]["paypal-request-id"] == "pay_1"
    assert sent["headers"]["authorization"].startswith("Bearer A21AA")
    body = sent["json"]
    assert body["intent"] == "CAPTURE"
    unit = body["purchase_units"][0]
    assert (unit["reference_id"], unit["custom_id"]) == ("pay_1", "pay_1")
    assert unit["amount"] == {"currency_code": "USD", "value": "12.34"}
    context = body["payment_source"]["paypal"]["experience_context"]
    assert context["return_url"] == "https://shop.example/pay/return"
    assert context["cancel_url"] == "https://shop.example/pay/cancel"
    assert (context["locale"], context["user_action"]) == ("zh-CN", "PAY_NOW")
    assert "attributes" not in body["payment_source"]["paypal"]
    assert result.provider_reference in fake.orders
    assert result.next_action.type == "redirect"
    assert result.next_action.url == \
        f"{fake.base_url}/checkoutnow?token={result.provider_reference}"


def test_start_is_idempotent_on_the_payment_id(provider: PayPalProvider,
                                               fake: PayPalFake) -> None:
    first = provider.start(request())
    again = PayPalProvider().start(request())
    assert again == first
    assert len(fake.orders) == 1
    assert fake.requests[-1]["json"]["purchase_units"][0]["amount"]["value"] == "12.34"


def test_jpy_has_no_decimals(provider: PayPalProvider, fake: PayPalFake) -> None:
    order_id, event = paid(provider, fake, amount=Money(1500, "JPY"))
    assert fake.orders[order_id]["purchase_units"][0]["amount"]["value"] == "1500"
    assert event.amount == Money(1500, "JPY")


def test_currencies_come_from_configuration(fake: PayPalFake,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_PAYPAL_CURRENCIES", "usd, jpy")
    adapter = PayPalProvider()
    assert adapter.currencies == frozenset({"USD", "JPY"})
    assert adapter.supports("JPY") and not adapter.supports("EUR")
    with pytest.raises(FinalProviderError) as error:
        adapter.start(request(amount=Money(1000, "EUR")))
    assert error.value.code == "unsupported_currency"
    assert fake.calls == []


# -- query: capture on return ---------------------------------------------------------------

def test_happy_path_query_captures_and_the_webhook_states_the_same_fact(
        provider: PayPalProvider, fake: PayPalFake) -> None:
    order_id = provider.start(request()).provider_reference
    assert provider.query(payment_id="pay_1", provider_reference=order_id) is None  # not paid
    fake.approve(order_id, payer_email="alex@example.com")

    event = provider.query(payment_id="pay_1", provider_reference=order_id)

    assert event is not None
    assert event.type == "succeeded"
    assert event.event_id == f"query:{order_id}:succeeded"
    assert event.provider_reference == order_id
    assert event.amount == USD_12_34
    assert event.method == "PayPal a•••@example.com"
    assert event.saved_method is None
    assert "payer" not in event.raw and "payment_source" not in event.raw  # no personal data
    capture = [r for r in fake.requests if r["path"].endswith("/capture")]
    assert [r["headers"]["paypal-request-id"] for r in capture] == ["capture-pay_1"]
    assert fake.orders[order_id]["status"] == "COMPLETED"

    headers, body = fake.webhook("PAYMENT.CAPTURE.COMPLETED",
                                        fake.capture_resource(order_id))
    [hook] = provider.parse_webhook(body=body, headers=headers)
    assert hook.event_id == json.loads(body)["id"]
    assert same_fact(hook, event)


def test_a_completed_order_is_not_captured_again(provider: PayPalProvider,
                                                 fake: PayPalFake) -> None:
    order_id, first = paid(provider, fake)
    again = provider.query(payment_id="pay_1", provider_reference=order_id)
    assert again == first
    assert fake.count("POST", f"/v2/checkout/orders/{order_id}/capture") == 1


def test_return_url_and_reconciliation_at_once_capture_once(provider: PayPalProvider,
                                                            fake: PayPalFake) -> None:
    order_id = provider.start(request()).provider_reference
    fake.approve(order_id)
    approved = json.loads(json.dumps(fake.orders[order_id]))
    # Both callers saw APPROVED; PayPal-Request-Id makes the second capture the first one.
    first = provider._capture("pay_1", approved)
    second = PayPalProvider()._capture("pay_1", approved)
    assert first == second and first is not None and first.type == "succeeded"
    assert len(fake.captures) == 1


def test_concurrent_queries_capture_once(provider: PayPalProvider,
                                         fake: PayPalFake) -> None:
    order_id = provider.start(request()).provider_reference
    fake.approve(order_id)
    results: list[ProviderEvent | None] = []

    def query() -> None:
        results.append(PayPalProvider().query(payment_id="pay_1", provider_reference=order_id))

    threads = [threading.Thread(target=query) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 4
    assert {r.event_id for r in results if r} == {f"query:{order_id}:succeeded"}
    assert len(fake.captures) == 1


def test_a_lost_capture_answer_is_retryable_and_the_next_query_finds_the_money(
        provider: PayPalProvider, fake: PayPalFake) -> None:
    order_id = provider.start(request()).provider_reference
    fake.approve(order_id)
    fake.fail_next("POST", f"/v2/checkout/orders/{order_id}/capture", 503, after=True)
    with pytest.raises(RetryableProviderError):
        provider.query(payment_id="pay_1", provider_reference=order_id)
    event = provider.query(payment_id="pay_1", provider_reference=order_id)
    assert event is not None and event.type == "succeeded" and event.amount == USD_12_34
    assert len(fake.captures) == 1


@pytest.mark.parametrize(("issue", "code"), [("INSTRUMENT_DECLINED", "instrument_declined"),
                                             ("PAYER_ACTION_REQUIRED", "payer_action_required"),
                                             (None, "declined_by_risk_fraud_filters")])
def test_a_refused_capture_is_a_declined_event(provider: PayPalProvider,
                                               fake: PayPalFake, issue: str | None,
                                               code: str) -> None:
    order_id = provider.start(request()).provider_reference
    fake.approve(order_id)
    fake.make_declining(order_id, issue)
    event = provider.query(payment_id="pay_1", provider_reference=order_id)
    assert event is not None
    assert (event.type, event.failure_code) == ("declined", code)
    assert event.event_id == f"query:{order_id}:declined"
    assert event.provider_reference == order_id
    assert event.amount == USD_12_34
    assert event.method == "PayPal a•••@example.com"


def test_a_voided_order_is_declined(provider: PayPalProvider, fake: PayPalFake) -> None:
    order_id = provider.start(request()).provider_reference
    fake.orders[order_id]["status"] = "VOIDED"
    event = provider.query(payment_id="pay_1", provider_reference=order_id)
    assert event is not None and (event.type, event.failure_code) == ("declined", "voided")


def test_query_refuses_an_order_of_another_payment(provider: PayPalProvider,
                                                   fake: PayPalFake) -> None:
    order_id = provider.start(request("pay_1")).provider_reference
    fake.approve(order_id)
    with pytest.raises(FinalProviderError) as error:
        provider.query(payment_id="pay_2", provider_reference=order_id)
    assert error.value.code == "wrong_payment"
    assert fake.captures == {}


def test_an_unknown_order_is_a_final_error(provider: PayPalProvider) -> None:
    with pytest.raises(FinalProviderError) as error:
        provider.query(payment_id="pay_1", provider_reference="0NO5UCH0RDER00000")
    assert error.value.code == "invalid_resource_id"


def test_wrong_amount_and_currency_are_reported_as_paypal_states_them(
        provider: PayPalProvider, fake: PayPalFake) -> None:
    order_id = provider.start(request()).provider_reference
    fake.set_amount(order_id, "9.99", "EUR")
    fake.approve(order_id)
    event = provider.query(payment_id="pay_1", provider_reference=order_id)
    assert event is not None and event.type == "succeeded"
    assert event.amount == Money(999, "EUR")
    headers, body = fake.webhook("PAYMENT.CAPTURE.COMPLETED",
                                        fake.capture_resource(order_id))
    [hook] = provider.parse_webhook(body=body, headers=headers)
    assert hook.amount == Money(999, "EUR")


# -- webhooks -------------------------------------------------------------------------------

def test_declined_and_denied_capture_webhooks(provider: PayPalProvider,
                                              fake: PayPalFake) -> None:
    order_id, _ = paid(provider, fake)
    resource = fake.capture_resource(order_id)
    resource.update(status="DECLINED", status_details={"reason": "DECLINED_BY_RISK_FRAUD_FILTERS"})
    for kind in ("PAYMENT.CAPTURE.DECLINED", "PAYMENT.CAPTURE.DENIED"):
        headers, body = fake.webhook(kind, resource)
        [event] = provider.parse_webhook(body=body, headers=headers)
        assert (event.type, event.provider_reference) == ("declined", order_id)
        assert event.failure_code == "declined_by_risk_fraud_filters"
        assert event.amount == USD_12_34


def test_the_order_is_found_through_the_up_link_too(provider: PayPalProvider,
                                                    fake: PayPalFake) -> None:
    order_id, _ = paid(provider, fake)
    resource = fake.capture_resource(order_id)
    del resource["supplementary_data"]
    headers, body = fake.webhook("PAYMENT.CAPTURE.COMPLETED", resource)
    [event] = provider.parse_webhook(body=body, headers=headers)
    assert event.provider_reference == order_id


def test_the_completed_webhook_stands_when_the_payer_cannot_be_looked_up(
        provider: PayPalProvider, fake: PayPalFake) -> None:
    order_id, _ = paid(provider, fake)
    headers, body = fake.webhook("PAYMENT.CAPTURE.COMPLETED", fake.capture_resource(order_id))
    fake.fail_next("GET", f"/v2/checkout/orders/{order_id}", 503)
    [event] = provider.parse_webhook(body=body, headers=headers)
    assert (event.type, event.provider_reference, event.amount) == \
        ("succeeded", order_id, USD_12_34)
    assert event.method == "PayPal"


@pytest.mark.parametrize("kind", ["CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.REVERSED",
                                  "CUSTOMER.DISPUTE.CREATED"])
def test_event_types_esimdesk_does_not_use_are_empty(provider: PayPalProvider,
                                                     fake: PayPalFake, kind: str) -> None:
    order_id = provider.start(request()).provider_reference
    headers, body = fake.webhook(kind, {"id": order_id, "status": "APPROVED"})
    assert provider.parse_webhook(body=body, headers=headers) == []
    assert fake.count("POST", "/v1/notifications/verify-webhook-signature") == 1


@pytest.mark.parametrize(("tamper", "asked"), [("signature", 1), ("body", 1), ("cert", 0),
                                               ("algo", 0)])
def test_a_forged_message_is_refused(provider: PayPalProvider, fake: PayPalFake,
                                     tamper: str, asked: int) -> None:
    """A good-looking forgery needs PayPal's verdict; a certificate URL off PayPal's hosts
    or another algorithm is refused before asking."""
    order_id, _ = paid(provider, fake)
    headers, body = fake.webhook("PAYMENT.CAPTURE.COMPLETED",
                                        fake.capture_resource(order_id))
    if tamper == "signature":
        other, _ = fake.webhook("PAYMENT.CAPTURE.COMPLETED", {})
        headers["Paypal-Transmission-Sig"] = other["Paypal-Transmission-Sig"]
    elif tamper == "body":
        body = body.replace(b'"value": "12.34"', b'"value": "0.01"')
        assert b"0.01" in body
    elif tamper == "cert":
        headers["Paypal-Cert-Url"] = "https://evil.example/cert.pem"
    else:
        headers["Paypal-Auth-Algo"] = "SHA1withRSA"
    with pytest.raises(SignatureError) as error:
        provider.parse_webhook(body=body, headers=headers)
    assert error.value.code == "bad_signature"
    assert fake.count("POST", "/v1/notifications/verify-webhook-signature") == asked


def test_missing_headers_or_junk_are_refused_without_asking_paypal(
        provider: PayPalProvider, fake: PayPalFake) -> None:
    headers, body = fake.webhook("PAYMENT.CAPTURE.COMPLETED", {})
    for bad_headers, bad_body in [({}, body), ({**headers, "Paypal-Transmission-Time": "soon"},
                                               body), (headers, b"not json")]:
        with pytest.raises(SignatureError) as error:
            provider.parse_webhook(body=bad_body, headers=bad_headers)
        assert error.value.code == "bad_signature"
    assert fake.count("POST", "/v1/notifications/verify-webhook-signature") == 0


@pytest.mark.parametrize("offset", [dt.timedelta(minutes=-6), dt.timedelta(minutes=6)])
def test_a_stale_transmission_is_refused_before_verification(
        provider: PayPalProvider, fake: PayPalFake, offset: dt.timedelta) -> None:
    headers, body = fake.webhook("PAYMENT.CAPTURE.COMPLETED", {},
                                        transmission_time=clock.now() + offset)
    with pytest.raises(SignatureError) as error:
        provider.parse_webhook(body=body, headers=headers)
    assert error.value.code == "stale_signature"
    assert fake.count("POST", "/v1/notifications/verify-webhook-signature") == 0


def test_a_message_within_tolerance_verifies(provider: PayPalProvider,
                                             fake: PayPalFake) -> None:
    headers, body = fake.webhook("CHECKOUT.ORDER.APPROVED", {},
                                        transmission_time=clock.now() - dt.timedelta(minutes=4))
    assert provider.parse_webhook(body=body, headers=headers) == []


def test_verification_outage_is_retryable(provider: PayPalProvider,
                                          fake: PayPalFake) -> None:
    headers, body = fake.webhook("CHECKOUT.ORDER.APPROVED", {})
    fake.fail_next("POST", "/v1/notifications/verify-webhook-signature", 503)
    with pytest.raises(RetryableProviderError):
        provider.parse_webhook(body=body, headers=headers)


def test_an_inexact_amount_is_refused(provider: PayPalProvider, fake: PayPalFake) -> None:
    order_id, _ = paid(provider, fake)
    resource = fake.capture_resource(order_id)
    resource["amount"] = {"currency_code": "USD", "value": "12.345"}
    headers, body = fake.webhook("PAYMENT.CAPTURE.COMPLETED", resource)
    with pytest.raises(FinalProviderError) as error:
        provider.parse_webhook(body=body, headers=headers)
    assert error.value.code == "bad_amount"


# -- refunds --------------------------------------------------------------------------------

def test_full_refund_and_its_webhook(provider: PayPalProvider, fake: PayPalFake) -> None:
    order_id, _ = paid(provider, fake)
    result = provider.refund(refund_id="rf_1", payment_id="pay_1", provider_reference=order_id,
                             amount=USD_12_34, reason="eSIM never installed")
    assert result.status == "succeeded"
    assert result.provider_refund_id in fake.refunds
    sent = fake.requests[-1]
    assert sent["path"].endswith("/refund")
    assert sent["headers"]["paypal-request-id"] == "rf_1"
    assert sent["json"] == {"amount": {"currency_code": "USD", "value": "12.34"},
                            "invoice_id": "rf_1", "note_to_payer": "eSIM never installed"}
    assert fake.capture_resource(order_id)["status"] == "REFUNDED"

    resource = fake.refund_resource(result.provider_refund_id)
    assert "supplementary_data" not in resource  # PayPal names only the capture
    headers, body = fake.webhook("PAYMENT.CAPTURE.REFUNDED", resource)
    [event] = provider.parse_webhook(body=body, headers=headers)
    assert event.type == "refunded"
    assert event.event_id == json.loads(body)["id"]
    assert event.provider_reference == order_id
    assert event.refund_reference == "rf_1"
    assert event.amount == USD_12_34


def test_partial_refunds_until_nothing_is_left(provider: PayPalProvider,
                                               fake: PayPalFake) -> None:
    order_id, _ = paid(provider, fake)
    first = provider.refund(refund_id="rf_1", payment_id="pay_1", provider_reference=order_id,
                            amount=Money(1000, "USD"))
    assert first.status == "succeeded"
    assert fake.capture_resource(order_id)["status"] == "PARTIALLY_REFUNDED"
    with pytest.raises(FinalProviderError) as error:
        provider.refund(refund_id="rf_2", payment_id="pay_1", provider_reference=order_id,
                        amount=Money(235, "USD"))
    assert error.value.code == "refund_amount_exceeded"
    rest = provider.refund(refund_id="rf_3", payment_id="pay_1", provider_reference=order_id,
                           amount=Money(234, "USD"))
    assert rest.status == "succeeded"
    assert sorted(fake.refunds[r]["amount"]["value"] for r in fake.refunds) == \
        ["10.00", "2.34"]
    headers, body = fake.webhook("PAYMENT.CAPTURE.REFUNDED",
                                        fake.refund_resource(rest.provider_refund_id))
    [event] = provider.parse_webhook(body=body, headers=headers)
    assert (event.amount, event.refund_reference) == (Money(234, "USD"), "rf_3")


def test_a_refund_is_idempotent_on_the_refund_id(provider: PayPalProvider,
                                                 fake: PayPalFake) -> None:
    order_id, _ = paid(provider, fake)
    kwargs = {"refund_id": "rf_1", "payment_id": "pay_1", "provider_reference": order_id,
              "amount": Money(500, "USD")}
    first = provider.refund(**kwargs)  # type: ignore[arg-type]
    again = PayPalProvider().refund(**kwargs)  # type: ignore[arg-type]
    assert again == first
    assert len(fake.refunds) == 1


def test_a_pending_refund_and_a_dashboard_refund(provider: PayPalProvider,
                                                 fake: PayPalFake) -> None:
    order_id, _ = paid(provider, fake)
    fake.next_refund_status = "PENDING"
    result = provider.refund(refund_id="rf_1", payment_id="pay_1", provider_reference=order_id,
                             amount=Money(100, "USD"))
    assert result.status == "pending"
    refund = fake.refund_resource(result.provider_refund_id)
    headers, body = fake.webhook("PAYMENT.CAPTURE.REFUNDED", refund)
    assert provider.parse_webhook(body=body, headers=headers) == []  # not done yet
    # Refunded in PayPal's dashboard: no invoice id, so the PayPal refund id is the reference.
    refund.update(status="COMPLETED")
    del refund["invoice_id"]
    headers, body = fake.webhook("PAYMENT.CAPTURE.REFUNDED", refund)
    [event] = provider.parse_webhook(body=body, headers=headers)
    assert (event.refund_reference, event.provider_reference) == (refund["id"], order_id)


def test_refund_of_an_uncaptured_order_is_refused(provider: PayPalProvider) -> None:
    order_id = provider.start(request()).provider_reference
    with pytest.raises(FinalProviderError) as error:
        provider.refund(refund_id="rf_1", payment_id="pay_1", provider_reference=order_id,
                        amount=USD_12_34)
    assert error.value.code == "not_captured"


# -- saved methods (PayPal vault) -----------------------------------------------------------

def test_vaulted_paypal_is_charged_off_session(provider: PayPalProvider,
                                               fake: PayPalFake) -> None:
    order_id, event = paid(provider, fake, save_method=True)
    vault = fake.requests[1]["json"]["payment_source"]["paypal"]["attributes"]["vault"]
    assert (vault["store_in_vault"], vault["usage_type"]) == ("ON_SUCCESS", "MERCHANT")
    saved = event.saved_method
    assert saved is not None and saved.token in fake.vault
    assert saved.label == "PayPal a•••@example.com" and saved.customer_token
    headers, body = fake.webhook("PAYMENT.CAPTURE.COMPLETED",
                                        fake.capture_resource(order_id))
    assert provider.parse_webhook(body=body, headers=headers)[0].saved_method == saved

    renewal = provider.charge_saved(payment_id="pay_2", method=saved, amount=Money(999, "USD"),
                                    description="Renewal ES-1002")
    assert renewal.type == "succeeded" and renewal.amount == Money(999, "USD")
    assert renewal.event_id == f"query:{renewal.provider_reference}:succeeded"
    source = fake.requests[-1]["json"]["payment_source"]["paypal"]
    assert source["vault_id"] == saved.token
    assert source["stored_credential"]["payment_initiator"] == "MERCHANT"
    again = PayPalProvider().charge_saved(payment_id="pay_2", method=saved,
                                          amount=Money(999, "USD"), description="Renewal")
    assert again == renewal
    assert len(fake.captures) == 2  # the first payment and one renewal


@pytest.mark.parametrize(("issue", "code"), [("INSTRUMENT_DECLINED", "instrument_declined"),
                                             (None, "declined_by_risk_fraud_filters")])
def test_a_refused_off_session_charge_is_declined(provider: PayPalProvider,
                                                  fake: PayPalFake, issue: str | None,
                                                  code: str) -> None:
    _, event = paid(provider, fake, save_method=True)
    assert event.saved_method is not None
    fake.make_declining(event.saved_method.token, issue)
    renewal = provider.charge_saved(payment_id="pay_2", method=event.saved_method,
                                    amount=USD_12_34, description="Renewal")
    assert (renewal.type, renewal.failure_code, renewal.amount) == ("declined", code, USD_12_34)


def test_an_unknown_vault_token_is_a_final_error(provider: PayPalProvider) -> None:
    with pytest.raises(FinalProviderError):
        provider.charge_saved(payment_id="pay_2", method=SavedMethod(token="gone", label="x"),
                              amount=USD_12_34, description="Renewal")


# -- configuration, transport, tokens -------------------------------------------------------

def test_missing_keys_raise_not_configured(fake: PayPalFake,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESIMDESK_PAYPAL_CLIENT_SECRET")
    monkeypatch.setenv("ESIMDESK_PAYPAL_WEBHOOK_ID", " ")
    with pytest.raises(NotConfigured) as error:
        PayPalProvider()
    assert "ESIMDESK_PAYPAL_CLIENT_SECRET" in str(error.value)
    assert "ESIMDESK_PAYPAL_WEBHOOK_ID" in str(error.value)
    assert "ESIMDESK_PAYPAL_CLIENT_ID" not in str(error.value)
    assert set(PayPalProvider.required_settings) == {
        "ESIMDESK_PAYPAL_CLIENT_ID", "ESIMDESK_PAYPAL_CLIENT_SECRET", "ESIMDESK_PAYPAL_WEBHOOK_ID"}


def test_a_timeout_is_retryable(provider: PayPalProvider, fake: PayPalFake) -> None:
    provider.timeout = 0.3
    fake.stall_next("POST", "/v2/checkout/orders")
    with pytest.raises(RetryableProviderError) as error:
        provider.start(request())
    assert error.value.code == "network"


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_rate_limits_are_retryable(provider: PayPalProvider,
                                                     fake: PayPalFake,
                                                     status: int) -> None:
    fake.fail_next("POST", "/v2/checkout/orders", status)
    with pytest.raises(RetryableProviderError) as error:
        provider.start(request())
    assert error.value.code == f"http_{status}"
    assert provider.start(request()).provider_reference in fake.orders  # then it works


def test_client_errors_are_final(provider: PayPalProvider, fake: PayPalFake) -> None:
    fake.fail_next("POST", "/v2/checkout/orders", 400)
    with pytest.raises(FinalProviderError) as error:
        provider.start(request())
    assert not isinstance(error.value, RetryableProviderError)
    assert error.value.code == "invalid_parameter_value"


def test_an_unreachable_paypal_is_retryable(monkeypatch: pytest.MonkeyPatch,
                                            fake: PayPalFake) -> None:
    fake.stop()  # nothing listens on that port any more
    with pytest.raises(RetryableProviderError):
        PayPalProvider().start(request())


def test_wrong_credentials_are_final(fake: PayPalFake,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_PAYPAL_CLIENT_SECRET", "not-the-secret")
    with pytest.raises(FinalProviderError) as error:
        PayPalProvider().start(request())
    assert error.value.code == "invalid_client"


def test_one_oauth_call_serves_many_requests(provider: PayPalProvider,
                                             fake: PayPalFake) -> None:
    order_id, _ = paid(provider, fake)
    PayPalProvider().refund(refund_id="rf_1", payment_id="pay_1", provider_reference=order_id,
                            amount=Money(100, "USD"))
    PayPalProvider().start(request("pay_2"))
    assert fake.count("POST", "/v1/oauth2/token") == 1
    assert fake.count("GET", "/v2/checkout/orders/") >= 2


def test_an_expired_or_revoked_token_is_renewed(provider: PayPalProvider,
                                                fake: PayPalFake) -> None:
    provider.start(request("pay_1"))
    fake.expire_tokens()  # PayPal forgot it: one 401, one new token, one retry
    provider.start(request("pay_2"))
    assert fake.count("POST", "/v1/oauth2/token") == 2
    clock.advance(dt.timedelta(hours=9))  # past expires_in: renewed before asking
    provider.start(request("pay_3"))
    assert fake.count("POST", "/v1/oauth2/token") == 3
    assert len(fake.orders) == 3
    assert fake.count("POST", "/v2/checkout/orders") == 4  # the one 401 retry


def test_mask_email() -> None:
    assert mask_email("alex@example.com") == "a•••@example.com"
    assert mask_email("x@y.cn") == "x•••@y.cn"
    assert mask_email("nonsense") == "nonsense"
