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

#: ``LineRequest.starts``: a renewal starts when the current plan ends (the default) ...
STARTS_AT_PERIOD_END = "at_period_end"
#: ... or the moment the current plan's data runs out (``subscriptions.data_out``)
STARTS_WHEN_DATA_RUNS_OUT = "when_data_runs_out"
STARTS = (STARTS_AT_PERIOD_END, STARTS_WHEN_DATA_RUNS_OUT)


@dataclass(frozen=True)
class LineRequest:
    type: str
    plan: str | None = None
    iccid: str | None = None
    product: str | None = None
    #: plan change: ``now`` or ``period_end``
    when: str | None = None
    #: renewal: ``STARTS_AT_PERIOD_END`` (None: the same) or ``STARTS_WHEN_DATA_RUNS_OUT``
    starts: str | None = None
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
    #: renewal: starts when the data of the plan before it runs out (``OrderLine.low_data``)
    low_data: bool = False

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
    def can_start_when_data_runs_out(self) -> bool:
        return kinds.kind_for(self.type).can_start_when_data_runs_out

    @property
    def credit_amount(self) -> int:
        return self.credit.amount if self.credit else 0

    @property
    def refund_amount(self) -> int:
        return self.refund.amount if self.refund else 0
