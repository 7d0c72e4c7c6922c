"""Reminders: before a plan ends, at its end, and when data runs low.

Each reminder is a ``ReminderLog`` row, unique on (period, kind), inserted set-based
(``INSERT … SELECT … ON CONFLICT DO NOTHING``) for every period that is due, then sent
through ``notifications.notify`` with a dedupe key of the period and threshold (for low
data, the highest threshold reached when it is sent: ``_dedupe_key``). A sweep that runs
twice, or on two machines at once, reminds once. Which reminder is due is
``reminder_rule``'s rule (only the nearest due threshold: a period found with two days left
gets the "3 days" reminder, not a late "7 days" one as well); the statements below state it
for every period at once, with the bounds the rule gives.

A period is reminded about only while it is the last one of its subscription: once renewed
(a later period queued), there is nothing to remind. A period waiting for first use has no
end, so no expiry reminder; its traveller hears once, a week before ``activate_by``, that it
will start by itself then (``activate_by:7d``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from esimdesk import config
from esimdesk.core import clock
from esimdesk.notifications import services as notifications
from esimdesk.subscriptions.models import Allowance, Period, ReminderLog
from esimdesk.subscriptions.reminder_rule import expiry_bands, level_reached, low_data_bands

logger = logging.getLogger(__name__)
_DURATION = re.compile(r"^(\d+)([dhm])$")
BATCH = 500


def parse_duration(text: str) -> dt.timedelta:
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 7d, 24h, 30m)")
    number, unit = int(match.group(1)), match.group(2)
    return {"d": dt.timedelta(days=number), "h": dt.timedelta(hours=number),
            "m": dt.timedelta(minutes=number)}[unit]


def expiry_thresholds() -> list[tuple[str, dt.timedelta]]:
    """(label, time before the end), farthest first: e.g. 7d, 3d, 1d, 0h."""
    items = [(t.strip(), parse_duration(t)) for t in
             config.env("ESIMDESK_EXPIRY_REMINDERS").split(",") if t.strip()]
    return sorted(items, key=lambda item: item[1], reverse=True)


def low_data_thresholds() -> list[int]:
    return sorted(int(p) for p in config.env("ESIMDESK_LOW_DATA_REMINDERS").split(",")
                  if p.strip())


# Due periods (ends_at in an expiry band) that are the last live one of their subscription,
# and belong to an eSIM.
_EXPIRY_SQL = """
INSERT INTO subscriptions_reminderlog (period_id, kind, created_at)
SELECT p.id, %s, %s
  FROM subscriptions_period p
  JOIN subscriptions_subscription s ON s.id = p.subscription_id
 WHERE p.ends_at > %s AND p.ends_at <= %s AND p.starts_at <= %s
   AND p.state <> 'cancelled' AND s.esim_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM subscriptions_period later
                    WHERE later.subscription_id = p.subscription_id
                      AND later.sequence > p.sequence AND later.state <> 'cancelled')
ON CONFLICT (period_id, kind) DO NOTHING
"""

# Current periods whose data used (plan and top-ups together) is in a low-data band.
_LOW_DATA_SQL = """
INSERT INTO subscriptions_reminderlog (period_id, kind, created_at)
SELECT p.id, %s, %s
  FROM subscriptions_period p
  JOIN subscriptions_subscription s ON s.id = p.subscription_id
  JOIN subscriptions_allowance a ON a.period_id = p.id AND a.kind = 'data'
 WHERE p.starts_at <= %s AND p.ends_at > %s
   AND p.state <> 'cancelled' AND s.esim_id IS NOT NULL
 GROUP BY p.id
HAVING SUM(a.total) > 0
   AND SUM(a.used) * 100 >= SUM(a.total) * %s AND SUM(a.used) * 100 < SUM(a.total) * %s
ON CONFLICT (period_id, kind) DO NOTHING
"""


# Periods waiting for first use whose ``activate_by`` is near: one notice each.
_ACTIVATION_SQL = """
INSERT INTO subscriptions_reminderlog (period_id, kind, created_at)
SELECT p.id, %s, %s
  FROM subscriptions_period p
  JOIN subscriptions_subscription s ON s.id = p.subscription_id
 WHERE p.state = 'pending' AND p.activate_by > %s AND p.activate_by <= %s
   AND s.esim_id IS NOT NULL
ON CONFLICT (period_id, kind) DO NOTHING
"""

#: how long before ``activate_by`` a traveller whose plan has not started hears about it
ACTIVATION_NOTICE = dt.timedelta(days=7)


def record_due_reminders(*, now: dt.datetime | None = None) -> int:
    """Insert a ReminderLog for every reminder now due (set-based). Returns rows inserted."""
    instant = now or clock.now()
    inserted = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for band in expiry_bands(expiry_thresholds()):
            cursor.execute(_EXPIRY_SQL, [band.kind, *_db(instant, instant + band.after,
                                                         instant + band.until, instant)])
            inserted += cursor.rowcount
        for level in low_data_bands(low_data_thresholds()):
            cursor.execute(_LOW_DATA_SQL, [level.kind, *_db(instant, instant, instant),
                                           level.percent, level.below])
            inserted += cursor.rowcount
        cursor.execute(_ACTIVATION_SQL, ["activate_by:7d",
                                         *_db(instant, instant, instant + ACTIVATION_NOTICE)])
        inserted += cursor.rowcount
    return inserted


def _db(*instants: dt.datetime) -> list[object]:
    return [clock.db_value(i) for i in instants]


def send_recorded_reminders(*, limit: int = 2000) -> int:
    """Send the reminders recorded but not yet sent. Safe to run concurrently: each message
    is deduplicated by its key, and ``sent_at`` only marks the work done."""
    pending = list(ReminderLog.objects.filter(sent_at__isnull=True).exclude(kind="lapsed")
                   .select_related("period__plan", "period__subscription__esim__owner")
                   .order_by("id")[:limit])
    for reminder in pending:
        _send(reminder)
    ReminderLog.objects.filter(pk__in=[r.pk for r in pending], sent_at__isnull=True).update(
        sent_at=clock.now())
    return len(pending)


def _send(reminder: ReminderLog) -> None:
    period = reminder.period
    subscription = period.subscription
    esim = subscription.esim
    assert esim is not None
    user = esim.owner
    kind, _sep, level = reminder.kind.partition(":")
    context = {
        "esim": esim, "period": period, "plan": period.plan, "level": level,
        # named by the trip ("Japan eSIM …0012"), unless the traveller gave it a label
        "esim_name": esim.label or _("%(place)s eSIM …%(tail)s") % {
            "place": period.plan.destination_name(), "tail": esim.iccid[-4:]},
        "auto_renew": subscription.auto_renew,
        "allowance": _data_view(period),
        "esim_url": settings.PUBLIC_URL + reverse("portal:esim", args=[esim.iccid]),
        "renew_url": settings.PUBLIC_URL + reverse("portal:esim_renew", args=[esim.iccid]),
    }
    template = {"expiry": "expiry_reminder", "activate_by": "activation_reminder"}.get(
        kind, "low_data_reminder")
    notifications.notify(user=user, kind=f"reminder_{kind}", template=template,
                         context=context, dedupe_key=_dedupe_key(reminder, context["allowance"]))


def _dedupe_key(reminder: ReminderLog, data: dict[str, int]) -> str:
    """Once per period and threshold, by the unique key of the message rows.

    A low-data message says how much is used *now*. Thresholds crossed one after the other
    before the first reminder went out (60 % then 77 % within a minute, recorded by the live
    path or the sweep) would each send "77 % used": so a low-data reminder is keyed by the
    highest threshold reached when it is sent (never lower than its own). The second of the
    two then finds the first's messages under the same key and sends nothing, however the
    two batches interleave; a reminder sent at 60 % and the next at 77 % keep two keys."""
    kind, _sep, level = reminder.kind.partition(":")
    if kind != "low_data":
        return f"reminder:{reminder.period_id}:{reminder.kind}"
    reached = level_reached(total=data["total"], used=data["used"],
                            percents=low_data_thresholds())
    percent = max(int(level), reached.percent if reached else 0)
    return f"reminder:{reminder.period_id}:low_data:{percent}"


def _data_view(period: Period) -> dict[str, int]:
    rows: Iterable[Allowance] = period.allowances.filter(kind="data")
    total = sum(a.total for a in rows)
    used = sum(a.used for a in rows)
    return {"total": total, "used": used, "remaining": max(0, total - used),
            "used_percent": 100 if total == 0 else min(100, used * 100 // total)}


#: Reminder sweeps of feature apps above subscriptions, by name (the key of their count in
#: ``reminders_sweep``'s answer); ``sharedplans`` adds ``pools`` in its ``ready``.
EXTRA_SWEEPS: dict[str, Callable[..., int]] = {}


def reminders_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Record what is due (set-based, fast at any scale) and leave the rendering and sending
    to the worker, in batches."""
    recorded = record_due_reminders(now=now)
    # Sweeps kept by feature apps (group pools: few, recorded and sent at once).
    extra = {name: sweep(now=now) for name, sweep in EXTRA_SWEEPS.items()}
    pending = ReminderLog.objects.filter(sent_at__isnull=True).exclude(kind="lapsed").exists()
    queued = DBTaskResult.objects.filter(task_path=SEND_TASK_PATH,
                                         status=TaskResultStatus.READY).exists()
    if pending and not queued:  # one batch at a time is enough: it queues the next itself
        send_reminders_task.enqueue()
    return {"recorded": recorded, "sending": int(pending), **extra}


SEND_TASK_PATH = f"{__name__}.send_reminders_task"


@task()
def send_reminders_task() -> int:
    """Send a batch of recorded reminders; queue another batch while some are left."""
    sent = send_recorded_reminders(limit=BATCH)
    if sent == BATCH:
        send_reminders_task.enqueue()
    return sent
