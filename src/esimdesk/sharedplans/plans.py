"""Group plans through the ordinary order and payment flow: pricing with per-member tiers,
the breakdown the checkout preview shows, and fulfilment into the group's pool.

Two line types (``GROUP_PLAN`` the first purchase, ``GROUP_RENEWAL`` every later one,
automatic renewals included), each for ``members`` seats of a family or enterprise plan.
Only the group's owner or an administrator can order them; the order is theirs, so members
never see payment details. The price is the plan's per-member price times the seats, less
the percentage of the largest ``MemberPriceTier`` the seat count reaches (rounded to the
nearest minor unit, half up). Fulfilling a line adds one period to the group's
subscription whose allowances are the plan's times the seats: that period is the pool.
The group's first period of a plan whose validity starts at first use (or install) is
pending until its first member's first use (``subscriptions.validity``); renewals bought
meanwhile wait behind it without dates.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from esimdesk.catalog import queries as catalog
from esimdesk.catalog.models import Plan
from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict, NotFound, ValidationFailed
from esimdesk.core.money import Money
from esimdesk.groups import services as groups
from esimdesk.groups.models import Group, Membership
from esimdesk.orders import services as orders
from esimdesk.orders.lines import LineRequest, PricedLine
from esimdesk.orders.models import Order, OrderLine
from esimdesk.sharedplans import invoicing
from esimdesk.sharedplans.models import GroupLine
from esimdesk.sharedplans.pool_tasks import apply_pool_plan_task
from esimdesk.sharedplans.terms import GROUP_PLAN, GROUP_RENEWAL, breakdown, terms_of
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Allowance, Period, Subscription

_KIND_FOR = {Group.Kind.FAMILY: Plan.Kind.FAMILY, Group.Kind.ENTERPRISE: Plan.Kind.ENTERPRISE}


def price_group_line(user: Any, line: LineRequest, currency: str) -> PricedLine:
    """Validate a ``group_plan`` or ``group_renew`` line for ``user`` (owner or
    administrator) and price it."""
    if not line.group:
        raise ValidationFailed(_("Say which group the plan is for."), code="group_required")
    manager = groups.manager_of(user=user, group_id=int(line.group))
    group = manager.group
    subscription = Subscription.objects.filter(group=group).first()
    if line.type == GROUP_PLAN and subscription is not None and \
            subscription.periods.exclude(state=Period.State.CANCELLED).exists():
        raise Conflict(_("The group already has a plan: renew it instead."),
                       code="group_has_plan")
    if line.type == GROUP_RENEWAL and subscription is None:
        raise Conflict(_("The group has no plan to renew yet."), code="group_has_no_plan")
    code = line.plan or (subscription.plan.code if subscription is not None else "")
    if not code:
        raise ValidationFailed(_("Choose a plan."), code="plan_required")
    plan = catalog.get_plan(code)
    if plan.kind != _KIND_FOR[Group.Kind(group.kind)]:
        raise ValidationFailed(code="plan_kind_mismatch",
                               detail={"plan": plan.kind, "group": group.kind})
    terms = terms_of(plan)
    members = int(line.members or group.seats or 0)
    active = Membership.active.filter(group=group).count()
    lowest = max(terms.min_members, active)
    if not lowest <= members <= terms.max_members:
        raise ValidationFailed(code="invalid_member_count",
                               detail={"min": lowest, "max": terms.max_members})
    if group.allowed_countries:
        covered = set(plan.countries.values_list("code", flat=True))
        missing = sorted(set(group.allowed_countries) - covered)
        if missing:
            raise ValidationFailed(code="plan_outside_policy", detail={"countries": missing})
    parts = breakdown(plan=plan, terms=terms, members=members, currency=currency)
    return PricedLine(line.type, plan, None, Money(parts["total"], parts["currency"]),
                      group=group, members=members, breakdown=parts)


def fulfil_group_line(line: OrderLine) -> None:
    """Add the pool's next period (once: the line is locked and marked fulfilled in the same
    transaction), set the seats, and queue the plan upstream on every member's eSIM."""
    with transaction.atomic():
        locked = OrderLine.objects.select_for_update().get(pk=line.pk)
        if locked.fulfilled_at is not None:
            return
        bought = GroupLine.objects.select_related("group").get(line=locked)
        group = Group.objects.select_for_update().get(pk=bought.group_id)
        subscription = Subscription.objects.filter(group=group).first()
        if subscription is None:
            subscription = Subscription.objects.create(group=group, plan=line.plan)
            audit.record(action="subscription.create", obj=subscription, actor_type="task",
                         actor="fulfilment", after={"group": group.pk, "plan": line.plan.code})
        first = not subscription.periods.exclude(state=Period.State.CANCELLED).exists()
        period = subscriptions.add_period(
            subscription=subscription, plan=line.plan,
            pending=first and line.plan.validity_starts != Plan.ValidityStarts.PURCHASE)
        Allowance.objects.filter(period=period, source=Allowance.Source.PLAN).update(
            total=F("total") * bought.members)
        before = group.seats
        group.seats = bought.members
        group.save(update_fields=["seats"])
        audit.record(action="group.seats", obj=group, actor_type="task", actor="fulfilment",
                     before={"seats": before}, after={"seats": group.seats,
                                                      "period": period.pk})
        locked.period = period
        locked.fulfilled_at = clock.now()
        locked.save(update_fields=["period", "fulfilled_at"])
        for membership_id in Membership.active.filter(group=group, esim__isnull=False
                                                      ).values_list("pk", flat=True):
            apply_pool_plan_task.enqueue(period.pk, membership_id)


def group_renewal_order(attempt: Any) -> Any:
    """The order of an automatic renewal of a group (``payments.autorenew``): the plan of
    the pool's latest period for the seats the group has now, paid by the owner in the
    currency of the group's last order. ``attempt`` is the locked-by-us RenewalAttempt."""
    subscription = attempt.subscription
    group = Group.objects.select_related("owner").get(pk=subscription.group_id)
    latest = (Period.objects.filter(subscription=subscription)
              .exclude(state=Period.State.CANCELLED).order_by("-sequence").first())
    plan = latest.plan if latest else subscription.plan
    last_paid = (Order.objects.filter(lines__group_line__group=group,
                                      status=Order.Status.FULFILLED)
                 .order_by("-created_at").values_list("currency", flat=True).first())
    with transaction.atomic():
        locked = type(attempt).objects.select_for_update().get(pk=attempt.pk)
        if locked.order_id is not None:
            return Order.objects.get(pk=locked.order_id)
        order = orders.create_order(
            user=group.owner, currency=last_paid or group.owner.preferred_currency,
            lines=[LineRequest(type=GROUP_RENEWAL, plan=plan.code, group=group.pk,
                               members=group.seats)])
        locked.order = order
        locked.save(update_fields=["order"])
        attempt.order = order
        if invoicing.billed_by_invoice(group):  # no card: it goes on the month's invoice
            order = invoicing.settle_on_account(order=order, group=group,
                                                actor="auto-renew")
    return order


def group_of_line(line: OrderLine) -> Group:
    bought = GroupLine.objects.select_related("group").filter(line=line).first()
    if bought is None:
        raise NotFound(code="unknown_group")
    return bought.group
