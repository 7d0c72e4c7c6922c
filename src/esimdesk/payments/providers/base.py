"""The contract every payment provider adapter fulfils. The docstrings are the contract.

An adapter translates; it never decides. It never writes to the database and never moves
money on its own initiative:

- ``start`` asks the provider to collect an amount and says what the payer does next;
- ``parse_webhook`` verifies a provider's message (signature first, then freshness) and turns
  it into typed ``ProviderEvent`` objects;
- ``query`` asks the provider for the true state of one payment (reconciliation, the return
  URL, and any payment whose outcome is unknown);
- ``refund`` asks the provider to pay back all or part of a captured payment;
- ``charge_saved`` charges a saved payment method off-session (auto-renew), where supported.

The payments service owns every state change and applies each event exactly once, keyed by
``ProviderEvent.event_id``. Money is always ``core.money.Money`` (integer minor units).
Errors are typed: ``RetryableProviderError`` means the outcome is unknown or transient (reconcile
with ``query`` before charging again); ``FinalProviderError`` will fail the same way again;
``SignatureError`` means a message did not verify and must be ignored (nothing is stored).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from esimdesk.config import Option
from esimdesk.core.money import Money
from esimdesk.orders.models import PROVIDER_LABELS

Device = Literal["desktop", "mobile"]

#: Longest provider event id stored (``PaymentEvent.event_id``).
MAX_EVENT_ID = 200
#: Largest amount an event may state, in minor units (the ``bigint`` columns' limit).
MAX_EVENT_AMOUNT = 2**63 - 1
EventType = Literal["succeeded", "declined", "refunded", "refund_failed"]


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


class MalformedEvent(FinalProviderError):
    """A message that verified but whose content is not what the provider documents (not an
    object, a field of the wrong type, an amount no column holds). Nothing is stored."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="malformed_event")


class NotConfigured(FinalProviderError):
    """The provider is enabled but its keys are missing (``esimdesk check`` lists them)."""


class NotSupported(FinalProviderError):
    """The provider cannot do this (e.g. off-session charges)."""


@dataclass(frozen=True)
class NextAction:
    """What the payer does next: follow a URL, scan a QR code, or nothing."""

    type: Literal["redirect", "qr", "none"]
    url: str = ""
    data: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "url": self.url, "data": self.data}


@dataclass(frozen=True)
class StartRequest:
    """Everything a provider may need to start collecting one payment."""

    #: esimdesk's public id of the payment; unique, use it as the provider's merchant order
    #: number / idempotency key so a retried ``start`` never creates two provider payments
    payment_id: str
    amount: Money
    #: short text for the payer's statement, e.g. the order number
    description: str
    #: where the payer's browser comes back after paying (esimdesk queries the provider there)
    return_url: str
    #: where the payer comes back after giving up
    cancel_url: str
    #: this provider's webhook URL at esimdesk (``/hooks/payments/<name>``)
    notify_url: str
    #: ``desktop`` gets a QR code where the provider has one; ``mobile`` gets a redirect
    device: Device = "desktop"
    customer_email: str = ""
    #: esimdesk's stable id of the payer (``user-<pk>``), for providers that keep customers
    customer_ref: str = ""
    #: ask the provider to keep the method for later off-session charges
    save_method: bool = False
    #: ``en`` or ``zh-hans``: the language of the provider's page where it has one
    language: str = "en"
    #: the payer's IP address, which some providers check for phone payments (WeChat H5)
    payer_ip: str = ""


@dataclass(frozen=True)
class StartResult:
    #: the provider's id of this payment (unique per provider): session, order, trade number
    provider_reference: str
    next_action: NextAction


@dataclass(frozen=True)
class SavedMethod:
    """A payment method the provider keeps for off-session charges. Never card data: only
    the provider's token and what a person needs to recognise it."""

    token: str
    label: str  # e.g. "Visa •••• 4242", "PayPal a•••@example.com"
    customer_token: str = ""  # the provider's customer id, where it needs one


@dataclass(frozen=True)
class ProviderEvent:
    """One fact the provider states about one payment.

    ``event_id`` is the provider's own id of the message (unique per provider) so a replay
    is recognised; facts learnt by ``query`` use ``f"query:{reference}:{type}"``.
    ``amount`` is what the provider says it collected (or refunded), checked against the
    payment before anything changes. ``method`` is what the payer recognises ("Visa •••• 4242",
    "PayPal alex@example.com", "Alipay", "WeChat Pay").
    """

    event_id: str
    provider_reference: str
    type: EventType
    amount: Money | None = None
    method: str = ""
    failure_code: str = ""
    failure_message: str = ""
    #: for ``refunded`` / ``refund_failed``: esimdesk's refund id if the provider echoes it,
    #: else the provider's refund id
    refund_reference: str = ""
    #: for ``refunded``: ``amount`` is the running total refunded on the payment (Alipay's
    #: ``refund_fee``), not this refund's own amount
    cumulative: bool = False
    saved_method: SavedMethod | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Every adapter's events are checked here, once, before anything is stored: what a
        signed message says is still input (``MalformedEvent`` otherwise)."""
        texts = {"event_id": (self.event_id, MAX_EVENT_ID), "provider_reference":
                 (self.provider_reference, None), "method": (self.method, None),
                 "failure_code": (self.failure_code, None),
                 "failure_message": (self.failure_message, None),
                 "refund_reference": (self.refund_reference, None)}
        for name, (value, limit) in texts.items():
            if not isinstance(value, str) or (limit is not None and len(value) > limit):
                raise MalformedEvent(f"{name} is not a string of at most {limit} characters"
                                     if limit else f"{name} is not a string")
        if not self.event_id:
            raise MalformedEvent("the event has no id")
        if self.type not in ("succeeded", "declined", "refunded", "refund_failed"):
            raise MalformedEvent("unknown event type")
        if self.amount is not None and (not isinstance(self.amount, Money)
                                        or not 0 <= self.amount.amount <= MAX_EVENT_AMOUNT):
            raise MalformedEvent("the amount is not a number of minor units esimdesk holds")
        saved = self.saved_method
        if saved is not None and not (isinstance(saved.token, str) and isinstance(saved.label, str)
                                      and 0 < len(saved.token) <= 200):
            raise MalformedEvent("the saved method is not a token and a label")


@dataclass(frozen=True)
class RefundResult:
    provider_refund_id: str
    status: Literal["pending", "succeeded", "failed"]
    failure_message: str = ""


@dataclass(frozen=True)
class WebhookAck:
    """What the provider expects back once a message is accepted (Alipay: ``success``)."""

    status: int = 200
    body: bytes = b'{"received": true}'
    content_type: str = "application/json"


class PaymentProvider(ABC):
    #: configured name (``ESIMDESK_PAYMENT_PROVIDERS``) and URL segment of its webhook
    name: str = ""
    #: ISO 4217 codes this provider can collect (configurable per provider)
    currencies: frozenset[str] = frozenset()
    #: whether ``charge_saved`` works (auto-renew falls back to a pay link otherwise)
    supports_saved_methods: bool = False
    #: environment variables the adapter needs (``esimdesk check`` reports missing ones)
    required_settings: tuple[str, ...] = ()
    #: a plug-in provider's own ``ESIMDESK_*`` options (``registry.register`` hands them to
    #: ``esimdesk.config``); the shipped providers' are still listed in ``config.OPTIONS``
    options: tuple[Option, ...] = ()

    @property
    def display_name(self) -> str:
        """The name payers see, in the active language (``registry.register`` records it)."""
        return str(PROVIDER_LABELS.get(self.name, self.name))

    def supports(self, currency: str) -> bool:
        return currency in self.currencies

    @abstractmethod
    def start(self, request: StartRequest) -> StartResult:
        """Ask the provider to collect ``request.amount``.

        Returns the provider's reference (unique per provider) and the next action. Must not
        mark anything paid: success only ever arrives as a ``ProviderEvent`` (webhook or
        ``query``). Raises ``RetryableProviderError`` when the outcome is unknown.
        """

    @abstractmethod
    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> list[ProviderEvent]:
        """Verify the raw message first (``SignatureError`` if the signature, timestamp or
        certificate fails), then return the events it carries. Event types esimdesk does not
        use return an empty list (the message is still acknowledged)."""

    def webhook_ack(self) -> WebhookAck:
        """The answer to a verified message (also to a replay)."""
        return WebhookAck()

    @abstractmethod
    def query(self, *, payment_id: str, provider_reference: str) -> ProviderEvent | None:
        """The provider's current truth about one payment as an event, or ``None`` while it
        is still open (the payer has not finished). Never changes anything at the provider."""

    def refund(self, *, refund_id: str, payment_id: str, provider_reference: str,
               amount: Money, reason: str = "") -> RefundResult:
        """Pay back ``amount`` (all or part) of a captured payment. ``refund_id`` is
        esimdesk's id of the refund: send it as the idempotency key / out_refund_no so a
        retry never refunds twice."""
        raise NotSupported(f"{self.name} cannot refund through esimdesk", code="no_refunds")

    def charge_saved(self, *, payment_id: str, method: SavedMethod, amount: Money,
                     description: str, customer_ref: str = "") -> ProviderEvent:
        """Charge a saved method off-session. Returns the outcome as an event (``succeeded``
        or ``declined``); raises ``RetryableProviderError`` when the outcome is unknown (then
        ``query`` decides before any new attempt)."""
        raise NotSupported(f"{self.name} cannot charge a saved method",
                           code="no_saved_methods")
