"""A local fake of PayPal's REST API (Orders v2, Payments v2, OAuth2, webhook verification).

A real HTTP server on 127.0.0.1 (``ThreadingHTTPServer``, port 0, daemon thread) speaking
PayPal's documented JSON: the same paths, status codes, resource shapes and error bodies
(``{"name": "UNPROCESSABLE_ENTITY", "details": [{"issue": "INSTRUMENT_DECLINED"}], ...}``).
It checks the bearer token, answers a repeated ``PayPal-Request-Id`` with the first answer,
and keeps orders, captures, refunds and vaulted payment tokens in memory.

Webhooks are signed as PayPal documents it: RSA-SHA256 over
``transmission_id|transmission_time|webhook_id|crc32(body)`` with a key pair the fake makes.
Its ``verify-webhook-signature`` really checks that signature, with the CRC32 taken over the
``webhook_event`` exactly as the caller sent it, and answers ``SUCCESS`` or ``FAILURE``.

Test helpers: ``approve`` (the payer on PayPal's page), ``make_declining``, ``webhook``,
``capture_resource``/``refund_resource`` (what PayPal puts in a webhook), ``fail_next``/
``stall_next`` (5xx, 429, lost answers, timeouts), ``calls``/``requests`` (what the adapter
sent). Use the ``paypal_fake`` fixture: it starts the server and points the adapter at it.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import re
import secrets
import string
import threading
import uuid
import zlib
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from esimdesk import config
from esimdesk.core import clock
from esimdesk.core.money import exponent

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret"
WEBHOOK_ID = "1JE4291016473214C"
AUTH_ALGO = "SHA256withRSA"
TOKEN_SECONDS = 32400  # what PayPal grants
# PayPal's currency list, restricted to what esimdesk knows (KRW is not a PayPal currency)
CURRENCIES = {"USD", "EUR", "GBP", "JPY", "HKD", "SGD", "CNY"}
UNPROCESSABLE = "The requested action could not be performed, semantically incorrect, or " \
                "failed business validation."


class Problem(Exception):
    """A PayPal error answer: ``status`` and the documented error body."""

    def __init__(self, status: int, name: str, issue: str = "", description: str = "",
                 message: str = "") -> None:
        super().__init__(name)
        self.status = status
        self.body: dict[str, Any] = {"name": name, "message": message or UNPROCESSABLE,
                                     "debug_id": secrets.token_hex(6)}
        if issue:
            self.body["details"] = [{"issue": issue, "description": description or issue}]
            self.body["links"] = [{"href": "https://developer.paypal.com/docs/api/orders/v2/"
                                           f"#error-{issue}", "rel": "information_link"}]


def not_found() -> Problem:
    return Problem(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID",
                   "Specified resource ID does not exist.",
                   "The specified resource does not exist.")


@functools.cache
def _signing_key() -> rsa.RSAPrivateKey:
    """One key pair per test session (making one costs tens of milliseconds)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _paypal_id() -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(17))


def _iso(instant: dt.datetime | None = None) -> str:
    return (instant or clock.now()).strftime("%Y-%m-%dT%H:%M:%SZ")


def _minor(amount: dict[str, Any]) -> int:
    return int(Decimal(str(amount["value"])).scaleb(exponent(str(amount["currency_code"]))))


def _value(minor: int, currency: str) -> str:
    places = exponent(currency)
    return f"{Decimal(minor).scaleb(-places):.{places}f}"


class PayPalFake:
    def __init__(self) -> None:
        self.client_id, self.client_secret, self.webhook_id = CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID
        self.orders: dict[str, dict[str, Any]] = {}
        self.captures: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.vault: dict[str, dict[str, str]] = {}  # vault id -> payer email, customer id
        self.tokens: dict[str, dt.datetime] = {}
        self.calls: list[tuple[str, str]] = []
        self.requests: list[dict[str, Any]] = []  # method, path, headers, json
        self.next_refund_status = "COMPLETED"
        self._vault_wanted: set[str] = set()
        self._declining: dict[str, str | None] = {}  # order or vault id -> issue (None: capture)
        self._replies: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self._faults: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        # A short poll interval: shutdown() waits for the serving loop to notice.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,),
                                        daemon=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.cert_url = f"{self.base_url}/v1/notifications/certs/CERT-360caa42-fca2a594-5edc0ebc"

    def start(self) -> PayPalFake:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # let stalled answers go (their client has long given up)
        self._server.shutdown()
        self._server.server_close()

    # -- helpers for tests ------------------------------------------------------------------

    def approve(self, order_id: str, payer_email: str = "alex@example.com") -> None:
        """The payer logs in on PayPal's page and presses "Pay Now"."""
        with self._lock:
            order = self.orders[order_id]
            assert order["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"), order["status"]
            payer_id = _paypal_id()[:13]
            name = {"given_name": "Alex", "surname": "Traveller"}
            order["status"] = "APPROVED"
            order["payer"] = {"email_address": payer_email, "payer_id": payer_id, "name": name}
            source = order.setdefault("payment_source", {}).setdefault("paypal", {})
            source.pop("experience_context", None)
            source.update({"email_address": payer_email, "account_id": payer_id,
                           "account_status": "VERIFIED", "name": name})
            order["links"] = [self._link(f"/v2/checkout/orders/{order_id}", "self"),
                              self._link(f"/v2/checkout/orders/{order_id}/capture", "capture",
                                         "POST")]

    def make_declining(self, order_or_vault_id: str,
                       issue: str | None = "INSTRUMENT_DECLINED") -> None:
        """Captures of this order (or charges of this vaulted token) are refused: with a 422
        ``issue``, or (``issue=None``) with a capture whose status is ``DECLINED``."""
        self._declining[order_or_vault_id] = issue

    def set_amount(self, order_id: str, value: str, currency: str) -> None:
        """What PayPal holds differs from what was asked (a tampered or edited order)."""
        with self._lock:
            self.orders[order_id]["purchase_units"][0]["amount"] = {
                "currency_code": currency, "value": value}

    def fail_next(self, method: str, path_prefix: str, status: int = 503, *,
                  after: bool = False) -> None:
        """The next matching request answers ``status``; ``after=True``: PayPal acts first
        and the answer is lost on the way back."""
        self._faults.append({"method": method, "prefix": path_prefix, "status": status,
                             "after": after})

    def stall_next(self, method: str, path_prefix: str) -> None:
        """The next matching request gets no answer until the fake stops (a timeout)."""
        self._faults.append({"method": method, "prefix": path_prefix, "status": "stall",
                             "after": False})

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def count(self, method: str, path_prefix: str) -> int:
        return sum(1 for m, p in self.calls if m == method and p.startswith(path_prefix))

    def capture_resource(self, order_id: str) -> dict[str, Any]:
        """The capture as a PAYMENT.CAPTURE.* webhook carries it."""
        with self._lock:
            capture = self.orders[order_id]["purchase_units"][0]["payments"]["captures"][0]
            return json.loads(json.dumps(self._capture_view(capture["id"])))

    def refund_resource(self, refund_id: str) -> dict[str, Any]:
        """The refund as PAYMENT.CAPTURE.REFUNDED carries it: it names only its capture."""
        with self._lock:
            return _public(self.refunds[refund_id])

    def webhook(self, event_type: str, resource: dict[str, Any], *,
                transmission_time: dt.datetime | None = None,
                event_id: str = "") -> tuple[dict[str, str], bytes]:
        """A webhook message as PayPal posts it: (headers, raw body), signed."""
        event = {"id": event_id or f"WH-{_paypal_id()}-{_paypal_id()}", "event_version": "1.0",
                 "create_time": _iso(),
                 "resource_type": "refund" if "REFUND" in event_type else
                 event_type.split(".")[-2].lower(),
                 "resource_version": "2.0", "event_type": event_type,
                 "summary": f"{event_type} for the fake", "resource": resource,
                 "links": [self._link("/v1/notifications/webhooks-events/x", "self")]}
        body = json.dumps(event).encode()
        transmission_id, sent = str(uuid.uuid1()), _iso(transmission_time)
        signature = _signing_key().sign(self._signed(transmission_id, sent, self.webhook_id, body),
                                        padding.PKCS1v15(), hashes.SHA256())
        headers = {"Paypal-Transmission-Id": transmission_id, "Paypal-Transmission-Time": sent,
                   "Paypal-Transmission-Sig": base64.b64encode(signature).decode(),
                   "Paypal-Cert-Url": self.cert_url, "Paypal-Auth-Algo": AUTH_ALGO,
                   "Content-Type": "application/json"}
        return headers, body

    @staticmethod
    def _signed(transmission_id: str, sent: str, webhook_id: str, body: bytes) -> bytes:
        return f"{transmission_id}|{sent}|{webhook_id}|{zlib.crc32(body)}".encode()

    # -- the API ----------------------------------------------------------------------------

    def dispatch(self, method: str, path: str, headers: dict[str, str],
                 raw: bytes) -> tuple[int, dict[str, Any]]:
        """Route one request (called by the handler; faults are applied around it)."""
        if method == "POST" and path == "/v1/oauth2/token":
            return self._oauth(headers, raw)
        self._authenticate(headers)
        body = json.loads(raw) if raw else {}
        routes = [
            ("POST", r"/v2/checkout/orders", self._create_order),
            ("GET", r"/v2/checkout/orders/([^/]+)", self._get_order),
            ("POST", r"/v2/checkout/orders/([^/]+)/capture", self._capture),
            ("GET", r"/v2/payments/captures/([^/]+)", self._get_capture),
            ("POST", r"/v2/payments/captures/([^/]+)/refund", self._refund),
            ("GET", r"/v2/payments/refunds/([^/]+)", self._get_refund),
            ("POST", r"/v1/notifications/verify-webhook-signature", self._verify),
        ]
        for verb, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                request_id = headers.get("paypal-request-id", "")
                key = (path, request_id)
                with self._lock:
                    if request_id and key in self._replies:
                        return self._replies[key]  # PayPal's idempotency: the first answer
                    try:
                        answer = action(body, raw, *match.groups())
                    except Problem as problem:
                        answer = problem.status, problem.body
                    if request_id and method == "POST":
                        self._replies[key] = answer
                    return answer
        raise not_found()

    def _oauth(self, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if headers.get("authorization") != f"Basic {expected}":
            return 401, {"error": "invalid_client",
                         "error_description": "Client Authentication failed"}
        if raw != b"grant_type=client_credentials":
            return 400, {"error": "unsupported_grant_type",
                         "error_description": "Grant Type is NULL"}
        token = "A21AA" + secrets.token_urlsafe(40)
        self.tokens[token] = clock.now() + dt.timedelta(seconds=TOKEN_SECONDS)
        return 200, {"scope": "https://uri.paypal.com/services/payments/payment",
                     "access_token": token, "token_type": "Bearer", "app_id": "APP-80W284485P",
                     "expires_in": TOKEN_SECONDS, "nonce": f"{_iso()}{secrets.token_hex(8)}"}

    def _authenticate(self, headers: dict[str, str]) -> None:
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if self.tokens.get(token, dt.datetime.min.replace(tzinfo=dt.UTC)) <= clock.now():
            raise _Unauthorized

    def _create_order(self, body: dict[str, Any], raw: bytes) -> tuple[int, dict[str, Any]]:
        units = body.get("purchase_units") or []
        if body.get("intent") not in ("CAPTURE", "AUTHORIZE") or len(units) != 1:
            raise Problem(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER",
                          message="Request is not well-formed, syntactically incorrect, or "
                                  "violates schema.")
        amount = units[0].get("amount") or {}
        self._check_amount(amount)
        source = (body.get("payment_source") or {}).get("paypal") or {}
        order_id = _paypal_id()
        unit = {key: units[0][key] for key in ("reference_id", "custom_id", "description")
                if key in units[0]}
        unit.update({"amount": amount, "payee": {"email_address": "shop@example.com",
                                                 "merchant_id": "FAKEMERCHANT01"}})
        order = {"id": order_id, "intent": body["intent"], "status": "CREATED",
                 "purchase_units": [unit], "create_time": _iso(),
                 "links": [self._link(f"/v2/checkout/orders/{order_id}", "self")]}
        self.orders[order_id] = order
        if source.get("vault_id"):
            return self._charge_vaulted(order, str(source["vault_id"]))
        if source:
            context = source.get("experience_context") or {}
            if not context.get("return_url") or not context.get("cancel_url"):
                raise Problem(422, "UNPROCESSABLE_ENTITY", "MISSING_RETURN_URL")
            order["status"] = "PAYER_ACTION_REQUIRED"
            order["payment_source"] = {"paypal": {"experience_context": context}}
            if (source.get("attributes") or {}).get("vault", {}).get("store_in_vault"):
                self._vault_wanted.add(order_id)
            order["links"].append(self._link(f"/checkoutnow?token={order_id}", "payer-action"))
        else:
            order["links"].append(self._link(f"/checkoutnow?token={order_id}", "approve"))
        return 201, order

    def _charge_vaulted(self, order: dict[str, Any], vault_id: str) -> tuple[int, dict]:
        """A vaulted PayPal payment is captured as the order is created (merchant-initiated)."""
        if vault_id not in self.vault:
            del self.orders[order["id"]]
            raise not_found()
        saved = self.vault[vault_id]
        order["payer"] = {"email_address": saved["email"]}
        order["payment_source"] = {"paypal": {"email_address": saved["email"], "attributes": {
            "vault": {"id": vault_id, "status": "VAULTED",
                      "customer": {"id": saved["customer"]}}}}}
        issue = self._declining.get(vault_id, "")
        if issue:
            del self.orders[order["id"]]
            raise Problem(422, "UNPROCESSABLE_ENTITY", issue)
        self._complete(order, declined=vault_id in self._declining)
        return 201, order

    def _get_order(self, body: dict, raw: bytes, order_id: str) -> tuple[int, dict[str, Any]]:
        if order_id not in self.orders:
            raise not_found()
        return 200, self.orders[order_id]

    def _capture(self, body: dict, raw: bytes, order_id: str) -> tuple[int, dict[str, Any]]:
        order = self.orders.get(order_id)
        if order is None:
            raise not_found()
        if order["status"] == "COMPLETED":
            raise Problem(422, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED")
        if order["status"] != "APPROVED":
            raise Problem(422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED")
        issue = self._declining.get(order_id, "")
        if issue:
            raise Problem(422, "UNPROCESSABLE_ENTITY", issue,
                          "The instrument presented was either declined by the processor or "
                          "bank, or it can't be used for this payment.")
        self._complete(order, declined=order_id in self._declining)
        return 201, order

    def _complete(self, order: dict[str, Any], *, declined: bool) -> None:
        """Capture the order's amount (or fail to) and vault the payer's account if asked."""
        order_id, capture_id = order["id"], _paypal_id()
        unit = order["purchase_units"][0]
        capture = {"id": capture_id, "status": "DECLINED" if declined else "COMPLETED",
                   "amount": dict(unit["amount"]), "final_capture": True,
                   "seller_protection": {"status": "ELIGIBLE"},
                   "custom_id": unit.get("custom_id", ""),
                   "links": [self._link(f"/v2/payments/captures/{capture_id}", "self"),
                             self._link(f"/v2/payments/captures/{capture_id}/refund", "refund",
                                        "POST"),
                             self._link(f"/v2/checkout/orders/{order_id}", "up")],
                   "create_time": _iso(), "update_time": _iso()}
        if declined:
            capture["status_details"] = {"reason": "DECLINED_BY_RISK_FRAUD_FILTERS"}
        self.captures[capture_id] = {**capture, "_order": order_id}
        unit["payments"] = {"captures": [capture]}
        order["status"] = "COMPLETED"
        order["links"] = [self._link(f"/v2/checkout/orders/{order_id}", "self")]
        if order_id in self._vault_wanted and not declined:
            vault_id, customer = _paypal_id()[:7].lower(), _paypal_id()[:10]
            email = order["payer"]["email_address"]
            self.vault[vault_id] = {"email": email, "customer": customer}
            order["payment_source"]["paypal"]["attributes"] = {"vault": {
                "id": vault_id, "status": "VAULTED", "customer": {"id": customer},
                "links": [self._link(f"/v3/vault/payment-tokens/{vault_id}", "self")]}}

    def _capture_view(self, capture_id: str) -> dict[str, Any]:
        """GET /v2/payments/captures/{id}: the capture, naming its order."""
        stored = self.captures[capture_id]
        view = _public(stored)
        view["supplementary_data"] = {"related_ids": {"order_id": stored["_order"]}}
        return view

    def _get_capture(self, body: dict, raw: bytes, capture_id: str) -> tuple[int, dict]:
        if capture_id not in self.captures:
            raise not_found()
        return 200, self._capture_view(capture_id)

    def _refund(self, body: dict, raw: bytes, capture_id: str) -> tuple[int, dict[str, Any]]:
        capture = self.captures.get(capture_id)
        if capture is None:
            raise not_found()
        currency = capture["amount"]["currency_code"]
        refunded = sum(_minor(r["amount"]) for r in self.refunds.values()
                       if r["_capture"] == capture_id and r["status"] != "FAILED")
        left = _minor(capture["amount"]) - refunded
        if capture["status"] == "REFUNDED" or left <= 0:
            raise Problem(422, "UNPROCESSABLE_ENTITY", "CAPTURE_FULLY_REFUNDED")
        amount = body.get("amount") or {"currency_code": currency, "value": _value(left, currency)}
        if amount.get("currency_code") != currency:
            raise Problem(422, "UNPROCESSABLE_ENTITY", "CURRENCY_MISMATCH")
        self._check_amount(amount)
        if _minor(amount) > left:
            raise Problem(422, "UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED")
        invoice_id = body.get("invoice_id", "")
        if invoice_id and any(r.get("invoice_id") == invoice_id for r in self.refunds.values()):
            raise Problem(422, "UNPROCESSABLE_ENTITY", "DUPLICATE_INVOICE_ID")
        refund_id = _paypal_id()
        refund = {"id": refund_id, "status": self.next_refund_status, "amount": amount,
                  "links": [self._link(f"/v2/payments/refunds/{refund_id}", "self"),
                            self._link(f"/v2/payments/captures/{capture_id}", "up")],
                  "create_time": _iso(), "update_time": _iso(), "_capture": capture_id}
        refund.update({k: body[k] for k in ("invoice_id", "note_to_payer") if body.get(k)})
        self.refunds[refund_id] = refund
        capture["status"] = "REFUNDED" if _minor(amount) == left else "PARTIALLY_REFUNDED"
        self._sync_capture(capture)
        return 201, _public(refund)

    def _sync_capture(self, capture: dict[str, Any]) -> None:
        """The order's copy of the capture follows the capture's state."""
        order = self.orders[capture["_order"]]
        copy = order["purchase_units"][0]["payments"]["captures"][0]
        copy["status"] = capture["status"]

    def _get_refund(self, body: dict, raw: bytes, refund_id: str) -> tuple[int, dict]:
        if refund_id not in self.refunds:
            raise not_found()
        return 200, _public(self.refunds[refund_id])

    def _verify(self, body: dict[str, Any], raw: bytes) -> tuple[int, dict[str, Any]]:
        fields = ("auth_algo", "cert_url", "transmission_id", "transmission_sig",
                  "transmission_time", "webhook_id", "webhook_event")
        missing = [field for field in fields if not body.get(field)]
        if missing:
            raise Problem(400, "VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER", missing[0],
                          "Invalid request - see details")
        if body["webhook_id"] != self.webhook_id:
            raise Problem(404, "INVALID_RESOURCE_ID", "INVALID_RESOURCE_ID",
                          "Webhook id does not exist.", "Requested resource ID was not found.")
        event = _raw_member(raw, "webhook_event")
        good = body["auth_algo"] == AUTH_ALGO and body["cert_url"] == self.cert_url
        try:
            _signing_key().public_key().verify(
                base64.b64decode(body["transmission_sig"], validate=True),
                self._signed(body["transmission_id"], body["transmission_time"],
                             self.webhook_id, event),
                padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            good = False
        return 200, {"verification_status": "SUCCESS" if good else "FAILURE"}

    # -- plumbing ---------------------------------------------------------------------------

    def _check_amount(self, amount: dict[str, Any]) -> None:
        currency, value = amount.get("currency_code", ""), str(amount.get("value", ""))
        if currency not in CURRENCIES:
            raise Problem(422, "UNPROCESSABLE_ENTITY", "CURRENCY_NOT_SUPPORTED")
        places = exponent(currency)
        pattern = r"\d{1,10}" + (rf"\.\d{{{places}}}" if places else "")
        if not re.fullmatch(pattern, value):
            raise Problem(422, "UNPROCESSABLE_ENTITY", "DECIMAL_PRECISION")
        if _minor(amount) <= 0:
            raise Problem(422, "UNPROCESSABLE_ENTITY", "CANNOT_BE_ZERO_OR_NEGATIVE")

    def _link(self, path: str, rel: str, method: str = "GET") -> dict[str, str]:
        return {"href": self.base_url + path, "rel": rel, "method": method}

    def _fault(self, method: str, path: str) -> dict[str, Any] | None:
        with self._lock:
            for fault in self._faults:
                if fault["method"] == method and path.startswith(fault["prefix"]):
                    self._faults.remove(fault)
                    return fault
        return None

    def handle(self, method: str, path: str, headers: dict[str, str],
               raw: bytes) -> tuple[int, dict[str, Any]] | None:
        """One request, faults included; ``None``: no answer at all."""
        with self._lock:
            self.calls.append((method, path))
            self.requests.append({"method": method, "path": path, "headers": headers,
                                  "json": _loads(raw)})
        fault = self._fault(method, path)
        if fault and fault["status"] == "stall":
            self._release.wait(30)
            return None
        if fault and not fault["after"]:
            return fault["status"], _server_error(fault["status"])
        try:
            answer = self.dispatch(method, path, headers, raw)
        except Problem as problem:
            answer = problem.status, problem.body
        except _Unauthorized:
            answer = 401, {"error": "invalid_token",
                           "error_description": "Token signature verification failed"}
        return (fault["status"], _server_error(fault["status"])) if fault else answer


class _Unauthorized(Exception):
    pass


def _server_error(status: int) -> dict[str, Any]:
    """The body PayPal sends with an injected status."""
    if status == 429:
        return {"name": "RATE_LIMIT_REACHED",
                "message": "Too many requests. Blocked due to rate limiting."}
    if status >= 500:
        return {"name": "INTERNAL_SERVER_ERROR", "message": "An internal server error occurred.",
                "debug_id": secrets.token_hex(6)}
    return Problem(status, "INVALID_REQUEST", "INVALID_PARAMETER_VALUE").body


def _public(resource: dict[str, Any]) -> dict[str, Any]:
    """A deep copy without the fake's own bookkeeping keys (``_order``, ``_capture``)."""
    return {k: v for k, v in json.loads(json.dumps(resource)).items() if not k.startswith("_")}


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _raw_member(raw: bytes, member: str) -> bytes:
    """The exact bytes of a top-level member's value in a JSON object (what PayPal's CRC32
    is computed over), without re-serialising it."""
    text = raw.decode()
    decoder = json.JSONDecoder()
    match = re.search(rf'"{member}"\s*:\s*', text)
    if match is None:
        return b""
    _, end = decoder.raw_decode(text, match.end())
    return text[match.end():end].encode()


def _handler(fake: PayPalFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = fake.handle(self.command, self.path, headers, raw)
            if answer is None:
                return
            status, body = answer
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Paypal-Debug-Id", secrets.token_hex(6))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet tests
            pass

    return Handler


@pytest.fixture
def paypal_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[PayPalFake]:
    """A running fake, with the adapter's ESIMDESK_PAYPAL_* variables pointing at it."""
    fake = PayPalFake().start()
    # The environment alone configures the adapter here: values staff saved in the console
    # (database) would override the fake's, and adapter tests run without a database.
    monkeypatch.setattr(config, "_console_lookup", None)
    monkeypatch.setenv("ESIMDESK_PAYPAL_CLIENT_ID", fake.client_id)
    monkeypatch.setenv("ESIMDESK_PAYPAL_CLIENT_SECRET", fake.client_secret)
    monkeypatch.setenv("ESIMDESK_PAYPAL_WEBHOOK_ID", fake.webhook_id)
    monkeypatch.setenv("ESIMDESK_PAYPAL_API_BASE", fake.base_url)
    monkeypatch.setenv("ESIMDESK_PAYPAL_CURRENCIES", "USD,EUR,HKD,GBP,JPY,SGD")
    try:
        yield fake
    finally:
        fake.stop()
