"""Alipay (支付宝) through the Alipay open platform gateway: RSA2 keys, CNY.

Desktop: a QR code (``alipay.trade.precreate``), or page pay with ``desktop_flow="page"``;
phones: the WAP cashier (``alipay.trade.wap.pay``). Outcomes come as signed form-encoded
notifies or from ``alipay.trade.query``; refunds use ``alipay.trade.refund`` with esimdesk's
refund id as ``out_request_no`` (Alipay refunds one ``out_request_no`` once).

python-alipay-sdk 3.4 signs the requests (``client_api``) and verifies notifies
(``verify``). Its HTTP side is not used: the gateway URL is a private attribute that only its
``debug`` flag switches between two fixed hosts (``ESIMDESK_ALIPAY_GATEWAY`` would mean writing
to ``_gateway``), it sends the whole request, biz_content included, as a GET query string,
and it finds the signed part of an answer by counting braces, which a ``}`` inside a string
defeats. So a small client here POSTs the form and checks the answer's RSA2 signature
(SHA256withRSA, PKCS#1 v1.5) over the exact text of its ``<method>_response`` member with
``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import http.client
import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qsl

from alipay import AliPay
from alipay.exceptions import AliPayException
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from esimdesk import config
from esimdesk.core import clock
from esimdesk.core.money import Money, exponent
from esimdesk.payments.providers.base import (
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

# Alipay reads and writes every time in Beijing time (China has had no DST since 1991).
BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Alipay retries a notify for about 25 hours; anything older than this is a replay.
NOTIFY_MAX_AGE = dt.timedelta(hours=48)
# Alipay settles these trades in CNY only; a configured currency outside this set is ignored.
SETTLES_IN = frozenset({"CNY"})
PAID = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})
MAX_FIELDS = 100  # a trade notify has about 30
# "System busy" answers: Alipay documents that the same request may be retried.
RETRYABLE_CODES = frozenset({"20000", "ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR",
                             "isp.unknow-error"})
_AMOUNT = re.compile(r"\d{1,15}(\.\d{1,6})?")
_SUBJECT_FORBIDDEN = re.compile(r"[/=&]")  # Alipay rejects these in a trade subject
_DECODER = json.JSONDecoder()


class AlipayProvider(PaymentProvider):
    name = "alipay"
    supports_saved_methods = False
    required_settings = ("ESIMDESK_ALIPAY_APP_ID", "ESIMDESK_ALIPAY_PRIVATE_KEY",
                         "ESIMDESK_ALIPAY_PUBLIC_KEY")

    def __init__(self, *, desktop_flow: Literal["qr", "page"] = "qr",
                 timeout: float = 10.0) -> None:
        missing = [n for n in self.required_settings if not config.env(n).strip()]
        if missing:
            raise NotConfigured(f"Alipay needs {', '.join(missing)}", code="not_configured")
        self.app_id = config.env("ESIMDESK_ALIPAY_APP_ID").strip()
        self.gateway = config.env("ESIMDESK_ALIPAY_GATEWAY").strip()
        if config.flag("ESIMDESK_PRODUCTION") and not self.gateway.startswith("https://"):
            raise NotConfigured("ESIMDESK_ALIPAY_GATEWAY must be https:// in production",
                                code="not_configured")
        self.currencies = frozenset(config.env_list("ESIMDESK_ALIPAY_CURRENCIES")) & SETTLES_IN
        self.desktop_flow = desktop_flow
        self.timeout = timeout
        app_key = _rsa_key("ESIMDESK_ALIPAY_PRIVATE_KEY", private=True)
        self._alipay_key: rsa.RSAPublicKey = _rsa_key("ESIMDESK_ALIPAY_PUBLIC_KEY",
                                                      private=False)
        # Normalised PEM for the SDK, whatever form the operator gave.
        self._sdk = AliPay(
            appid=self.app_id, sign_type="RSA2",
            app_private_key_string=app_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode(),
            alipay_public_key_string=self._alipay_key.public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo).decode())

    # -- start ---------------------------------------------------------------------------

    def start(self, request: StartRequest) -> StartResult:
        self._refuse_currency(request.amount)
        biz = {"out_trade_no": request.payment_id,
               "total_amount": request.amount.decimal_string(),
               "subject": _subject(request.description)}
        if request.device == "mobile":
            biz |= {"product_code": "QUICK_WAP_WAY", "quit_url": request.cancel_url}
            return self._redirect("alipay.trade.wap.pay", biz, request)
        if self.desktop_flow == "page":
            biz |= {"product_code": "FAST_INSTANT_TRADE_PAY"}
            return self._redirect("alipay.trade.page.pay", biz, request)
        content = self._call("alipay.trade.precreate", biz, notify_url=request.notify_url)
        qr_code = str(content.get("qr_code") or "")
        if not qr_code:
            raise RetryableProviderError("Alipay precreate answered without a QR code",
                                         code="bad_response")
        return StartResult(provider_reference=request.payment_id,
                           next_action=NextAction(type="qr", data=qr_code))

    def _redirect(self, method: str, biz: dict[str, str], request: StartRequest) -> StartResult:
        """A page flow is a signed GET to the gateway in the payer's browser: no server call,
        so nothing can time out here; the trade exists once the payer opens the page."""
        signed = self._sdk.client_api(method, biz, notify_url=request.notify_url,
                                      return_url=request.return_url, timestamp=_timestamp())
        separator = "&" if "?" in self.gateway else "?"
        return StartResult(provider_reference=request.payment_id,
                           next_action=NextAction(type="redirect",
                                                  url=f"{self.gateway}{separator}{signed}"))

    # -- async notify ----------------------------------------------------------------------

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> list[ProviderEvent]:
        params = _form(body)
        self._verify_notify(params)
        if params.get("app_id") != self.app_id:
            raise SignatureError("notify is for another Alipay app", code="wrong_app")
        _check_fresh(params.get("notify_time", ""))
        if params.get("notify_type") != "trade_status_sync" or not params.get("out_trade_no"):
            return []
        event = _trade_event(params, event_id=params.get("notify_id", ""), notify=True)
        return [event] if event else []

    def _verify_notify(self, params: dict[str, str]) -> None:
        """RSA2 over the sorted ``k=v`` string of every parameter but sign and sign_type
        (the SDK's ``verify``); a notify signed any other way is refused."""
        unsigned = dict(params)
        signature = unsigned.pop("sign", "")
        if not signature or unsigned.get("sign_type") != "RSA2":
            raise SignatureError("notify is not RSA2-signed", code="bad_signature")
        try:
            valid = self._sdk.verify(unsigned, signature)
        except (AliPayException, ValueError, TypeError, binascii.Error):
            valid = False
        if not valid:
            raise SignatureError("notify signature does not verify", code="bad_signature")

    def webhook_ack(self) -> WebhookAck:
        # Alipay retries until it reads exactly "success" (8 times over ~25 hours).
        return WebhookAck(status=200, body=b"success", content_type="text/plain")

    # -- query and refund ------------------------------------------------------------------

    def query(self, *, payment_id: str, provider_reference: str) -> ProviderEvent | None:
        reference = provider_reference or payment_id
        try:
            content = self._call("alipay.trade.query", {"out_trade_no": reference})
        except FinalProviderError as error:
            # Alipay creates a precreate trade only when it is scanned: not yet there = open.
            if error.code == "ACQ.TRADE_NOT_EXIST" and not isinstance(error, SignatureError):
                return None
            raise
        content = {"out_trade_no": reference, **content}
        status = str(content.get("trade_status", ""))
        if status in PAID:
            return _trade_event(content, event_id=f"query:{reference}:succeeded")
        if status == "TRADE_CLOSED":
            # Also what a fully refunded trade shows; esimdesk never lets a decline undo a
            # success, and the refund itself is known from ``refund`` or its notify.
            return _trade_event(content, event_id=f"query:{reference}:declined")
        return None  # WAIT_BUYER_PAY

    def refund(self, *, refund_id: str, payment_id: str, provider_reference: str,
               amount: Money, reason: str = "") -> RefundResult:
        self._refuse_currency(amount)
        reference = provider_reference or payment_id
        content = self._call("alipay.trade.refund", {
            "out_trade_no": reference, "refund_amount": amount.decimal_string(),
            "out_request_no": refund_id, "refund_reason": reason[:256]})
        if content.get("fund_change") == "Y":
            return RefundResult(provider_refund_id=refund_id, status="succeeded")
        # "N": no money moved on *this* call. Alipay says to ask whether this out_request_no
        # was refunded before (a retried refund) rather than read it as a failure.
        done = self._call("alipay.trade.fastpay.refund.query",
                          {"out_trade_no": reference, "out_request_no": refund_id})
        if done.get("refund_amount") and done.get("refund_status", "REFUND_SUCCESS") in (
                "", "REFUND_SUCCESS"):
            return RefundResult(provider_refund_id=refund_id, status="succeeded")
        return RefundResult(provider_refund_id=refund_id, status="pending",
                            failure_message="Alipay has not confirmed the refund yet")

    def _refuse_currency(self, amount: Money) -> None:
        if amount.currency not in self.currencies:
            raise FinalProviderError(f"Alipay cannot collect or refund {amount.currency}",
                                     code="currency_not_supported")

    # -- the gateway -----------------------------------------------------------------------

    def _call(self, method: str, biz: dict[str, str], **system: str) -> dict[str, Any]:
        """One server call: signed form POST, verified JSON answer, business code checked."""
        body = self._sdk.client_api(method, biz, timestamp=_timestamp(), **system)
        text, charset = self._post(body.encode("ascii"))
        content = self._verified_content(text, charset, method)
        code, sub_code = str(content.get("code", "")), str(content.get("sub_code", ""))
        if code == "10000":
            return content
        message = f"Alipay {method}: {content.get('sub_msg') or content.get('msg') or code}"
        if code in RETRYABLE_CODES or sub_code in RETRYABLE_CODES:
            raise RetryableProviderError(message, code=sub_code or f"alipay_{code}")
        raise FinalProviderError(message, code=sub_code or f"alipay_{code}")

    def _post(self, body: bytes) -> tuple[str, str]:
        request = urllib.request.Request(  # noqa: S310 (the operator's https gateway)
            self.gateway, data=body, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                charset = response.headers.get_content_charset() or "utf-8"
                return response.read().decode(charset), charset
        except urllib.error.HTTPError as error:
            if error.code >= 500 or error.code == 429:
                raise RetryableProviderError(f"Alipay gateway answered HTTP {error.code}",
                                             code="gateway_unavailable") from error
            raise FinalProviderError(f"Alipay gateway answered HTTP {error.code}",
                                     code=f"http_{error.code}") from error
        except (OSError, http.client.HTTPException, UnicodeDecodeError, LookupError) as error:
            # URLError and timeouts are OSErrors: the call may or may not have happened.
            raise RetryableProviderError(f"Alipay gateway unreachable: {error}",
                                         code="gateway_unreachable") from error

    def _verified_content(self, text: str, charset: str, method: str) -> dict[str, Any]:
        """The ``<method>_response`` member, verified over its exact text as sent."""
        key = method.replace(".", "_") + "_response"
        try:
            document = json.loads(text)
            key = key if key in document else "error_response"
            signed_text = _member_text(text, key) if isinstance(document, dict) else None
            content = json.loads(signed_text) if signed_text else None
        except (ValueError, TypeError) as error:  # a proxy's error page, a cut-off answer
            raise RetryableProviderError("Alipay answered something other than JSON",
                                         code="bad_response") from error
        if not isinstance(content, dict):
            raise RetryableProviderError(f"Alipay answer lacks {key}", code="bad_response")
        signature = document.get("sign")
        if not signature:
            # Alipay leaves gateway-level refusals (bad app id, bad request signature)
            # unsigned. Such an answer can only ever stop us, never make us act on it.
            if content.get("code") == "10000":
                raise SignatureError("Alipay answer is not signed", code="bad_signature")
            return content
        if not self._signed_by_alipay(str(signed_text).encode(charset), str(signature)):
            raise SignatureError("Alipay answer signature does not verify",
                                 code="bad_signature")
        return content

    def _signed_by_alipay(self, message: bytes, signature: str) -> bool:
        try:
            self._alipay_key.verify(base64.b64decode(signature, validate=True), message,
                                    padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


# -- helpers ----------------------------------------------------------------------------------


def _trade_event(params: Mapping[str, Any], *, event_id: str,
                 notify: bool = False) -> ProviderEvent | None:
    """One trade notify or query answer as an event (``None`` for a still-open trade).
    Only a notify is about a refund: a query answer states the trade, not one refund."""
    reference = str(params.get("out_trade_no", ""))
    status = str(params.get("trade_status", ""))
    currency = str(params.get("trans_currency") or params.get("currency") or "CNY").upper()
    method = _method_label(str(params.get("buyer_logon_id", "")))
    raw = dict(params)
    # TRADE_FINISHED only means "no more refunds possible": it may repeat refund fields
    # that were already notified, so it is never read as a new refund.
    if notify and status in ("TRADE_SUCCESS", "TRADE_CLOSED") and (
            params.get("refund_fee") or params.get("gmt_refund")):
        # refund_fee is Alipay's running total refunded on the trade (cumulative); out_biz_no
        # is the out_request_no of the refund this notify is about (esimdesk's refund id).
        amount = _money(str(params["refund_fee"]), currency) if params.get("refund_fee") \
            else None
        return ProviderEvent(event_id=event_id, provider_reference=reference, type="refunded",
                             amount=amount, method=method, cumulative=True,
                             refund_reference=str(params.get("out_biz_no", "")), raw=raw)
    if status in PAID:
        return ProviderEvent(event_id=event_id, provider_reference=reference, type="succeeded",
                             amount=_money(str(params.get("total_amount", "")), currency),
                             method=method, raw=raw)
    if status == "TRADE_CLOSED":
        amount = _money(str(params["total_amount"]), currency) \
            if params.get("total_amount") else None
        return ProviderEvent(event_id=event_id, provider_reference=reference, type="declined",
                             amount=amount, method=method, failure_code="closed",
                             failure_message="The Alipay trade was closed unpaid.", raw=raw)
    return None


def _money(text: str, currency: str) -> Money:
    """An Alipay yuan string ("88.00") as exact minor units; never through a float."""
    if not _AMOUNT.fullmatch(text) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise FinalProviderError(f"unreadable Alipay amount {text!r} {currency!r}",
                                 code="bad_amount")
    minor = Decimal(text).scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        raise FinalProviderError(f"Alipay amount {text} has too many decimals for {currency}",
                                 code="bad_amount")
    return Money(int(minor), currency)


def _method_label(logon_id: str) -> str:
    """ "Alipay 138****8000". Alipay masks the account itself; mask again if it did not."""
    logon_id = logon_id.strip()
    if not logon_id:
        return "Alipay"
    if "*" not in logon_id:
        name, at, domain = logon_id.partition("@")
        logon_id = f"{name[:3]}***@{domain}" if at else (
            f"{logon_id[:3]}****{logon_id[-4:]}" if len(logon_id) > 7 else "****")
    return f"Alipay {logon_id}"


def _form(body: bytes) -> dict[str, str]:
    """The notify's form fields, decoded in the charset the notify names (utf-8 default)."""
    try:
        probe = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True,
                               encoding="latin-1", max_num_fields=MAX_FIELDS))
        charset = probe.get("charset") or "utf-8"
        pairs = parse_qsl(body.decode(charset), keep_blank_values=True, encoding=charset,
                          errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, LookupError, ValueError) as error:
        raise SignatureError("notify is not a readable form", code="bad_signature") from error
    params = dict(pairs)
    if len(params) != len(pairs):
        # A repeated field could be read one way when verifying and another when acting.
        raise SignatureError("notify repeats a field", code="bad_signature")
    return params


def _check_fresh(notify_time: str) -> None:
    try:
        sent = dt.datetime.strptime(notify_time, TIME_FORMAT).replace(tzinfo=BEIJING)
    except ValueError:
        raise SignatureError("notify_time missing or malformed", code="stale_signature") \
            from None
    if abs(clock.now() - sent) > NOTIFY_MAX_AGE:
        raise SignatureError("notify is too old to be a retry", code="stale_signature")


def _timestamp() -> str:
    return clock.now().astimezone(BEIJING).strftime(TIME_FORMAT)


def _subject(description: str) -> str:
    return _SUBJECT_FORBIDDEN.sub(" ", description).strip()[:256] or "esimdesk"


def _member_text(document: str, key: str) -> str | None:
    """The exact text of one top-level member's value of a JSON object (what Alipay signed),
    found with the JSON decoder itself so braces inside strings cannot mislead it."""
    pos = _skip(document, 0) + 1  # past "{" (the document already parsed as JSON)
    while True:
        pos = _skip(document, pos)
        if document[pos:pos + 1] != '"':
            return None
        name, pos = _DECODER.raw_decode(document, pos)
        start = _skip(document, _skip(document, pos) + 1)  # past ":"
        _value, end = _DECODER.raw_decode(document, start)
        if name == key:
            return document[start:end]
        pos = _skip(document, end) + 1  # past "," (or "}", then stop above)


def _skip(text: str, pos: int) -> int:  # past JSON whitespace
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _rsa_key(name: str, *, private: bool) -> Any:
    """An RSA key from its option: PEM (inline or a file), or the bare base64 that Alipay's
    key tool prints (PKCS#8 / PKCS#1 private, X.509 public)."""
    try:
        text = config.env_text_or_file(name)
    except OSError:  # it stats the value as a path: a bare base64 key is "too long a name"
        text = config.env(name).strip()
    try:
        if "-----BEGIN" in text:
            key: Any = (serialization.load_pem_private_key(text.encode(), password=None)
                        if private else serialization.load_pem_public_key(text.encode()))
        else:
            key = (serialization.load_der_private_key(_bare(text), password=None)
                   if private else serialization.load_der_public_key(_bare(text)))
    except (ValueError, TypeError, binascii.Error) as error:
        raise NotConfigured(f"{name} is not a readable {'private' if private else 'public'} "
                            "key", code="not_configured") from error
    if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        raise NotConfigured(f"{name} must be an RSA key (RSA2)", code="not_configured")
    return key


def _bare(text: str) -> bytes:
    return base64.b64decode("".join(text.split()), validate=True)
