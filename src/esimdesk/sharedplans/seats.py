"""More seats during a period: a family or organisation that bought N seats adds k more
(up to the plan's maximum). The pool of the running period grows by k members' allowances
at once, ``Group.seats`` becomes N + k, and the price is what N + k seats cost less what N
seats cost (so the tier discount the larger group reaches applies to everyone, and the
group never pays more than buying N + k at the start would have cost). There is no
proration: the seats are for the whole running period. Periods already queued keep the
seats they were bought for; the next renewal is for the seats the group has then. Seats
bought while the pool waits for its first member's first use go on that pool (they wait
with it, as a top-up does: ``changes.topped_up_period``).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict, ValidationFailed
from esimdesk.core.money import Money
from esimdesk.groups import services as groups
from esimdesk.groups.models import Group
from esimdesk.orders.lines import LineRequest, PricedLine
from esimdesk.orders.models import OrderLine
from esimdesk.orders.topups import _pay_back
from esimdesk.sharedplans.models import GroupLine
from esimdesk.sharedplans.terms import GROUP_SEATS, breakdown, terms_of
from esimdesk.subscriptions import changes
from esimdesk.subscriptions.models import Allowance, Subscription


def price_group_seats(user: Any, line: LineRequest, currency: str) -> PricedLine:
    if not line.group:
        raise ValidationFailed(_("Say which group the plan is for."), code="group_required")
    group = groups.manager_of(user=user, group_id=int(line.group)).group
    subscription = Subscription.objects.filter(group=group).first()
    period = changes.topped_up_period(subscription) if subscription is not None else None
    if period is None:
        raise Conflict(_("The group has no plan running now: renew first, then top up."),
                       code="no_active_plan")
    terms = terms_of(period.plan)
    extra = int(line.members or 0)
    if extra < 1 or group.seats + extra > terms.max_members:
        raise ValidationFailed(code="invalid_member_count",
                               detail={"min": 1, "max": terms.max_members - group.seats})
    before = breakdown(plan=period.plan, terms=terms, members=group.seats, currency=currency)
    after = breakdown(plan=period.plan, terms=terms, members=group.seats + extra,
                      currency=currency)
    total = after["total"] - before["total"]
    parts = {**after, "members": extra, "seats_before": group.seats,
             "seats_after": group.seats + extra, "already_paid": before["total"],
             "total": total,
             "pool": [{"kind": kind, "total": quantity * extra}
                      for kind, quantity in period.plan.allowances()]}
    return PricedLine(GROUP_SEATS, period.plan, None, Money(total, after["currency"]),
                      period=period, starts_at=period.starts_at, ends_at=period.ends_at,
                      group=group, members=extra, breakdown=parts)


def fulfil_group_seats(line: OrderLine) -> None:
    """Grow the running pool (or the one waiting for first use) and the seats, once; pay
    back if no period runs or waits any more."""
    bought = GroupLine.objects.get(line=line)
    with transaction.atomic():
        locked = OrderLine.objects.select_for_update().get(pk=line.pk)
        if locked.fulfilled_at is not None:
            return
        group = Group.objects.select_for_update().get(pk=bought.group_id)
        subscription = Subscription.objects.filter(group=group).first()
        period = changes.topped_up_period(subscription) if subscription is not None else None
        if period is None or period.plan_id != line.plan_id:
            _pay_back(line, "the group's plan ended before the seats could be added")
            return
        for kind, quantity in period.plan.allowances():
            Allowance.objects.filter(period=period, kind=kind,
                                     source=Allowance.Source.PLAN).update(
                total=F("total") + quantity * bought.members)
        before = group.seats
        group.seats = before + bought.members
        group.save(update_fields=["seats"])
        locked.target_period = period
        locked.fulfilled_at = clock.now()
        locked.save(update_fields=["target_period", "fulfilled_at"])
        audit.record(action="group.seats", obj=group, actor_type="task", actor="fulfilment",
                     before={"seats": before}, after={"seats": group.seats,
                                                      "period": period.pk})
