"""The contract of an order line kind.

Every ``OrderLine.type`` is handled by one ``LineKind`` registered in
``orders.kinds.registry`` by the app that owns it. The order core (pricing, order creation,
fulfilment, receipts, refunds) calls these hooks and knows nothing else about what a line
buys; a new kind is one module implementing them and one ``register`` call in its app's
``AppConfig.ready``. ``LineDefaults`` supplies the usual answer for the optional hooks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from django.utils.translation import gettext as _

from esimdesk.subscriptions import services as subscriptions

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from esimdesk.orders.lines import LineRequest, PricedLine
    from esimdesk.orders.models import OrderLine


class LineKind(Protocol):
    #: the value stored in ``OrderLine.type``; never changes once lines carry it
    type: str
    #: the type's name for people (admin, choices)
    verbose_name: str | Promise
    #: fulfilling the line creates an eSIM (activation steps, install links follow it)
    makes_esim: bool
    #: what the line buys ends with the plan running now (checkout shows only that end)
    ends_with_running_plan: bool
    #: the line may start when the data of the plan before it runs out
    #: (``LineRequest.starts``; ``price`` then sets ``PricedLine.low_data``)
    can_start_when_data_runs_out: bool

    def price(self, *, user: Any, line: LineRequest, currency: str) -> PricedLine:
        """Validate ``line`` for ``user`` and price it in ``currency`` (already checked).
        Changes nothing; raises a ``DomainError`` (4xx) for anything the customer must fix.
        The checkout preview and order creation both call it, so the amount shown is the
        amount charged."""
        ...

    def check_order(self, *, priced: Sequence[PricedLine], index: int) -> None:
        """Refuse ``priced[index]`` (this kind's line) if it cannot share the order with the
        other lines. Called after every line is priced."""
        ...

    def record(self, *, lines: Sequence[tuple[OrderLine, PricedLine]]) -> None:
        """Store what the created lines of this kind need beyond ``OrderLine`` (called by
        ``create_order`` in its transaction, once per kind, with every such line)."""
        ...

    def fulfil(self, line: OrderLine) -> None:
        """Create what the paid ``line`` bought and mark it fulfilled. Runs again after any
        crash or retry, so it is idempotent: upstream calls carry
        ``line.upstream_reference`` and run outside a transaction; the line is locked and
        ``fulfilled_at`` checked and set in the transaction that records the result. May
        raise ``RetryableUpstreamError`` / ``FinalUpstreamError``."""
        ...

    def label(self, line: OrderLine) -> str:
        """What the stored line buys, in the active language (history, receipts, API)."""
        ...

    def quote_label(self, priced: PricedLine) -> str:
        """What the priced, not yet ordered line buys, in the active language (checkout)."""
        ...

    def checkout_heading(self, priced: PricedLine) -> str:
        """The line's name in the checkout summary, in the active language."""
        ...

    def checkout_note(self, priced: PricedLine) -> str:
        """What happens once it is paid, said to the payer at checkout (active language), or
        an empty string."""
        ...

    def take_back(self, *, line: OrderLine, actor: str, reason: str) -> None:
        """The refund effect: undo what ``line`` bought because its order was refunded in
        full (end its period, remove what is left of its buckets, revoke an eSIM never
        installed). Runs inside the refund's confirmation."""
        ...

    def refund_blocker(self, line: OrderLine, *, now: dt.datetime) -> str | None:
        """Refund eligibility: why the customer may not refund the order themselves because
        of this line (a key of ``payments.refund_policy.REASONS``: ``installed``,
        ``started``), or None when this line does not stand in the way."""
        ...

    def refund_note(self, line: OrderLine) -> str:
        """Why this line can still be refunded, said beside the order page's refund button
        (active language); shown only when ``refund_blocker`` lets the refund through."""
        ...


class LineDefaults:
    """The usual answer to the optional hooks; kinds override what differs."""

    makes_esim = False
    ends_with_running_plan = False
    can_start_when_data_runs_out = False

    def checkout_heading(self, priced: PricedLine) -> str:
        return str(priced.plan.name)

    def checkout_note(self, priced: PricedLine) -> str:
        return ""

    def check_order(self, *, priced: Sequence[PricedLine], index: int) -> None:
        return None

    def record(self, *, lines: Sequence[tuple[OrderLine, PricedLine]]) -> None:
        return None

    def take_back(self, *, line: OrderLine, actor: str, reason: str) -> None:
        """End the period the line bought (cancelled if not started, else ends now)."""
        if line.period is not None:
            subscriptions.end_period_early(period=line.period, actor=actor, reason=reason)

    def refund_blocker(self, line: OrderLine, *, now: dt.datetime) -> str | None:
        """The plan the line bought has started."""
        period = line.period
        if period is not None and period.starts_at is not None and period.starts_at <= now:
            return "started"
        return None

    def refund_note(self, line: OrderLine) -> str:
        return _("This plan has not started yet. Changed your mind? You can get your money "
                 "back.")
