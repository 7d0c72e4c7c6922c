"""PayPal: Orders v2 (the payer approves on PayPal's page, esimdesk captures) and webhooks.

``start`` creates an order (``intent: CAPTURE``) and redirects the payer to PayPal. PayPal
does NOT capture an approved order by itself, so ``query`` captures it (on the return URL and
when reconciling): the one exception to "``query`` never changes anything at the provider",
because PayPal requires the merchant to capture what the payer approved. The capture carries
``PayPal-Request-Id: capture-<payment_id>``, so a return URL and a reconciliation running at
the same moment capture once. ``PAYMENT.CAPTURE.*`` webhooks then state the same facts again.

Plain ``urllib.request``, not ``paypal-server-sdk`` 2.4: its ``Configuration`` knows only two
hard-wired hosts (``Environment.PRODUCTION``/``SANDBOX``) with no option for another base URL,
so ``ESIMDESK_PAYPAL_API_BASE`` (a local fake, a proxy) could not be honoured without patching
its internals, and it has no client for ``verify-webhook-signature``. The few documented REST
calls below need no dependency.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import http.client
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from esimdesk import config
from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.payments.providers.base import (
    EventType,
    FinalProviderError,
    NextAction,
    NotConfigured,
    PaymentProvider,
    ProviderError,
    ProviderEvent,
    RefundResult,
    RetryableProviderError,
    SavedMethod,
    SignatureError,
    StartRequest,
    StartResult,
)
from esimdesk.payments.providers.paypal_resources import (
    _amount,
    _bearer,
    _describe,
    _event,
    _first_capture,
    _issue,
    _json,
    _link,
    _link_id,
    _method,
    _money,
    _order_id,
    _parse_time,
    _reason,
    _related_order_id,
    _saved_method,
    _unit,
    _unit_amount,
)

REQUIRED = ("ESIMDESK_PAYPAL_CLIENT_ID", "ESIMDESK_PAYPAL_CLIENT_SECRET",
            "ESIMDESK_PAYPAL_WEBHOOK_ID")
TIMEOUT_SECONDS = 20.0
TOLERANCE_SECONDS = 300  # a transmission time further off than this is a replayed message
TOKEN_MARGIN_SECONDS = 300  # renew the OAuth token this long before PayPal expires it
VERIFY_PATH = "/v1/notifications/verify-webhook-signature"
# Where PayPal's webhook signing certificates live; a message naming another place is forged.
CERT_HOSTS = frozenset({"api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com",
                        "api-m.sandbox.paypal.com"})
CERT_PATH = "/v1/notifications/certs/"
AUTH_ALGOS = frozenset({"SHA256withRSA"})  # the only one PayPal signs webhooks with
# The shapes PayPal documents for verify-webhook-signature's fields (pattern, length).
_TRANSMISSION_ID = re.compile(r"(?!\d+$)[\w-]{1,50}")
_WEBHOOK_ID = re.compile(r"[A-Za-z0-9]{1,50}")
_EVENT_ID = re.compile(r"[\w.-]{1,100}")
# verify-webhook-signature field -> the header PayPal sends it in (matched case-insensitively)
TRANSMISSION = {"auth_algo": "paypal-auth-algo", "cert_url": "paypal-cert-url",
                "transmission_id": "paypal-transmission-id",
                "transmission_sig": "paypal-transmission-sig",
                "transmission_time": "paypal-transmission-time"}
# 422 issues that mean "the payer's money said no": a declined payment, not an error
DECLINE_ISSUES = frozenset({
    "INSTRUMENT_DECLINED", "PAYER_ACTION_REQUIRED", "TRANSACTION_REFUSED", "PAYER_CANNOT_PAY",
    "PAYEE_BLOCKED_TRANSACTION", "TRANSACTION_BLOCKED_BY_PAYEE", "COMPLIANCE_VIOLATION",
    "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED", "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING",
    "PAYER_ACCOUNT_LOCKED_OR_CLOSED", "PAYER_ACCOUNT_RESTRICTED", "TRANSACTION_LIMIT_EXCEEDED",
    "AGREEMENT_ALREADY_CANCELLED", "PAYMENT_SOURCE_CANNOT_BE_USED",
    "PAYMENT_SOURCE_DECLINED_BY_PROCESSOR"})
# capture states once PayPal has the money (later refunds arrive as their own events)
CAPTURED = frozenset({"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"})
REFUND_STATES = {"COMPLETED": "succeeded", "PENDING": "pending",
                 "CANCELLED": "failed", "FAILED": "failed"}
DECLINED = "PayPal declined the payment"

# OAuth tokens are shared by every adapter instance (the registry builds one per use), keyed
# by API base, client id and a hash of the secret so a rotated secret gets a new token.
_tokens: dict[tuple[str, str, str], tuple[str, dt.datetime]] = {}
_tokens_lock = threading.Lock()


class PayPalProvider(PaymentProvider):
    name = "paypal"
    supports_saved_methods = True
    required_settings = REQUIRED

    def __init__(self) -> None:
        missing = [name for name in REQUIRED if not config.env(name).strip()]
        if missing:
            raise NotConfigured(f"PayPal needs {', '.join(missing)}", code="not_configured")
        self.client_id = config.env("ESIMDESK_PAYPAL_CLIENT_ID").strip()
        self._secret = config.env("ESIMDESK_PAYPAL_CLIENT_SECRET").strip()
        self.webhook_id = config.env("ESIMDESK_PAYPAL_WEBHOOK_ID").strip()
        self.api_base = config.env("ESIMDESK_PAYPAL_API_BASE").strip().rstrip("/")
        if urlsplit(self.api_base).scheme not in ("https", "http"):
            raise NotConfigured("ESIMDESK_PAYPAL_API_BASE must be an http(s) URL",
                                code="not_configured")
        self.currencies = frozenset(config.env_list("ESIMDESK_PAYPAL_CURRENCIES"))
        # Saving PayPal for auto-renew needs vaulting approved for the app; until the operator
        # says so, checkout does not offer it (PayPal would refuse such an order).
        self.supports_saved_methods = config.flag("ESIMDESK_PAYPAL_VAULT")
        self.timeout = TIMEOUT_SECONDS

    # -- the contract -----------------------------------------------------------------------

    def start(self, request: StartRequest) -> StartResult:
        paypal: dict[str, Any] = {"experience_context": {
            "return_url": request.return_url, "cancel_url": request.cancel_url,
            "locale": "zh-CN" if request.language.lower().startswith("zh") else "en-US",
            "user_action": "PAY_NOW",
            "shipping_preference": "NO_SHIPPING",  # an eSIM is never shipped
        }}
        if request.save_method:
            paypal["attributes"] = {"vault": {"store_in_vault": "ON_SUCCESS",
                                              "usage_type": "MERCHANT",
                                              "customer_type": "CONSUMER"}}
        status, data = self._create_order(request.payment_id, request.amount,
                                          request.description, paypal)
        order = self._ok(status, data, "create order")
        url = _link(order, "payer-action") or _link(order, "approve")
        if not url or not order.get("id"):
            raise FinalProviderError("PayPal returned no approval link", code="no_approval_link")
        return StartResult(provider_reference=str(order["id"]),
                           next_action=NextAction(type="redirect", url=url))

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> list[ProviderEvent]:
        event = self._verify(body, headers)
        kind = event.get("event_type")
        resource = event.get("resource")
        if not isinstance(resource, dict):
            return []
        event_id = str(event.get("id") or "")
        if kind == "PAYMENT.CAPTURE.COMPLETED":
            return [self._capture_event(event_id, resource, "succeeded")]
        if kind in ("PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.DECLINED"):
            return [self._capture_event(event_id, resource, "declined")]
        if kind == "PAYMENT.CAPTURE.REFUNDED":
            return self._refund_events(event_id, resource)
        # CHECKOUT.ORDER.APPROVED and the rest: esimdesk captures on return/reconcile
        return []

    def query(self, *, payment_id: str, provider_reference: str) -> ProviderEvent | None:
        """The order's truth; an ``APPROVED`` order is captured first (see the module doc)."""
        if not provider_reference:
            raise FinalProviderError("a PayPal payment is looked up by its order id",
                                     code="no_reference")
        order = self._get_order(provider_reference)
        custom_id = _unit(order).get("custom_id")
        if custom_id and custom_id != payment_id:  # never capture another payment's order
            raise FinalProviderError(f"PayPal order {provider_reference} belongs to {custom_id}",
                                     code="wrong_payment")
        if order.get("status") == "APPROVED":
            return self._capture(payment_id, order)
        return self._order_event(order)

    def refund(self, *, refund_id: str, payment_id: str, provider_reference: str,
               amount: Money, reason: str = "") -> RefundResult:
        capture = _first_capture(self._get_order(provider_reference))
        if not capture.get("id"):
            raise FinalProviderError("the PayPal order has no capture to refund",
                                     code="not_captured")
        payload: dict[str, Any] = {"amount": _amount(amount), "invoice_id": refund_id}
        if reason:
            payload["note_to_payer"] = reason[:255]
        path = f"/v2/payments/captures/{quote(str(capture['id']), safe='')}/refund"
        status, data = self._call("POST", path, payload, request_id=refund_id)
        refund = self._ok(status, data, "refund")
        state = REFUND_STATES.get(str(refund.get("status")), "pending")
        reason_code = (refund.get("status_details") or {}).get("reason", "")
        return RefundResult(provider_refund_id=str(refund.get("id", "")),
                            status=state,  # type: ignore[arg-type]
                            failure_message=str(reason_code) if state == "failed" else "")

    def charge_saved(self, *, payment_id: str, method: SavedMethod, amount: Money,
                     description: str, customer_ref: str = "") -> ProviderEvent:
        source = {"vault_id": method.token,
                  "stored_credential": {"payment_initiator": "MERCHANT", "usage": "SUBSEQUENT"}}
        status, data = self._create_order(payment_id, amount, description, source)
        if status == 422 and _issue(data) in DECLINE_ISSUES:
            # No order exists: the payment id is the only reference there is.
            return _event(payment_id, "declined", amount, data, method=method.label,
                          failure_code=_issue(data).lower(), failure_message=_describe(data))
        order = self._ok(status, data, "create order")
        if order.get("status") == "PAYER_ACTION_REQUIRED":  # cannot happen off-session
            return _event(str(order.get("id", "")), "declined", _unit_amount(order), order,
                          method=method.label, failure_code="payer_action_required",
                          failure_message="PayPal needs the payer to approve this payment")
        outcome = (self._capture(payment_id, order) if order.get("status") == "APPROVED"
                   else self._order_event(order))
        if outcome is None:
            raise RetryableProviderError("PayPal has not settled the charge yet",
                                         code="pending")
        return outcome

    # -- orders and captures ----------------------------------------------------------------

    def _create_order(self, payment_id: str, amount: Money, description: str,
                      paypal: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not self.supports(amount.currency):
            raise FinalProviderError(f"PayPal is not set up for {amount.currency}",
                                     code="unsupported_currency")
        payload = {"intent": "CAPTURE",
                   "purchase_units": [{"reference_id": payment_id, "custom_id": payment_id,
                                       "description": description[:127],
                                       "amount": _amount(amount)}],
                   "payment_source": {"paypal": paypal}}
        # PayPal-Request-Id = payment_id: a retried start returns the same order
        return self._call("POST", "/v2/checkout/orders", payload, request_id=payment_id)

    def _get_order(self, order_id: str) -> dict[str, Any]:
        status, data = self._call("GET", f"/v2/checkout/orders/{quote(order_id, safe='')}")
        return self._ok(status, data, "get order")

    def _capture(self, payment_id: str, order: dict[str, Any]) -> ProviderEvent | None:
        order_id = str(order["id"])
        path = f"/v2/checkout/orders/{quote(order_id, safe='')}/capture"
        status, data = self._call("POST", path, {}, request_id=f"capture-{payment_id}")
        issue = _issue(data)
        if status == 422 and issue == "ORDER_ALREADY_CAPTURED":
            return self._order_event(self._get_order(order_id))  # captured by another path
        if status == 422 and issue in DECLINE_ISSUES:
            return _event(order_id, "declined", _unit_amount(order), data,
                          method=_method(order), failure_code=issue.lower(),
                          failure_message=_describe(data))
        return self._order_event(self._ok(status, data, "capture"))

    def _order_event(self, order: dict[str, Any]) -> ProviderEvent | None:
        reference, status, method = str(order.get("id", "")), order.get("status"), _method(order)
        if status == "VOIDED":
            return _event(reference, "declined", _unit_amount(order), order, method=method,
                          failure_code="voided", failure_message="PayPal voided the order")
        if status != "COMPLETED":
            return None  # CREATED, SAVED, PAYER_ACTION_REQUIRED: the payer has not finished
        capture = _first_capture(order)
        if capture.get("status") in CAPTURED:
            return _event(reference, "succeeded", _money(capture.get("amount")), order,
                          method=method, saved_method=_saved_method(order, method))
        if capture.get("status") in ("DECLINED", "FAILED"):
            return _event(reference, "declined", _money(capture.get("amount")), order,
                          method=method, failure_code=_reason(capture, "capture_declined"),
                          failure_message=DECLINED)
        return None  # PENDING (e.g. an eCheck): PAYMENT.CAPTURE.COMPLETED/DENIED will say

    # -- webhooks ---------------------------------------------------------------------------

    def _verify(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        """PayPal's own check of the signature (an outbound call), only for a message that
        passed every local check (``_transmission``): a forgery costs PayPal nothing."""
        fields, event = self._transmission(body, headers)
        # The event goes back byte for byte: PayPal signs a CRC32 of the body it sent, and a
        # re-serialised copy (other spacing, escaping or number format) would not verify.
        head = json.dumps({**fields, "webhook_id": self.webhook_id})[:-1].encode()
        status, data = self._call("POST", VERIFY_PATH, head + b', "webhook_event": ' + body + b"}")
        if status in (408, 429) or status >= 500:
            raise self._error(status, data, "verify webhook signature")
        if status >= 300 or data.get("verification_status") != "SUCCESS":
            raise SignatureError("PayPal did not verify the signature", code="bad_signature")
        return event

    def _transmission(self, body: bytes, headers: Mapping[str, str]
                      ) -> tuple[dict[str, str], dict[str, Any]]:
        """The cheap checks, no network: every ``PAYPAL-*`` transmission header present and
        shaped as PayPal documents it, the transmission time within ``TOLERANCE_SECONDS``,
        the certificate URL on PayPal's own host over HTTPS (or on the configured API base,
        a fake or a proxy), a webhook id configured, and the body a JSON object with an id
        and an event type. Returns the verify fields and the event."""
        lower = {str(k).lower(): str(v).strip() for k, v in headers.items()}
        fields = {name: lower.get(header, "") for name, header in TRANSMISSION.items()}
        if not all(fields.values()):
            raise SignatureError("PayPal transmission headers are missing", code="bad_signature")
        if fields["auth_algo"] not in AUTH_ALGOS:
            raise SignatureError(f"unexpected auth algorithm {fields['auth_algo'][:40]!r}",
                                 code="bad_signature")
        if not _TRANSMISSION_ID.fullmatch(fields["transmission_id"]):
            raise SignatureError("malformed transmission id", code="bad_signature")
        try:
            signature = base64.b64decode(fields["transmission_sig"], validate=True)
        except (binascii.Error, ValueError):
            signature = b""
        if not 64 <= len(signature) <= 1024:
            raise SignatureError("malformed transmission signature", code="bad_signature")
        if not self._paypal_cert_url(fields["cert_url"]):
            raise SignatureError(f"certificate URL {fields['cert_url'][:100]!r} is not PayPal's",
                                 code="bad_signature")
        sent = _parse_time(fields["transmission_time"][:40])
        try:
            off = abs((clock.now() - sent).total_seconds())
        except OverflowError:
            off = float("inf")
        if off > TOLERANCE_SECONDS:
            raise SignatureError("transmission time outside tolerance", code="stale_signature")
        if not _WEBHOOK_ID.fullmatch(self.webhook_id):
            raise SignatureError("ESIMDESK_PAYPAL_WEBHOOK_ID is not a PayPal webhook id",
                                 code="bad_signature")
        try:
            event = json.loads(body)
        except (ValueError, RecursionError):
            raise SignatureError("the message is not JSON", code="bad_signature") from None
        if not isinstance(event, dict) or not isinstance(event.get("event_type"), str) \
                or not event["event_type"] or not isinstance(event.get("id"), str) \
                or not _EVENT_ID.fullmatch(event["id"]):
            raise SignatureError("the message is not a PayPal event", code="bad_signature")
        return fields, event

    def _paypal_cert_url(self, url: str) -> bool:
        if len(url) > 500:
            return False
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        if parts.username or parts.password or parts.query or parts.fragment \
                or not parts.path.startswith(CERT_PATH):
            return False
        if parts.scheme == "https" and parts.hostname in CERT_HOSTS and port in (None, 443):
            return True
        # The configured API base is trusted already: esimdesk sends its credentials there.
        base = urlsplit(self.api_base)
        return (parts.scheme, parts.netloc.lower()) == (base.scheme, base.netloc.lower())

    def _capture_event(self, event_id: str, capture: dict[str, Any],
                       kind: EventType) -> ProviderEvent:
        order_id = _order_id(capture)
        fields: dict[str, Any] = {"failure_code": _reason(capture, "capture_denied"),
                                  "failure_message": DECLINED}
        if kind == "succeeded":
            # The capture does not name the payer, the order does: best effort, the fact
            # (order, amount) stands without it.
            try:
                order = self._get_order(order_id)
            except ProviderError:
                order = {}
            method = _method(order)
            fields = {"method": method, "saved_method": _saved_method(order, method)}
        return ProviderEvent(event_id=event_id, provider_reference=order_id, type=kind,
                             amount=_money(capture.get("amount")), raw=capture, **fields)

    def _refund_events(self, event_id: str, refund: dict[str, Any]) -> list[ProviderEvent]:
        kind = {"COMPLETED": "refunded", "FAILED": "refund_failed",
                "CANCELLED": "refund_failed"}.get(str(refund.get("status", "COMPLETED")))
        if kind is None:
            return []  # PENDING: the completion comes as its own message
        # A refund names only its capture (the "up" link); the capture names its order.
        order_id = _related_order_id(refund)
        if not order_id:
            capture_id = quote(_link_id(refund, "up", "/payments/captures/"), safe="")
            if not capture_id:
                raise FinalProviderError("PayPal refund names no capture", code="no_order_id")
            status, data = self._call("GET", f"/v2/payments/captures/{capture_id}")
            order_id = _order_id(self._ok(status, data, "get capture"))
        return [ProviderEvent(event_id=event_id, provider_reference=order_id,
                              type=kind,  # type: ignore[arg-type]
                              amount=_money(refund.get("amount")),
                              refund_reference=str(refund.get("invoice_id") or refund.get("id")),
                              raw=refund)]

    # -- HTTP -------------------------------------------------------------------------------

    def _call(self, method: str, path: str, payload: Any = None, *,
              request_id: str = "") -> tuple[int, dict[str, Any]]:
        """One authenticated call; a token PayPal no longer accepts is renewed once."""
        body = (payload if isinstance(payload, bytes) or payload is None
                else json.dumps(payload).encode())
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "Prefer": "return=representation"}
        if request_id:
            headers["PayPal-Request-Id"] = request_id
        token = self._token()
        status, data = self._send(method, path, body, headers | _bearer(token))
        if status == 401:  # revoked or expired early: one new token, one more try
            status, data = self._send(method, path, body, headers | _bearer(self._token(token)))
        return status, data

    def _token(self, stale: str = "") -> str:
        """A cached OAuth token (``stale``: one PayPal refused, never to be returned again)."""
        key = (self.api_base, self.client_id, hashlib.sha256(self._secret.encode()).hexdigest())
        # Under the lock, so concurrent requests share one OAuth call.
        with _tokens_lock:
            cached = _tokens.get(key)
            if cached and cached[0] != stale and clock.now() < cached[1]:
                return cached[0]
            basic = base64.b64encode(f"{self.client_id}:{self._secret}".encode()).decode()
            status, data = self._send(
                "POST", "/v1/oauth2/token", b"grant_type=client_credentials",
                {"Authorization": f"Basic {basic}", "Accept": "application/json",
                 "Content-Type": "application/x-www-form-urlencoded"})
            data = self._ok(status, data, "get an access token")
            lifetime = max(int(data.get("expires_in", 0)) - TOKEN_MARGIN_SECONDS, 0)
            _tokens[key] = (str(data["access_token"]),
                            clock.now() + dt.timedelta(seconds=lifetime))
            return _tokens[key][0]

    def _send(self, method: str, path: str, body: bytes | None,
              headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.api_base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, _json(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, _json(error.read())
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            # Includes timeouts: PayPal may have acted, so the outcome is unknown.
            raise RetryableProviderError(f"PayPal {method} {path} failed: {error}",
                                         code="network") from error

    def _ok(self, status: int, data: dict[str, Any], what: str) -> dict[str, Any]:
        if 200 <= status < 300 and data:
            return data
        if 200 <= status < 300:
            raise RetryableProviderError(f"PayPal {what}: unreadable answer", code="bad_answer")
        raise self._error(status, data, what)

    @staticmethod
    def _error(status: int, data: dict[str, Any], what: str) -> ProviderError:
        name = str(data.get("name") or data.get("error") or f"http_{status}")
        issue = _issue(data)
        message = f"PayPal {what}: HTTP {status} {name} {issue} {_describe(data)}".strip()
        if data.get("debug_id"):
            message += f" (debug_id {data['debug_id']})"
        if status in (408, 429) or status >= 500:
            return RetryableProviderError(message, code=f"http_{status}")
        return FinalProviderError(message, code=(issue or name).lower())


# -- pure helpers ---------------------------------------------------------------------------
