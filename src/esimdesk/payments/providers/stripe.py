"""Stripe (cards): hosted Checkout, signed webhooks, refunds and off-session renewals.

The payer types the card on Stripe's hosted page only; esimdesk never sees a card number, CVV
or expiry, just the brand and last four digits (and ``raw`` keeps no card object at all).

SDK: the official ``stripe`` package. ``StripeClient(base_addresses={"api": ...})`` is its
supported way to use ``ESIMDESK_STRIPE_API_BASE`` (a local fake in tests): nothing is patched
and nothing else is contacted. Its own retries are off (``max_network_retries=0``): an unknown
outcome is a ``RetryableProviderError`` and the payments service reconciles with ``query``
first, so retries happen in one place, with the same idempotency keys. Its webhook tolerance
reads the wall clock, so the SDK checks the HMAC only and freshness (±5 min) is checked here
against ``clock.now()``.

A Checkout payment is known by its session id (``cs_...``), an off-session charge by its
PaymentIntent id (``pi_...``); every event is mapped back to that reference.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

import stripe

from esimdesk import config
from esimdesk.core import clock
from esimdesk.core.money import Money, exponent
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

SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = 300
DEFAULT_TIMEOUT_SECONDS = 20.0
# PaymentIntent metadata telling esimdesk's two flows apart in PaymentIntent webhooks.
FLOW_KEY = "esimdesk_flow"
OFF_SESSION = "off_session"
# Stripe's minor units differ from ISO 4217 for a few currencies (docs: "Zero-decimal").
ZERO_DECIMAL = frozenset(("BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF",
                          "UGX", "VND", "VUV", "XAF", "XOF", "XPF"))
THREE_DECIMAL = frozenset(("BHD", "JOD", "KWD", "OMR", "TND"))
BRANDS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express",
          "discover": "Discover", "diners": "Diners Club", "jcb": "JCB", "unionpay": "UnionPay",
          "cartes_bancaires": "Cartes Bancaires", "eftpos_au": "eftpos", "interac": "Interac"}
#: a card paid through a wallet says so: "Visa •••• 4242 (Apple Pay)"
WALLETS = {"apple_pay": "Apple Pay", "google_pay": "Google Pay"}
REFUND_STATUS: dict[str, Literal["succeeded", "failed"]] = {
    "succeeded": "succeeded", "failed": "failed", "canceled": "failed"}
# Codes for Stripe errors that carry none of their own (e.g. a wrong or revoked key).
ERROR_KINDS = ((stripe.AuthenticationError, "authentication_error"),
               (stripe.PermissionError, "permission_error"),
               (stripe.IdempotencyError, "idempotency_error"))
EXPIRED_MESSAGE = "The payer did not finish paying before the Stripe Checkout page expired."


# --- amounts ---------------------------------------------------------------------------------

def _stripe_exponent(currency: str) -> int:
    code = currency.upper()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def _rescale(amount: int, places: int) -> int:
    """Move the decimal point by ``places``, exactly: never drop a digit."""
    scale = int(10 ** abs(places))
    if places >= 0:
        return amount * scale
    whole, rest = divmod(amount, scale)
    if rest:
        raise FinalProviderError(f"{amount} cannot be rescaled exactly", code="inexact_amount")
    return whole


def to_stripe_amount(money: Money) -> int:
    """esimdesk minor units -> the integer Stripe expects for this currency."""
    return _rescale(money.amount, _stripe_exponent(money.currency) - exponent(money.currency))


def money_from_stripe(amount: object, currency: object) -> Money:
    """Stripe's integer amount (never a float) -> Money in esimdesk minor units, exactly."""
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        raise FinalProviderError(f"Stripe sent an amount that is not an integer: {amount!r}",
                                 code="malformed_amount")
    code = currency.upper()
    return Money(_rescale(amount, exponent(code) - _stripe_exponent(code)), code)


# --- small readers of Stripe objects ---------------------------------------------------------

def _id(value: Any) -> str:
    """An id field that may be a plain id or an expanded object."""
    if isinstance(value, Mapping):
        return str(value.get("id") or "")
    return str(value or "")


def card_label(payment_method: Mapping[str, Any]) -> str:
    """What the payer recognises: "Visa •••• 4242" (never more than the last four)."""
    card = payment_method.get("card") or {}
    brand = str(card.get("brand") or "")
    name = BRANDS.get(brand, brand.replace("_", " ").title() or "Card")
    label = f"{name} •••• {card['last4']}" if card.get("last4") else name
    wallet = WALLETS.get(str((card.get("wallet") or {}).get("type") or ""))
    return f"{label} ({wallet})" if wallet else label


def _without_card_details(value: Any) -> Any:
    """``raw`` may be stored: keep ids, drop card objects (brand, last four, expiry...)."""
    if isinstance(value, Mapping):
        if value.get("object") == "payment_method":
            return value.get("id")
        return {key: _without_card_details(item) for key, item in value.items()
                if key not in ("card", "payment_method_details")}
    if isinstance(value, list):
        return [_without_card_details(item) for item in value]
    return value


def _failure_code(error: Mapping[str, Any]) -> str:
    """The most specific reason: ``insufficient_funds`` beats ``card_declined``."""
    code = str(error.get("code") or "")
    decline_code = str(error.get("decline_code") or "")
    if code == "card_declined" and decline_code and decline_code != "generic_decline":
        return decline_code
    return code or decline_code or "payment_failed"


def _signature_timestamp(header: str) -> int:
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        return int(parts.get("t", "").strip())
    except ValueError:
        raise SignatureError("Stripe-Signature has no timestamp", code="bad_signature") from None


def _translate(exc: stripe.StripeError) -> ProviderError:
    """Transport trouble, 409 (same idempotency key in flight), 429 and 5xx: outcome unknown."""
    status = exc.http_status
    detail = f"Stripe: {exc.user_message or exc}"
    if (isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError)
            or status is None or status in (409, 429) or status >= 500 or status < 400):
        return RetryableProviderError(detail, code=exc.code or "stripe_unavailable")
    kind = next((code for cls, code in ERROR_KINDS if isinstance(exc, cls)), "")
    return FinalProviderError(detail, code=exc.code or kind or f"stripe_http_{status}")


class StripeProvider(PaymentProvider):
    name = "stripe"
    supports_saved_methods = True
    required_settings = ("ESIMDESK_STRIPE_SECRET_KEY", "ESIMDESK_STRIPE_WEBHOOK_SECRET")

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        values = {name: config.env(name).strip() for name in self.required_settings}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise NotConfigured(f"Stripe is enabled but {', '.join(missing)} is not set",
                                code="not_configured")
        self.currencies = frozenset(config.env_list("ESIMDESK_STRIPE_CURRENCIES"))
        self._webhook_secret = values["ESIMDESK_STRIPE_WEBHOOK_SECRET"]
        api_base = config.env("ESIMDESK_STRIPE_API_BASE").strip().rstrip("/")
        self._client = stripe.StripeClient(
            values["ESIMDESK_STRIPE_SECRET_KEY"], base_addresses={"api": api_base},
            max_network_retries=0, http_client=stripe.RequestsClient(timeout=timeout))

    # --- calling Stripe ----------------------------------------------------------------------

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            result = method(*args, **kwargs)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return dict(result.to_dict())

    def _intent(self, intent_id: str) -> dict[str, Any]:
        return self._call(self._client.v1.payment_intents.retrieve, intent_id,
                          params={"expand": ["payment_method"]})

    def _payment_method(self, intent: Mapping[str, Any]) -> dict[str, Any]:
        """The intent's card; after a failure Stripe keeps it in ``last_payment_error``."""
        method = intent.get("payment_method")
        if isinstance(method, Mapping):
            return dict(method)
        if method:
            return self._call(self._client.v1.payment_methods.retrieve, str(method))
        return dict((intent.get("last_payment_error") or {}).get("payment_method") or {})

    def _reference_for_intent(self, intent_id: str) -> str:
        """The reference esimdesk stored: the Checkout session that created the intent, or the
        intent itself for an off-session charge."""
        found = self._call(self._client.v1.checkout.sessions.list,
                           params={"payment_intent": intent_id, "limit": 1})
        sessions = found.get("data") or []
        return str(sessions[0]["id"]) if sessions else intent_id

    # --- start -------------------------------------------------------------------------------

    def start(self, request: StartRequest) -> StartResult:
        if not self.supports(request.amount.currency):
            raise FinalProviderError(f"Stripe is not configured for {request.amount.currency}",
                                     code="unsupported_currency")
        session = self._call(self._client.v1.checkout.sessions.create,
                             params=self._checkout_params(request),
                             options={"idempotency_key": request.payment_id})
        return StartResult(provider_reference=session["id"],
                           next_action=NextAction(type="redirect", url=session["url"]))

    def _checkout_params(self, request: StartRequest) -> dict[str, Any]:
        metadata = {"payment_id": request.payment_id}
        intent_data: dict[str, Any] = {"metadata": {**metadata, FLOW_KEY: "checkout"},
                                       "description": request.description}
        params: dict[str, Any] = {
            "mode": "payment",
            **self._methods_offered(),
            "line_items": [{"quantity": 1, "price_data": {
                "currency": request.amount.currency.lower(),
                "unit_amount": to_stripe_amount(request.amount),
                "product_data": {"name": request.description}}}],
            "client_reference_id": request.payment_id,
            "metadata": metadata,
            "payment_intent_data": intent_data,
            "success_url": request.return_url,
            "cancel_url": request.cancel_url,
            "locale": "zh" if request.language.lower().startswith("zh") else "en",
        }
        if request.save_method:
            # Only a Customer can keep a card for later off-session charges.
            params["customer"] = self._customer_for(request)
            intent_data["setup_future_usage"] = OFF_SESSION
        elif request.customer_email:
            params["customer_email"] = request.customer_email
        return params

    def _methods_offered(self) -> dict[str, Any]:
        """Cards only; or, with wallets on (``ESIMDESK_STRIPE_WALLETS``), the methods a
        payment method configuration turns on — Checkout then shows Apple Pay and Google Pay
        to payers whose device has them. Stripe refuses ``payment_method_types`` together
        with a configuration, so wallets leave it out."""
        if not config.flag("ESIMDESK_STRIPE_WALLETS"):
            return {"payment_method_types": ["card"]}
        chosen = config.env("ESIMDESK_STRIPE_PAYMENT_METHOD_CONFIGURATION").strip()
        return {"payment_method_configuration": chosen} if chosen else {}

    def _customer_for(self, request: StartRequest) -> str:
        params: dict[str, Any] = {"metadata": {"customer_ref": request.customer_ref,
                                               "payment_id": request.payment_id}}
        if request.customer_email:
            params["email"] = request.customer_email
        customer = self._call(self._client.v1.customers.create, params=params,
                              options={"idempotency_key": f"{request.payment_id}-customer"})
        return str(customer["id"])

    # --- webhooks ----------------------------------------------------------------------------

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> list[ProviderEvent]:
        self._verify(body, headers)
        try:
            event = json.loads(body)
            kind, obj = str(event["type"]), dict(event["data"]["object"])
        except (ValueError, KeyError, TypeError):
            raise FinalProviderError("signed Stripe message is not an event",
                                     code="malformed_event") from None
        handler = self._WEBHOOK_HANDLERS.get(kind)
        return handler(self, str(event["id"]), obj) if handler else []

    def _verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        """HMAC first (SDK), then freshness against esimdesk's clock, both ways."""
        header = next((value for key, value in headers.items()
                       if key.lower() == SIGNATURE_HEADER.lower()), "")
        if not header:
            raise SignatureError("no Stripe-Signature header", code="bad_signature")
        try:
            stripe.WebhookSignature.verify_header(body, header, self._webhook_secret,
                                                  tolerance=None)
        except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
            raise SignatureError(f"Stripe-Signature does not verify: {exc}",
                                 code="bad_signature") from None
        age = clock.now().timestamp() - _signature_timestamp(header)
        if abs(age) > TOLERANCE_SECONDS:
            raise SignatureError(f"Stripe-Signature timestamp is {int(age)} s off",
                                 code="stale_signature")

    def _on_session_paid(self, event_id: str, session: dict[str, Any]) -> list[ProviderEvent]:
        if session.get("payment_status") != "paid":
            return []  # an asynchronous method still settling: wait for its own event
        return [self._session_succeeded(event_id, session)]

    def _on_session_failed(self, event_id: str, session: dict[str, Any]) -> list[ProviderEvent]:
        expired = session.get("status") == "expired"
        return [self._session_declined(
            event_id, session, code="expired" if expired else "async_payment_failed",
            message=EXPIRED_MESSAGE if expired else "The payment failed after checkout.")]

    def _on_intent(self, event_id: str, intent: dict[str, Any]) -> list[ProviderEvent]:
        # A Checkout payer may try another card after a decline; only the session's own
        # events are final there. Off-session charges are final on the intent.
        if (intent.get("metadata") or {}).get(FLOW_KEY) != OFF_SESSION:
            return []
        return [e for e in [self._intent_event(intent, event_id=event_id)] if e]

    def _on_charge_refunded(self, event_id: str, charge: dict[str, Any]) -> list[ProviderEvent]:
        # Current API versions no longer embed the refunds in the charge: list them.
        refunds = self._call(self._client.v1.refunds.list,
                             params={"charge": charge["id"], "limit": 100}).get("data") or []
        events = (self._refund_event(f"{event_id}:{refund['id']}", refund) for refund in refunds)
        return [event for event in events if event]

    def _on_refund(self, event_id: str, refund: dict[str, Any]) -> list[ProviderEvent]:
        return [e for e in [self._refund_event(event_id, refund)] if e]

    _WEBHOOK_HANDLERS: dict[str, Callable[..., list[ProviderEvent]]] = {
        "checkout.session.completed": _on_session_paid,
        "checkout.session.async_payment_succeeded": _on_session_paid,
        "checkout.session.async_payment_failed": _on_session_failed,
        "checkout.session.expired": _on_session_failed,
        "payment_intent.succeeded": _on_intent,
        "payment_intent.payment_failed": _on_intent,
        "charge.refunded": _on_charge_refunded,
        "refund.created": _on_refund,
        "refund.updated": _on_refund,
        "refund.failed": _on_refund,
        "charge.refund.updated": _on_refund,
    }

    # --- events from Stripe objects ----------------------------------------------------------

    def _session_succeeded(self, event_id: str, session: Mapping[str, Any]) -> ProviderEvent:
        intent = session.get("payment_intent")
        if not isinstance(intent, Mapping):
            intent = self._intent(_id(intent))
        card = self._payment_method(intent)
        return ProviderEvent(
            event_id=event_id, provider_reference=session["id"], type="succeeded",
            amount=money_from_stripe(session.get("amount_total"), session.get("currency")),
            method=card_label(card), saved_method=self._saved_method(intent, card),
            raw=_without_card_details(session))

    def _session_declined(self, event_id: str, session: Mapping[str, Any], *, code: str,
                          message: str) -> ProviderEvent:
        return ProviderEvent(
            event_id=event_id, provider_reference=session["id"], type="declined",
            amount=money_from_stripe(session.get("amount_total"), session.get("currency")),
            failure_code=code, failure_message=message,
            raw=_without_card_details(session))

    @staticmethod
    def _saved_method(intent: Mapping[str, Any], card: Mapping[str, Any]) -> SavedMethod | None:
        """Stripe keeps the card only when it was set up for off-session use on a customer."""
        customer = _id(card.get("customer")) or _id(intent.get("customer"))
        if intent.get("setup_future_usage") != OFF_SESSION or not customer or not card.get("id"):
            return None
        return SavedMethod(token=str(card["id"]), label=card_label(card),
                           customer_token=customer)

    def _intent_event(self, intent: Mapping[str, Any], *,
                      event_id: str = "") -> ProviderEvent | None:
        """An off-session PaymentIntent's outcome; ``None`` while it is not final. Off-session,
        ``requires_action`` never resolves by itself: the payer must come back on-session."""
        status, error = intent.get("status"), dict(intent.get("last_payment_error") or {})
        kind: EventType
        if status == "succeeded":
            kind, amount = "succeeded", intent.get("amount_received")
        elif status in ("canceled", "requires_action") or (
                status == "requires_payment_method" and error):
            kind, amount = "declined", intent.get("amount")
            error.setdefault("code", "authentication_required"
                             if status == "requires_action" else "canceled")
        else:
            return None
        reference = str(intent["id"])
        return ProviderEvent(
            event_id=event_id or f"query:{reference}:{kind}", provider_reference=reference,
            type=kind, amount=money_from_stripe(amount, intent.get("currency")),
            method=card_label(self._payment_method(intent)),
            failure_code=_failure_code(error) if kind == "declined" else "",
            failure_message=str(error.get("message") or "") if kind == "declined" else "",
            raw=_without_card_details(intent))

    def _refund_event(self, event_id: str, refund: Mapping[str, Any]) -> ProviderEvent | None:
        outcome = REFUND_STATUS.get(str(refund.get("status")))
        if outcome is None:
            return None  # pending or requires_action: a later refund.updated settles it
        metadata = refund.get("metadata") or {}
        reference = (metadata.get("payment_reference")
                     or self._reference_for_intent(_id(refund.get("payment_intent"))))
        return ProviderEvent(
            event_id=event_id, provider_reference=str(reference),
            type="refunded" if outcome == "succeeded" else "refund_failed",
            amount=money_from_stripe(refund.get("amount"), refund.get("currency")),
            refund_reference=str(metadata.get("refund_id") or refund["id"]),
            failure_code=str(refund.get("failure_reason") or ""),
            raw=_without_card_details(refund))

    # --- query -------------------------------------------------------------------------------

    def query(self, *, payment_id: str, provider_reference: str) -> ProviderEvent | None:
        if provider_reference.startswith("cs_"):
            return self._query_session(payment_id, provider_reference)
        if provider_reference.startswith("pi_"):
            intent = self._intent(provider_reference)
            self._check_owner(payment_id, (intent.get("metadata") or {}).get("payment_id"))
            return self._intent_event(intent)
        raise FinalProviderError(f"not a Stripe reference: {provider_reference!r}",
                                 code="unknown_reference")

    def _query_session(self, payment_id: str, reference: str) -> ProviderEvent | None:
        session = self._call(self._client.v1.checkout.sessions.retrieve, reference,
                             params={"expand": ["payment_intent.payment_method"]})
        self._check_owner(payment_id, session.get("client_reference_id"))
        if session.get("status") == "complete" and session.get("payment_status") == "paid":
            return self._session_succeeded(f"query:{reference}:succeeded", session)
        if session.get("status") == "expired":
            return self._session_declined(f"query:{reference}:declined", session,
                                          code="expired", message=EXPIRED_MESSAGE)
        return None  # open, or complete with an asynchronous payment still settling

    @staticmethod
    def _check_owner(payment_id: str, stated: object) -> None:
        if stated and stated != payment_id:
            raise FinalProviderError(f"Stripe object belongs to payment {stated}, "
                                     f"not {payment_id}", code="reference_mismatch")

    # --- refunds -----------------------------------------------------------------------------

    def refund(self, *, refund_id: str, payment_id: str, provider_reference: str,
               amount: Money, reason: str = "") -> RefundResult:
        intent_id, currency = self._captured_intent(provider_reference)
        if currency != amount.currency:
            raise FinalProviderError(f"cannot refund {amount}: payment is in {currency}",
                                     code="currency_mismatch")
        metadata = {"refund_id": refund_id, "payment_id": payment_id,
                    "payment_reference": provider_reference}
        if reason:
            metadata["reason"] = reason[:500]  # Stripe's limit for a metadata value
        refund = self._call(self._client.v1.refunds.create,
                            params={"payment_intent": intent_id,
                                    "amount": to_stripe_amount(amount), "metadata": metadata},
                            options={"idempotency_key": refund_id})
        return RefundResult(provider_refund_id=str(refund["id"]),
                            status=REFUND_STATUS.get(str(refund.get("status")), "pending"),
                            failure_message=str(refund.get("failure_reason") or ""))

    def _captured_intent(self, reference: str) -> tuple[str, str]:
        """(PaymentIntent id, currency) behind a session or intent reference."""
        if reference.startswith("cs_"):
            session = self._call(self._client.v1.checkout.sessions.retrieve, reference)
            intent = {"id": _id(session.get("payment_intent")), "currency": session["currency"]}
        else:
            intent = self._call(self._client.v1.payment_intents.retrieve, reference)
        if not intent["id"]:
            raise FinalProviderError("nothing was paid in this Checkout session",
                                     code="nothing_captured")
        return str(intent["id"]), str(intent["currency"]).upper()

    # --- off-session charges -----------------------------------------------------------------

    def charge_saved(self, *, payment_id: str, method: SavedMethod, amount: Money,
                     description: str, customer_ref: str = "") -> ProviderEvent:
        params: dict[str, Any] = {
            "amount": to_stripe_amount(amount), "currency": amount.currency.lower(),
            "customer": method.customer_token, "payment_method": method.token,
            "off_session": True, "confirm": True, "description": description,
            "metadata": {"payment_id": payment_id, FLOW_KEY: OFF_SESSION,
                         "customer_ref": customer_ref},
            "expand": ["payment_method"]}
        try:
            intent = self._call(self._client.v1.payment_intents.create, params=params,
                                options={"idempotency_key": payment_id})
        except FinalProviderError as error:
            if isinstance(error.__cause__, stripe.CardError):  # 402: the bank said no
                return self._declined_charge(error.__cause__)
            raise
        outcome = self._intent_event(intent)
        if outcome is None:
            raise RetryableProviderError(f"Stripe charge {intent['id']} is {intent['status']}",
                                         code="pending")
        return outcome

    def _declined_charge(self, declined: stripe.CardError) -> ProviderEvent:
        """A 402 carries the failed PaymentIntent; its reference is what esimdesk stores."""
        body = declined.json_body if isinstance(declined.json_body, Mapping) else {}
        error = dict(body.get("error") or {})
        intent = dict(error.get("payment_intent") or {})
        if not intent.get("id"):
            raise FinalProviderError(f"Stripe declined: {declined.user_message}",
                                     code=_failure_code(error))
        intent["last_payment_error"] = intent.get("last_payment_error") or error
        intent["status"] = "requires_payment_method"
        outcome = self._intent_event(intent)
        assert outcome is not None  # a failed intent is always final here
        return outcome
