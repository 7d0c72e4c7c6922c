"""Top-ups of a pool: extra data, minutes or SMS for the whole group, added as a top-up
bucket to the pool's running period (``subscriptions.changes.add_top_up``, the same as a
personal top-up: it expires with the period, or moves the period's end when the product
extends it). Ordered by the owner or an administrator, priced once (not per member).

A product fits a pool when it is active and lists the pool's plan, or lists no plan at all.
Upstream, every member's eSIM that is not held at its own cap gets the top-up, so a service
throttled or stopped because the pool ran out resumes; esimdesk's books of the pool stay
the authority on what is left. A pool waiting for its first member's first use is topped
up too: the buckets wait with it, and extra days lengthen it once it starts.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from esimdesk.catalog import queries as catalog
from esimdesk.catalog.models import TopUpProduct
from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict, ValidationFailed
from esimdesk.groups import services as groups
from esimdesk.groups.models import Membership
from esimdesk.orders.lines import LineRequest, PricedLine
from esimdesk.orders.models import OrderLine
from esimdesk.orders.topups import _pay_back
from esimdesk.sharedplans.models import GroupLine, MemberUsage
from esimdesk.sharedplans.pool_tasks import pool_top_up_task
from esimdesk.sharedplans.terms import GROUP_TOP_UP
from esimdesk.subscriptions import changes
from esimdesk.subscriptions.models import Subscription


def fits(product: TopUpProduct, plan_id: int) -> bool:
    chosen = [p.pk for p in product.plans.all()]
    return product.is_active and (not chosen or plan_id in chosen)


def price_group_top_up(user: Any, line: LineRequest, currency: str) -> PricedLine:
    if not line.group:
        raise ValidationFailed(_("Say which group the plan is for."), code="group_required")
    if not line.product:
        raise ValidationFailed(_("Choose a top-up."), code="product_required")
    manager = groups.manager_of(user=user, group_id=int(line.group))
    subscription = Subscription.objects.filter(group=manager.group).first()
    period = changes.topped_up_period(subscription) if subscription is not None else None
    if period is None:
        raise Conflict(_("The group has no plan running now: renew first, then top up."),
                       code="no_active_plan")
    product = catalog.get_top_up(line.product)
    if not fits(product, period.plan_id):
        raise ValidationFailed(_("This top-up is not available for the plan this eSIM runs."),
                               code="top_up_not_for_plan",
                               detail={"product": product.code, "plan": period.plan.code})
    price = catalog.top_up_price(product, currency)
    return PricedLine(GROUP_TOP_UP, period.plan, None, price, product=product, period=period,
                      starts_at=period.starts_at, ends_at=period.ends_at,
                      group=manager.group, members=manager.group.seats,
                      breakdown={"unit_price": price.amount, "percent_off": 0,
                                 "total": price.amount, "currency": price.currency,
                                 "pool": [{"kind": k, "total": q}
                                          for k, q in product.allowances()]})


def fulfil_group_top_up(line: OrderLine) -> None:
    """Add the buckets to the pool's running period (or the one waiting for first use),
    once (the line is locked and marked fulfilled in the same transaction). If no plan
    runs or waits any more, the line is paid back, as a personal top-up is."""
    product = line.product
    assert product is not None
    bought = GroupLine.objects.get(line=line)
    subscription = Subscription.objects.filter(group_id=bought.group_id).first()
    with transaction.atomic():
        locked = OrderLine.objects.select_for_update().get(pk=line.pk)
        if locked.fulfilled_at is not None:
            return
        result = (changes.add_top_up(subscription=subscription, quantities=product.allowances(),
                                     extend_days=product.extends_validity_days,
                                     reason=f"order {line.order.number}")
                  if subscription is not None else None)
        if result is None:
            _pay_back(line, "the group's plan ended before the top-up could be applied")
            return
        period, buckets = result
        locked.target_period = period
        locked.fulfilled_at = clock.now()
        locked.save(update_fields=["target_period", "fulfilled_at"])
        locked.allowances.set(buckets)
        capped = set(MemberUsage.objects.filter(period=period, capped_at__isnull=False)
                     .values_list("membership_id", flat=True))
        members = [pk for pk in Membership.active.filter(group_id=bought.group_id,
                                                         esim__isnull=False)
                   .values_list("pk", flat=True) if pk not in capped]
        for membership_id in members:
            pool_top_up_task.enqueue(line.pk, membership_id)
        audit.record(action="group.top_up", obj=bought.group, actor_type="task",
                     actor="fulfilment", after={"period": period.pk, "product": product.code,
                                                "members": len(members)})
