"""Top-up lines: pricing (through ``services.price_lines``), fulfilment, and what a refund
takes back. The rules are in docs/topups.md:

- a top-up adds a separate bucket to the period running when it is fulfilled (never merged
  into another bucket) and expires with that period, unless the product extends the period
  (then the period's end and every queued period after it move by that many days);
- it needs a running plan: refused (409 ``no_active_plan``) when nothing runs; if the plan
  ended (or changed to one the product does not fit) between payment and fulfilment, the
  line is paid back in full instead;
- a full refund of a top-up order removes what is left of its buckets; used quantities and
  days already added stay.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from esimdesk.catalog import queries as catalog
from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict, ValidationFailed
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.orders.lines import LineRequest, PricedLine
from esimdesk.orders.models import OrderLine
from esimdesk.orders.signals import refund_due
from esimdesk.provisioning import registry as upstream
from esimdesk.subscriptions import changes
from esimdesk.subscriptions.models import Allowance, Subscription


def no_active_plan() -> Conflict:
    return Conflict(_("This eSIM has no plan running now. A top-up adds to the plan that is "
                      "running: renew first, then top up."), code="no_active_plan")


def subscription_of(esim: Esim) -> Subscription:
    subscription = getattr(esim, "subscription", None)
    if esim.status == Esim.Status.REVOKED or subscription is None:
        raise Conflict(_("This eSIM can no longer be renewed."), code="esim_not_renewable")
    return subscription  # type: ignore[no-any-return]


def price_top_up(user: Any, line: LineRequest, currency: str) -> PricedLine:
    if not line.product:
        raise ValidationFailed(_("Choose a top-up."), code="product_required")
    product = catalog.get_top_up(line.product)
    if not line.iccid:
        raise ValidationFailed(_("Say which eSIM to top up."), code="iccid_required")
    esim = esims.get_for_owner(user=user, iccid=line.iccid)
    period = changes.topped_up_period(subscription_of(esim))
    if period is None:
        raise no_active_plan()
    if not product.applies_to(period.plan):
        raise ValidationFailed(_("This top-up is not available for the plan this eSIM runs."),
                               code="top_up_not_for_plan",
                               detail={"product": product.code, "plan": period.plan.code})
    price = catalog.top_up_price(product, currency)
    ends_at = (period.ends_at + dt.timedelta(days=product.extends_validity_days)
               if period.ends_at is not None else None)  # pending: it waits with the plan
    return PricedLine(line.type, period.plan, esim, price, product=product,
                      period=period, starts_at=period.starts_at, ends_at=ends_at)


def fulfil_top_up(line: OrderLine) -> None:
    """Apply the top-up upstream (idempotent on the line's reference), then add its buckets
    to the period running now; pay the line back if nothing runs that it fits."""
    esim = line.esim
    product = line.product
    assert esim is not None and product is not None
    subscription = esim.subscription
    period = changes.topped_up_period(subscription)
    if period is None or not product.applies_to(period.plan):
        _pay_back(line, "no plan running that this top-up fits")
        return
    # The supplier that issued the profile, whatever is configured first now.
    upstream.get(esim.upstream).apply_top_up(
        reference=line.upstream_reference, iccid=esim.iccid, product_code=product.code,
        data_bytes=product.data_bytes, voice_seconds=product.voice_seconds,
        sms_count=product.sms_count, extend_days=product.extends_validity_days)
    with transaction.atomic():
        locked = OrderLine.objects.select_for_update().get(pk=line.pk)
        if locked.fulfilled_at is not None:
            return
        result = changes.add_top_up(subscription=subscription, quantities=product.allowances(),
                                    extend_days=product.extends_validity_days,
                                    reason=f"order {line.order.number}")
        if result is None:  # the plan ended in between
            _pay_back(line, "the plan ended before the top-up could be applied")
            return
        target, buckets = result
        locked.target_period = target
        locked.fulfilled_at = clock.now()
        locked.save(update_fields=["target_period", "fulfilled_at"])
        locked.allowances.set(buckets)


def _pay_back(line: OrderLine, reason: str) -> None:
    with transaction.atomic():
        locked = OrderLine.objects.select_for_update().select_related("order").get(pk=line.pk)
        if locked.fulfilled_at is not None:
            return
        locked.refund_amount = locked.amount
        locked.fulfilled_at = clock.now()
        locked.save(update_fields=["refund_amount", "fulfilled_at"])
        audit.record(action="order.line_paid_back", obj=locked.order, actor_type="task",
                     actor="fulfilment", after={"line": locked.pk, "amount": locked.amount},
                     reason=reason)
        if locked.amount:
            refund_due.send(sender=OrderLine, line=locked, funded_by=locked,
                            amount=locked.money, reason=f"Top-up not applied: {reason}")


def is_untouched(line: OrderLine) -> bool:
    """Nothing of the line's top-up buckets has been used (the customer may refund it)."""
    return not any(bucket.used for bucket in line.allowances.all())


def take_back(*, line: OrderLine, actor: str, reason: str) -> None:
    """A full refund of a top-up: what is left of its buckets is removed (the bucket keeps
    what was used). Days an extending top-up added stay."""
    with transaction.atomic():
        for bucket in (Allowance.objects.select_for_update().filter(order_lines=line)
                       .order_by("pk")):
            if bucket.total == bucket.used:
                continue
            before = bucket.total
            bucket.total = bucket.used
            bucket.save(update_fields=["total"])
            audit.record(action="allowance.taken_back", obj=bucket, actor_type="task",
                         actor=actor, before={"total": before}, after={"total": bucket.total},
                         reason=reason)
