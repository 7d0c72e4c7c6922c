"""The contract every payment provider adapter fulfils. The docstrings are the contract.

A provider adapter never moves money on its own initiative and never writes to the
database: it translates. ``start`` asks the provider to collect an amount and says what the
customer must do next; ``parse_webhook`` verifies a provider's message (signature first) and
turns it into typed ``ProviderEvent`` objects. The payments service owns every state change
and applies each event exactly once, keyed by ``ProviderEvent.event_id``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from esimdesk.core.money import Money


class ProviderError(Exception):
    """A provider refused or failed. ``retryable`` says whether trying again may succeed."""

    retryable = False

    def __init__(self, message: str, *, code: str = "provider_error") -> None:
        super().__init__(message)
        self.code = code


class RetryableProviderError(ProviderError):
    """Network trouble, timeouts, 5xx, rate limits: the outcome is unknown or transient.
    Reconcile with ``query`` before trying to charge again."""

    retryable = True


class FinalProviderError(ProviderError):
    """The provider said no in a way that will not change (bad request, unsupported)."""


class SignatureError(FinalProviderError):
    """A webhook whose signature, timestamp or certificate does not verify."""


@dataclass(frozen=True)
class NextAction:
    """What the customer does next: follow a URL, scan a QR code, or nothing."""

    type: Literal["redirect", "qr", "none"]
    url: str = ""
    data: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "url": self.url, "data": self.data}


@dataclass(frozen=True)
class StartResult:
    provider_reference: str
    next_action: NextAction


@dataclass(frozen=True)
class ProviderEvent:
    """One fact the provider states about one payment.

    ``event_id`` is the provider's own id of the message (unique per provider), so a
    replay is recognised. ``type`` is ``succeeded`` or ``declined``; ``amount`` is what the
    provider says it collected, checked against the payment before anything changes.
    """

    event_id: str
    provider_reference: str
    type: Literal["succeeded", "declined"]
    amount: Money | None = None
    method: str = ""
    failure_code: str = ""
    failure_message: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


class PaymentProvider(ABC):
    #: configured name (``ESIMDESK_PAYMENT_PROVIDERS``) and URL segment of its webhook
    name: str = ""
    #: ISO 4217 codes this provider can collect
    currencies: frozenset[str] = frozenset()
    #: name shown to payers at checkout, in history and on receipts (a lazy translation)
    label: Any = ""

    @property
    def display_name(self) -> str:
        return str(self.label or self.name)

    @abstractmethod
    def start(self, *, payment_id: str, amount: Money, description: str,
              return_url: str) -> StartResult:
        """Ask the provider to collect ``amount``.

        Returns the provider's reference for the payment (unique per provider) and the next
        action. Must not mark anything paid: success only ever arrives as a ProviderEvent.
        Raises ``RetryableProviderError`` when the outcome is unknown.
        """

    @abstractmethod
    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> list[ProviderEvent]:
        """Verify the message's signature first (``SignatureError`` if it fails), then
        return the events it carries. Must not depend on anything but the message."""

    def supports(self, currency: str) -> bool:
        return currency in self.currencies
