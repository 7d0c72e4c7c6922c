"""What an order line asks for, and what it costs once priced (``services.price_lines``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from esimdesk.catalog.models import Plan, TopUpProduct
from esimdesk.core.money import Money
from esimdesk.esims.models import Esim
from esimdesk.orders.kinds import registry as kinds
from esimdesk.subscriptions.models import Period


@dataclass(frozen=True)
class LineRequest:
    type: str
    plan: str | None = None
    iccid: str | None = None
    product: str | None = None
    #: plan change: ``now`` or ``period_end``
    when: str | None = None
    #: group plans (``sharedplans.plans``): the group's id and the seats bought
    group: int | None = None
    members: int | None = None


@dataclass(frozen=True)
class PricedLine:
    type: str
    plan: Plan
    esim: Esim | None
    #: what this line charges
    price: Money
    product: TopUpProduct | None = None
    when: str = ""
    #: plan change: the new plan's own price (``price`` is what is left after the credit)
    list_price: Money | None = None
    credit: Money | None = None
    #: plan change: credit above the new price, paid back to the original payment
    refund: Money | None = None
    #: top-up: the period it tops up; plan change now: the period it replaces
    period: Period | None = None
    #: when what the line buys runs (for a top-up: the period's end after any extension)
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    #: plan change now: the breakdown of the credit (``proration.Quote.as_dict``)
    quote: dict[str, object] | None = None
    #: group plans: the group, the seats and the price breakdown (``sharedplans.plans.breakdown``)
    group: Any = None
    members: int = 0
    breakdown: dict[str, Any] | None = None

    #: plan change now: the period it ends (stored as ``OrderLine.replaced_period``)
    replaced_period: Period | None = None

    @property
    def label(self) -> str:
        return kinds.kind_for(self.type).quote_label(self)

    @property
    def checkout_heading(self) -> str:
        return kinds.kind_for(self.type).checkout_heading(self)

    @property
    def checkout_note(self) -> str:
        return kinds.kind_for(self.type).checkout_note(self)

    @property
    def makes_esim(self) -> bool:
        return kinds.kind_for(self.type).makes_esim

    @property
    def ends_with_running_plan(self) -> bool:
        return kinds.kind_for(self.type).ends_with_running_plan

    @property
    def credit_amount(self) -> int:
        return self.credit.amount if self.credit else 0

    @property
    def refund_amount(self) -> int:
        return self.refund.amount if self.refund else 0
