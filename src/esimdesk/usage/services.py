"""Usage ingestion: every write of usage records goes through ``ingest``.

Each record is validated on its own (a bad record is rejected with a code, never the batch),
stored once under its unique ``(source, id)`` (a replay is a duplicate and changes nothing),
and charged to the period that was active at ``occurred_at`` (half-open windows: at the
boundary instant the later period). A record for a period that ended is still charged to it
while ``now < ends_at + ESIMDESK_USAGE_LATE_GRACE``; later than that, or with no period at
all, it is rejected as ``no_period``. Charging fills the kind's buckets in order (the plan's,
then top-ups by id) up to their totals; the rest is overage, never a negative balance.

Events and balances are written in one transaction before ``ingest`` returns; the same
transaction records due low-data reminders and, when a period's data runs out, a
``ReminderLog(kind="depleted")`` (unique per period) and the task that throttles or stops the
service upstream — so that happens once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from esimdesk import config
from esimdesk.core import clock
from esimdesk.subscriptions.reminders import low_data_thresholds, parse_duration
from esimdesk.usage.ingest_pg import ConcurrentDuplicate
from esimdesk.usage.records import CLOCK_SKEW, Record, validate


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    rejected: list[tuple[int, str]]  # (index in the batch, code)


def late_grace() -> dt.timedelta:
    return parse_duration(config.env("ESIMDESK_USAGE_LATE_GRACE"))


def ingest(*, source: str, records: Iterable[Mapping[str, Any]]) -> IngestResult:
    """Validate, deduplicate, store and charge a batch of usage records."""
    if not source or len(source) > 64:
        raise ValueError("source must be 1-64 characters")
    now = clock.now()
    latest = now + CLOCK_SKEW
    valid: list[Record] = []
    rejected: list[tuple[int, str]] = []
    for index, raw in enumerate(records):
        outcome = validate(index, raw, latest=latest)
        if isinstance(outcome, str):
            rejected.append((index, outcome))
        else:
            valid.append(outcome)
    if not valid:
        return IngestResult(0, 0, rejected)
    if connection.vendor == "postgresql":
        from esimdesk.usage import ingest_pg as path
    else:
        from esimdesk.usage import ingest_sqlite as path  # type: ignore[no-redef]
    for attempt in range(3):
        try:
            with transaction.atomic():
                accepted, duplicates, refused, touched = path.ingest(
                    source=source, records=valid, now=now, grace=late_grace())
                if touched:
                    _after_charging(sorted(touched), now)
            break
        except ConcurrentDuplicate:
            # Rolled back whole; the next attempt sees the other batch's rows as duplicates.
            if attempt == 2:
                raise
    rejected.extend(refused)
    rejected.sort()
    return IngestResult(accepted, duplicates, rejected)


def _ids_param(ids: list[int]) -> tuple[str, Any]:
    """One SQL parameter holding a list of ids, on either database."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)", ids
    return "IN (SELECT value FROM json_each(%s))", json.dumps(ids)


# Current eSIM periods among those just charged whose data is used up: recorded once each.
_DEPLETED_SQL = """
INSERT INTO subscriptions_reminderlog (period_id, kind, created_at, sent_at)
SELECT p.id, 'depleted', %s, %s
  FROM subscriptions_period p
  JOIN subscriptions_subscription s ON s.id = p.subscription_id
  JOIN subscriptions_allowance a ON a.period_id = p.id AND a.kind = 'data'
 WHERE p.id {ids} AND p.ends_at > %s AND s.esim_id IS NOT NULL
 GROUP BY p.id
HAVING SUM(a.total) > 0 AND SUM(a.used) >= SUM(a.total)
ON CONFLICT (period_id, kind) DO NOTHING
RETURNING period_id
"""

# The same rule as subscriptions.reminders (only the nearest threshold reached), limited to
# the periods just charged, so a batch does not sweep every period in the database.
_LOW_DATA_SQL = """
INSERT INTO subscriptions_reminderlog (period_id, kind, created_at)
SELECT p.id, %s, %s
  FROM subscriptions_period p
  JOIN subscriptions_subscription s ON s.id = p.subscription_id
  JOIN subscriptions_allowance a ON a.period_id = p.id AND a.kind = 'data'
 WHERE p.id {ids} AND p.starts_at <= %s AND p.ends_at > %s
   AND p.state <> 'cancelled' AND s.esim_id IS NOT NULL
 GROUP BY p.id
HAVING SUM(a.total) > 0
   AND SUM(a.used) * 100 >= SUM(a.total) * %s AND SUM(a.used) * 100 < SUM(a.total) * %s
ON CONFLICT (period_id, kind) DO NOTHING
"""


# One pass to keep only the periods at or above the lowest threshold: in a normal batch
# that is a handful, and the statements below then look at those alone.
_NEAR_SQL = """
SELECT a.period_id FROM subscriptions_allowance a
 WHERE a.kind = 'data' AND a.period_id {ids}
 GROUP BY a.period_id
HAVING SUM(a.total) > 0 AND SUM(a.used) * 100 >= SUM(a.total) * %s
"""


def _after_charging(periods: list[int], now: dt.datetime) -> None:
    from esimdesk.subscriptions.reminders import send_reminders_task
    from esimdesk.usage.tasks import set_depletion_task

    percents = low_data_thresholds()
    at: Any = clock.db_value(now)
    with connection.cursor() as cursor:
        clause, ids = _ids_param(periods)
        cursor.execute(_NEAR_SQL.format(ids=clause), [ids, min([100, *percents])])
        near = [int(row[0]) for row in cursor.fetchall()]
        if not near:
            return
        clause, ids = _ids_param(near)
        # sent_at is set at once: the reminder sender must not treat this as a message.
        cursor.execute(_DEPLETED_SQL.format(ids=clause), [at, at, ids, at])
        depleted = [row[0] for row in cursor.fetchall()]
        recorded = 0
        for index, percent in enumerate(percents):
            upper = percents[index + 1] if index + 1 < len(percents) else 10**9
            cursor.execute(_LOW_DATA_SQL.format(ids=clause),
                           [f"low_data:{percent}", at, ids, at, at, percent, upper])
            recorded += cursor.rowcount
    for period_id in depleted:
        set_depletion_task.enqueue(period_id)
    if recorded:
        send_reminders_task.enqueue()
