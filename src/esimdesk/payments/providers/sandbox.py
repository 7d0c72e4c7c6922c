"""The sandbox provider: a complete, documented payment provider that moves no real money.

It behaves like a hosted-page provider. ``start`` returns a redirect to the sandbox's own
payment page (served by esimdesk under ``/pay/sandbox/<reference>/``), where the payer
approves or declines. The outcome comes back as a webhook message signed with HMAC-SHA256,
exactly like a real provider's, and goes through the same verification and exactly-once
path. The demo and the tests use it; enable it with ``ESIMDESK_PAYMENT_PROVIDERS=sandbox``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock
from esimdesk.core.money import SUPPORTED_CURRENCIES, Money
from esimdesk.payments.providers.base import (
    NextAction,
    PaymentProvider,
    ProviderEvent,
    SignatureError,
    StartResult,
)

SIGNATURE_HEADER = "X-Sandbox-Signature"
TOLERANCE_SECONDS = 300

DECLINE_REASONS = {
    "card_declined": _("The card was declined by the bank."),
    "insufficient_funds": _("There is not enough money on the card."),
    "expired_card": _("The card has expired."),
}


def _secret() -> bytes:
    return hashlib.sha256(f"sandbox-webhook:{settings.SECRET_KEY}".encode()).digest()


def sign(body: bytes, timestamp: int) -> str:
    mac = hmac.new(_secret(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class SandboxProvider(PaymentProvider):
    name = "sandbox"
    currencies = frozenset(SUPPORTED_CURRENCIES)
    label = _("Test card (sandbox)")

    def start(self, *, payment_id: str, amount: Money, description: str,
              return_url: str) -> StartResult:
        reference = "sbx_" + secrets.token_urlsafe(16)
        url = settings.PUBLIC_URL + reverse("portal:sandbox_pay", args=[reference])
        return StartResult(provider_reference=reference,
                           next_action=NextAction(type="redirect", url=url))

    def completion_message(self, *, reference: str, amount: Money, outcome: str,
                           decline_code: str = "card_declined") -> tuple[bytes, dict[str, str]]:
        """The signed message the sandbox sends when the payer approves or declines.

        The event id is fixed per payment: a payment is completed once, and any further
        completion of the same payment is a replay.
        """
        if outcome not in ("approve", "decline"):
            raise ValueError(outcome)
        event = {
            "id": f"evt_{reference}_completion",
            "reference": reference,
            "type": "payment.succeeded" if outcome == "approve" else "payment.declined",
            "amount": amount.amount,
            "currency": amount.currency,
            "method": "Visa •••• 4242" if outcome == "approve" else "Visa •••• 0002",
            "decline_code": decline_code if outcome == "decline" else "",
        }
        body = json.dumps(event, sort_keys=True).encode()
        return body, {SIGNATURE_HEADER: sign(body, int(clock.now().timestamp()))}

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
        data = json.loads(body)
        amount = Money(int(data["amount"]), str(data["currency"]))
        if data["type"] == "payment.succeeded":
            return [ProviderEvent(event_id=data["id"], provider_reference=data["reference"],
                                  type="succeeded", amount=amount, method=data["method"],
                                  raw=data)]
        code = data.get("decline_code") or "card_declined"
        return [ProviderEvent(event_id=data["id"], provider_reference=data["reference"],
                              type="declined", amount=amount, method=data["method"],
                              failure_code=code,
                              failure_message=str(DECLINE_REASONS.get(code, code)), raw=data)]
