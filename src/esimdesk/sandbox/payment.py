"""The sandbox provider: a complete, documented payment provider that moves no real money.

It behaves like a hosted-page card provider. ``start`` returns a redirect to the sandbox's
own payment page (served by esimdesk under ``/pay/sandbox/<reference>/``), where the payer
approves or declines, and may keep the card for automatic renewals. The outcome comes back
as a webhook message signed with HMAC-SHA256 (``X-Sandbox-Signature: t=<unix>,v1=<hex>`` over
``"<t>." + body``, five minutes' tolerance), exactly like a real provider's, and goes through
the same verification and exactly-once path. It keeps its own books (``SandboxRecord``), so
``query``, refunds and off-session charges of saved cards behave as a provider's would.

Test cards on the sandbox page: ``4242`` (Visa) always works; ``0341`` (Visa) pays now but
declines later off-session charges, to try dunning; ``3155`` (Visa) pays now, but its bank
asks the payer to authenticate every later off-session charge (3-D Secure): the charge is
declined with ``authentication_required`` and the payer must come back to a payment page.

The card is kept (``saved_token``) when the payer approves with "keep this card" ticked; the
box starts ticked when the order asked to keep the method (``StartRequest.save_method``), and
a completion that does not say (the API's) keeps it exactly when the order asked.

The demo and the tests use it; enable it with ``ESIMDESK_PAYMENT_PROVIDERS=sandbox``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from esimdesk import config
from esimdesk.config import Option
from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.payments.providers.base import (
    MAX_EVENT_AMOUNT,
    FinalProviderError,
    MalformedEvent,
    NextAction,
    PaymentProvider,
    ProviderEvent,
    RefundResult,
    SavedMethod,
    SignatureError,
    StartRequest,
    StartResult,
)
from esimdesk.sandbox.models import SandboxRecord

SIGNATURE_HEADER = "X-Sandbox-Signature"
TOLERANCE_SECONDS = 300

DECLINE_REASONS = {
    "card_declined": _("The card was declined by the bank."),
    "insufficient_funds": _("There is not enough money on the card."),
    "expired_card": _("The card has expired."),
}
#: every reason a sandbox charge may give (off-session charges add the bank's request to
#: authenticate, which the hosted page never gives)
REASONS = {**DECLINE_REASONS,
           "authentication_required": _("Your bank asks you to confirm this payment.")}
TEST_CARDS = {"4242": "Visa •••• 4242", "0341": "Visa •••• 0341", "3155": "Visa •••• 3155"}
#: what a saved test card answers off-session: (decline code) or none for a success
OFF_SESSION_DECLINES = {"0341": "card_declined", "3155": "authentication_required"}


def _secret() -> bytes:
    return hashlib.sha256(f"sandbox-webhook:{settings.SECRET_KEY}".encode()).digest()


def sign(body: bytes, timestamp: int) -> str:
    mac = hmac.new(_secret(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _signed(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event, sort_keys=True).encode()
    return body, {SIGNATURE_HEADER: sign(body, int(clock.now().timestamp()))}


EVENT_TYPES = ("payment.succeeded", "payment.declined", "refund.succeeded")


def _payload(body: bytes) -> dict[str, Any]:
    """The verified message as the sandbox documents it, or ``MalformedEvent``: an object;
    for the event types esimdesk reads, ``id``, ``reference`` and ``currency`` (three
    capitals) as non-empty strings, ``amount`` as whole minor units, ``refund_id`` for a
    refund, and ``method``, ``decline_code`` and ``saved_token`` as strings when present."""
    try:
        data = json.loads(body)
    except ValueError:
        raise MalformedEvent("the signed body is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedEvent("the signed body is not a JSON object")
    if data.get("type") not in EVENT_TYPES:
        return data
    required = ("id", "reference", "currency",
                *(("refund_id",) if data["type"] == "refund.succeeded" else ()))
    for key in required:
        if not isinstance(data.get(key), str) or not data[key]:
            raise MalformedEvent(f"{key} is not a non-empty string")
    for key in ("method", "decline_code", "saved_token"):
        if not isinstance(data.get(key, ""), str):
            raise MalformedEvent(f"{key} is not a string")
    amount = data.get("amount")
    if type(amount) is not int or not 0 <= amount <= MAX_EVENT_AMOUNT:
        raise MalformedEvent("amount is not a whole number of minor units")
    currency = data["currency"]
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha() \
            or not currency.isupper():
        raise MalformedEvent("currency is not an ISO 4217 code")
    return data


class SandboxProvider(PaymentProvider):
    name = "sandbox"
    label = _("Test card (sandbox)")
    options = (
        Option("ESIMDESK_SANDBOX_CURRENCIES", "CNY,USD,EUR,HKD,JPY,GBP,KRW,SGD",
               gettext_noop("Currencies the sandbox provider accepts."), console=True),
    )
    supports_saved_methods = True

    def __init__(self) -> None:
        self.currencies = frozenset(config.env_list("ESIMDESK_SANDBOX_CURRENCIES"))

    def start(self, request: StartRequest) -> StartResult:
        existing = SandboxRecord.objects.filter(kind="charge",
                                                payment_id=request.payment_id).first()
        record = existing or SandboxRecord.objects.create(
            reference="sbx_" + secrets.token_urlsafe(16), kind="charge",
            payment_id=request.payment_id, amount=request.amount.amount,
            currency=request.amount.currency, wants_saved=request.save_method)
        url = settings.PUBLIC_URL + reverse("sandbox_pay", args=[record.reference])
        return StartResult(provider_reference=record.reference,
                           next_action=NextAction(type="redirect", url=url))

    # -- the hosted page ------------------------------------------------------------------

    def complete(self, *, reference: str, outcome: str, decline_code: str = "card_declined",
                 card: str = "4242",
                 save_card: bool | None = None) -> tuple[bytes, dict[str, str]]:
        """What the hosted page does when the payer presses approve or decline: update the
        sandbox's books once, and return the signed message it sends to esimdesk. The event
        id is fixed per charge, so completing the same charge again is a replay.
        ``save_card`` None keeps the card exactly when the payment asked to keep it."""
        if outcome not in ("approve", "decline"):
            raise ValueError(outcome)
        with transaction.atomic():
            record = SandboxRecord.objects.select_for_update().get(reference=reference,
                                                                   kind="charge")
            if record.status == "open":
                record.method = TEST_CARDS.get(card, TEST_CARDS["4242"])
                record.status = "paid" if outcome == "approve" else "declined"
                record.decline_code = "" if outcome == "approve" else decline_code
                keep = record.wants_saved if save_card is None else save_card
                if outcome == "approve" and keep:
                    record.saved_token = f"sbxpm_{card}_{secrets.token_hex(6)}"
                record.save()
        return _signed(self._charge_event(record))

    def _charge_event(self, record: SandboxRecord) -> dict[str, Any]:
        return {"id": f"evt_{record.reference}_completion", "reference": record.reference,
                "type": "payment.succeeded" if record.status in ("paid", "refunded")
                else "payment.declined",
                "amount": record.amount, "currency": record.currency, "method": record.method,
                "decline_code": record.decline_code, "saved_token": record.saved_token}

    # -- the provider API -----------------------------------------------------------------

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> list[ProviderEvent]:
        header = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()),
                      "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            timestamp = int(parts.get("t", ""))
        except ValueError:
            raise SignatureError("missing or malformed signature", code="bad_signature") from None
        if abs(clock.now().timestamp() - timestamp) > TOLERANCE_SECONDS:
            raise SignatureError("signature timestamp outside tolerance", code="stale_signature")
        if not hmac.compare_digest(sign(body, timestamp), header.strip()):
            raise SignatureError("signature does not match", code="bad_signature")
        data = _payload(body)
        if data.get("type") not in EVENT_TYPES:
            return []
        return [self._event(data["id"], data)]

    def _event(self, event_id: str, data: Mapping[str, Any]) -> ProviderEvent:
        amount = Money(int(data["amount"]), str(data["currency"]))
        if data["type"] == "refund.succeeded":
            return ProviderEvent(event_id=event_id, provider_reference=data["reference"],
                                 type="refunded", amount=amount,
                                 refund_reference=data["refund_id"], raw=data)
        if data["type"] == "payment.succeeded":
            saved = (SavedMethod(token=data["saved_token"], label=data["method"])
                     if data.get("saved_token") else None)
            return ProviderEvent(event_id=event_id, provider_reference=data["reference"],
                                 type="succeeded", amount=amount, method=data["method"],
                                 saved_method=saved, raw=data)
        code = data.get("decline_code") or "card_declined"
        return ProviderEvent(event_id=event_id, provider_reference=data["reference"],
                             type="declined", amount=amount, method=data.get("method", ""),
                             failure_code=code,
                             failure_message=str(REASONS.get(code, code)), raw=data)

    def query(self, *, payment_id: str, provider_reference: str) -> ProviderEvent | None:
        record = SandboxRecord.objects.filter(reference=provider_reference, kind="charge").first()
        if record is None:
            raise FinalProviderError(f"no sandbox charge {provider_reference}",
                                     code="unknown_reference")
        if record.status == "open":
            return None
        kind = "declined" if record.status == "declined" else "succeeded"
        return self._event(f"query:{provider_reference}:{kind}", self._charge_event(record))

    def refund(self, *, refund_id: str, payment_id: str, provider_reference: str,
               amount: Money, reason: str = "") -> RefundResult:
        with transaction.atomic():
            charge = SandboxRecord.objects.select_for_update().get(reference=provider_reference,
                                                                   kind="charge")
            done = SandboxRecord.objects.filter(reference=refund_id, kind="refund").first()
            if done is not None:  # the same refund id again: pay back once
                return RefundResult(provider_refund_id=done.reference, status="succeeded")
            refunded = sum(SandboxRecord.objects.filter(parent=charge.reference, kind="refund")
                           .values_list("amount", flat=True))
            if charge.status not in ("paid", "refunded") or \
                    refunded + amount.amount > charge.amount:
                raise FinalProviderError("nothing left to refund", code="refund_exceeds_charge")
            SandboxRecord.objects.create(reference=refund_id, kind="refund",
                                         payment_id=payment_id, parent=charge.reference,
                                         amount=amount.amount, currency=amount.currency,
                                         status="succeeded")
            charge.status = "refunded" if refunded + amount.amount == charge.amount else "paid"
            charge.save(update_fields=["status"])
        return RefundResult(provider_refund_id=refund_id, status="succeeded")

    def charge_saved(self, *, payment_id: str, method: SavedMethod, amount: Money,
                     description: str, customer_ref: str = "") -> ProviderEvent:
        card = method.token.split("_")[1] if method.token.count("_") >= 2 else "4242"
        declined = OFF_SESSION_DECLINES.get(card, "")
        existing = SandboxRecord.objects.filter(kind="charge", payment_id=payment_id).first()
        record = existing or SandboxRecord.objects.create(
            reference="sbx_" + secrets.token_urlsafe(16), kind="charge", payment_id=payment_id,
            amount=amount.amount, currency=amount.currency, method=method.label,
            status="declined" if declined else "paid", decline_code=declined)
        return self._event(f"evt_{record.reference}_completion", self._charge_event(record))
