"""Goodwill extension: staff make the running period of an eSIM last N days longer (an outage
at the destination, a late install), with a reason, within the limit of their role.

Like a top-up that extends validity (docs/topups.md), the period's end moves and every queued
period after it moves by the same amount, each keeping its plan's full validity. The
supplier is told after commit, from a task, as a zero-quantity top-up that extends the plan,
under a reference made once per extension so a retried task never extends twice.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import transaction
from django_tasks import task

from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict, PermissionDenied, ValidationFailed
from esimdesk.esims.models import Esim
from esimdesk.provisioning import registry as upstream
from esimdesk.provisioning.retrying import call_from_task
from esimdesk.subscriptions import changes
from esimdesk.subscriptions.models import Period, Subscription

#: Product code sent upstream for a goodwill extension (it carries no quantities).
GOODWILL_PRODUCT = "esimdesk-goodwill"


def extend_running_period(*, esim_id: int, days: int, max_days: int, actor: str,
                          reason: str) -> Period:
    """Extend the period running now on the eSIM by ``days`` (1..``max_days``); a period
    waiting for first use runs that much longer once it starts.

    Refused without a reason (``reason_required``), above ``max_days``
    (``goodwill_over_limit``, 403) and when no period runs (``no_running_period``, 409).
    """
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed(code="reason_required")
    if days < 1:
        raise ValidationFailed(code="invalid_days")
    if days > max_days:
        raise PermissionDenied(code="goodwill_over_limit", detail={"max_days": max_days})
    with transaction.atomic():
        esim = Esim.objects.get(pk=esim_id)
        subscription = Subscription.objects.select_for_update().filter(esim=esim).first()
        instant = clock.now()
        running = changes.topped_up_period(subscription, at=instant) if subscription else None
        if subscription is None or running is None or esim.status == Esim.Status.REVOKED:
            raise Conflict(code="no_running_period")
        period = Period.objects.select_for_update().get(pk=running.pk)
        reference = f"goodwill-{esim.pk}-{uuid.uuid4().hex[:16]}"
        if period.ends_at is None:  # waiting for first use: longer once it starts
            period.extra_days += days
            period.save(update_fields=["extra_days"])
            audit.record(action="period.goodwill_extension", obj=period, actor_type="staff",
                         actor=actor, after={"extra_days": period.extra_days, "days": days,
                                             "esim": esim.iccid, "reference": reference},
                         reason=reason)
        else:
            before = period.ends_at
            period.ends_at = before + dt.timedelta(days=days)
            period.save(update_fields=["ends_at"])
            audit.record(action="period.goodwill_extension", obj=period, actor_type="staff",
                         actor=actor, before={"ends_at": before.isoformat()},
                         after={"ends_at": period.ends_at.isoformat(), "days": days,
                                "esim": esim.iccid, "reference": reference}, reason=reason)
            changes.push_queued(subscription, after=period, instant=instant, actor=actor,
                                 reason="the period before it was extended as goodwill")
        extend_upstream_task.enqueue(esim.pk, reference, days)
    return period


@task()
def extend_upstream_task(esim_id: int, reference: str, days: int, attempt: int = 1) -> str:
    """Tell the eSIM's supplier about a goodwill extension (idempotent on ``reference``)."""
    esim = Esim.objects.get(pk=esim_id)
    supplier = upstream.get(esim.upstream)

    def extend() -> None:
        supplier.apply_top_up(reference=reference, iccid=esim.iccid,
                              product_code=GOODWILL_PRODUCT, data_bytes=0, voice_seconds=0,
                              sms_count=0, extend_days=days)

    outcome = call_from_task(
        call=extend, retry=extend_upstream_task, args=(esim_id, reference, days), attempt=attempt,
        what=f"goodwill extension {reference}")
    if outcome == "retrying":
        return outcome
    audit.record(action="esim.goodwill_upstream" if outcome is None
                 else "esim.goodwill_upstream_failed", obj=esim, actor_type="task",
                 actor=supplier.name, after={"reference": reference, "days": days},
                 reason="" if outcome is None else f"supplier {outcome}")
    return outcome or "done"
