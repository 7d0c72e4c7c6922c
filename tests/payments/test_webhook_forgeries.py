"""Forged payment webhooks over HTTP: refused by the cheap local checks before esimdesk asks
the provider anything (the local fakes count every request), and answered with a stable
code and a translated message that echo nothing of esimdesk's internals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from esimdesk.core import clock
from esimdesk.payments.models import PaymentEvent
from tests.payments.fakes.paypal import PayPalFake, paypal_fake  # noqa: F401
from tests.payments.fakes.wechatpay import WeChatPayFake, wechatpay_fake  # noqa: F401

pytestmark = pytest.mark.django_db

BAD = "The signature of the message does not verify."
STALE = "The signature of the message is too old."
# What an answer must never contain: addresses, errors, option names, the reason refused.
INTERNALS = ("127.0.0.1", "Errno", "urlopen", "refused", "ESIMDESK_", "evil", "serial",
             "Traceback", "http://", "https://")


def deliver(provider: str, body: bytes, headers: dict[str, str], **extra: Any) -> Any:
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()
            if k.lower() != "content-type"}
    return Client().post(f"/hooks/payments/{provider}", data=body,
                         content_type="application/json", **meta, **extra)


def clean(response: Any, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.content
    assert response.json() == {"code": code, "message": message, "detail": None}
    text = response.content.decode()
    for word in INTERNALS:
        assert word not in text, word
    assert not PaymentEvent.objects.exists()


# -- PayPal ---------------------------------------------------------------------------------


@pytest.fixture
def paypal(paypal_fake: PayPalFake, settings: Any) -> PayPalFake:  # noqa: F811
    settings.ESIMDESK = {**settings.ESIMDESK, "PAYMENT_PROVIDERS": ["sandbox", "paypal"]}
    return paypal_fake


def _signed(fake: PayPalFake) -> tuple[dict[str, str], bytes]:
    return fake.webhook("PAYMENT.CAPTURE.COMPLETED", {"id": "0VF52814937998046"})


def _headers(fake: PayPalFake, **changes: str | None) -> tuple[dict[str, str], bytes]:
    headers, body = _signed(fake)
    for name, value in changes.items():
        key = "Paypal-" + name.replace("_", "-").title()
        if value is None:
            del headers[key]
        else:
            headers[key] = value
    return headers, body


FORGERIES: dict[str, tuple[dict[str, str | None], bytes | None, str]] = {
    "no headers at all": ({"transmission_id": None, "transmission_time": None,
                           "transmission_sig": None, "cert_url": None, "auth_algo": None},
                          None, BAD),
    "no signature": ({"transmission_sig": None}, None, BAD),
    "certificate on another host": (
        {"cert_url": "https://evil.example/v1/notifications/certs/CERT-1"}, None, BAD),
    "certificate on a look-alike host": (
        {"cert_url": "https://api.paypal.com.evil.example/v1/notifications/certs/CERT-1"},
        None, BAD),
    "certificate over plain http": (
        {"cert_url": "http://api.paypal.com/v1/notifications/certs/CERT-1"}, None, BAD),
    "certificate with credentials": (
        {"cert_url": "https://evil@api.paypal.com/v1/notifications/certs/CERT-1"}, None, BAD),
    "certificate on another port": (
        {"cert_url": "https://api.paypal.com:8443/v1/notifications/certs/CERT-1"}, None, BAD),
    "certificate elsewhere on PayPal": (
        {"cert_url": "https://api.paypal.com/v1/oauth2/token"}, None, BAD),
    "a weak algorithm": ({"auth_algo": "SHA1withRSA"}, None, BAD),
    "a numeric transmission id": ({"transmission_id": "1234567890"}, None, BAD),
    "a huge transmission id": ({"transmission_id": "a" * 51}, None, BAD),
    "a signature that is not base64": ({"transmission_sig": "not base64!"}, None, BAD),
    "a short signature": ({"transmission_sig": "bm9wZQ=="}, None, BAD),
    "an unreadable time": ({"transmission_time": "soon"}, None, BAD),
    "a stale time": ({"transmission_time": "2020-01-01T00:00:00Z"}, None, STALE),
    "a time off the calendar": ({"transmission_time": "0001-01-01T00:00:00+23:59"}, None,
                                STALE),
    "a list for a body": ({}, b"[]", BAD),
    "an event without an id": ({}, b'{"event_type": "PAYMENT.CAPTURE.COMPLETED"}', BAD),
    "an event without a type": ({}, b'{"id": "WH-1"}', BAD),
    "not JSON": ({}, b"<xml/>", BAD),
}


@pytest.mark.parametrize("name", FORGERIES)
def test_a_forged_paypal_message_never_reaches_paypal(paypal: PayPalFake, name: str) -> None:
    changes, body, message = FORGERIES[name]
    headers, signed_body = _headers(paypal, **changes)
    response = deliver("paypal", signed_body if body is None else body, headers)
    clean(response, 400, "stale_signature" if message == STALE else "bad_signature", message)
    assert paypal.calls == []  # not even for an access token


def test_json_nested_too_deep_is_refused_at_the_boundary(paypal: PayPalFake) -> None:
    """The input boundary refuses it before the webhook view runs: nothing reaches PayPal."""
    headers, _body = _headers(paypal)
    response = deliver("paypal", b"[" * 100_000, headers)
    assert response.status_code == 400
    assert response.json()["code"] == "json_too_deep"
    assert paypal.calls == []
    assert not PaymentEvent.objects.exists()


def test_a_paypal_message_needs_a_configured_webhook_id(
        paypal: PayPalFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_PAYPAL_WEBHOOK_ID", "not a webhook id")
    headers, body = _signed(paypal)
    clean(deliver("paypal", body, headers), 400, "bad_signature", BAD)
    assert paypal.calls == []


def test_a_well_formed_forgery_costs_one_verification(paypal: PayPalFake) -> None:
    """What local checks cannot tell, PayPal's verification does: that is the only call."""
    headers, body = _signed(paypal)
    forged = body.replace(b"0VF52814937998046", b"0VF52814937998047")
    clean(deliver("paypal", forged, headers), 400, "bad_signature", BAD)
    assert [path for _, path in paypal.calls] == [
        "/v1/oauth2/token", "/v1/notifications/verify-webhook-signature"]


def test_a_paypal_outage_is_503_without_internals(
        paypal: PayPalFake, caplog: pytest.LogCaptureFixture) -> None:
    headers, body = _signed(paypal)
    paypal.stop()  # connection refused: urlopen error [Errno 111]
    response = deliver("paypal", body, headers)
    clean(response, 503, "provider_unavailable",
          "The payment service is not answering. Please try again.")
    assert "Errno" in caplog.text or "refused" in caplog.text.lower()  # the log keeps it


def test_refusals_are_translated(paypal: PayPalFake) -> None:
    headers, body = _headers(paypal, auth_algo="SHA1withRSA")
    response = deliver("paypal", body, headers, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.json()["message"] == "消息签名验证失败。"


def test_a_provider_missing_its_keys_says_nothing_of_them(
        paypal: PayPalFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_PAYPAL_CLIENT_SECRET", "")
    headers, body = _signed(paypal)
    clean(deliver("paypal", body, headers), 503, "provider_unavailable",
          "The payment service is not answering. Please try again.")


def test_an_unknown_provider_does_not_list_the_enabled_ones(db: None) -> None:
    response = Client().post("/hooks/payments/nonesuch", data=b"{}",
                             content_type="application/json")
    assert response.status_code == 404
    assert response.json()["detail"] is None and "sandbox" not in response.content.decode()


# -- WeChat Pay ------------------------------------------------------------------------------


@pytest.fixture
def wechat(wechatpay_fake: WeChatPayFake, settings: Any) -> WeChatPayFake:  # noqa: F811
    settings.ESIMDESK = {**settings.ESIMDESK, "PAYMENT_PROVIDERS": ["sandbox", "wechatpay"]}
    return wechatpay_fake


def _notify(fake: WeChatPayFake, **forge: Any) -> tuple[dict[str, str], bytes]:
    return fake.notify("TRANSACTION.SUCCESS", {"out_trade_no": "pay_1", "trade_state": "SUCCESS",
                                               "amount": {"total": 100, "currency": "CNY"}},
                       **forge)


def _header_forgeries() -> dict[str, tuple[str, str | None, str]]:
    now = int(clock.now().timestamp())
    return {
        "no timestamp": ("Wechatpay-Timestamp", None, BAD),
        "no serial": ("Wechatpay-Serial", None, BAD),
        "a word for a timestamp": ("Wechatpay-Timestamp", "yesterday", BAD),
        "a fractional timestamp": ("Wechatpay-Timestamp", f"{now}.5", BAD),
        "an old timestamp": ("Wechatpay-Timestamp", str(now - 301), STALE),
        "a timestamp from the future": ("Wechatpay-Timestamp", str(now + 3600), STALE),
        "a nonce with spaces": ("Wechatpay-Nonce", "a b c", BAD),
        "a huge nonce": ("Wechatpay-Nonce", "A" * 65, BAD),
        "a serial that is not hex": ("Wechatpay-Serial", "ZZZZ-not-a-serial", BAD),
        "a huge serial": ("Wechatpay-Serial", "A" * 65, BAD),
        "a signature that is not base64": ("Wechatpay-Signature", "WECHATPAY/SIGNTEST/9UF", BAD),
        "a tiny signature": ("Wechatpay-Signature", "bm9wZQ==", BAD),
        "another signature type": ("Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3", BAD),
    }


@pytest.mark.parametrize("name", list(_header_forgeries()))
def test_a_forged_wechat_notify_never_reaches_wechat(wechat: WeChatPayFake, name: str) -> None:
    """The certificate cache is cold here: a well-formed fresh notify would make esimdesk
    download the platform certificates, a malformed or stale one must not."""
    header, value, message = _header_forgeries()[name]
    headers, body = _notify(wechat, serial="1DB2E5F0C0A3B1E2D9F8A7B6C5D4E3F2A1B0C9D8")
    if value is None:
        del headers[header]
    else:
        headers[header] = value
    response = deliver("wechatpay", body, headers)
    clean(response, 400, "stale_signature" if message == STALE else "bad_signature", message)
    assert wechat.received == [] and wechat.certificate_downloads == 0


def test_a_flood_of_unknown_serials_downloads_the_certificates_once(
        wechat: WeChatPayFake) -> None:
    for _ in range(5):
        headers, body = _notify(wechat, serial="1DB2E5F0C0A3B1E2D9F8A7B6C5D4E3F2A1B0C9D8")
        clean(deliver("wechatpay", body, headers), 400, "bad_signature", BAD)
    assert wechat.certificate_downloads == 1
    clock.set_now(clock.now() + dt.timedelta(minutes=2))
    for _ in range(3):
        headers, body = _notify(wechat, serial="00AB")
        clean(deliver("wechatpay", body, headers), 400, "bad_signature", BAD)
    assert wechat.certificate_downloads == 2
    # The genuine platform certificate still verifies, from the cache.
    headers, body = _notify(wechat)
    assert deliver("wechatpay", body, headers).status_code == 200
    assert wechat.certificate_downloads == 2


def test_with_no_certificates_to_be_had_a_flood_costs_one_download(
        wechat: WeChatPayFake) -> None:
    """WeChat lists no platform certificate (a public-key merchant whose key esimdesk was
    not given): the first forgery downloads the empty list, the rest are asked to come back
    later, and WeChat hears nothing more of them."""
    wechat.public_key_id = "PUB_KEY_ID_0114232134912410000000000000"
    headers, body = _notify(wechat, serial="1DB2E5F0C0A3B1E2D9F8A7B6C5D4E3F2A1B0C9D8")
    clean(deliver("wechatpay", body, headers), 400, "bad_signature", BAD)
    for _ in range(5):
        headers, body = _notify(wechat, serial="2DB2E5F0C0A3B1E2D9F8A7B6C5D4E3F2A1B0C9D8")
        clean(deliver("wechatpay", body, headers), 503, "provider_unavailable",
              "The payment service is not answering. Please try again.")
    assert wechat.certificate_downloads == 1 and len(wechat.received) == 1


def test_a_wechat_outage_is_503_without_internals(wechat: WeChatPayFake) -> None:
    wechat.stop()  # the certificate download meets a closed port
    for _ in range(2):  # the second is not even tried: the next download is not due yet
        headers, body = _notify(wechat, serial="1DB2E5F0C0A3B1E2D9F8A7B6C5D4E3F2A1B0C9D8")
        clean(deliver("wechatpay", body, headers), 503, "provider_unavailable",
              "The payment service is not answering. Please try again.")


def test_the_answer_to_a_resource_that_does_not_decrypt_names_no_reason(
        wechat: WeChatPayFake) -> None:
    headers, body = _notify(wechat, apiv3_key="0123456789abcdef0123456789abcdef")
    clean(deliver("wechatpay", body, headers), 400, "bad_signature", BAD)
    assert wechat.certificate_downloads == 1  # it was signed well: only the seal is wrong
