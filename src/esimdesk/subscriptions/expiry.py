"""Expiry: when a plan has ended and the grace period (``ESIMDESK_GRACE``) is over without a
renewal, the plan ends upstream too. The eSIM keeps its install data and can be renewed at
any time (the new period then starts at once). Recorded set-based as a ``ReminderLog`` of
kind ``lapsed`` (unique per period), so it happens once however often the sweep runs."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection, transaction
from django_tasks import task

from esimdesk import config
from esimdesk.core import audit, clock
from esimdesk.provisioning import registry as upstream
from esimdesk.provisioning.retrying import call_from_task
from esimdesk.subscriptions.models import Period, ReminderLog
from esimdesk.subscriptions.reminders import parse_duration

logger = logging.getLogger(__name__)

_LAPSED_SQL = """
INSERT INTO subscriptions_reminderlog (period_id, kind, created_at)
SELECT p.id, 'lapsed', %s
  FROM subscriptions_period p
  JOIN subscriptions_subscription s ON s.id = p.subscription_id
 WHERE p.ends_at <= %s AND p.ends_at > %s AND p.state <> 'cancelled'
   AND s.esim_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM subscriptions_period later
                    WHERE later.subscription_id = p.subscription_id
                      AND later.sequence > p.sequence AND later.state <> 'cancelled')
ON CONFLICT (period_id, kind) DO NOTHING
"""
LOOK_BACK = dt.timedelta(days=30)


def expiry_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    instant = now or clock.now()
    grace = parse_duration(config.env("ESIMDESK_GRACE"))
    cutoff = instant - grace
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_LAPSED_SQL, [clock.db_value(instant), clock.db_value(cutoff),
                                         clock.db_value(cutoff - LOOK_BACK)])
            recorded = int(cursor.rowcount)
        queued = 0
        for lapse in ReminderLog.objects.filter(kind="lapsed", sent_at__isnull=True)[:1000]:
            ReminderLog.objects.filter(pk=lapse.pk).update(sent_at=instant)
            end_plan_upstream_task.enqueue(lapse.period_id)
            queued += 1
    return {"lapsed": recorded, "ending_upstream": queued}


@task()
def end_plan_upstream_task(period_id: int, attempt: int = 1) -> str:
    period = Period.objects.select_related("subscription__esim").get(pk=period_id)
    esim = period.subscription.esim
    assert esim is not None
    later = Period.objects.filter(subscription_id=period.subscription_id,
                                  sequence__gt=period.sequence).exclude(
        state=Period.State.CANCELLED).exists()
    if later:
        return "renewed meanwhile"
    failed = call_from_task(
        call=lambda: upstream.get(esim.upstream).end_plan(
            reference=f"esimdesk-lapse-{period.pk}", iccid=esim.iccid),
        retry=end_plan_upstream_task, args=(period_id,), attempt=attempt,
        what=f"ending the plan upstream for {esim.iccid}", about=esim)
    if failed:
        return failed
    audit.record(action="esim.plan_ended_upstream", obj=esim, actor_type="task",
                 actor="expiry", after={"period": period.pk}, reason="plan ended, no renewal")
    return "ended"
