"""A local fake of the Stripe API parts esimdesk uses, speaking Stripe's documented wire format.

A real HTTP server on 127.0.0.1 (port 0) in a daemon thread. Requests are form-encoded with
bracketed keys (``line_items[0][price_data][unit_amount]=1230``), authenticated with
``Authorization: Bearer <secret key>``; POSTs honour ``Idempotency-Key`` (same key and
parameters: the saved answer is replayed with ``Idempotent-Replayed: true``; same key with
other parameters: 400 ``idempotency_error``). Errors look like Stripe's:
``{"error": {"type", "code", "message", "decline_code"?, ...}}``.

Endpoints: customers (create, retrieve), checkout sessions (create, retrieve, list by
``payment_intent``), payment intents (create + confirm off-session, retrieve), payment methods
(retrieve), refunds (create, retrieve, list by ``charge``/``payment_intent``), and ``expand``.

The hosted Checkout page is ``<fake>/pay/<session id>``; tests complete it with ``pay`` /
``decline`` / ``expire``. Card numbers exist only inside this module. Test cards follow
Stripe's, with one simplification the brief asks for: 4000000000000341 and 4000002500003155
succeed on the hosted page (the payer authenticates there) and decline off-session
(``card_declined`` / ``authentication_required``). Every state change records the event
Stripe would send (``events``); ``signed`` turns one into the exact webhook message.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from esimdesk import config
from esimdesk.core import clock

API_VERSION = "2025-09-30.clover"
SIGNATURE_HEADER = "Stripe-Signature"
HANG_SECONDS = 3.0  # a "hang" fault holds its answer this long at most (or until stop())


@dataclass(frozen=True)
class FakeCard:
    brand: str
    on_session_error: tuple[str, str, str] | None = None  # (code, decline_code, message)
    off_session_error: tuple[str, str, str] | None = None


DECLINED = ("card_declined", "generic_decline", "Your card was declined.")
NEEDS_AUTH = ("authentication_required", "authentication_required",
              "Your card was declined. This transaction requires authentication.")
CARDS = {
    "4242424242424242": FakeCard("visa"),
    "5555555555554444": FakeCard("mastercard"),
    "4000000000000002": FakeCard("visa", on_session_error=DECLINED),
    "4000000000009995": FakeCard("visa", on_session_error=(
        "card_declined", "insufficient_funds", "Your card has insufficient funds.")),
    "4000000000000341": FakeCard("visa", off_session_error=DECLINED),
    "4000002500003155": FakeCard("visa", off_session_error=NEEDS_AUTH),
    "4000002760003184": FakeCard("visa", off_session_error=NEEDS_AUTH),
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error",
                 **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, **extra}}


def not_found(kind: str, object_id: str) -> ApiError:
    return ApiError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param="id")


def parse_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``a[b][0]=x`` -> ``{"a": {"b": ["x"]}}`` (Stripe's bracket encoding)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        parts = [head, *rest[:-1].split("][")] if rest else [head]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1] or str(len(node))] = value
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {key: _listify(value) for key, value in node.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


def _int(params: dict[str, Any], key: str) -> int:
    try:
        return int(params[key])
    except KeyError:
        raise ApiError(400, f"Missing required param: {key}.", code="parameter_missing",
                       param=key) from None
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid integer: {params[key]}", code="parameter_invalid_integer",
                       param=key) from None


def _card(number: str) -> FakeCard:
    if number not in CARDS:
        raise ValueError(f"{number} is not a Stripe test card this fake knows")
    return CARDS[number]


def _flag(value: Any) -> bool:
    return str(value).lower() == "true"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]


class FakeStripe:
    def __init__(self, *, secret_key: str, webhook_secret: str) -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.objects: dict[str, dict[str, Any]] = {}  # every Stripe object by id
        self.events: list[dict[str, Any]] = []
        self.requests: list[Request] = []
        self.refund_status = "succeeded"  # set "pending" to settle refunds later
        self._intent_data: dict[str, dict[str, Any]] = {}  # session -> payment_intent_data
        self._card_numbers: dict[str, str] = {}  # pm id -> number; never leaves the fake
        self._idempotent: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self._faults: list[str | int] = []
        self._lock = threading.RLock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeStripe:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    # --- test helpers: faults, the hosted page, webhooks -------------------------------------

    def fail_next(self, *faults: str | int) -> None:
        """The next API requests fail, in order: an HTTP status (500, 503, 429: not executed),
        ``"reset"`` (connection closed, not executed) or ``"hang"`` (executed, but the answer
        is held back so the client times out: the outcome is unknown to it)."""
        self._faults.extend(faults)

    def pay(self, session_id: str, card: str = "4242424242424242") -> dict[str, Any]:
        """The payer pays on the hosted page; returns the completed session."""
        if _card(card).on_session_error:
            raise ValueError(f"{card} is declined on-session; use decline()")
        with self._lock:
            session, intent, method = self._attempt(session_id, card)
            charge = self._new_charge(intent, method)
            intent.update(status="succeeded", amount_received=intent["amount"],
                          payment_method=method["id"], latest_charge=charge["id"])
            if intent["setup_future_usage"] and intent["customer"]:
                method["customer"] = intent["customer"]  # the card is saved on the customer
            session.update(status="complete", payment_status="paid")
            self._emit("payment_intent.succeeded", intent)
            self._emit("charge.succeeded", charge)
            self._emit("checkout.session.completed", session)
            return copy.deepcopy(session)

    def decline(self, session_id: str, card: str = "4000000000000002") -> dict[str, Any]:
        """The payer's card is declined on the hosted page. As on Stripe, the session stays
        open (the payer may try another card); returns the failed PaymentIntent."""
        error = _card(card).on_session_error
        if error is None:
            raise ValueError(f"{card} is not declined on-session; use pay()")
        with self._lock:
            _session, intent, method = self._attempt(session_id, card)
            self._fail_intent(intent, method, error)
            return copy.deepcopy(intent)

    def expire(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            session = self._get("cs_", session_id, "checkout.session")
            if session["status"] != "open":
                raise ValueError(f"session {session_id} is {session['status']}")
            session["status"] = "expired"
            intent = self.objects.get(session["payment_intent"] or "")
            if intent:
                intent["status"] = "canceled"
            self._emit("checkout.session.expired", session)
            return copy.deepcopy(session)

    def settle_refund(self, refund_id: str, status: str = "succeeded",
                      failure_reason: str = "") -> dict[str, Any]:
        """A pending refund succeeds, or any refund fails later (e.g. expired card)."""
        with self._lock:
            refund = self._get("re_", refund_id, "refund")
            refund.update(status=status, failure_reason=failure_reason or None)
            if status == "failed":
                charge = self.objects[refund["charge"]]
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = False
            self._emit("refund.updated", refund)
            if status == "failed":
                self._emit("refund.failed", refund)
            return copy.deepcopy(refund)

    def event(self, event_type: str) -> dict[str, Any]:
        """The latest event of one type."""
        matches = [e for e in self.events if e["type"] == event_type]
        if not matches:
            raise LookupError(f"no {event_type} event; have {[e['type'] for e in self.events]}")
        return copy.deepcopy(matches[-1])

    def make_event(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {"id": "evt_" + secrets.token_hex(12), "object": "event",
                "api_version": API_VERSION, "created": self._now(),
                "data": {"object": copy.deepcopy(obj)}, "livemode": False,
                "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
                "type": event_type}

    def signed(self, event: dict[str, Any], *, timestamp: int | None = None,
               secret: str | None = None) -> tuple[bytes, dict[str, str]]:
        """The raw body and headers Stripe POSTs to the webhook endpoint."""
        body = json.dumps(event, indent=2).encode()
        ts = self._now() if timestamp is None else timestamp
        key = (secret or self.webhook_secret).encode()
        mac = hmac.new(key, f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        return body, {"Content-Type": "application/json; charset=utf-8",
                      "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                      SIGNATURE_HEADER: f"t={ts},v1={mac}"}

    def requests_to(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # --- the HTTP side -----------------------------------------------------------------------

    def handle(self, handler: _Handler) -> None:
        url = urlsplit(handler.path)
        if url.path.startswith("/pay/"):
            return self._hosted_page(handler, url.path.removeprefix("/pay/"))
        length = int(handler.headers.get("Content-Length") or 0)
        form = handler.rfile.read(length).decode() if length else url.query
        params = parse_form(parse_qsl(form, keep_blank_values=True))
        headers = {key.lower(): value for key, value in handler.headers.items()}
        with self._lock:
            self.requests.append(Request(handler.command, url.path, params, headers))
            fault = self._faults.pop(0) if self._faults else None
        if fault == "reset":
            handler.close_connection = True
            return None
        if isinstance(fault, int):
            return _reply(handler, fault, {"error": {
                "type": "api_error" if fault >= 500 else "invalid_request_error",
                "code": "rate_limit" if fault == 429 else None,
                "message": "Simulated failure."}})
        status, body, replayed = self._answer(handler.command, url.path, params, headers)
        if fault == "hang":
            self._release.wait(HANG_SECONDS)
        return _reply(handler, status, body, replayed=replayed)

    def _answer(self, method: str, path: str, params: dict[str, Any],
                headers: dict[str, str]) -> tuple[int, dict[str, Any], bool]:
        if headers.get("authorization") != f"Bearer {self.secret_key}":
            return 401, {"error": {"type": "invalid_request_error",
                                   "message": "Invalid API Key provided."}}, False
        key = headers.get("idempotency-key") if method == "POST" else None
        fingerprint = json.dumps([path, params], sort_keys=True)
        with self._lock:
            if key and key in self._idempotent:
                saved_fingerprint, status, body = self._idempotent[key]
                if saved_fingerprint != fingerprint:
                    return 400, {"error": {
                        "type": "idempotency_error",
                        "message": "Keys for idempotent requests can only be used with the "
                                   f"same parameters they were first used with. Try using a "
                                   f"key other than '{key}' if you meant to execute a "
                                   "different request."}}, False
                return status, copy.deepcopy(body), True
            status, body = self._route(method, path, params)
            if key and (status < 300 or status == 402):  # Stripe keeps results, not rejections
                self._idempotent[key] = (fingerprint, status, copy.deepcopy(body))
            return status, body, False

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, Any]:
        for route_method, pattern, action in self._routes():
            match = re.fullmatch(pattern, path)
            if route_method == method and match:
                try:
                    result = action(params, *match.groups())
                except ApiError as error:
                    return error.status, error.body
                return 200, self._expanded(result, params.get("expand") or [])
        return 404, {"error": {"type": "invalid_request_error",
                               "message": f"Unrecognized request URL ({method}: {path})."}}

    def _routes(self) -> list[tuple[str, str, Callable[..., dict[str, Any]]]]:
        return [
            ("POST", r"/v1/customers", self._create_customer),
            ("GET", r"/v1/customers/([^/]+)", lambda p, i: self._get("cus_", i, "customer")),
            ("POST", r"/v1/checkout/sessions", self._create_session),
            ("GET", r"/v1/checkout/sessions", self._list_sessions),
            ("GET", r"/v1/checkout/sessions/([^/]+)",
             lambda p, i: self._get("cs_", i, "checkout.session")),
            ("POST", r"/v1/payment_intents", self._create_intent),
            ("GET", r"/v1/payment_intents/([^/]+)",
             lambda p, i: self._get("pi_", i, "payment_intent")),
            ("GET", r"/v1/payment_methods/([^/]+)",
             lambda p, i: self._get("pm_", i, "payment_method")),
            ("POST", r"/v1/refunds", self._create_refund),
            ("GET", r"/v1/refunds", self._list_refunds),
            ("GET", r"/v1/refunds/([^/]+)", lambda p, i: self._get("re_", i, "refund")),
        ]

    def _hosted_page(self, handler: _Handler, session_id: str) -> None:
        session = self.objects.get(session_id)
        if session is None:
            return _reply(handler, 404, {"error": {"message": "no such session"}})
        text = (f"<!doctype html><title>Fake Stripe Checkout</title>"
                f"<p>Pay {session['amount_total']} {session['currency'].upper()} "
                f"({session['status']})</p>").encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(text)))
        handler.end_headers()
        handler.wfile.write(text)
        return None

    # --- API actions -------------------------------------------------------------------------

    def _create_customer(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store({"id": self._new_id("cus"), "object": "customer",
                            "email": params.get("email"), "metadata": params.get("metadata", {}),
                            "created": self._now(), "livemode": False})

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("mode") != "payment":
            raise ApiError(400, "This fake only knows mode=payment.", param="mode")
        if params.get("customer") and params.get("customer_email"):
            raise ApiError(400, "You may only specify one of these parameters: customer, "
                           "customer_email.", param="customer_email")
        if params.get("customer"):
            self._param(params, "customer", "cus_", "customer")
        if params.get("payment_method_types") and params.get("payment_method_configuration"):
            raise ApiError(400, "You cannot specify both payment_method_types and "
                           "payment_method_configuration.", param="payment_method_types")
        configuration = params.get("payment_method_configuration")
        if configuration is not None and not str(configuration).startswith("pmc_"):
            raise ApiError(400, f"No such payment method configuration: '{configuration}'",
                           param="payment_method_configuration")
        items = params.get("line_items") or []
        if not items:
            raise ApiError(400, "Missing required param: line_items.", param="line_items")
        currencies = {item["price_data"]["currency"] for item in items}
        if len(currencies) != 1:
            raise ApiError(400, "All line items must use the same currency.")
        total = sum(_int(item["price_data"], "unit_amount") * _int(item, "quantity")
                    for item in items)
        session_id = "cs_test_" + secrets.token_hex(16)
        self._intent_data[session_id] = params.get("payment_intent_data") or {}
        return self._store({
            "id": session_id, "object": "checkout.session", "mode": "payment",
            "amount_subtotal": total, "amount_total": total, "currency": currencies.pop(),
            "client_reference_id": params.get("client_reference_id"),
            "customer": params.get("customer"), "customer_email": params.get("customer_email"),
            "metadata": params.get("metadata", {}), "locale": params.get("locale"),
            # Without a list, Checkout offers what the (given or default) payment method
            # configuration turns on: here cards, Apple Pay and Google Pay.
            "payment_method_types": params.get("payment_method_types", ["card"]),
            "payment_method_configuration_details": None
            if params.get("payment_method_types") else {
                "id": configuration or "pmc_default", "parent": None},
            "payment_intent": None, "payment_status": "unpaid", "status": "open",
            "success_url": params.get("success_url"), "cancel_url": params.get("cancel_url"),
            "url": f"{self.url}/pay/{session_id}", "created": self._now(),
            "expires_at": self._now() + 24 * 3600, "livemode": False})

    def _list_sessions(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = params.get("payment_intent")
        return self._list("/v1/checkout/sessions", "checkout.session",
                          lambda s: not wanted or s["payment_intent"] == wanted, params)

    def _create_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        """Create and confirm an off-session charge of a saved card (402 when declined)."""
        if not (_flag(params.get("confirm")) and _flag(params.get("off_session"))):
            raise ApiError(400, "This fake only knows confirm=true&off_session=true.")
        method = self._param(params, "payment_method", "pm_", "payment_method")
        if method["customer"] != params.get("customer"):
            raise ApiError(400, f"The provided PaymentMethod {method['id']} does not belong "
                           "to the Customer.", param="payment_method")
        intent = self._new_intent(amount=_int(params, "amount"), currency=params["currency"],
                                  customer=params.get("customer"),
                                  metadata=params.get("metadata", {}),
                                  description=params.get("description"))
        error = CARDS[self._card_numbers[method["id"]]].off_session_error
        if error:
            charge = self._fail_intent(intent, method, error)
            code, decline_code, message = error
            raise ApiError(402, message, type_="card_error", code=code,
                           decline_code=decline_code, charge=charge["id"],
                           payment_intent=copy.deepcopy(intent),
                           payment_method=copy.deepcopy(method))
        charge = self._new_charge(intent, method)
        intent.update(status="succeeded", amount_received=intent["amount"],
                      payment_method=method["id"], latest_charge=charge["id"])
        self._emit("payment_intent.succeeded", intent)
        self._emit("charge.succeeded", charge)
        return intent

    def _create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        intent = self._param(params, "payment_intent", "pi_", "payment_intent")
        if intent["status"] != "succeeded":
            raise ApiError(400, f"PaymentIntent {intent['id']} has not succeeded.",
                           code="payment_intent_unexpected_state")
        charge = self.objects[intent["latest_charge"]]
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining == 0:
            raise ApiError(400, f"Charge {charge['id']} has already been refunded.",
                           code="charge_already_refunded")
        amount = _int(params, "amount") if "amount" in params else remaining
        if not 0 < amount <= remaining:
            raise ApiError(400, f"Refund amount ({amount}) is greater than unrefunded amount "
                           f"on charge ({remaining})", code="amount_too_large", param="amount")
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        refund = self._store({
            "id": self._new_id("re"), "object": "refund", "amount": amount,
            "currency": charge["currency"], "charge": charge["id"],
            "payment_intent": intent["id"], "metadata": params.get("metadata", {}),
            "reason": params.get("reason"), "status": self.refund_status,
            "failure_reason": None, "created": self._now()})
        self._emit("refund.created", refund)
        self._emit("charge.refunded", charge)
        return refund

    def _list_refunds(self, params: dict[str, Any]) -> dict[str, Any]:
        def wanted(refund: dict[str, Any]) -> bool:
            return all(refund[key] == params[key] for key in ("charge", "payment_intent")
                       if key in params)
        return self._list("/v1/refunds", "refund", wanted, params)

    # --- the hosted page's payment attempts --------------------------------------------------

    def _attempt(self, session_id: str, card: str) -> tuple[dict[str, Any], ...]:
        session = self._get("cs_", session_id, "checkout.session")
        if session["status"] != "open":
            raise ValueError(f"session {session_id} is {session['status']}")
        intent = self.objects.get(session["payment_intent"] or "")
        if intent is None:  # Stripe creates the intent at the first attempt
            data = self._intent_data[session_id]
            intent = self._new_intent(
                amount=session["amount_total"], currency=session["currency"],
                customer=session["customer"], metadata=data.get("metadata", {}),
                description=data.get("description"),
                setup_future_usage=data.get("setup_future_usage"))
            session["payment_intent"] = intent["id"]
        return session, intent, self._new_payment_method(card)

    def _new_intent(self, *, amount: int, currency: str, customer: str | None,
                    metadata: dict[str, Any], description: str | None,
                    setup_future_usage: str | None = None) -> dict[str, Any]:
        return self._store({
            "id": self._new_id("pi"), "object": "payment_intent", "amount": amount,
            "amount_received": 0, "currency": currency, "customer": customer,
            "description": description, "metadata": metadata, "payment_method": None,
            "latest_charge": None, "last_payment_error": None, "status": "requires_payment_method",
            "setup_future_usage": setup_future_usage, "created": self._now(), "livemode": False})

    def _new_payment_method(self, number: str) -> dict[str, Any]:
        method = self._store({
            "id": self._new_id("pm"), "object": "payment_method", "type": "card",
            "customer": None, "created": self._now(), "livemode": False,
            "card": {"brand": CARDS[number].brand, "last4": number[-4:], "exp_month": 12,
                     "exp_year": 2034, "funding": "credit", "country": "US"}})
        self._card_numbers[method["id"]] = number
        return method

    def _new_charge(self, intent: dict[str, Any], method: dict[str, Any],
                    failure: tuple[str, str, str] | None = None) -> dict[str, Any]:
        return self._store({
            "id": self._new_id("ch"), "object": "charge", "amount": intent["amount"],
            "amount_captured": 0 if failure else intent["amount"], "amount_refunded": 0,
            "currency": intent["currency"], "customer": intent["customer"],
            "payment_intent": intent["id"], "payment_method": method["id"],
            "payment_method_details": {"type": "card", "card": copy.deepcopy(method["card"])},
            "metadata": copy.deepcopy(intent["metadata"]), "paid": not failure,
            "refunded": False, "status": "failed" if failure else "succeeded",
            "failure_code": failure[0] if failure else None, "created": self._now()})

    def _fail_intent(self, intent: dict[str, Any], method: dict[str, Any],
                     error: tuple[str, str, str]) -> dict[str, Any]:
        charge = self._new_charge(intent, method, failure=error)
        code, decline_code, message = error
        intent.update(status="requires_payment_method", payment_method=None,
                      latest_charge=charge["id"], last_payment_error={
                          "type": "card_error", "code": code, "decline_code": decline_code,
                          "message": message, "charge": charge["id"],
                          "payment_method": copy.deepcopy(method)})
        self._emit("charge.failed", charge)
        self._emit("payment_intent.payment_failed", intent)
        return charge

    # --- storage -----------------------------------------------------------------------------

    def _store(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = obj
        return obj

    def _get(self, prefix: str, object_id: str, kind: str) -> dict[str, Any]:
        obj = self.objects.get(object_id)
        if obj is None or not object_id.startswith(prefix):
            raise not_found(kind, object_id)
        return obj

    def _param(self, params: dict[str, Any], name: str, prefix: str,
               kind: str) -> dict[str, Any]:
        """An object named by a parameter: Stripe answers 400 (not 404) when it is missing."""
        try:
            return self._get(prefix, str(params.get(name, "")), kind)
        except ApiError as error:
            error.status = 400
            error.body["error"]["param"] = name
            raise

    def _list(self, url: str, kind: str, wanted: Callable[[dict[str, Any]], bool],
              params: dict[str, Any]) -> dict[str, Any]:
        found = [o for o in self.objects.values() if o["object"] == kind and wanted(o)]
        limit = int(params.get("limit", 10))
        found.reverse()  # newest first
        return {"object": "list", "url": url, "has_more": len(found) > limit,
                "data": copy.deepcopy(found[:limit])}

    def _expanded(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        result = copy.deepcopy(obj)
        for path in paths:
            node: Any = result
            for field in path.split("."):
                if not isinstance(node, dict):
                    break
                if isinstance(node.get(field), str) and node[field] in self.objects:
                    node[field] = copy.deepcopy(self.objects[node[field]])
                node = node.get(field)
        return result

    def _emit(self, event_type: str, obj: dict[str, Any]) -> None:
        self.events.append(self.make_event(event_type, obj))

    @staticmethod
    def _new_id(prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(12)}"

    @staticmethod
    def _now() -> int:
        return int(clock.now().timestamp())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: ThreadingHTTPServer

    def do_GET(self) -> None:
        self.server.fake.handle(self)  # type: ignore[attr-defined]

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


def _reply(handler: BaseHTTPRequestHandler, status: int, body: Any, *,
           replayed: bool = False) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Request-Id", "req_" + secrets.token_hex(8))
    handler.send_header("Stripe-Version", API_VERSION)
    if replayed:
        handler.send_header("Idempotent-Replayed", "true")
    # the client may have given up (a "hang" fault): that is the point
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        handler.end_headers()
        handler.wfile.write(data)


@pytest.fixture
def stripe_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    """A running fake with esimdesk's Stripe options pointing at it (environment only: the
    staff console's stored values, which live in the database, are not consulted)."""
    monkeypatch.setattr(config, "_console_lookup", None, raising=False)
    fake = FakeStripe(secret_key="sk_test_" + secrets.token_hex(12),
                      webhook_secret="whsec_" + secrets.token_hex(16)).start()
    monkeypatch.setenv("ESIMDESK_STRIPE_SECRET_KEY", fake.secret_key)
    monkeypatch.setenv("ESIMDESK_STRIPE_WEBHOOK_SECRET", fake.webhook_secret)
    monkeypatch.setenv("ESIMDESK_STRIPE_API_BASE", fake.url)
    monkeypatch.setenv("ESIMDESK_STRIPE_CURRENCIES", "USD,EUR,HKD,CNY,GBP,JPY,SGD,KRW")
    try:
        yield fake
    finally:
        fake.stop()
