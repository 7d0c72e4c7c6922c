"""The PostgreSQL fast path: COPY the batch into a temporary staging table, then set-based SQL.

Steps, all in the caller's transaction:
1. COPY the validated records into ``usage_staging`` (per connection, emptied on commit);
2. mark duplicates inside the batch (first occurrence wins) and against stored events;
3. resolve ICCID -> eSIM and ``occurred_at`` -> period (half-open, with the late grace);
4. lock the allowances of the periods touched, in id order, so concurrent batches charging
   the same periods queue up instead of deadlocking, then check stored events again (a
   concurrent batch holding those locks may just have committed the same records);
5. in one statement, compute each record's charge from the free capacity with a running
   sum, insert the events (``ON CONFLICT DO NOTHING``), and add the charges to the buckets in
   order with window functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connection

from esimdesk.core import clock
from esimdesk.usage.records import Record


class ConcurrentDuplicate(Exception):
    """A record was stored by another transaction between our check and our insert (only
    possible when two batches reuse an id for different eSIMs); the caller retries."""


_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS usage_staging (
    idx integer PRIMARY KEY, external_id text NOT NULL, iccid text NOT NULL,
    kind text NOT NULL, quantity bigint NOT NULL, occurred_at timestamptz NOT NULL,
    status text, esim_id bigint, period_id bigint
) ON COMMIT DELETE ROWS
"""

_DUPLICATES_IN_BATCH = """
UPDATE usage_staging s SET status = 'duplicate'
  FROM (SELECT idx, row_number() OVER (PARTITION BY external_id ORDER BY idx) AS n
          FROM usage_staging) d
 WHERE d.idx = s.idx AND d.n > 1
"""

_DUPLICATES_STORED = """
UPDATE usage_staging s SET status = 'duplicate'
 WHERE s.status IS NULL
   AND EXISTS (SELECT 1 FROM usage_usageevent e
                WHERE e.source = %s AND e.external_id = s.external_id)
"""

_RESOLVE = """
UPDATE usage_staging s
   SET esim_id = r.esim_id, period_id = r.period_id,
       status = CASE WHEN r.esim_id IS NULL THEN 'unknown_iccid'
                     WHEN r.period_id IS NULL THEN 'no_period' END
  FROM (SELECT t.idx, e.id AS esim_id, p.id AS period_id
          FROM usage_staging t
          LEFT JOIN esims_esim e ON e.iccid = t.iccid
          LEFT JOIN LATERAL (
                SELECT p.id FROM subscriptions_period p
                  JOIN subscriptions_subscription sub ON sub.id = p.subscription_id
                 WHERE sub.esim_id = e.id AND p.state <> 'cancelled'
                   AND p.starts_at <= t.occurred_at AND t.occurred_at < p.ends_at
                   AND p.ends_at + %s > %s
                 LIMIT 1) p ON true
         WHERE t.status IS NULL) r
 WHERE r.idx = s.idx
"""

_LOCK = """
SELECT a.id FROM subscriptions_allowance a
 WHERE a.period_id IN (SELECT DISTINCT period_id FROM usage_staging WHERE status IS NULL)
 ORDER BY a.id
   FOR UPDATE
"""

# One statement: record i of a (period, kind) is charged what is left of the free capacity
# after the records before it in the batch, clamp(free - (running sum - own quantity), 0,
# quantity); the events are inserted sorted by external id (two batches inserting
# overlapping ids then wait on each other in one order: no deadlock on the unique index);
# the charges per (period, kind) fill the buckets in order (plan first, then top-ups by id)
# and the overage goes on the last bucket. The allowances are already locked by this
# transaction, so what this statement reads of them is current.
_CHARGE = """
WITH free AS (
    SELECT a.period_id, a.kind, SUM(a.total - a.used) AS f
      FROM subscriptions_allowance a
     WHERE a.period_id IN (SELECT DISTINCT period_id FROM usage_staging WHERE status IS NULL)
     GROUP BY a.period_id, a.kind),
ev AS (
    SELECT s.external_id, s.esim_id, s.period_id, s.kind, s.quantity, s.occurred_at,
           GREATEST(0, LEAST(s.quantity, COALESCE(free.f, 0)
                - (SUM(s.quantity) OVER (PARTITION BY s.period_id, s.kind ORDER BY s.idx)
                   - s.quantity)))::bigint AS charged
      FROM usage_staging s
      LEFT JOIN free ON free.period_id = s.period_id AND free.kind = s.kind
     WHERE s.status IS NULL),
ins AS (
    INSERT INTO usage_usageevent (source, external_id, esim_id, period_id, kind, quantity,
                                  occurred_at, received_at, charged, overage)
    SELECT %s, external_id, esim_id, period_id, kind, quantity, occurred_at, %s, charged,
           quantity - charged
      FROM ev ORDER BY external_id
    ON CONFLICT (source, external_id) DO NOTHING
    RETURNING period_id, kind, charged, overage),
agg AS (
    SELECT period_id, kind, SUM(charged) AS q, SUM(overage) AS o
      FROM ins GROUP BY period_id, kind),
b AS (
    SELECT a.id, a.total - a.used AS free, agg.q, agg.o,
           SUM(a.total - a.used) OVER w - (a.total - a.used) AS before,
           row_number() OVER (PARTITION BY a.period_id, a.kind
                              ORDER BY (a.source <> 'plan') DESC, a.id DESC) AS from_end
      FROM subscriptions_allowance a
      JOIN agg ON agg.period_id = a.period_id AND agg.kind = a.kind
    WINDOW w AS (PARTITION BY a.period_id, a.kind ORDER BY (a.source <> 'plan'), a.id
                 ROWS UNBOUNDED PRECEDING)),
upd AS (
    UPDATE subscriptions_allowance a
       SET used = a.used + GREATEST(0, LEAST(b.free, b.q - b.before))::bigint,
           overage = a.overage + CASE WHEN b.from_end = 1 THEN b.o ELSE 0 END::bigint
      FROM b WHERE a.id = b.id AND (b.q > b.before OR b.from_end = 1)
    RETURNING a.id)
SELECT (SELECT COUNT(*) FROM ins), (SELECT COUNT(*) FROM upd)
"""

_OUTCOME = """
SELECT COUNT(*) FILTER (WHERE status IS NULL),
       COUNT(*) FILTER (WHERE status = 'duplicate'),
       COALESCE(array_agg(DISTINCT period_id) FILTER (WHERE status IS NULL), '{}')
  FROM usage_staging
"""


def charge_batch(cursor: Any, copy_cursor: Any, *, source: str, rows: Iterable[tuple[Any, ...]],
                 at: Any, grace: dt.timedelta) -> tuple[int, int, list[tuple[int, str]], set[int]]:
    """Steps 1-5 on any DB-API cursor (``copy_cursor``: the psycopg cursor, for COPY);
    ``rows`` are (index, id, iccid, kind, quantity, occurred_at). Also used as is by the
    benchmark's database-only probe."""
    cursor.execute(_STAGING)
    cursor.execute("TRUNCATE usage_staging")
    with copy_cursor.copy("COPY usage_staging (idx, external_id, iccid, kind, quantity, "
                          "occurred_at) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(_DUPLICATES_IN_BATCH)
    cursor.execute(_DUPLICATES_STORED, [source])
    cursor.execute(_RESOLVE, [grace, at])
    cursor.execute(_LOCK)
    cursor.execute(_DUPLICATES_STORED, [source])
    cursor.execute(_CHARGE, [source, at])
    inserted = cursor.fetchone()[0]
    cursor.execute(_OUTCOME)
    candidates, duplicates, periods = cursor.fetchone()
    if inserted != candidates:
        raise ConcurrentDuplicate  # the caller rolls back everything, charges included
    cursor.execute("SELECT idx, status FROM usage_staging "
                   "WHERE status IN ('unknown_iccid', 'no_period') ORDER BY idx")
    rejected = [(int(idx), str(code)) for idx, code in cursor.fetchall()]
    return int(candidates), int(duplicates), rejected, {int(p) for p in periods}


def ingest(*, source: str, records: list[Record], now: dt.datetime, grace: dt.timedelta,
           ) -> tuple[int, int, list[tuple[int, str]], set[int]]:
    """(accepted, duplicates, rejected, touched period ids); the caller owns the
    transaction and retries on ``ConcurrentDuplicate``."""
    rows = ((r.index, r.external_id, r.iccid, r.kind, r.quantity, r.occurred_at)
            for r in records)
    with connection.cursor() as cursor:
        return charge_batch(cursor, cursor.cursor, source=source, rows=rows,
                            at=clock.db_value(now), grace=grace)
