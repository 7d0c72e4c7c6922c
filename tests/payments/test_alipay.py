"""The Alipay adapter against a local fake of the Alipay gateway (no database, no internet)."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from urllib.parse import parse_qsl, urlsplit

import pytest

from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.payments.providers.alipay import AlipayProvider
from esimdesk.payments.providers.base import (
    FinalProviderError,
    NotConfigured,
    RetryableProviderError,
    SignatureError,
    StartRequest,
)
from tests.payments.fakes.alipay import (
    AlipayFake,
    alipay_fake,  # noqa: F401
    as_form,
    form_fields,
    keypair,
    private_pem,
    public_pem,
)

PAYMENT = "pay_7Hq2xK9"
DESCRIPTION = "ES-2025-000042 日本 5GB"
NOTIFY_URL = "https://shop.example/hooks/payments/alipay"


def start_request(*, payment_id: str = PAYMENT, amount: Money | None = None,
                  device: str = "desktop") -> StartRequest:
    return StartRequest(payment_id=payment_id, amount=amount or Money(8800, "CNY"),
                        description=DESCRIPTION,
                        return_url=f"https://shop.example/pay/return/{payment_id}",
                        cancel_url="https://shop.example/orders/ES-2025-000042",
                        notify_url=NOTIFY_URL, device=device)  # type: ignore[arg-type]


@pytest.fixture
def fake(alipay_fake: AlipayFake) -> AlipayFake:  # noqa: F811
    return alipay_fake


@pytest.fixture
def provider(fake: AlipayFake) -> AlipayProvider:
    return AlipayProvider()


@pytest.fixture
def paid(provider: AlipayProvider, fake: AlipayFake) -> bytes:
    """A desktop payment of ¥88.00, paid at Alipay; the notify body."""
    provider.start(start_request())
    return fake.pay(PAYMENT)


def parse(provider: AlipayProvider, body: bytes) -> list:
    return provider.parse_webhook(body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


# -- start -------------------------------------------------------------------------------------


def test_desktop_start_precreates_a_qr_code(provider: AlipayProvider,
                                           fake: AlipayFake) -> None:
    result = provider.start(start_request())

    assert result.provider_reference == PAYMENT
    assert result.next_action.type == "qr"
    assert result.next_action.data.startswith("https://qr.alipay.com/")
    trade = fake.trades[PAYMENT]
    assert (str(trade.total_amount), trade.subject, trade.notify_url) == (
        "88.00", DESCRIPTION, NOTIFY_URL)
    # A retried start is the same trade and the same QR code, never a second trade.
    assert provider.start(start_request()).next_action == result.next_action
    assert list(fake.trades) == [PAYMENT]


def test_mobile_start_redirects_to_a_signed_wap_url(provider: AlipayProvider,
                                                   fake: AlipayFake) -> None:
    action = provider.start(start_request(device="mobile")).next_action

    assert action.type == "redirect"
    url = urlsplit(action.url)
    assert f"http://{url.netloc}{url.path}" == fake.gateway_url
    params = dict(parse_qsl(url.query, keep_blank_values=True))
    assert fake.verify_request(params)
    assert not fake.verify_request(params | {"notify_url": "https://evil.example/"})
    biz = json.loads(params["biz_content"])
    assert (params["method"], params["sign_type"], params["app_id"]) == (
        "alipay.trade.wap.pay", "RSA2", fake.app_id)
    assert (biz["out_trade_no"], biz["total_amount"], biz["product_code"]) == (
        PAYMENT, "88.00", "QUICK_WAP_WAY")
    assert (params["notify_url"], params["return_url"]) == (
        NOTIFY_URL, f"https://shop.example/pay/return/{PAYMENT}")
    # The gateway itself accepts the URL in the payer's browser, and the trade opens.
    with urllib.request.urlopen(action.url, timeout=5) as page:
        assert "cashier" in page.read().decode()
    assert fake.trades[PAYMENT].status == "WAIT_BUYER_PAY"


def test_desktop_page_pay_when_configured(fake: AlipayFake) -> None:
    action = AlipayProvider(desktop_flow="page").start(start_request()).next_action

    params = dict(parse_qsl(urlsplit(action.url).query))
    assert action.type == "redirect" and fake.verify_request(params)
    assert params["method"] == "alipay.trade.page.pay"
    assert json.loads(params["biz_content"])["product_code"] == "FAST_INSTANT_TRADE_PAY"


def test_unsupported_currency_is_refused_before_any_call(provider: AlipayProvider,
                                                         fake: AlipayFake) -> None:
    with pytest.raises(FinalProviderError) as error:
        provider.start(start_request(amount=Money(1200, "USD")))

    assert error.value.code == "currency_not_supported"
    assert fake.requests == []


def test_currencies_come_from_the_option_but_alipay_settles_only_cny(
        fake: AlipayFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ALIPAY_CURRENCIES", "cny, usd")
    provider = AlipayProvider()
    assert provider.currencies == frozenset({"CNY"})
    assert provider.supports("CNY") and not provider.supports("USD")
    assert provider.supports_saved_methods is False


def test_business_error_is_final_with_alipays_sub_code(provider: AlipayProvider,
                                                       fake: AlipayFake) -> None:
    provider.start(start_request())
    fake.close(PAYMENT)

    with pytest.raises(FinalProviderError) as error:
        provider.start(start_request())
    assert error.value.code == "ACQ.TRADE_HAS_CLOSE"
    assert not error.value.retryable


# -- notify and query --------------------------------------------------------------------------


def test_paid_notify_is_succeeded_with_exact_money_and_method(provider: AlipayProvider,
                                                              paid: bytes) -> None:
    (event,) = parse(provider, paid)

    assert event.type == "succeeded"
    assert event.provider_reference == PAYMENT
    assert event.amount == Money(8800, "CNY")
    assert event.method == "Alipay 138****8000"
    assert event.event_id == form_fields(paid)["notify_id"]
    assert event.raw["trade_no"].startswith("2024")


def test_query_agrees_with_the_notify(provider: AlipayProvider, paid: bytes) -> None:
    event = provider.query(payment_id=PAYMENT, provider_reference=PAYMENT)

    assert event is not None
    assert (event.type, event.amount, event.method) == (
        "succeeded", Money(8800, "CNY"), "Alipay 138****8000")
    assert event.event_id == f"query:{PAYMENT}:succeeded"


def test_query_is_none_while_the_trade_is_open(provider: AlipayProvider,
                                               fake: AlipayFake) -> None:
    assert provider.query(payment_id="pay_never", provider_reference="pay_never") is None
    provider.start(start_request())
    assert provider.query(payment_id=PAYMENT, provider_reference=PAYMENT) is None  # unscanned
    fake.scan(PAYMENT)
    assert provider.query(payment_id=PAYMENT, provider_reference=PAYMENT) is None  # waiting


def test_closed_trade_is_declined_by_notify_and_by_query(provider: AlipayProvider,
                                                         fake: AlipayFake) -> None:
    provider.start(start_request())
    (event,) = parse(provider, fake.close(PAYMENT))
    queried = provider.query(payment_id=PAYMENT, provider_reference=PAYMENT)

    assert (event.type, event.failure_code) == ("declined", "closed")
    assert queried is not None
    assert (queried.type, queried.failure_code, queried.event_id) == (
        "declined", "closed", f"query:{PAYMENT}:declined")


def test_wrong_amount_is_reported_faithfully(provider: AlipayProvider,
                                             fake: AlipayFake) -> None:
    provider.start(start_request())
    (event,) = parse(provider, fake.pay(PAYMENT, total_amount="0.01"))

    assert (event.type, event.amount) == ("succeeded", Money(1, "CNY"))


@pytest.mark.parametrize(("paid_text", "minor"), [
    ("0.29", 29), ("1.15", 115), ("19.99", 1999), ("100000000.01", 10000000001), ("7", 700)])
def test_yuan_strings_become_exact_fen(provider: AlipayProvider, fake: AlipayFake,
                                       paid_text: str, minor: int) -> None:
    provider.start(start_request())
    (event,) = parse(provider, fake.pay(PAYMENT, total_amount=paid_text))

    assert event.amount == Money(minor, "CNY")


@pytest.mark.parametrize("paid_text", ["1.001", "1e3", "-1.00", "NaN", " 1.00", ""])
def test_unreadable_amount_is_refused(provider: AlipayProvider, fake: AlipayFake,
                                      paid_text: str) -> None:
    provider.start(start_request())
    with pytest.raises(FinalProviderError) as error:
        parse(provider, fake.pay(PAYMENT, total_amount=paid_text or None) if paid_text else
              fake.notify({"out_trade_no": PAYMENT, "trade_status": "TRADE_SUCCESS"}))
    assert error.value.code == "bad_amount"


def test_a_gbk_notify_is_read_in_its_charset(provider: AlipayProvider,
                                             fake: AlipayFake) -> None:
    provider.start(start_request())
    body = fake.pay(PAYMENT, buyer_logon_id="ali***@example.com", charset="gbk")

    (event,) = parse(provider, body)
    assert event.raw["subject"] == DESCRIPTION
    assert event.method == "Alipay ali***@example.com"


def test_unmasked_account_is_masked(provider: AlipayProvider,
                                    fake: AlipayFake) -> None:
    provider.start(start_request())
    (event,) = parse(provider, fake.pay(PAYMENT, buyer_logon_id="13800138000"))

    assert event.method == "Alipay 138****8000"


@pytest.mark.parametrize("fields", [
    {"notify_type": "trade_status_sync", "out_trade_no": PAYMENT,
     "trade_status": "WAIT_BUYER_PAY", "total_amount": "88.00"},
    {"notify_type": "open_app_auth_notify", "app_auth_code": "abc"},
])
def test_unknown_or_irrelevant_notify_is_empty(provider: AlipayProvider,
                                               fake: AlipayFake,
                                               fields: dict[str, str]) -> None:
    assert parse(provider, fake.notify(fields)) == []


def test_webhook_ack_is_exactly_success(provider: AlipayProvider) -> None:
    ack = provider.webhook_ack()

    assert (ack.status, ack.body, ack.content_type) == (200, b"success", "text/plain")


# -- forged, foreign and stale notifies --------------------------------------------------------


def test_tampered_amount_fails_the_signature(provider: AlipayProvider, paid: bytes) -> None:
    forged = form_fields(paid) | {"total_amount": "0.01"}

    with pytest.raises(SignatureError) as error:
        parse(provider, as_form(forged))
    assert error.value.code == "bad_signature"


@pytest.mark.parametrize("change", ["no_sign", "rsa1", "other_key", "garbage", "repeated"])
def test_unverifiable_notifies_are_refused(provider: AlipayProvider, fake: AlipayFake,
                                           paid: bytes, change: str) -> None:
    fields = form_fields(paid)
    if change == "no_sign":
        body = as_form({k: v for k, v in fields.items() if k != "sign"})
    elif change == "rsa1":
        body = as_form(fields | {"sign_type": "RSA"})
    elif change == "other_key":
        body = fake.notify({"out_trade_no": PAYMENT, "trade_status": "TRADE_SUCCESS",
                                   "total_amount": "88.00"}, key=keypair("stranger"))
    elif change == "garbage":
        body = as_form(fields | {"sign": "not base64!"})
    else:
        body = paid + b"&total_amount=0.01"

    with pytest.raises(SignatureError) as error:
        parse(provider, body)
    assert error.value.code == "bad_signature"


def test_notify_for_another_app_is_refused(provider: AlipayProvider,
                                           fake: AlipayFake) -> None:
    body = fake.notify({"app_id": "2021999999999999", "out_trade_no": PAYMENT,
                               "trade_status": "TRADE_SUCCESS", "total_amount": "88.00"})

    with pytest.raises(SignatureError) as error:
        parse(provider, body)
    assert error.value.code == "wrong_app"


def test_a_notify_older_than_any_retry_is_refused(provider: AlipayProvider,
                                                  paid: bytes) -> None:
    assert parse(provider, paid)  # fresh
    clock.advance(dt.timedelta(hours=49))

    with pytest.raises(SignatureError) as error:
        parse(provider, paid)
    assert error.value.code == "stale_signature"


# -- refunds -----------------------------------------------------------------------------------


def test_full_refund_and_its_notify(provider: AlipayProvider, fake: AlipayFake,
                                    paid: bytes) -> None:
    result = provider.refund(refund_id="rf_full", payment_id=PAYMENT,
                             provider_reference=PAYMENT, amount=Money(8800, "CNY"),
                             reason="trip cancelled")

    assert (result.status, result.provider_refund_id) == ("succeeded", "rf_full")
    assert fake.trades[PAYMENT].status == "TRADE_CLOSED"
    (event,) = parse(provider, fake.notify_for(PAYMENT, "rf_full"))
    assert (event.type, event.amount, event.refund_reference) == (
        "refunded", Money(8800, "CNY"), "rf_full")  # TRADE_CLOSED + refund_fee: not declined


def test_partial_refunds_are_idempotent_on_refund_id(provider: AlipayProvider,
                                                    fake: AlipayFake,
                                                    paid: bytes) -> None:
    def refund(refund_id: str, minor: int) -> str:
        return provider.refund(refund_id=refund_id, payment_id=PAYMENT,
                               provider_reference=PAYMENT, amount=Money(minor, "CNY")).status

    assert refund("rf_1", 3000) == "succeeded"
    assert refund("rf_1", 3000) == "succeeded"  # a retry: Alipay answers fund_change N
    assert refund("rf_2", 1050) == "succeeded"

    trade = fake.trades[PAYMENT]
    assert str(trade.refunded) == "40.50" and trade.status == "TRADE_SUCCESS"
    (event,) = parse(provider, fake.notify_for(PAYMENT, "rf_1"))
    assert (event.type, event.amount, event.refund_reference) == (
        "refunded", Money(3000, "CNY"), "rf_1")
    # Alipay's refund_fee is the running total refunded on the trade.
    (second,) = parse(provider, fake.notify_for(PAYMENT, "rf_2"))
    assert (second.amount, second.refund_reference) == (Money(4050, "CNY"), "rf_2")


def test_refund_more_than_was_paid_is_final(provider: AlipayProvider, paid: bytes) -> None:
    with pytest.raises(FinalProviderError) as error:
        provider.refund(refund_id="rf_big", payment_id=PAYMENT, provider_reference=PAYMENT,
                        amount=Money(8801, "CNY"))
    assert error.value.code == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"


def test_refund_that_timed_out_is_retried_and_refunds_once(provider: AlipayProvider,
                                                          fake: AlipayFake,
                                                          paid: bytes) -> None:
    impatient = AlipayProvider(timeout=0.3)
    fake.fail_next("timeout")
    with pytest.raises(RetryableProviderError):
        impatient.refund(refund_id="rf_t", payment_id=PAYMENT, provider_reference=PAYMENT,
                         amount=Money(2000, "CNY"))

    result = provider.refund(refund_id="rf_t", payment_id=PAYMENT, provider_reference=PAYMENT,
                             amount=Money(2000, "CNY"))
    assert result.status == "succeeded"
    assert str(fake.trades[PAYMENT].refunded) == "20.00"


def test_refund_without_fund_change_is_pending(provider: AlipayProvider,
                                               fake: AlipayFake,
                                               paid: bytes) -> None:
    fake.fail_next("refund_pending")
    result = provider.refund(refund_id="rf_p", payment_id=PAYMENT, provider_reference=PAYMENT,
                             amount=Money(2000, "CNY"))

    assert result.status == "pending"


# -- configuration and transport ---------------------------------------------------------------


def test_missing_settings_are_named(fake: AlipayFake,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESIMDESK_ALIPAY_APP_ID")
    monkeypatch.setenv("ESIMDESK_ALIPAY_PUBLIC_KEY", "")

    with pytest.raises(NotConfigured) as error:
        AlipayProvider()
    assert "ESIMDESK_ALIPAY_APP_ID" in str(error.value)
    assert "ESIMDESK_ALIPAY_PUBLIC_KEY" in str(error.value)
    assert "ESIMDESK_ALIPAY_PRIVATE_KEY" not in str(error.value)
    assert AlipayProvider.required_settings == (
        "ESIMDESK_ALIPAY_APP_ID", "ESIMDESK_ALIPAY_PRIVATE_KEY", "ESIMDESK_ALIPAY_PUBLIC_KEY")


def test_unreadable_key_is_not_configured(fake: AlipayFake,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ALIPAY_PUBLIC_KEY", "MIIB-not-a-key")

    with pytest.raises(NotConfigured, match="ESIMDESK_ALIPAY_PUBLIC_KEY"):
        AlipayProvider()


def test_keys_from_files_and_as_bare_base64(fake: AlipayFake, tmp_path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "app_private_key.pem"
    key_file.write_text(private_pem(fake.app_key))
    bare = "".join(public_pem(fake.alipay_key).splitlines()[1:-1])  # key tool output
    monkeypatch.setenv("ESIMDESK_ALIPAY_PRIVATE_KEY", str(key_file))
    monkeypatch.setenv("ESIMDESK_ALIPAY_PUBLIC_KEY", bare)

    assert AlipayProvider().start(start_request()).next_action.type == "qr"


def test_wrong_app_private_key_is_refused_by_the_gateway(
        fake: AlipayFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ALIPAY_PRIVATE_KEY", private_pem(keypair("stranger")))

    with pytest.raises(FinalProviderError) as error:
        AlipayProvider().start(start_request())
    assert error.value.code == "isv.invalid-signature"


def test_gateway_timeout_is_retryable(fake: AlipayFake) -> None:
    fake.fail_next("timeout")

    with pytest.raises(RetryableProviderError):
        AlipayProvider(timeout=0.3).start(start_request())


def test_gateway_5xx_is_retryable(provider: AlipayProvider,
                                  fake: AlipayFake) -> None:
    fake.fail_next("http_502")

    with pytest.raises(RetryableProviderError) as error:
        provider.query(payment_id=PAYMENT, provider_reference=PAYMENT)
    assert error.value.code == "gateway_unavailable"


def test_unreachable_gateway_is_retryable(fake: AlipayFake) -> None:
    provider = AlipayProvider()
    fake.stop()

    with pytest.raises(RetryableProviderError):
        provider.start(start_request())


@pytest.mark.parametrize("failure", ["bad_signature", "unsigned"])
def test_gateway_answer_that_does_not_verify_is_a_signature_error(
        provider: AlipayProvider, fake: AlipayFake, paid: bytes,
        failure: str) -> None:
    fake.fail_next(failure)

    with pytest.raises(SignatureError) as error:
        provider.query(payment_id=PAYMENT, provider_reference=PAYMENT)
    assert error.value.code == "bad_signature"


def test_requests_carry_beijing_time(provider: AlipayProvider,
                                     fake: AlipayFake) -> None:
    # The fake refuses a timestamp more than 10 minutes off Beijing time; midnight UTC is
    # 08:00 in Beijing, so a UTC timestamp would be refused.
    with clock.frozen_at(dt.datetime(2025, 3, 1, 0, 0, tzinfo=dt.UTC)):
        provider.start(start_request())
    assert fake.requests[-1]["timestamp"] == "2025-03-01 08:00:00"


def test_the_signed_member_is_found_by_json_not_by_counting_braces() -> None:
    from esimdesk.payments.providers.alipay import _member_text

    text = ('{"sign":"x==", "alipay_trade_query_response" : {"msg":"}{\\"}","n":{"k":[1,{}]}},'
            '"alipay_cert_sn":"1"}')
    assert _member_text(text, "alipay_trade_query_response") == \
        '{"msg":"}{\\"}","n":{"k":[1,{}]}}'
    assert _member_text(text, "error_response") is None


def test_a_bare_private_key_too_long_to_be_a_file_name(
        fake: AlipayFake, monkeypatch: pytest.MonkeyPatch) -> None:
    # A bare base64 PKCS#8 key with no "/" for 255+ characters: config.env_text_or_file
    # stats it as a path, which fails with "File name too long".
    bare = "".join(private_pem(fake.app_key).splitlines()[1:-1]).replace("/", "A")
    monkeypatch.setenv("ESIMDESK_ALIPAY_PRIVATE_KEY", bare)

    with pytest.raises(NotConfigured, match="ESIMDESK_ALIPAY_PRIVATE_KEY"):  # not OSError
        AlipayProvider()
