"""Plan-change lines: pricing (through ``services.price_lines``) and fulfilment.
The rules are in docs/plan-change.md:

- ``period_end``: a period of the new plan is queued after the current period and any
  already queued ones, exactly like a renewal with another plan; no credit.
- ``now``: the running period ends now, a period of the new plan starts now, queued periods
  follow it. The credit for the unused part (``ESIMDESK_PLAN_CHANGE_POLICY``: ``time``,
  ``data`` or ``min``) of what was paid for the running period is taken off the new price;
  a credit above the price is paid back to the payment that paid for the running period.
  The credit is computed as of the start of the current minute (UTC), so a preview and the
  order placed in the same minute agree to the minor unit; ``expected_total`` /
  ``expected_refund`` on the order refuse (409 ``price_changed``) any other amount.
- the credit is in the currency the running period was paid in; a plan change in another
  currency is refused (422 ``plan_change_currency_mismatch``): no conversion.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from esimdesk import config
from esimdesk.catalog import bundles as supplier_bundles
from esimdesk.catalog import queries as catalog
from esimdesk.catalog.models import Plan
from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict, ValidationFailed
from esimdesk.core.money import Money
from esimdesk.esims import services as esims
from esimdesk.orders import proration
from esimdesk.orders.lines import LineRequest, PricedLine
from esimdesk.orders.models import OrderLine
from esimdesk.orders.signals import refund_due
from esimdesk.orders.topups import subscription_of
from esimdesk.provisioning import registry as upstream
from esimdesk.subscriptions import changes, validity
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Period, Subscription
from esimdesk.subscriptions.queries import preview_window

logger = logging.getLogger(__name__)


def policy() -> str:
    chosen = config.env("ESIMDESK_PLAN_CHANGE_POLICY").strip().lower()
    if chosen not in proration.POLICIES:
        logger.error("ESIMDESK_PLAN_CHANGE_POLICY=%r is not time, data or min: using min",
                     chosen)
        return "min"
    return chosen


def pricing_instant() -> dt.datetime:
    """Credits are computed as of the start of the current minute (in the customer's
    favour: more of the period counts as unused)."""
    return clock.now().replace(second=0, microsecond=0)


def paid_for(period: Period) -> Money | None:
    """What the customer paid for ``period``: the value of the order line that bought it
    (charge plus credit used), in that order's currency. None when no order bought it."""
    line = (OrderLine.objects.select_related("order").filter(period=period).first())
    if line is None:
        return None
    return Money(line.value, line.order.currency)


def price_plan_change(user: Any, line: LineRequest, currency: str) -> PricedLine:
    when = line.when or ""
    if when not in OrderLine.When.values:
        raise ValidationFailed(_("Say when the new plan starts: now or at the end of the "
                                 "current period."), code="invalid_when",
                               detail={"allowed": list(OrderLine.When.values)})
    if not line.plan:
        raise ValidationFailed(_("Choose a plan."), code="plan_required")
    if not line.iccid:
        raise ValidationFailed(_("Say which eSIM to change."), code="iccid_required")
    plan = catalog.get_plan(line.plan)
    if plan.kind != Plan.Kind.PERSONAL:
        raise ValidationFailed(code="plan_kind_unavailable", detail={"kind": plan.kind})
    esim = esims.get_for_owner(user=user, iccid=line.iccid)
    subscription = subscription_of(esim)
    price = catalog.plan_price(plan, currency)
    zero = Money.zero(currency)
    if when == OrderLine.When.PERIOD_END:
        starts_at, ends_at = preview_window(plan, esim)
        return PricedLine(line.type, plan, esim, price, when=when,
                          list_price=price, credit=zero, refund=zero, starts_at=starts_at,
                          ends_at=ends_at)
    period = changes.running_period(subscription)
    if period is None and validity.pending_period(subscription) is not None:
        raise Conflict(_("Your plan has not started yet, so there is nothing to change now. "
                         "Choose to change when the current plan ends: the new plan is "
                         "queued after it."), code="plan_not_started")
    if period is None:
        raise Conflict(_("No plan is running on this eSIM, so there is nothing to change now. "
                         "Buy a renewal instead: it starts at once."), code="no_active_plan")
    paid = paid_for(period)
    if paid is not None and paid.currency != currency:
        raise ValidationFailed(
            _("The current plan was paid in %(currency)s. Change it in %(currency)s, so the "
              "credit for its unused part is exact.") % {"currency": paid.currency},
            code="plan_change_currency_mismatch",
            detail={"currency": currency, "paid_in": paid.currency})
    data_total, data_used = changes.plan_data_usage(period)
    quote = proration.quote(price=price, paid=paid or zero, policy=policy(),
                            starts_at=period.starts_at, ends_at=period.ends_at,
                            at=pricing_instant(), data_total=data_total, data_used=data_used)
    now = clock.now()
    return PricedLine(line.type, plan, esim, quote.charge, when=when,
                      list_price=price, credit=quote.credit, refund=quote.refund,
                      period=period, replaced_period=period, starts_at=now,
                      ends_at=plan.ends_at(now),
                      quote={**quote.as_dict(), "policy": policy(),
                             "priced_at": pricing_instant().isoformat()})


def fulfil_plan_change(line: OrderLine) -> None:
    esim = line.esim
    assert esim is not None
    subscription = esim.subscription
    # Like a renewal: the supplier that issued the profile, under its code for the plan.
    supplier = upstream.get(esim.upstream)
    plan_code = supplier_bundles.code_for(line.plan, esim.upstream)
    if line.when == OrderLine.When.PERIOD_END:
        supplier.apply_plan(reference=line.upstream_reference, iccid=esim.iccid,
                            plan_code=plan_code)
        with transaction.atomic():
            locked = OrderLine.objects.select_for_update().get(pk=line.pk)
            if locked.fulfilled_at is not None:
                return
            locked.period = subscriptions.add_period(subscription=subscription, plan=line.plan)
            locked.fulfilled_at = clock.now()
            locked.save(update_fields=["period", "fulfilled_at"])
        return
    replaced = line.replaced_period
    assert replaced is not None
    if _already_replaced(line):
        _pay_back_superseded(line)
        return
    supplier.replace_plan(reference=line.upstream_reference, iccid=esim.iccid,
                          plan_code=plan_code)
    with transaction.atomic():
        Subscription.objects.select_for_update().get(pk=subscription.pk)
        locked = OrderLine.objects.select_for_update().select_related("order").get(pk=line.pk)
        if locked.fulfilled_at is not None:
            return
        if _already_replaced(locked):
            _pay_back_superseded(locked)
            return
        switch = changes.start_plan_now(subscription=subscription, plan=line.plan,
                                        replaced=replaced,
                                        reason=f"plan change, order {locked.order.number}")
        locked.period = switch.period
        locked.fulfilled_at = clock.now()
        locked.save(update_fields=["period", "fulfilled_at"])
        for old_id, bucket in switch.carried.items():
            for owner in OrderLine.objects.filter(allowances__id=old_id):
                owner.allowances.add(bucket)
        if locked.refund_amount:
            funded_by = OrderLine.objects.filter(period=replaced).first()
            refund_due.send(sender=OrderLine, line=locked, funded_by=funded_by,
                            amount=locked.refund_money,
                            reason=f"Credit above the new plan's price ({locked.order.number})")


def _already_replaced(line: OrderLine) -> bool:
    """Another plan change now already replaced the same period (two orders priced against
    it): its credit has been given once and cannot be given again."""
    return (OrderLine.objects.filter(replaced_period_id=line.replaced_period_id,
                                     fulfilled_at__isnull=False)
            .exclude(pk=line.pk).exists())


def _pay_back_superseded(line: OrderLine) -> None:
    """The change is not applied; whatever was charged for it goes back, and no credit."""
    with transaction.atomic():
        locked = OrderLine.objects.select_for_update().select_related("order").get(pk=line.pk)
        if locked.fulfilled_at is not None:
            return
        locked.refund_amount = locked.amount
        locked.credit = 0
        locked.fulfilled_at = clock.now()
        locked.save(update_fields=["refund_amount", "credit", "fulfilled_at"])
        audit.record(action="order.line_paid_back", obj=locked.order, actor_type="task",
                     actor="fulfilment", after={"line": locked.pk, "amount": locked.amount},
                     reason="the plan was already changed by an earlier order")
        if locked.amount:
            refund_due.send(sender=OrderLine, line=locked, funded_by=locked,
                            amount=locked.money,
                            reason="Plan change not applied: the plan was already changed")
