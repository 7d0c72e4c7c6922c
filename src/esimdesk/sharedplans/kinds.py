"""The line kinds of family and organisation plans: ``group_plan`` (the first purchase),
``group_renew``, ``group_topup`` (buckets for the pool) and ``group_seats`` (more members
during a period). Each line names its group and seats in a ``GroupLine`` row, recorded
with the order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from esimdesk.catalog.models import Plan, TopUpProduct
from esimdesk.orders import topups
from esimdesk.orders.kinds.base import LineDefaults
from esimdesk.orders.kinds.personal import new_esim_text
from esimdesk.orders.kinds.top_up import top_up_refund_blocker
from esimdesk.orders.lines import LineRequest, PricedLine
from esimdesk.orders.models import OrderLine
from esimdesk.sharedplans import plans as group_orders
from esimdesk.sharedplans import seats as group_seats
from esimdesk.sharedplans import terms as group_terms
from esimdesk.sharedplans import topups as group_topups
from esimdesk.sharedplans.models import GroupLine

if TYPE_CHECKING:
    from django.utils.functional import Promise


class GroupKind(LineDefaults):
    """What the group kinds share: the ``GroupLine`` row and labels naming the group."""

    type: str
    verbose_name: str | Promise

    def record(self, *, lines: Sequence[tuple[OrderLine, PricedLine]]) -> None:
        GroupLine.objects.bulk_create([
            GroupLine(line=line, group=p.group, members=p.members,
                      unit_amount=int((p.breakdown or {})["unit_price"]),
                      percent_off=int((p.breakdown or {})["percent_off"]))
            for line, p in lines])

    def describe(self, *, plan: Plan, group: str, members: int,
                 product: TopUpProduct | None) -> str:
        if product is not None:
            return _("Top-up of %(group)s: %(product)s") % {"group": group,
                                                             "product": product.name}
        return _("%(plan)s for %(group)s, %(members)d members") % {
            "plan": plan.name, "group": group, "members": members}

    def label(self, line: OrderLine) -> str:
        bought = getattr(line, "group_line", None)
        if bought is None:
            return new_esim_text(line.plan)
        return self.describe(plan=line.plan, group=bought.group.name, members=bought.members,
                             product=line.product)

    def quote_label(self, priced: PricedLine) -> str:
        if priced.group is None:
            return new_esim_text(priced.plan)
        return self.describe(plan=priced.plan, group=priced.group.name,
                             members=priced.members, product=priced.product)


class GroupPlan(GroupKind):
    type = group_terms.GROUP_PLAN
    verbose_name = gettext_lazy("Family or organisation plan")

    def price(self, *, user: Any, line: LineRequest, currency: str) -> PricedLine:
        return group_orders.price_group_line(user, line, currency)

    def fulfil(self, line: OrderLine) -> None:
        group_orders.fulfil_group_line(line)


class GroupRenewal(GroupPlan):
    type = group_terms.GROUP_RENEWAL
    verbose_name = gettext_lazy("Group renewal")


class GroupTopUp(GroupKind):
    type = group_terms.GROUP_TOP_UP
    verbose_name = gettext_lazy("Group top-up")

    def price(self, *, user: Any, line: LineRequest, currency: str) -> PricedLine:
        return group_topups.price_group_top_up(user, line, currency)

    def fulfil(self, line: OrderLine) -> None:
        group_topups.fulfil_group_top_up(line)

    def take_back(self, *, line: OrderLine, actor: str, reason: str) -> None:
        topups.take_back(line=line, actor=actor, reason=reason)
        super().take_back(line=line, actor=actor, reason=reason)

    def refund_blocker(self, line: OrderLine, *, now: dt.datetime) -> str | None:
        return top_up_refund_blocker(line)

    def refund_note(self, line: OrderLine) -> str:
        return _("Nothing of this top-up used yet? You can get your money back.")


class GroupSeats(GroupKind):
    type = group_terms.GROUP_SEATS
    verbose_name = gettext_lazy("More members")

    def price(self, *, user: Any, line: LineRequest, currency: str) -> PricedLine:
        return group_seats.price_group_seats(user, line, currency)

    def describe(self, *, plan: Plan, group: str, members: int,
                 product: TopUpProduct | None) -> str:
        if product is not None:
            return super().describe(plan=plan, group=group, members=members, product=product)
        return _("%(members)d more members for %(group)s: %(plan)s") % {
            "plan": plan.name, "group": group, "members": members}

    def fulfil(self, line: OrderLine) -> None:
        group_seats.fulfil_group_seats(line)

    def refund_blocker(self, line: OrderLine, *, now: dt.datetime) -> str | None:
        return "started"  # members joined on those seats at once


KINDS = (GroupPlan(), GroupRenewal(), GroupTopUp(), GroupSeats())
