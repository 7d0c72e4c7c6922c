"""WeChat Pay (微信支付) through the API v3 of a direct (普通) merchant: Native (QR code) on
desktops, H5 (a page that opens WeChat) on phones, refunds, and signed, encrypted notifies.

Why not the ``wechatpayv3`` SDK (2.0.4 is installed): its ``Core`` hard-codes the gateway
``https://api.mch.weixin.qq.com`` with no argument to change it (only the private
``_core._gate_way``), and its constructor downloads the platform certificates from that
hard-coded gateway before a caller could repoint it. It can therefore not be aimed at
``ESIMDESK_WECHATPAY_API_BASE`` (a local fake, a proxy, the backup domain) without patching
internals, and it reaches the internet merely by being built. It also never checks the
timestamp of a response or notify, signs with ``time.time()`` rather than esimdesk's clock,
and reports every failure as a bare ``Exception`` or ``None`` where esimdesk needs typed errors
(stale / unknown serial / bad signature / bad resource; retryable / final). The v3 wire format
is small and documented, so this module speaks it with ``requests`` and ``cryptography``
(``wechatpay_crypto.py``).

Platform keys. Responses and notifies are signed by a WeChat Pay platform certificate, named by
``Wechatpay-Serial``. The list comes from ``GET /v3/certificates`` (each certificate encrypted
with the APIv3 key), is downloaded lazily the first time a signature must be checked (never in
the constructor: the registry builds an adapter per checkout page) and cached per process by
API base and merchant id. An unknown serial triggers one fresh download, at most once a minute
per process (also while the list is empty or unreachable), and only for a message whose
signature headers are well-formed and fresh.
Merchants created since late 2024 get a "WeChat Pay public key" (``PUB_KEY_ID_…``) instead of
platform certificates; that key is used when ``ESIMDESK_WECHATPAY_PUBLIC_KEY`` and
``ESIMDESK_WECHATPAY_PUBLIC_KEY_ID`` are set.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.urls import reverse

from esimdesk import config
from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.payments.providers import wechatpay_crypto as crypto
from esimdesk.payments.providers.base import (
    EventType,
    FinalProviderError,
    NextAction,
    NotConfigured,
    PaymentProvider,
    ProviderEvent,
    RefundResult,
    RetryableProviderError,
    SignatureError,
    StartRequest,
    StartResult,
    WebhookAck,
)
from esimdesk.payments.providers.wechatpay_crypto import clear_certificate_cache

__all__ = ["WeChatPayProvider", "clear_certificate_cache"]

logger = logging.getLogger(__name__)

METHOD = "WeChat Pay"
TOLERANCE_SECONDS = 300
# The domestic v3 API collects CNY only (cross-border merchants use /v3/global/… instead).
API_CURRENCIES = frozenset({"CNY"})
# H5 needs the payer's IP; StartRequest does not carry one yet.
PAYER_IP = "127.0.0.1"  # only when the request carries no address
PAID_STATES = {"SUCCESS", "REFUND"}  # REFUND: paid, then (partly) refunded
FAILED_STATES = {"CLOSED", "PAYERROR", "REVOKED"}
REFUND_EVENTS: dict[str, EventType] = {
    "REFUND.SUCCESS": "refunded", "REFUND.ABNORMAL": "refund_failed",
    "REFUND.CLOSED": "refund_failed"}
REFUND_STATUSES: dict[str, Literal["pending", "succeeded", "failed"]] = {
    "SUCCESS": "succeeded", "PROCESSING": "pending", "ABNORMAL": "failed", "CLOSED": "failed"}

KeyLookup = Callable[[str], rsa.RSAPublicKey]


class WeChatPayProvider(PaymentProvider):
    name = "wechatpay"
    supports_saved_methods = False
    required_settings = ("ESIMDESK_WECHATPAY_MCHID", "ESIMDESK_WECHATPAY_APPID",
                         "ESIMDESK_WECHATPAY_PRIVATE_KEY", "ESIMDESK_WECHATPAY_CERT_SERIAL",
                         "ESIMDESK_WECHATPAY_APIV3_KEY")
    #: seconds to connect and to read each answer
    timeout: float = 10.0

    def __init__(self) -> None:
        missing = [name for name in self.required_settings if not config.env(name).strip()]
        if missing:
            raise NotConfigured(f"WeChat Pay needs {', '.join(missing)}", code="not_configured")
        self.mchid = config.env("ESIMDESK_WECHATPAY_MCHID").strip()
        self.appid = config.env("ESIMDESK_WECHATPAY_APPID").strip()
        self.serial = config.env("ESIMDESK_WECHATPAY_CERT_SERIAL").strip()
        self.api_base = config.env("ESIMDESK_WECHATPAY_API_BASE").strip().rstrip("/")
        self.currencies = frozenset(config.env_list("ESIMDESK_WECHATPAY_CURRENCIES")) \
            & API_CURRENCIES
        self._key = crypto.configured_private_key()
        self._apiv3_key = crypto.configured_apiv3_key()
        self._public_key = crypto.configured_public_key()
        self._scope = (self.api_base, self.mchid)

    # -- the contract ------------------------------------------------------------------

    def start(self, request: StartRequest) -> StartResult:
        amount = request.amount
        if amount.currency not in self.currencies:
            raise FinalProviderError(f"WeChat Pay cannot collect {amount.currency}",
                                     code="currency_not_supported")
        order: dict[str, Any] = {
            "appid": self.appid, "mchid": self.mchid,
            "description": _clip(request.description, 127),
            "out_trade_no": request.payment_id, "notify_url": request.notify_url,
            "amount": {"total": amount.amount, "currency": amount.currency},
        }
        if request.device == "mobile":
            order["scene_info"] = {"payer_client_ip": request.payer_ip or PAYER_IP,
                                   "h5_info": {"type": "Wap"}}
            h5_url = _text(self._call("POST", "/v3/pay/transactions/h5", order), "h5_url")
            # WeChat sends the payer back to redirect_url after paying (or not).
            url = f"{h5_url}&redirect_url={quote(request.return_url, safe='')}"
            action = NextAction(type="redirect", url=url)
        else:
            code_url = _text(self._call("POST", "/v3/pay/transactions/native", order),
                             "code_url")
            action = NextAction(type="qr", data=code_url)
        return StartResult(provider_reference=request.payment_id, next_action=action)

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> list[ProviderEvent]:
        self._verify(headers, body, self._platform_key)
        envelope = _json_object(body, code="bad_resource", signature=True)
        resource = crypto.decrypt_resource(envelope.get("resource"), self._apiv3_key)
        try:
            return _events(envelope, resource)
        except (KeyError, TypeError, ValueError) as error:
            raise FinalProviderError(f"unexpected notify content: {error}",
                                     code="malformed_event") from error

    def webhook_ack(self) -> WebhookAck:
        """The current v3 docs (通知应答) ask for HTTP 200 or 204 and no body; earlier
        versions asked for ``{"code": "SUCCESS", "message": "成功"}``. A 200 with that body
        satisfies both, and WeChat ignores the body of a 2xx."""
        body = json.dumps({"code": "SUCCESS", "message": "成功"}, ensure_ascii=False)
        return WebhookAck(status=200, body=body.encode(), content_type="application/json")

    def query(self, *, payment_id: str, provider_reference: str) -> ProviderEvent | None:
        reference = provider_reference or payment_id
        transaction = self._transaction(reference)
        state = str(transaction.get("trade_state", ""))
        try:
            if state in PAID_STATES:
                return ProviderEvent(event_id=f"query:{reference}:succeeded",
                                     provider_reference=reference, type="succeeded",
                                     amount=_paid(transaction["amount"]), method=METHOD,
                                     raw=transaction)
            if state in FAILED_STATES:
                return ProviderEvent(event_id=f"query:{reference}:declined",
                                     provider_reference=reference, type="declined",
                                     amount=_money(transaction["amount"], "total"),
                                     method=METHOD, failure_code=state.lower(),
                                     failure_message=str(transaction.get("trade_state_desc",
                                                                         state)),
                                     raw=transaction)
        except (KeyError, TypeError, ValueError) as error:
            raise FinalProviderError(f"unexpected transaction: {error}",
                                     code="malformed_response") from error
        return None  # NOTPAY, USERPAYING: the payer has not finished

    def refund(self, *, refund_id: str, payment_id: str, provider_reference: str,
               amount: Money, reason: str = "") -> RefundResult:
        reference = provider_reference or payment_id
        # WeChat wants the original total with every refund; ask rather than trust a copy.
        transaction = self._transaction(reference)
        try:
            total = _money(transaction["amount"], "total")
        except (KeyError, TypeError, ValueError) as error:
            raise FinalProviderError(f"unexpected transaction: {error}",
                                     code="malformed_response") from error
        if amount.currency != total.currency:
            raise FinalProviderError(f"cannot refund {amount.currency} of a {total.currency} "
                                     "payment", code="currency_mismatch")
        payload: dict[str, Any] = {
            "out_trade_no": reference,
            "out_refund_no": refund_id,  # WeChat's idempotency key: a retry never pays twice
            "amount": {"refund": amount.amount, "total": total.amount,
                       "currency": amount.currency},
        }
        if reason:
            payload["reason"] = _clip(reason, 80)
        if notify_url := self._refund_notify_url():
            payload["notify_url"] = notify_url
        answer = self._call("POST", "/v3/refund/domestic/refunds", payload)
        status = str(answer.get("status", ""))
        return RefundResult(provider_refund_id=str(answer.get("refund_id", "")),
                            status=REFUND_STATUSES.get(status, "pending"),
                            failure_message="" if status in ("SUCCESS", "PROCESSING")
                            else f"WeChat Pay refund status {status}")

    # -- HTTP --------------------------------------------------------------------------

    def _transaction(self, reference: str) -> dict[str, Any]:
        path = (f"/v3/pay/transactions/out-trade-no/{quote(reference, safe='')}"
                f"?mchid={quote(self.mchid, safe='')}")
        return self._call("GET", path)

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None
              ) -> dict[str, Any]:
        """One signed request; the answer's signature is verified before it is read."""
        headers, body = self._send(method, path, payload)
        self._verify(headers, body, self._platform_key)
        return _json_object(body, code="malformed_response") if body else {}

    def _send(self, method: str, path: str, payload: dict[str, Any] | None = None
              ) -> tuple[Mapping[str, str], bytes]:
        # Serialised once: the signature covers exactly the bytes that go on the wire.
        body = b"" if payload is None else json.dumps(
            payload, ensure_ascii=False, separators=(",", ":")).encode()
        signed_path = urlsplit(self.api_base).path + path
        headers = {
            "Authorization": crypto.authorization(
                method=method, path=signed_path, body=body, mchid=self.mchid,
                serial=self.serial, key=self._key, timestamp=int(clock.now().timestamp()),
                nonce_str=crypto.nonce()),
            "Accept": "application/json",
            "User-Agent": "esimdesk-wechatpay/1",  # required by WeChat's v3 API rules
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = requests.request(method, self.api_base + path, data=body or None,
                                        headers=headers, timeout=self.timeout,
                                        allow_redirects=False)
        except requests.Timeout as error:
            raise RetryableProviderError("WeChat Pay did not answer in time",
                                         code="timeout") from error
        except requests.RequestException as error:
            raise RetryableProviderError(f"WeChat Pay unreachable: {error}",
                                         code="network_error") from error
        _raise_for_status(response)
        return response.headers, response.content

    # -- signatures and keys -----------------------------------------------------------

    def _verify(self, headers: Mapping[str, str], body: bytes, key_for: KeyLookup) -> None:
        crypto.verify_message(headers, body, key_for, now=clock.now(),
                              tolerance=TOLERANCE_SECONDS)

    def _platform_key(self, serial: str) -> rsa.RSAPublicKey:
        if self._public_key and serial == self._public_key[0]:
            return self._public_key[1]
        key = crypto.cached_key(self._scope, serial)
        if key is None and not serial.startswith("PUB_KEY_ID_"):
            key = self._refreshed_key(serial)
        if key is None:
            raise SignatureError(f"no WeChat Pay platform key with serial {serial[:64]!r}",
                                 code="unknown_serial")
        return key

    def _refreshed_key(self, serial: str) -> rsa.RSAPublicKey | None:
        """A serial we hold no certificate for: download the list if one is due."""
        if crypto.claim_refresh(self._scope, clock.now()):
            keys = self._download_certificates()
            if keys:
                crypto.store_keys(self._scope, keys)
            return crypto.find(keys, serial)
        if not crypto.holds_keys(self._scope) and not self._public_key:
            # Nothing to verify with until the next download is due: a genuine message is
            # asked to come again (WeChat redelivers), without another call to WeChat.
            raise RetryableProviderError("WeChat Pay platform certificates not loaded yet",
                                         code="certificates_unavailable")
        return None

    def _download_certificates(self) -> crypto.PlatformKeys:
        """The platform certificates, decrypted with the APIv3 key (which proves they come
        from WeChat) and the answer verified with the certificate it names. A refusal (4xx:
        e.g. a public-key-only merchant) yields none; network trouble stays retryable."""
        try:
            headers, body = self._send("GET", "/v3/certificates")
        except FinalProviderError as error:
            logger.warning("WeChat Pay refused the certificate list: %s (%s)", error.code, error)
            return {}
        listing = _json_object(body, code="malformed_response").get("data")
        try:
            keys = crypto.certificate_keys(listing if isinstance(listing, list) else [],
                                           self._apiv3_key, clock.now())
        except ValueError as error:
            raise SignatureError("platform certificates do not decrypt with "
                                 "ESIMDESK_WECHATPAY_APIV3_KEY", code="bad_resource") from error

        def key_for(serial: str) -> rsa.RSAPublicKey:
            if (key := crypto.find(keys, serial)) is None:
                raise SignatureError("certificate list signed by an unlisted certificate",
                                     code="unknown_serial")
            return key

        self._verify(headers, body, key_for)
        return keys

    def _refund_notify_url(self) -> str:
        """WeChat accepts HTTPS notify URLs only; over plain HTTP (development) we leave it
        out and WeChat uses the refund notify URL configured in the merchant platform."""
        base = str(settings.PUBLIC_URL)
        if not base.startswith("https://"):
            return ""
        return base + reverse("payment_webhook", args=[self.name])


# -- wire format helpers ---------------------------------------------------------------


def _raise_for_status(response: requests.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    code, message = f"http_{status}", f"WeChat Pay answered HTTP {status}"
    # An error body in WeChat's shape names the cause; anything else keeps the HTTP status.
    with contextlib.suppress(ValueError, TypeError, KeyError):
        error = json.loads(response.content)
        code, message = str(error["code"]), str(error.get("message", message))
    if 400 <= status < 500 and status != 429:
        raise FinalProviderError(message, code=code)
    raise RetryableProviderError(message, code=code)  # 5xx, 429 (FREQUENCY_LIMITED), other


def _json_object(raw: bytes, *, code: str, signature: bool = False) -> dict[str, Any]:
    error_class = SignatureError if signature else FinalProviderError
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise error_class("not JSON", code=code) from error
    if not isinstance(data, dict):
        raise error_class("not a JSON object", code=code)
    return data


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        # The order may well exist at WeChat: unknown outcome, not a refusal.
        raise RetryableProviderError(f"WeChat Pay answered without {key}",
                                     code="malformed_response")
    return value


def _clip(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes (WeChat's field lengths count bytes), whole characters."""
    return text.encode()[:limit].decode(errors="ignore")


def _fen(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"amount is not an integer number of fen: {value!r}")
    return value


def _money(amount: Mapping[str, Any], key: str) -> Money:
    # Refund notifies and unpaid orders (NOTPAY, CLOSED) carry no ``currency``; the domestic
    # API is CNY-only. When WeChat does name a currency, it is passed on as it is.
    return Money(_fen(amount[key]), str(amount.get("currency") or "CNY"))


def _paid(amount: Mapping[str, Any]) -> Money:
    return _money(amount, "payer_total" if "payer_total" in amount else "total")


def _events(envelope: dict[str, Any], resource: dict[str, Any]) -> list[ProviderEvent]:
    event_id, event_type = str(envelope.get("id") or ""), str(envelope.get("event_type", ""))
    if not event_id:
        raise ValueError("notify without an id")
    raw = {"id": event_id, "event_type": event_type, "resource": resource}
    if event_type == "TRANSACTION.SUCCESS" and resource.get("trade_state") == "SUCCESS":
        return [ProviderEvent(event_id=event_id, provider_reference=resource["out_trade_no"],
                              type="succeeded", amount=_paid(resource["amount"]),
                              method=METHOD, raw=raw)]
    if event_type in REFUND_EVENTS:
        status = str(resource.get("refund_status", ""))
        failed = REFUND_EVENTS[event_type] == "refund_failed"
        return [ProviderEvent(
            event_id=event_id, provider_reference=resource["out_trade_no"],
            type=REFUND_EVENTS[event_type],
            amount=_money(resource["amount"], "refund"),
            method=METHOD, refund_reference=resource["out_refund_no"],
            failure_code=status.lower() if failed else "",
            failure_message=f"WeChat Pay refund {status}" if failed else "", raw=raw)]
    return []  # other event types: verified, acknowledged, not used
