"""The WeChat Pay API v3 adapter against a local fake of WeChat Pay (no database, no internet)."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from typing import Any
from urllib.parse import quote

import pytest
import requests

from esimdesk import config
from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.payments.providers.base import (
    FinalProviderError,
    NotConfigured,
    ProviderEvent,
    RetryableProviderError,
    SignatureError,
    StartRequest,
)
from esimdesk.payments.providers.wechatpay import WeChatPayProvider
from tests.payments.fakes.wechatpay import (
    WeChatPayFake,
    private_pem,
    public_pem,
    rsa_key,
    wechatpay_fake,  # noqa: F401
)

NOTIFY_URL = "https://esim.example.com/hooks/payments/wechatpay"
RETURN_URL = "https://esim.example.com/pay/return/pay_x/?from=wechat"
PRICE = Money(8800, "CNY")


@pytest.fixture
def fake(wechatpay_fake: WeChatPayFake) -> WeChatPayFake:  # noqa: F811 (the fixture itself)
    return wechatpay_fake


def start_request(*, amount: Money = PRICE, device: str = "desktop", payment_id: str = "",
                  description: str = "ESD-10042 Japan 5 GB / 7 days") -> StartRequest:
    return StartRequest(payment_id=payment_id or "pay_" + secrets.token_urlsafe(12),
                        amount=amount, description=description,
                        return_url=RETURN_URL, cancel_url="https://esim.example.com/orders/",
                        notify_url=NOTIFY_URL, device=device)  # type: ignore[arg-type]


def started(fake: WeChatPayFake, **kw: Any) -> str:
    """A payment started at WeChat; returns its reference (our out_trade_no)."""
    return WeChatPayProvider().start(start_request(**kw)).provider_reference


def paid(fake: WeChatPayFake, amount: Money = PRICE) -> str:
    reference = started(fake, amount=amount)
    fake.pay(reference)
    return reference


def only(events: list[ProviderEvent]) -> ProviderEvent:
    assert len(events) == 1, events
    return events[0]


# -- start ---------------------------------------------------------------------------------


def test_desktop_gets_a_native_qr_code(fake: WeChatPayFake) -> None:
    request = start_request()
    result = WeChatPayProvider().start(request)

    assert result.provider_reference == request.payment_id
    assert result.next_action.type == "qr"
    assert result.next_action.data.startswith("weixin://wxpay/bizpayurl?pr=")
    sent = fake.last_call()
    assert (sent.method, sent.path) == ("POST", "/v3/pay/transactions/native")
    assert sent.authorization_error == ""  # the fake verified the adapter's signature
    assert re.fullmatch(r'WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="\w{32}",'
                        r'signature="[A-Za-z0-9+/=]{344}",timestamp="\d{10}",'
                        r'serial_no="5157F09EFDC096DE15EBE81A47057A7232F1B8E1"',
                        sent.headers["Authorization"])
    assert sent.json() == {"appid": fake.appid, "mchid": fake.mchid,
                           "description": "ESD-10042 Japan 5 GB / 7 days",
                           "out_trade_no": request.payment_id, "notify_url": NOTIFY_URL,
                           "amount": {"total": 8800, "currency": "CNY"}}


def test_mobile_gets_an_h5_redirect_back_to_the_return_url(
        fake: WeChatPayFake) -> None:
    result = WeChatPayProvider().start(start_request(device="mobile"))

    h5_url = fake.transactions[result.provider_reference]["answer"]["h5_url"]
    assert result.next_action.type == "redirect"
    assert result.next_action.url == f"{h5_url}&redirect_url={quote(RETURN_URL, safe='')}"
    assert "redirect_url=https%3A%2F%2Fesim.example.com%2Fpay%2Freturn%2Fpay_x%2F%3Ffrom" \
        in result.next_action.url
    order = fake.last_call().json()
    assert fake.last_call().path == "/v3/pay/transactions/h5"
    assert order["scene_info"] == {"payer_client_ip": "127.0.0.1", "h5_info": {"type": "Wap"}}


def test_long_descriptions_are_cut_to_wechats_127_bytes(fake: WeChatPayFake) -> None:
    description = "ESD-10042 日本 5GB 七天套餐，含热点分享" * 6
    WeChatPayProvider().start(start_request(description=description))
    sent = fake.last_call().json()["description"]
    assert description.startswith(sent)
    assert 124 < len(sent.encode()) <= 127


def test_a_retried_start_gets_the_same_code(fake: WeChatPayFake) -> None:
    request = start_request()
    first, again = WeChatPayProvider().start(request), WeChatPayProvider().start(request)
    assert first == again
    assert len(fake.transactions) == 1


def test_unsupported_currency_is_refused_before_asking_wechat(
        fake: WeChatPayFake) -> None:
    with pytest.raises(FinalProviderError) as caught:
        WeChatPayProvider().start(start_request(amount=Money(1200, "USD")))
    assert caught.value.code == "currency_not_supported"
    assert fake.received == []


def test_currencies_come_from_config_but_only_cny_can_be_collected(
        fake: WeChatPayFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_WECHATPAY_CURRENCIES", "cny, usd")
    provider = WeChatPayProvider()
    assert provider.currencies == frozenset({"CNY"})
    assert provider.supports("CNY") and not provider.supports("USD")
    monkeypatch.setenv("ESIMDESK_WECHATPAY_CURRENCIES", "")
    assert WeChatPayProvider().currencies == frozenset()
    assert WeChatPayProvider.supports_saved_methods is False


# -- request signatures ------------------------------------------------------------------


def test_the_fake_rejects_a_request_signed_with_another_key(
        fake: WeChatPayFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_WECHATPAY_PRIVATE_KEY", private_pem(rsa_key("intruder")))
    with pytest.raises(FinalProviderError) as caught:
        WeChatPayProvider().start(start_request())
    assert caught.value.code == "SIGN_ERROR"
    assert not caught.value.retryable
    assert fake.last_call().authorization_error == "签名验证失败"
    assert fake.transactions == {}


@pytest.mark.parametrize("authorization", [
    "",
    'WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="N",signature="c2ln",'
    'timestamp="{now}",serial_no="5157F09EFDC096DE15EBE81A47057A7232F1B8E1"',
])
def test_the_fake_answers_sign_error_like_wechat(fake: WeChatPayFake,
                                                 authorization: str) -> None:
    header = authorization.format(now=int(clock.now().timestamp()))
    response = requests.post(fake.base_url + "/v3/pay/transactions/native",
                             data=b"{}", headers={"Authorization": header}, timeout=5)
    assert response.status_code == 401
    assert response.json()["code"] == "SIGN_ERROR"
    assert response.headers["Wechatpay-Serial"] == fake.signing.serial


def test_the_fake_speaks_the_same_wire_format_as_the_wechatpayv3_sdk(
        fake: WeChatPayFake) -> None:
    """A third implementation keeps the fake honest: the SDK's signing is accepted by the
    fake, and the SDK verifies and decrypts the fake's notify."""
    utils = pytest.importorskip("wechatpayv3.utils")
    order = {"appid": fake.appid, "mchid": fake.mchid, "description": "ESD-1",
             "out_trade_no": "pay_sdk_0001", "notify_url": NOTIFY_URL,
             "amount": {"total": 100, "currency": "CNY"}}
    path = "/v3/pay/transactions/native"
    authorization = utils.build_authorization(
        path, "POST", fake.mchid, fake.merchant_serial,
        utils.load_private_key(private_pem(fake.merchant_key)), data=order)
    response = requests.post(fake.base_url + path, data=json.dumps(order),
                             headers={"Authorization": authorization}, timeout=5)
    assert response.status_code == 200, response.text
    assert utils.rsa_verify(response.headers["Wechatpay-Timestamp"],
                            response.headers["Wechatpay-Nonce"], response.text,
                            response.headers["Wechatpay-Signature"],
                            fake.signing.key.public_key())

    headers, body = fake.pay("pay_sdk_0001")
    assert utils.rsa_verify(headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"],
                            body.decode(), headers["Wechatpay-Signature"],
                            fake.signing.key.public_key())
    resource = json.loads(body)["resource"]
    plain = utils.aes_decrypt(resource["nonce"], resource["ciphertext"],
                              resource["associated_data"], fake.apiv3_key)
    assert json.loads(plain)["amount"]["payer_total"] == 100


# -- notifies ------------------------------------------------------------------------------


def test_payment_notify_is_a_succeeded_event_with_the_amount(
        fake: WeChatPayFake) -> None:
    reference = started(fake)
    headers, body = fake.pay(reference)

    event = only(WeChatPayProvider().parse_webhook(body=body, headers=headers))

    assert event.event_id == json.loads(body)["id"]
    assert (event.type, event.provider_reference) == ("succeeded", reference)
    assert event.amount == Money(8800, "CNY")
    assert event.method == "WeChat Pay"
    assert event.raw["resource"]["transaction_id"].startswith("42000")


def test_a_replayed_notify_parses_to_the_same_event_id(fake: WeChatPayFake) -> None:
    headers, body = fake.pay(started(fake))
    provider = WeChatPayProvider()
    assert provider.parse_webhook(body=body, headers=headers) == \
        provider.parse_webhook(body=body, headers=headers)


@pytest.mark.parametrize("style", ["lower", "django_meta"])
def test_header_names_are_matched_whatever_their_spelling(
        fake: WeChatPayFake, style: str) -> None:
    headers, body = fake.pay(started(fake))
    if style == "lower":
        headers = {k.lower(): v for k, v in headers.items()}
    else:
        headers = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    assert only(WeChatPayProvider().parse_webhook(body=body, headers=headers)).type == \
        "succeeded"


@pytest.mark.parametrize(("reported", "expected"), [
    ({"total": 1}, Money(1, "CNY")),
    ({"currency": "USD"}, Money(8800, "USD")),
    ({"payer_total": 8000}, Money(8000, "CNY")),  # what the payer paid, after a coupon
])
def test_the_amount_wechat_reports_is_passed_on_faithfully(
        fake: WeChatPayFake, reported: dict[str, Any], expected: Money) -> None:
    reference = started(fake)
    headers, body = fake.pay(reference, **reported)
    provider = WeChatPayProvider()
    assert only(provider.parse_webhook(body=body, headers=headers)).amount == expected
    event = provider.query(payment_id=reference, provider_reference=reference)
    assert event is not None and event.amount == expected


def test_an_event_type_esimdesk_does_not_use_is_verified_and_ignored(
        fake: WeChatPayFake) -> None:
    headers, body = fake.notify(
        "COMPLAINT.CREATE", {"complaint_id": "200201820200101080076610000",
                             "action_type": "CREATE_COMPLAINT"},
        summary="产生新投诉", original_type="complaint")
    assert WeChatPayProvider().parse_webhook(body=body, headers=headers) == []

    headers["Wechatpay-Signature"] = headers["Wechatpay-Signature"][::-1]
    with pytest.raises(SignatureError):
        WeChatPayProvider().parse_webhook(body=body, headers=headers)


def test_the_ack_is_what_wechat_expects(fake: WeChatPayFake) -> None:
    ack = WeChatPayProvider().webhook_ack()
    assert ack.status == 200
    assert ack.content_type == "application/json"
    assert json.loads(ack.body) == {"code": "SUCCESS", "message": "成功"}


# -- forged notifies -----------------------------------------------------------------------


@pytest.mark.parametrize(("forge", "code"), [
    ({"serial": "1DB2E5F0C0A3B1E2D9F8A7B6C5D4E3F2A1B0C9D8"}, "unknown_serial"),
    ({"serial": "PUB_KEY_ID_0000000000000000000000000000"}, "unknown_serial"),
    ({"tamper_body": True}, "bad_signature"),
    ({"timestamp": "old"}, "stale_signature"),
    ({"timestamp": "future"}, "stale_signature"),
    ({"apiv3_key": "0123456789abcdef0123456789abcdef"}, "bad_resource"),
])
def test_forged_notifies_raise_signature_error(fake: WeChatPayFake,
                                               forge: dict[str, Any], code: str) -> None:
    reference = started(fake)
    now = int(clock.now().timestamp())
    if "timestamp" in forge:
        forge["timestamp"] = now - 301 if forge["timestamp"] == "old" else now + 301
    headers, body = fake.pay(reference, **forge)
    with pytest.raises(SignatureError) as caught:
        WeChatPayProvider().parse_webhook(body=body, headers=headers)
    assert caught.value.code == code


@pytest.mark.parametrize(("header", "value"), [
    ("Wechatpay-Signature", None),
    ("Wechatpay-Serial", None),
    ("Wechatpay-Signature", "WECHATPAY/SIGNTEST/9UFlAiWlIPdMvbTfT1hrXZlptmzrvZDHh5wHaaBe"),
    ("Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3"),
    ("Wechatpay-Timestamp", "yesterday"),
])
def test_missing_or_odd_signature_headers_raise_bad_signature(
        fake: WeChatPayFake, header: str, value: str | None) -> None:
    headers, body = fake.pay(started(fake))
    if value is None:
        del headers[header]
    else:
        headers[header] = value
    with pytest.raises(SignatureError) as caught:
        WeChatPayProvider().parse_webhook(body=body, headers=headers)
    assert caught.value.code == "bad_signature"


def test_a_resource_that_is_not_aes_gcm_is_refused(fake: WeChatPayFake) -> None:
    reference = started(fake)
    headers, body = fake.pay(reference)
    envelope = json.loads(body)
    envelope["resource"]["algorithm"] = "NONE"
    forged = json.dumps(envelope).encode()
    headers = fake._signature_headers(forged)  # validly signed, still refused
    with pytest.raises(SignatureError) as caught:
        WeChatPayProvider().parse_webhook(body=forged, headers=headers)
    assert caught.value.code == "bad_resource"


def test_an_unknown_serial_refreshes_the_certificates_once(
        fake: WeChatPayFake) -> None:
    reference = started(fake)  # verifying the answer downloaded the certificates
    assert fake.certificate_downloads == 1
    provider = WeChatPayProvider()
    headers, body = fake.pay(reference, serial="00AB")
    with pytest.raises(SignatureError):  # the list is seconds old: no point asking again
        provider.parse_webhook(body=body, headers=headers)
    assert fake.certificate_downloads == 1

    clock.advance(dt.timedelta(minutes=2))
    for _attempt in range(3):
        headers, body = fake.notify("TRANSACTION.SUCCESS", {}, serial="00AB")
        with pytest.raises(SignatureError) as caught:
            provider.parse_webhook(body=body, headers=headers)
        assert caught.value.code == "unknown_serial"
    # One fresh download, then a flood of forged serials costs WeChat nothing more.
    assert fake.certificate_downloads == 2


def test_a_rotated_platform_certificate_is_picked_up(fake: WeChatPayFake) -> None:
    reference = started(fake)
    new_serial = fake.rotate_certificate()
    clock.advance(dt.timedelta(minutes=2))
    headers, body = fake.pay(reference)
    assert headers["Wechatpay-Serial"] == new_serial

    assert only(WeChatPayProvider().parse_webhook(body=body, headers=headers)).type == \
        "succeeded"
    assert fake.certificate_downloads == 2


def test_certificates_that_do_not_decrypt_mean_a_wrong_apiv3_key(
        fake: WeChatPayFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_WECHATPAY_APIV3_KEY", "0123456789abcdef0123456789abcdef")
    with pytest.raises(SignatureError) as caught:
        WeChatPayProvider().start(start_request())
    assert caught.value.code == "bad_resource"


def test_public_key_merchants_verify_with_the_configured_key(
        fake: WeChatPayFake, monkeypatch: pytest.MonkeyPatch) -> None:
    """Merchants created since late 2024 have a WeChat Pay public key, no certificates."""
    monkeypatch.setattr(config, "OPTIONS", (
        *config.OPTIONS, config.Option("ESIMDESK_WECHATPAY_PUBLIC_KEY", "", ""),
        config.Option("ESIMDESK_WECHATPAY_PUBLIC_KEY_ID", "", "")))
    fake.public_key_id = "PUB_KEY_ID_0114232134912410000000000000"
    monkeypatch.setenv("ESIMDESK_WECHATPAY_PUBLIC_KEY", public_pem(fake.signing.key))
    monkeypatch.setenv("ESIMDESK_WECHATPAY_PUBLIC_KEY_ID", fake.public_key_id)

    reference = started(fake)
    headers, body = fake.pay(reference)
    assert only(WeChatPayProvider().parse_webhook(body=body, headers=headers)).type == \
        "succeeded"
    assert fake.certificate_downloads == 0


# -- query ---------------------------------------------------------------------------------


def test_query_agrees_with_the_notify(fake: WeChatPayFake) -> None:
    reference = paid(fake)
    event = WeChatPayProvider().query(payment_id=reference, provider_reference=reference)

    assert event is not None
    assert event.event_id == f"query:{reference}:succeeded"
    assert (event.type, event.amount, event.method) == \
        ("succeeded", Money(8800, "CNY"), "WeChat Pay")
    sent = fake.last_call()
    assert sent.path == f"/v3/pay/transactions/out-trade-no/{reference}?mchid=1900000109"
    assert sent.authorization_error == ""


@pytest.mark.parametrize("state", ["NOTPAY", "USERPAYING"])
def test_query_of_an_open_payment_is_none(fake: WeChatPayFake, state: str) -> None:
    reference = started(fake)
    fake.transactions[reference]["trade_state"] = state
    assert WeChatPayProvider().query(payment_id=reference, provider_reference=reference) is None


@pytest.mark.parametrize("state", ["CLOSED", "PAYERROR", "REVOKED"])
def test_query_of_a_closed_payment_is_declined(fake: WeChatPayFake,
                                               state: str) -> None:
    reference = started(fake)
    fake.close(reference, state)
    event = WeChatPayProvider().query(payment_id=reference, provider_reference=reference)
    assert event is not None
    assert (event.event_id, event.type) == (f"query:{reference}:declined", "declined")
    assert event.failure_code == state.lower()
    assert event.amount == Money(8800, "CNY")


def test_query_of_an_order_wechat_never_saw_is_a_final_error(
        fake: WeChatPayFake) -> None:
    with pytest.raises(FinalProviderError) as caught:
        WeChatPayProvider().query(payment_id="pay_never", provider_reference="pay_never")
    assert caught.value.code == "ORDER_NOT_EXIST"
    assert not caught.value.retryable


# -- refunds -------------------------------------------------------------------------------


def test_full_refund_then_its_notify(fake: WeChatPayFake) -> None:
    reference = paid(fake)
    provider = WeChatPayProvider()
    result = provider.refund(refund_id="ref_full0001", payment_id=reference,
                             provider_reference=reference, amount=Money(8800, "CNY"),
                             reason="Trip cancelled")
    assert result.status == "pending"
    assert result.provider_refund_id == fake.refunds["ref_full0001"]["refund_id"]
    sent = fake.last_call()
    assert sent.path == "/v3/refund/domestic/refunds"
    assert sent.json() == {"out_trade_no": reference, "out_refund_no": "ref_full0001",
                           "amount": {"refund": 8800, "total": 8800, "currency": "CNY"},
                           "reason": "Trip cancelled"}  # no notify_url over plain HTTP

    headers, body = fake.refund_notify("ref_full0001")
    event = only(provider.parse_webhook(body=body, headers=headers))
    assert event.event_id == json.loads(body)["id"]
    assert (event.type, event.provider_reference, event.refund_reference) == \
        ("refunded", reference, "ref_full0001")
    assert event.amount == Money(8800, "CNY")


def test_partial_refunds_are_idempotent_on_the_refund_id(
        fake: WeChatPayFake) -> None:
    reference = paid(fake)
    provider = WeChatPayProvider()

    def refund(refund_id: str, fen: int) -> Any:
        return provider.refund(refund_id=refund_id, payment_id=reference,
                               provider_reference=reference, amount=Money(fen, "CNY"))

    first = refund("ref_part0001", 3000)
    assert refund("ref_part0001", 3000) == first  # a retry: WeChat refunds once
    assert len(fake.refunds) == 1
    assert refund("ref_part0002", 5800).status == "pending"
    with pytest.raises(FinalProviderError) as caught:
        refund("ref_part0003", 1)
    assert caught.value.code == "INVALID_REQUEST"  # more than was paid

    headers, body = fake.refund_notify("ref_part0001")
    event = only(provider.parse_webhook(body=body, headers=headers))
    assert (event.amount, event.refund_reference) == (Money(3000, "CNY"), "ref_part0001")


def test_a_refund_wechat_completes_at_once_is_succeeded(fake: WeChatPayFake) -> None:
    reference = paid(fake)
    fake.refund_status = "SUCCESS"
    result = WeChatPayProvider().refund(refund_id="ref_quick001", payment_id=reference,
                                        provider_reference=reference,
                                        amount=Money(8800, "CNY"))
    assert result.status == "succeeded"
    # Paid, then refunded: the payment itself still succeeded.
    event = WeChatPayProvider().query(payment_id=reference, provider_reference=reference)
    assert event is not None and event.type == "succeeded"


@pytest.mark.parametrize("status", ["ABNORMAL", "CLOSED"])
def test_a_failed_refund_notify_is_refund_failed(fake: WeChatPayFake,
                                                 status: str) -> None:
    reference = paid(fake)
    provider = WeChatPayProvider()
    provider.refund(refund_id="ref_fail0001", payment_id=reference,
                    provider_reference=reference, amount=Money(500, "CNY"))
    headers, body = fake.refund_notify("ref_fail0001", status=status)
    event = only(provider.parse_webhook(body=body, headers=headers))
    assert (event.type, event.refund_reference, event.failure_code) == \
        ("refund_failed", "ref_fail0001", status.lower())


def test_refunds_name_the_notify_url_when_esimdesk_is_on_https(
        fake: WeChatPayFake, settings: Any) -> None:
    settings.PUBLIC_URL = "https://esim.example.com"
    reference = paid(fake)
    WeChatPayProvider().refund(refund_id="ref_https001", payment_id=reference,
                               provider_reference=reference, amount=Money(100, "CNY"))
    assert fake.last_call().json()["notify_url"] == NOTIFY_URL


def test_a_refund_in_another_currency_is_refused(fake: WeChatPayFake) -> None:
    reference = paid(fake)
    with pytest.raises(FinalProviderError) as caught:
        WeChatPayProvider().refund(refund_id="ref_usd00001", payment_id=reference,
                                   provider_reference=reference, amount=Money(100, "USD"))
    assert caught.value.code == "currency_mismatch"
    assert fake.refunds == {}


# -- transport and answers -----------------------------------------------------------------


def test_a_timeout_is_retryable(fake: WeChatPayFake) -> None:
    provider = WeChatPayProvider()
    provider.timeout = 0.2
    fake.fail_next(timeout=True)
    with pytest.raises(RetryableProviderError) as caught:
        provider.start(start_request())
    assert caught.value.code == "timeout"


def test_a_dropped_connection_is_retryable(fake: WeChatPayFake) -> None:
    fake.fail_next(disconnect=True)
    with pytest.raises(RetryableProviderError) as caught:
        WeChatPayProvider().start(start_request())
    assert caught.value.code == "network_error"


@pytest.mark.parametrize(("status", "code"), [(500, "SYSTEM_ERROR"), (502, "SYSTEM_ERROR"),
                                              (429, "FREQUENCY_LIMITED")])
def test_5xx_and_rate_limits_are_retryable(fake: WeChatPayFake, status: int,
                                           code: str) -> None:
    reference = paid(fake)
    fake.fail_next(status=status)
    with pytest.raises(RetryableProviderError) as caught:
        WeChatPayProvider().query(payment_id=reference, provider_reference=reference)
    assert caught.value.code == code


def test_an_answer_with_a_bad_signature_is_not_believed(fake: WeChatPayFake) -> None:
    reference = paid(fake)
    fake.fail_next(bad_signature=True)
    with pytest.raises(SignatureError) as caught:
        WeChatPayProvider().query(payment_id=reference, provider_reference=reference)
    assert caught.value.code == "bad_signature"


# -- configuration -------------------------------------------------------------------------


def test_missing_settings_are_named(fake: WeChatPayFake,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESIMDESK_WECHATPAY_MCHID")
    monkeypatch.setenv("ESIMDESK_WECHATPAY_APIV3_KEY", " ")
    with pytest.raises(NotConfigured) as caught:
        WeChatPayProvider()
    assert "ESIMDESK_WECHATPAY_MCHID" in str(caught.value)
    assert "ESIMDESK_WECHATPAY_APIV3_KEY" in str(caught.value)
    assert "ESIMDESK_WECHATPAY_APPID" not in str(caught.value)
    assert set(WeChatPayProvider.required_settings) >= {"ESIMDESK_WECHATPAY_MCHID",
                                                        "ESIMDESK_WECHATPAY_APIV3_KEY"}


@pytest.mark.parametrize(("name", "value"), [
    ("ESIMDESK_WECHATPAY_APIV3_KEY", "too-short"),
    ("ESIMDESK_WECHATPAY_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----\nnope\n-----END"),
])
def test_unusable_keys_are_not_configured(fake: WeChatPayFake,
                                          monkeypatch: pytest.MonkeyPatch, name: str,
                                          value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(NotConfigured, match=name):
        WeChatPayProvider()


def test_the_private_key_may_be_a_file_path(fake: WeChatPayFake,
                                            monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Any) -> None:
    path = tmp_path / "apiclient_key.pem"
    path.write_text(private_pem(fake.merchant_key))
    monkeypatch.setenv("ESIMDESK_WECHATPAY_PRIVATE_KEY", str(path))
    assert started(fake)


def test_the_private_key_may_be_bare_base64(fake: WeChatPayFake,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The merchant platform's tools also show the key without PEM armour."""
    body = "".join(private_pem(fake.merchant_key).strip().splitlines()[1:-1])
    monkeypatch.setenv("ESIMDESK_WECHATPAY_PRIVATE_KEY", body)
    assert started(fake)
