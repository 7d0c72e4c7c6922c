"""The Stripe (cards) adapter against a local fake that speaks Stripe's wire format."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import requests

from esimdesk import config
from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.payments.providers.base import (
    FinalProviderError,
    MalformedEvent,
    NotConfigured,
    ProviderEvent,
    RetryableProviderError,
    SavedMethod,
    SignatureError,
    StartRequest,
)
from esimdesk.payments.providers.stripe import StripeProvider, card_label
from tests.payments.fakes.stripe import FakeStripe, stripe_fake  # noqa: F401

PAYMENT_ID = "pay_7Hq2"
USD = Money(1230, "USD")


def start_request(**changes: Any) -> StartRequest:
    values: dict[str, Any] = {
        "payment_id": PAYMENT_ID, "amount": USD, "description": "Order ES-1001",
        "return_url": "https://shop.example/pay/return/pay_7Hq2",
        "cancel_url": "https://shop.example/pay/cancel/pay_7Hq2",
        "notify_url": "https://shop.example/hooks/payments/stripe",
        "customer_email": "alex@example.com", "customer_ref": "user-1"}
    return StartRequest(**{**values, **changes})


@pytest.fixture
def fake(stripe_fake: FakeStripe) -> FakeStripe:  # noqa: F811
    """The running fake; esimdesk's Stripe options point at it."""
    return stripe_fake


@pytest.fixture
def provider(fake: FakeStripe) -> StripeProvider:
    return StripeProvider(timeout=0.5)


def deliver(provider: StripeProvider, fake: FakeStripe, event_type: str) -> list[ProviderEvent]:
    body, headers = fake.signed(fake.event(event_type))
    return provider.parse_webhook(body=body, headers=headers)


def paid_session(provider: StripeProvider, fake: FakeStripe, *, card: str = "4242424242424242",
                 **changes: Any) -> str:
    reference = provider.start(start_request(**changes)).provider_reference
    fake.pay(reference, card=card)
    return reference


def saved_card(provider: StripeProvider, fake: FakeStripe, card: str) -> SavedMethod:
    paid_session(provider, fake, card=card, save_method=True, payment_id="pay_first")
    [event] = deliver(provider, fake, "checkout.session.completed")
    assert event.saved_method is not None
    return event.saved_method


# --- start -----------------------------------------------------------------------------------

def test_start_creates_a_hosted_checkout_session(provider: StripeProvider,
                                                 fake: FakeStripe) -> None:
    started = provider.start(start_request())

    assert started.provider_reference.startswith("cs_")
    assert started.next_action.type == "redirect"
    assert started.next_action.url == f"{fake.url}/pay/{started.provider_reference}"
    assert requests.get(started.next_action.url, timeout=5).status_code == 200
    [request] = fake.requests_to("POST", "/v1/checkout/sessions")
    assert request.headers["idempotency-key"] == PAYMENT_ID
    assert request.headers["authorization"] == f"Bearer {fake.secret_key}"
    params = request.params
    assert params["mode"] == "payment"
    assert params["line_items"] == [{"quantity": "1", "price_data": {
        "currency": "usd", "unit_amount": "1230", "product_data": {"name": "Order ES-1001"}}}]
    assert params["client_reference_id"] == PAYMENT_ID
    assert params["metadata"] == {"payment_id": PAYMENT_ID}
    assert params["payment_intent_data"]["metadata"]["payment_id"] == PAYMENT_ID
    assert params["success_url"] == "https://shop.example/pay/return/pay_7Hq2"
    assert params["cancel_url"] == "https://shop.example/pay/cancel/pay_7Hq2"
    assert params["customer_email"] == "alex@example.com"
    assert params["locale"] == "en"
    assert "setup_future_usage" not in params["payment_intent_data"]


def test_a_retried_start_returns_the_same_session(provider: StripeProvider,
                                                  fake: FakeStripe) -> None:
    first = provider.start(start_request())
    again = provider.start(start_request())

    assert again == first
    assert len([o for o in fake.objects.values() if o["object"] == "checkout.session"]) == 1


def test_zero_decimal_currency_and_chinese_page(provider: StripeProvider,
                                                fake: FakeStripe) -> None:
    reference = paid_session(provider, fake, amount=Money(1234, "JPY"),
                             language="zh-hans")

    params = fake.requests_to("POST", "/v1/checkout/sessions")[0].params
    assert params["locale"] == "zh"
    assert params["line_items"][0]["price_data"]["unit_amount"] == "1234"
    assert params["line_items"][0]["price_data"]["currency"] == "jpy"
    [event] = deliver(provider, fake, "checkout.session.completed")
    assert (event.provider_reference, event.amount) == (reference, Money(1234, "JPY"))


def test_currencies_come_from_the_option(fake: FakeStripe,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_STRIPE_CURRENCIES", "usd, EUR")
    provider = StripeProvider()

    assert provider.currencies == frozenset({"USD", "EUR"})
    with pytest.raises(FinalProviderError) as raised:
        provider.start(start_request(amount=Money(500, "JPY")))
    assert raised.value.code == "unsupported_currency"
    assert fake.requests == []


# --- the happy path --------------------------------------------------------------------------

def test_payer_pays_then_webhook_and_query_agree(provider: StripeProvider,
                                                 fake: FakeStripe) -> None:
    reference = provider.start(start_request()).provider_reference
    assert provider.query(payment_id=PAYMENT_ID, provider_reference=reference) is None

    fake.pay(reference)
    message = fake.event("checkout.session.completed")
    body, headers = fake.signed(message)
    [event] = provider.parse_webhook(body=body, headers=headers)

    assert event.event_id == message["id"]
    assert event.provider_reference == reference
    assert event.type == "succeeded"
    assert event.amount == USD
    assert event.method == "Visa •••• 4242"
    assert event.saved_method is None
    queried = provider.query(payment_id=PAYMENT_ID, provider_reference=reference)
    assert queried is not None
    assert queried.event_id == f"query:{reference}:succeeded"
    assert (queried.type, queried.amount, queried.method) == ("succeeded", USD, "Visa •••• 4242")


def test_card_brand_is_named_as_payers_know_it(provider: StripeProvider,
                                               fake: FakeStripe) -> None:
    paid_session(provider, fake, card="5555555555554444")

    [event] = deliver(provider, fake, "checkout.session.completed")
    assert event.method == "Mastercard •••• 4444"


def test_no_card_data_reaches_esimdesk(provider: StripeProvider,
                                       fake: FakeStripe) -> None:
    reference = paid_session(provider, fake, save_method=True)
    events = deliver(provider, fake, "checkout.session.completed")
    events.append(provider.query(payment_id=PAYMENT_ID, provider_reference=reference))

    sent = json.dumps([request.params for request in fake.requests])
    kept = json.dumps([event.raw for event in events]) + repr(events)
    for text in (sent, kept):
        assert "4242424242424242" not in text
        assert "exp_month" not in text and "exp_year" not in text and "cvc" not in text


def test_webhook_header_name_is_case_insensitive(provider: StripeProvider,
                                                 fake: FakeStripe) -> None:
    paid_session(provider, fake)
    body, headers = fake.signed(fake.event("checkout.session.completed"))

    lower = {key.lower(): value for key, value in headers.items()}
    assert len(provider.parse_webhook(body=body, headers=lower)) == 1


# --- declines --------------------------------------------------------------------------------

def test_a_declined_card_leaves_the_page_open_until_it_expires(
        provider: StripeProvider, fake: FakeStripe) -> None:
    reference = provider.start(start_request()).provider_reference
    fake.decline(reference, card="4000000000009995")

    # The payer may still try another card: not final yet.
    assert deliver(provider, fake, "payment_intent.payment_failed") == []
    assert provider.query(payment_id=PAYMENT_ID, provider_reference=reference) is None

    fake.expire(reference)
    [event] = deliver(provider, fake, "checkout.session.expired")
    assert (event.type, event.provider_reference, event.amount) == ("declined", reference, USD)
    assert event.failure_code == "expired" and event.failure_message
    queried = provider.query(payment_id=PAYMENT_ID, provider_reference=reference)
    assert queried is not None
    assert (queried.event_id, queried.type) == (f"query:{reference}:declined", "declined")


def test_async_payment_failure_is_a_decline(provider: StripeProvider,
                                            fake: FakeStripe) -> None:
    reference = provider.start(start_request()).provider_reference
    session = dict(fake.objects[reference], status="complete", payment_status="unpaid")
    message = fake.make_event("checkout.session.async_payment_failed", session)

    [event] = provider.parse_webhook(**_signed(fake, message))
    assert (event.type, event.event_id, event.provider_reference) == (
        "declined", message["id"], reference)


# --- what the service must compare -----------------------------------------------------------

def test_wrong_amount_and_currency_are_reported_as_stripe_states_them(
        provider: StripeProvider, fake: FakeStripe) -> None:
    reference = paid_session(provider, fake)
    message = fake.event("checkout.session.completed")
    message["data"]["object"].update(amount_total=999, currency="eur")

    [event] = provider.parse_webhook(**_signed(fake, message))
    assert (event.provider_reference, event.amount) == (reference, Money(999, "EUR"))


def test_an_amount_that_is_not_an_integer_is_refused(provider: StripeProvider,
                                                     fake: FakeStripe) -> None:
    paid_session(provider, fake)
    message = fake.event("checkout.session.completed")
    message["data"]["object"]["amount_total"] = 12.3

    with pytest.raises(FinalProviderError) as raised:
        provider.parse_webhook(**_signed(fake, message))
    assert raised.value.code == "malformed_amount"


@pytest.mark.parametrize(("field", "value"), [
    ("amount_total", 10**30), ("id", []), ("id", None), ("id", "cs_" + "x" * 300)])
def test_signed_but_malformed_sessions_are_refused(provider: StripeProvider, fake: FakeStripe,
                                                   field: str, value: Any) -> None:
    """What a verified message states is checked before anything is stored (the event's
    id, reference and amount must fit what esimdesk keeps)."""
    paid_session(provider, fake)
    message = fake.event("checkout.session.completed")
    message["data"]["object"][field] = value
    if field == "id" and isinstance(value, str):
        message["id"] = value  # the event's own id, longer than any stored id
    with pytest.raises(MalformedEvent):
        provider.parse_webhook(**_signed(fake, message))


def test_unknown_event_types_are_ignored(provider: StripeProvider,
                                         fake: FakeStripe) -> None:
    message = fake.make_event("customer.created", {"id": "cus_1", "object": "customer"})
    assert provider.parse_webhook(**_signed(fake, message)) == []


def test_checkout_payment_intent_events_are_left_to_the_session(
        provider: StripeProvider, fake: FakeStripe) -> None:
    paid_session(provider, fake)
    assert deliver(provider, fake, "payment_intent.succeeded") == []


# --- signatures ------------------------------------------------------------------------------

def _signed(fake: FakeStripe, message: dict[str, Any], **kw: Any) -> dict[str, Any]:
    body, headers = fake.signed(message, **kw)
    return {"body": body, "headers": headers}


@pytest.mark.parametrize("forgery", ["body", "signature", "secret", "missing", "no_timestamp"])
def test_forged_messages_are_rejected(provider: StripeProvider, fake: FakeStripe,
                                      forgery: str) -> None:
    paid_session(provider, fake)
    message = fake.event("checkout.session.completed")
    signed = _signed(fake, message, secret="whsec_wrong" if forgery == "secret" else None)
    header = signed["headers"]["Stripe-Signature"]
    if forgery == "body":
        signed["body"] = signed["body"].replace(b'"amount_total": 1230', b'"amount_total": 1')
    elif forgery == "signature":
        signed["headers"]["Stripe-Signature"] = header[:-4] + "0000"
    elif forgery == "missing":
        del signed["headers"]["Stripe-Signature"]
    elif forgery == "no_timestamp":
        signed["headers"]["Stripe-Signature"] = header.split(",", 1)[1]

    with pytest.raises(SignatureError) as raised:
        provider.parse_webhook(**signed)
    assert raised.value.code == "bad_signature"


@pytest.mark.parametrize("skew_minutes", [-6, 6])
def test_stale_or_future_timestamps_are_rejected(provider: StripeProvider,
                                                 fake: FakeStripe,
                                                 skew_minutes: int) -> None:
    paid_session(provider, fake)
    signed = _signed(fake, fake.event("checkout.session.completed"))
    clock.advance(dt.timedelta(minutes=-skew_minutes))

    with pytest.raises(SignatureError) as raised:
        provider.parse_webhook(**signed)
    assert raised.value.code == "stale_signature"


def test_timestamps_within_five_minutes_are_fresh(provider: StripeProvider,
                                                  fake: FakeStripe) -> None:
    paid_session(provider, fake)
    signed = _signed(fake, fake.event("checkout.session.completed"))
    clock.advance(dt.timedelta(minutes=4, seconds=59))

    assert [e.type for e in provider.parse_webhook(**signed)] == ["succeeded"]


# --- refunds ---------------------------------------------------------------------------------

def test_partial_then_full_refund_idempotent_on_refund_id(
        provider: StripeProvider, fake: FakeStripe) -> None:
    reference = paid_session(provider, fake)

    first = provider.refund(refund_id="rf_1", payment_id=PAYMENT_ID,
                            provider_reference=reference, amount=Money(500, "USD"),
                            reason="Plan not used")
    again = provider.refund(refund_id="rf_1", payment_id=PAYMENT_ID,
                            provider_reference=reference, amount=Money(500, "USD"),
                            reason="Plan not used")
    assert first == again
    assert (first.status, first.provider_refund_id[:3]) == ("succeeded", "re_")
    [request, _] = fake.requests_to("POST", "/v1/refunds")
    assert request.headers["idempotency-key"] == "rf_1"
    assert request.params["amount"] == "500"
    assert request.params["metadata"]["refund_id"] == "rf_1"
    [event] = deliver(provider, fake, "refund.created")
    assert (event.type, event.provider_reference, event.amount, event.refund_reference) == (
        "refunded", reference, Money(500, "USD"), "rf_1")

    rest = provider.refund(refund_id="rf_2", payment_id=PAYMENT_ID,
                           provider_reference=reference, amount=Money(730, "USD"))
    assert rest.status == "succeeded"
    charge_refunded = deliver(provider, fake, "charge.refunded")
    assert sorted((e.refund_reference, e.amount.amount) for e in charge_refunded
                  if e.amount) == [("rf_1", 500), ("rf_2", 730)]
    assert {e.provider_reference for e in charge_refunded} == {reference}
    assert len({e.event_id for e in charge_refunded}) == 2

    with pytest.raises(FinalProviderError) as raised:
        provider.refund(refund_id="rf_3", payment_id=PAYMENT_ID,
                        provider_reference=reference, amount=Money(1, "USD"))
    assert raised.value.code == "charge_already_refunded"


def test_refund_larger_than_the_payment_is_refused(provider: StripeProvider,
                                                  fake: FakeStripe) -> None:
    reference = paid_session(provider, fake)
    with pytest.raises(FinalProviderError) as raised:
        provider.refund(refund_id="rf_1", payment_id=PAYMENT_ID,
                        provider_reference=reference, amount=Money(1231, "USD"))
    assert raised.value.code == "amount_too_large"


def test_refund_in_another_currency_is_refused_before_stripe(
        provider: StripeProvider, fake: FakeStripe) -> None:
    reference = paid_session(provider, fake)
    with pytest.raises(FinalProviderError) as raised:
        provider.refund(refund_id="rf_1", payment_id=PAYMENT_ID,
                        provider_reference=reference, amount=Money(500, "EUR"))
    assert raised.value.code == "currency_mismatch"
    assert fake.requests_to("POST", "/v1/refunds") == []


def test_refund_of_an_unpaid_session_is_refused(provider: StripeProvider,
                                               fake: FakeStripe) -> None:
    reference = provider.start(start_request()).provider_reference
    with pytest.raises(FinalProviderError) as raised:
        provider.refund(refund_id="rf_1", payment_id=PAYMENT_ID,
                        provider_reference=reference, amount=USD)
    assert raised.value.code == "nothing_captured"


def test_pending_refund_settles_by_webhook(provider: StripeProvider,
                                           fake: FakeStripe) -> None:
    reference = paid_session(provider, fake)
    fake.refund_status = "pending"

    result = provider.refund(refund_id="rf_1", payment_id=PAYMENT_ID,
                             provider_reference=reference, amount=USD)
    assert result.status == "pending"
    assert deliver(provider, fake, "refund.created") == []

    fake.settle_refund(result.provider_refund_id)
    [event] = deliver(provider, fake, "refund.updated")
    assert (event.type, event.refund_reference, event.amount) == ("refunded", "rf_1", USD)


def test_refund_that_fails_later_is_reported(provider: StripeProvider,
                                             fake: FakeStripe) -> None:
    reference = paid_session(provider, fake)
    result = provider.refund(refund_id="rf_1", payment_id=PAYMENT_ID,
                             provider_reference=reference, amount=USD)

    fake.settle_refund(result.provider_refund_id, status="failed",
                              failure_reason="expired_or_canceled_card")
    [event] = deliver(provider, fake, "refund.failed")
    assert (event.type, event.provider_reference, event.refund_reference) == (
        "refund_failed", reference, "rf_1")
    assert event.failure_code == "expired_or_canceled_card"


def test_refund_made_in_the_dashboard_maps_to_the_session(
        provider: StripeProvider, fake: FakeStripe) -> None:
    reference = paid_session(provider, fake)
    refund = {"id": "re_dash", "object": "refund", "amount": 300, "currency": "usd",
              "status": "succeeded", "metadata": {},
              "payment_intent": fake.objects[reference]["payment_intent"]}

    [event] = provider.parse_webhook(
        **_signed(fake, fake.make_event("refund.updated", refund)))
    assert (event.provider_reference, event.refund_reference) == (reference, "re_dash")


# --- saved cards and off-session charges -----------------------------------------------------

def test_saving_the_card_uses_a_customer_and_off_session_setup(
        provider: StripeProvider, fake: FakeStripe) -> None:
    reference = provider.start(start_request(save_method=True)).provider_reference

    [customer] = fake.requests_to("POST", "/v1/customers")
    assert customer.params["email"] == "alex@example.com"
    assert customer.params["metadata"]["customer_ref"] == "user-1"
    params = fake.requests_to("POST", "/v1/checkout/sessions")[0].params
    assert params["customer"].startswith("cus_")
    assert "customer_email" not in params
    assert params["payment_intent_data"]["setup_future_usage"] == "off_session"

    fake.pay(reference)
    [event] = deliver(provider, fake, "checkout.session.completed")
    intent = fake.objects[fake.objects[reference]["payment_intent"]]
    assert event.saved_method == SavedMethod(token=intent["payment_method"],
                                             label="Visa •••• 4242",
                                             customer_token=params["customer"])
    assert intent["payment_method"].startswith("pm_")
    assert event.method == "Visa •••• 4242"
    queried = provider.query(payment_id=PAYMENT_ID, provider_reference=reference)
    assert queried is not None and queried.saved_method == event.saved_method


def test_off_session_charge_succeeds_once(provider: StripeProvider,
                                          fake: FakeStripe) -> None:
    method = saved_card(provider, fake, "4242424242424242")

    event = provider.charge_saved(payment_id="pay_renew", method=method,
                                  amount=Money(990, "USD"), description="Renewal ES-1002")
    again = provider.charge_saved(payment_id="pay_renew", method=method,
                                  amount=Money(990, "USD"), description="Renewal ES-1002")

    assert again == event
    assert (event.type, event.amount, event.method) == ("succeeded", Money(990, "USD"),
                                                         "Visa •••• 4242")
    assert event.provider_reference.startswith("pi_")
    assert event.event_id == f"query:{event.provider_reference}:succeeded"
    [request, _] = fake.requests_to("POST", "/v1/payment_intents")
    assert request.headers["idempotency-key"] == "pay_renew"
    assert request.params["off_session"] == "true" and request.params["confirm"] == "true"
    assert request.params["customer"] == method.customer_token
    assert request.params["payment_method"] == method.token
    assert request.params["metadata"]["payment_id"] == "pay_renew"
    queried = provider.query(payment_id="pay_renew", provider_reference=event.provider_reference)
    assert queried == event
    [webhook] = deliver(provider, fake, "payment_intent.succeeded")
    assert (webhook.type, webhook.provider_reference) == ("succeeded", event.provider_reference)


@pytest.mark.parametrize(("card", "code"), [("4000000000000341", "card_declined"),
                                            ("4000002500003155", "authentication_required")])
def test_off_session_declines(provider: StripeProvider, fake: FakeStripe,
                              card: str, code: str) -> None:
    method = saved_card(provider, fake, card)
    assert method.label == f"Visa •••• {card[-4:]}"

    event = provider.charge_saved(payment_id="pay_renew", method=method,
                                  amount=Money(990, "USD"), description="Renewal ES-1002")

    assert (event.type, event.failure_code, event.amount) == ("declined", code,
                                                              Money(990, "USD"))
    assert event.provider_reference.startswith("pi_") and event.failure_message
    assert event.method == method.label
    queried = provider.query(payment_id="pay_renew", provider_reference=event.provider_reference)
    assert queried is not None
    assert (queried.event_id, queried.type, queried.failure_code) == (
        event.event_id, "declined", code)
    [webhook] = deliver(provider, fake, "payment_intent.payment_failed")
    assert (webhook.type, webhook.provider_reference, webhook.failure_code) == (
        "declined", event.provider_reference, code)


def test_an_off_session_charge_waiting_for_the_payer_is_declined(
        provider: StripeProvider, fake: FakeStripe) -> None:
    method = saved_card(provider, fake, "4242424242424242")
    charge = provider.charge_saved(payment_id="pay_renew", method=method,
                                   amount=Money(990, "USD"), description="Renewal")
    fake.objects[charge.provider_reference].update(status="requires_action")

    queried = provider.query(payment_id="pay_renew", provider_reference=charge.provider_reference)
    assert queried is not None
    assert (queried.type, queried.failure_code) == ("declined", "authentication_required")


def test_refund_of_an_off_session_charge(provider: StripeProvider,
                                         fake: FakeStripe) -> None:
    method = saved_card(provider, fake, "4242424242424242")
    charge = provider.charge_saved(payment_id="pay_renew", method=method,
                                   amount=Money(990, "USD"), description="Renewal")

    result = provider.refund(refund_id="rf_9", payment_id="pay_renew",
                             provider_reference=charge.provider_reference,
                             amount=Money(990, "USD"))
    assert result.status == "succeeded"
    [event] = deliver(provider, fake, "refund.created")
    assert (event.provider_reference, event.refund_reference) == (charge.provider_reference,
                                                                  "rf_9")


def test_a_saved_card_stripe_no_longer_has_is_a_final_error(provider: StripeProvider,
                                                             fake: FakeStripe) -> None:
    gone = SavedMethod(token="pm_gone", label="Visa •••• 4242", customer_token="cus_gone")
    with pytest.raises(FinalProviderError) as raised:
        provider.charge_saved(payment_id="pay_renew", method=gone, amount=Money(990, "USD"),
                              description="Renewal")
    assert raised.value.code == "resource_missing"


# --- query guards ----------------------------------------------------------------------------

def test_query_refuses_references_of_other_payments(provider: StripeProvider,
                                                    fake: FakeStripe) -> None:
    reference = provider.start(start_request()).provider_reference
    with pytest.raises(FinalProviderError) as raised:
        provider.query(payment_id="pay_other", provider_reference=reference)
    assert raised.value.code == "reference_mismatch"
    with pytest.raises(FinalProviderError):
        provider.query(payment_id=PAYMENT_ID, provider_reference="ch_123")


def test_unknown_session_is_a_final_error(provider: StripeProvider,
                                         fake: FakeStripe) -> None:
    with pytest.raises(FinalProviderError) as raised:
        provider.query(payment_id=PAYMENT_ID, provider_reference="cs_test_missing")
    assert raised.value.code == "resource_missing"


# --- configuration and transport -------------------------------------------------------------

def test_missing_keys_raise_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "_console_lookup", None, raising=False)  # environment only
    monkeypatch.delenv("ESIMDESK_STRIPE_SECRET_KEY", raising=False)
    monkeypatch.setenv("ESIMDESK_STRIPE_WEBHOOK_SECRET", "")

    with pytest.raises(NotConfigured) as raised:
        StripeProvider()
    assert "ESIMDESK_STRIPE_SECRET_KEY" in str(raised.value)
    assert "ESIMDESK_STRIPE_WEBHOOK_SECRET" in str(raised.value)


@pytest.mark.parametrize("fault", [500, 503, 429, "reset", "hang"])
def test_transient_failures_are_retryable(fake: FakeStripe,
                                          fault: str | int) -> None:
    provider = StripeProvider(timeout=0.2)
    fake.fail_next(fault)

    with pytest.raises(RetryableProviderError):
        provider.start(start_request())
    # Retrying with the same payment id never makes a second session.
    provider.start(start_request())
    sessions = [o for o in fake.objects.values() if o["object"] == "checkout.session"]
    assert len(sessions) == 1


def test_timeout_of_an_off_session_charge_is_retryable_and_query_decides(
        provider: StripeProvider, fake: FakeStripe) -> None:
    method = saved_card(provider, fake, "4242424242424242")
    quick = StripeProvider(timeout=0.2)
    fake.fail_next("hang")

    with pytest.raises(RetryableProviderError):
        quick.charge_saved(payment_id="pay_renew", method=method, amount=Money(990, "USD"),
                           description="Renewal")
    [intent] = [o for o in fake.objects.values()
                if o["object"] == "payment_intent" and o["metadata"]["payment_id"] == "pay_renew"]
    queried = provider.query(payment_id="pay_renew", provider_reference=intent["id"])
    assert queried is not None and queried.type == "succeeded"


def test_rejected_requests_are_final(fake: FakeStripe,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_STRIPE_SECRET_KEY", "sk_test_wrong")
    with pytest.raises(FinalProviderError) as raised:
        StripeProvider().start(start_request())
    assert not isinstance(raised.value, RetryableProviderError)
    assert raised.value.code == "authentication_error"


def test_reusing_a_payment_id_for_other_parameters_is_final(provider: StripeProvider,
                                                            fake: FakeStripe) -> None:
    provider.start(start_request())
    with pytest.raises(FinalProviderError) as raised:
        provider.start(start_request(amount=Money(999, "USD")))
    assert raised.value.code == "idempotency_error"


# --- wallets (Apple Pay, Google Pay) ---------------------------------------------------------

def test_cards_only_unless_the_operator_turns_wallets_on(provider: StripeProvider,
                                                         fake: FakeStripe) -> None:
    provider.start(start_request())
    [params] = [r.params for r in fake.requests_to("POST", "/v1/checkout/sessions")]
    assert params["payment_method_types"] == ["card"]
    assert "payment_method_configuration" not in params


@pytest.mark.parametrize("configuration", ["pmc_1Wallets", ""])
def test_wallets_leave_the_methods_to_a_payment_method_configuration(
        fake: FakeStripe, monkeypatch: pytest.MonkeyPatch, configuration: str) -> None:
    monkeypatch.setenv("ESIMDESK_STRIPE_WALLETS", "1")
    monkeypatch.setenv("ESIMDESK_STRIPE_PAYMENT_METHOD_CONFIGURATION", configuration)
    started = StripeProvider(timeout=0.5).start(start_request(save_method=True))
    [params] = [r.params for r in fake.requests_to("POST", "/v1/checkout/sessions")]
    assert "payment_method_types" not in params  # Stripe refuses it with a configuration
    assert params.get("payment_method_configuration", "") == configuration
    session = fake.objects[started.provider_reference]
    assert session["payment_method_configuration_details"]["id"] == (configuration
                                                                     or "pmc_default")
    # A wallet's card is kept for later off-session charges like any card.
    assert params["payment_intent_data"]["setup_future_usage"] == "off_session"


def test_a_card_paid_through_a_wallet_says_so() -> None:
    assert card_label({"card": {"brand": "visa", "last4": "4242",
                                "wallet": {"type": "apple_pay"}}}) == "Visa •••• 4242 (Apple Pay)"
    assert card_label({"card": {"brand": "mastercard", "last4": "4444",
                                "wallet": {"type": "google_pay"}}}) == (
        "Mastercard •••• 4444 (Google Pay)")
    assert card_label({"card": {"brand": "visa", "last4": "4242", "wallet": None}}) == (
        "Visa •••• 4242")
