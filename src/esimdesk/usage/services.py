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
service upstream — so that happens once. When a renewal for low data is queued after such a
period, it starts instead, at that instant, in the same transaction: the period ends then and
the task that ends it upstream and lifts any throttle replaces the throttle
(``subscriptions.data_out``). A record for an eSIM whose plan waits for first
use starts that plan at the record's ``occurred_at`` first, in the same transaction
(``subscriptions.validity.start_on_usage``), on either database path.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction

from esimdesk import config
from esimdesk.core import clock, metrics
from esimdesk.subscriptions import data_out, validity
from esimdesk.subscriptions.reminder_rule import low_data_bands
from esimdesk.subscriptions.reminders import (
    low_data_thresholds,
    parse_duration,
    send_reminders_task,
)
from esimdesk.usage import ingest_pg, ingest_sqlite
from esimdesk.usage.charging import charge_pooled_rows
from esimdesk.usage.ingest_pg import ConcurrentDuplicate, Row
from esimdesk.usage.records import CLOCK_SKEW, KINDS, MAX_ID_LENGTH, MAX_QUANTITY, Record, validate
from esimdesk.usage.tasks import set_depletion_task


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
    valid, rejected = validate_all(records, latest=now + CLOCK_SKEW)
    if not valid:
        _count_batch(0, 0, len(rejected))
        return IngestResult(0, 0, rejected)
    conflict_safe = _sends_duplicates(source)
    for attempt in range(_ATTEMPTS):
        try:
            with transaction.atomic():
                # Usage on a plan waiting for first use starts it at the record's time,
                # before anything is charged, so the records are charged to it below.
                validity.start_on_usage(_first_seen(valid))
                # Family and organisation pools first (their own rules and reminders);
                # what is left is charged to personal allowances below.
                pooled = charge_pooled_rows(source=source, rows=valid, now=now,
                                            grace=late_grace())
                personal = pooled.rest
                accepted, duplicates = 0, 0
                refused: list[tuple[int, str]] = []
                touched: set[int] = set()
                if personal and connection.vendor == "postgresql":
                    # Only the periods near a low-data threshold come back: the statements
                    # of _after_charging then look at a handful instead of the whole batch.
                    accepted, duplicates, refused, touched = ingest_pg.ingest(
                        source=source, rows=personal, now=now, grace=late_grace(),
                        near_percent=min([100, *low_data_thresholds()]),
                        conflict_safe=conflict_safe)
                elif personal:
                    accepted, duplicates, refused, touched = ingest_sqlite.ingest(
                        source=source, records=[Record(*row) for row in personal], now=now,
                        grace=late_grace())
                accepted += pooled.accepted
                duplicates += pooled.duplicates
                refused = [*refused, *pooled.rejected]
                if touched:
                    _after_charging(sorted(touched), now)
            break
        except (ConcurrentDuplicate, OperationalError, IntegrityError) as error:
            # Rolled back whole; the next attempt sees the other batch's rows and balances.
            if attempt == _ATTEMPTS - 1 or not _retryable(error):
                raise
            # Some record was stored before (a replay) or meanwhile by a concurrent batch:
            # from now on the records are looked up first and the insert skips the rest.
            if isinstance(error, IntegrityError):
                conflict_safe = True
                _DUPLICATES_SEEN[source] = time.monotonic()
    if conflict_safe and not duplicates:
        _DUPLICATES_SEEN.pop(source, None)  # back to the fast statement
    rejected.extend(refused)
    rejected.sort()
    _count_batch(accepted, duplicates, len(rejected))
    return IngestResult(accepted, duplicates, rejected)


def _count_batch(accepted: int, duplicates: int, rejected: int) -> None:
    """The batch on ``/metrics``: a few increments per batch, never one per record."""
    metrics.USAGE_BATCHES.inc()
    metrics.USAGE_RECORDS.labels("accepted").inc(accepted)
    metrics.USAGE_RECORDS.labels("duplicate").inc(duplicates)
    metrics.USAGE_RECORDS.labels("rejected").inc(rejected)


_ATTEMPTS = 4

# Sources whose batches lately carried records stored before (monotonic time it was seen):
# their next batches start with the statement that looks records up first, instead of
# failing on the first duplicate and starting again (ingest_pg). Per process, and forgotten
# after a batch without duplicates or after a while.
_DUPLICATES_SEEN: dict[str, float] = {}
_DUPLICATES_MEMORY = 600.0


def _sends_duplicates(source: str) -> bool:
    seen = _DUPLICATES_SEEN.get(source)
    if seen is None:
        return False
    if time.monotonic() - seen > _DUPLICATES_MEMORY:
        del _DUPLICATES_SEEN[source]
        return False
    return True


def _retryable(error: Exception) -> bool:
    """A batch that lost a race, to be retried whole: a period deleted under it, a deadlock
    (only possible when batches share records or nearly full periods, see ingest_pg), or
    a record a concurrent batch stored first."""
    if isinstance(error, ConcurrentDuplicate):
        return True
    cause = error.__cause__
    state = getattr(cause, "sqlstate", None)
    if isinstance(error, IntegrityError):
        diag = getattr(cause, "diag", None)
        return state == "23505" and getattr(diag, "table_name", None) == "usage_usageevent"
    return state == "40P01"


# The doubled Luhn digits, reduced to one digit (2 * 7 = 14 -> 5).
_LUHN_DOUBLE = str.maketrans("0123456789", "0246813579")


# ICCIDs already seen to pass the check: a network reports the same SIMs all day long.
_KNOWN_ICCIDS: set[str] = set()


def _luhn_ok(digits: str) -> bool:
    """Luhn check of ASCII digits: the same verdict as ``stdnum.luhn.is_valid``, at a
    fraction of its cost (summing bytes runs in C; known numbers are remembered)."""
    if digits in _KNOWN_ICCIDS:
        return True
    mixed = (digits[-1::-2] + digits[-2::-2].translate(_LUHN_DOUBLE)).encode()
    if (sum(mixed) - 48 * len(mixed)) % 10:
        return False
    if len(_KNOWN_ICCIDS) >= 500_000:  # bounded: about 40 MB at most
        _KNOWN_ICCIDS.clear()
    _KNOWN_ICCIDS.add(digits)
    return True


def _well_formed(index: int, raw: Any, latest: dt.datetime) -> Row | None:
    """The usual record (exact types, an ICCID without pad or spaces) checked quickly, or
    None when ``records.validate`` must decide: it accepts more forms and names the
    problem. Whatever this accepts, ``validate`` accepts with the same result."""
    if type(raw) is not dict:
        return None
    external_id = raw.get("id")
    iccid = raw.get("iccid")
    kind = raw.get("kind")
    quantity = raw.get("quantity")
    occurred = raw.get("occurred_at")
    if type(external_id) is not str or len(external_id) > MAX_ID_LENGTH \
            or not external_id.strip() or "\x00" in external_id \
            or type(iccid) is not str or len(iccid) not in (19, 20) or not iccid.isascii() \
            or not iccid.isdigit() or not _luhn_ok(iccid) \
            or type(kind) is not str or kind not in KINDS \
            or type(quantity) is not int or not 0 <= quantity <= MAX_QUANTITY \
            or type(occurred) is not str or not 10 <= len(occurred) <= 40:
        return None
    try:
        instant = dt.datetime.fromisoformat(occurred)
        if instant.tzinfo is None:
            return None
        # OverflowError: a time that exists in its own offset but not in UTC
        # (0001-01-01T00:00:00+23:59); ``validate`` names it invalid_time.
        instant = instant.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None
    if instant > latest:
        return None
    return (index, external_id, iccid, kind, quantity, instant)


def _first_seen(rows: list[Row]) -> dict[str, dt.datetime]:
    """The earliest ``occurred_at`` of each ICCID in the batch."""
    first: dict[str, dt.datetime] = {}
    for row in rows:
        iccid, occurred_at = row[2], row[5]
        seen = first.get(iccid)
        if seen is None or occurred_at < seen:
            first[iccid] = occurred_at
    return first


def validate_all(records: Iterable[Any], *, latest: dt.datetime,
                 ) -> tuple[list[Row], list[tuple[int, str]]]:
    """Clean records and (index, code) of the rejected ones, each record on its own."""
    valid: list[Row] = []
    rejected: list[tuple[int, str]] = []
    for index, raw in enumerate(records):
        row = _well_formed(index, raw, latest)
        if row is not None:
            valid.append(row)
            continue
        outcome = validate(index, raw, latest=latest)
        if isinstance(outcome, str):
            rejected.append((index, outcome))
        else:
            valid.append((outcome.index, outcome.external_id, outcome.iccid, outcome.kind,
                          outcome.quantity, outcome.occurred_at))
    return valid, rejected


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

# The same rule as subscriptions.reminders (subscriptions.reminder_rule: only the highest
# threshold reached, while the period runs), limited to the periods just charged, so a batch
# does not sweep every period in the database.
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
        for level in low_data_bands(percents):
            cursor.execute(_LOW_DATA_SQL.format(ids=clause),
                           [level.kind, at, ids, at, at, level.percent, level.below])
            recorded += cursor.rowcount
    # A renewal for low data queued after a period that just ran out starts now; the others
    # are throttled or stopped upstream as their plans say.
    switched = {s.ended for s in data_out.start_on_data_out(depleted, at=now)}
    for period_id in depleted:
        if period_id not in switched:
            set_depletion_task.enqueue(period_id)
    if recorded:
        send_reminders_task.enqueue()
