"""The PostgreSQL fast path: COPY the batch into a temporary table, then set-based SQL.

Optimistic charging, so that concurrent batches queue up only for the balances, not for the
bulk of the work: storing the events with their four indexes (docs/PERFORMANCE.md has the
measured split). Steps, all in the caller's transaction:

1. COPY the validated records into ``usage_in`` (per connection, emptied on commit);
2. one statement: drop duplicates inside the batch (first occurrence wins) and records
   already stored; resolve ICCID -> eSIM and ``occurred_at`` -> period (half-open, with the
   late grace); compute each record's charge from the free capacity *as last committed*
   (running sum per period and kind); insert the events (``ON CONFLICT DO NOTHING``)
   sorted by eSIM, then id: neighbouring index entries go in together, and two batches
   carrying the same records wait on each other in one order (a deadlock needs one id
   reused for different eSIMs; PostgreSQL then aborts one batch and the caller retries it);
   note per (period, kind) what was assumed (``usage_grp``);
3. (no step: the events' eSIM and period come from rows this statement has just read, so no
   per-row foreign-key check is made; see below for what holds them);
4. and 5., one statement: lock the allowances of those (period, kind) pairs in id order
   (concurrent batches charging the same periods queue up here, always in the same order);
   then, on the locked (current) balances, where the free capacity changed since
   step 2 in a way that changes the charges (a concurrent batch charged the same nearly
   full period), recompute those records' charges and correct their events; then fill the
   buckets in order and report the periods near a low-data threshold.

A pair can only need correcting if its free capacity was short of the batch's records at
step 2 (its inserted records are then listed in ``usage_mine``) or if a concurrent batch
consumed it between steps 2 and 4; that last, rarer case raises ``ConcurrentDuplicate``
and the caller retries the whole batch (the next attempt sees the new balance).

What keeps an event's eSIM and period in existence without a foreign-key constraint: a
deferred trigger refuses, at commit, to delete one that committed events reference
(migration ``usage/0003``), and the allowance rows locked in step 4 keep their period from
being deleted until this transaction commits (a delete of the period must first remove them,
so it waits here and its trigger then sees these events). Step 4 also counts the rows it
locked: fewer than step 2 saw means a period went away meanwhile, and the batch is retried.

Records of pooled eSIMs never reach this module: ``usage.pooled`` charges them to their pools
first, in the same transaction, and passes on the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connection

from esimdesk.core import clock

# A validated record: (index in the batch, id, ICCID, kind, quantity, occurred_at in UTC).
# A tuple, because building a dataclass per record cost as much as checking it.
Row = tuple[int, str, str, str, int, dt.datetime]


class ConcurrentDuplicate(Exception):
    """A concurrent batch changed what this one assumed (it stored some of the same records,
    or used up the free capacity of a period) in a way this transaction cannot correct on
    its own; the caller rolls back and retries."""


_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS usage_in (
    idx integer NOT NULL, external_id text NOT NULL, iccid text NOT NULL, kind text NOT NULL,
    quantity bigint NOT NULL, occurred_at timestamptz NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS usage_grp (
    period_id bigint NOT NULL, kind text NOT NULL, free_old numeric NOT NULL,
    n_alw bigint NOT NULL, s_all numeric NOT NULL, n_all bigint NOT NULL, s_ins numeric NOT NULL,
    charged numeric NOT NULL, overage numeric NOT NULL, n_ins bigint NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS usage_mine (
    idx integer NOT NULL, external_id text NOT NULL, period_id bigint NOT NULL,
    kind text NOT NULL, quantity bigint NOT NULL
) ON COMMIT DELETE ROWS
"""

# Step 2. ``t``: first occurrence of each id in the batch; ``r``: stored before, or resolved
# to an eSIM and the period running at occurred_at (periods of an eSIM never overlap; the
# DISTINCT ON keeps one row per record even so); ``c``: the records to store; ``g``: free
# capacity per (period, kind) as last committed; ``ev``: each record's charge,
# clamp(free - (running sum - own quantity), 0, quantity).
_STORE = """
WITH t AS (
    SELECT i.idx, i.external_id, i.iccid, i.kind, i.quantity, i.occurred_at,
           row_number() OVER (PARTITION BY i.external_id ORDER BY i.idx) AS n
      FROM usage_in i),
f AS MATERIALIZED (
    SELECT t.*, EXISTS (SELECT 1 FROM usage_usageevent u
                         WHERE u.source = %(source)s AND u.external_id = t.external_id) AS stored
      FROM t WHERE t.n = 1),
r AS (
    SELECT DISTINCT ON (f.idx) f.idx, f.external_id, f.kind, f.quantity, f.occurred_at,
           f.stored, e.id AS esim_id, p.id AS period_id
      FROM (SELECT * FROM f ORDER BY f.iccid) f
      LEFT JOIN esims_esim e ON e.iccid = f.iccid AND NOT f.stored
      LEFT JOIN (SELECT sub.esim_id, p.id, p.starts_at, p.ends_at
                   FROM subscriptions_period p
                   JOIN subscriptions_subscription sub ON sub.id = p.subscription_id
                  WHERE p.state <> 'cancelled' AND p.ends_at > %(at)s - %(grace)s) p
             ON p.esim_id = e.id AND p.starts_at <= f.occurred_at AND f.occurred_at < p.ends_at
     ORDER BY f.idx, p.id),
c AS (SELECT * FROM r WHERE NOT stored AND period_id IS NOT NULL),
g AS (
    SELECT a.period_id, a.kind, SUM(a.total - a.used) AS free, COUNT(*) AS n_alw
      FROM subscriptions_allowance a
     WHERE (a.period_id, a.kind) IN (SELECT DISTINCT period_id, kind FROM c)
     GROUP BY a.period_id, a.kind),
ev AS (
    SELECT c.idx, c.external_id, c.esim_id, c.period_id, c.kind, c.quantity, c.occurred_at,
           GREATEST(0, LEAST(c.quantity, COALESCE(g.free, 0)
                - (SUM(c.quantity) OVER (PARTITION BY c.period_id, c.kind ORDER BY c.idx)
                   - c.quantity)))::bigint AS charged
      FROM c LEFT JOIN g ON g.period_id = c.period_id AND g.kind = c.kind),
ins AS (
    INSERT INTO usage_usageevent (source, external_id, esim_id, period_id, kind, quantity,
                                  occurred_at, received_at, charged, overage)
    SELECT %(source)s, external_id, esim_id, period_id, kind, quantity, occurred_at, %(at)s,
           charged, quantity - charged
      FROM ev ORDER BY esim_id, external_id
    ON CONFLICT (source, external_id) DO NOTHING
    RETURNING external_id, period_id, kind, quantity, charged, overage),
s AS (
    SELECT c.period_id, c.kind, COALESCE(MAX(g.free), 0) AS free_old,
           COALESCE(MAX(g.n_alw), 0) AS n_alw, SUM(c.quantity) AS s_all, COUNT(*) AS n_all
      FROM c LEFT JOIN g ON g.period_id = c.period_id AND g.kind = c.kind
     GROUP BY c.period_id, c.kind),
grp AS (
    INSERT INTO usage_grp (period_id, kind, free_old, n_alw, s_all, n_all, s_ins, charged,
                           overage, n_ins)
    SELECT s.period_id, s.kind, s.free_old, s.n_alw, s.s_all, s.n_all, COALESCE(i.s_ins, 0),
           COALESCE(i.charged, 0), COALESCE(i.overage, 0), COALESCE(i.n_ins, 0)
      FROM s LEFT JOIN (SELECT period_id, kind, SUM(quantity) AS s_ins,
                               SUM(charged) AS charged, SUM(overage) AS overage,
                               COUNT(*) AS n_ins
                          FROM ins GROUP BY period_id, kind) i
             ON i.period_id = s.period_id AND i.kind = s.kind
    RETURNING n_all, n_ins),
mine AS (
    INSERT INTO usage_mine (idx, external_id, period_id, kind, quantity)
    SELECT c.idx, ins.external_id, ins.period_id, ins.kind, ins.quantity
      FROM ins
      JOIN s ON s.period_id = ins.period_id AND s.kind = ins.kind AND s.free_old < s.s_all
      JOIN c ON c.external_id = ins.external_id)
SELECT idx, CASE WHEN esim_id IS NULL THEN 'unknown_iccid' ELSE 'no_period' END,
       NULL::bigint, NULL::bigint, NULL::bigint
  FROM r WHERE NOT stored AND period_id IS NULL
 UNION ALL
SELECT NULL, NULL, (SELECT COUNT(*) FROM t WHERE n > 1) + (SELECT COUNT(*) FROM r WHERE stored),
       (SELECT COALESCE(SUM(n_all), 0) FROM grp), (SELECT COALESCE(SUM(n_ins), 0) FROM grp)
"""

# Steps 4 and 5 in one statement: ``cur`` locks the allowances in id order and, having
# waited for any batch holding them, reads their latest committed values. A pair is
# ``ok`` when step 2's charges stand: nothing changed (same free capacity, every record
# inserted), or there was room for the whole batch then and is room for what was inserted
# now. Otherwise the records listed in usage_mine are charged again in batch order
# (``fixable``); a pair that is neither is counted in ``unfixable`` and the caller retries.
# The charges per (period, kind) then fill the buckets in order (plan first, then top-ups by
# id) and the overage goes on the last bucket.
_SETTLE = """
WITH cur AS (
    SELECT a.id, a.period_id, a.kind, a.source, a.total, a.used
      FROM subscriptions_allowance a
     WHERE (a.period_id, a.kind) IN (SELECT period_id, kind FROM usage_grp WHERE n_ins > 0)
     ORDER BY a.id
       FOR UPDATE),
fr AS (SELECT period_id, kind, SUM(total - used) AS free, COUNT(*) AS n_now
         FROM cur GROUP BY period_id, kind),
chk AS (
    SELECT g.*, COALESCE(fr.free, 0) AS free_now, COALESCE(fr.n_now, 0) AS n_now,
           (COALESCE(fr.free, 0) = g.free_old AND g.n_ins = g.n_all)
           OR (g.free_old >= g.s_all AND COALESCE(fr.free, 0) >= g.s_ins) AS ok
      FROM usage_grp g LEFT JOIN fr ON fr.period_id = g.period_id AND fr.kind = g.kind
     WHERE g.n_ins > 0),
fix AS (
    SELECT m.external_id, m.period_id, m.kind, m.quantity,
           GREATEST(0, LEAST(m.quantity, chk.free_now
                - (SUM(m.quantity) OVER (PARTITION BY m.period_id, m.kind ORDER BY m.idx)
                   - m.quantity)))::bigint AS charged
      FROM usage_mine m
      JOIN chk ON chk.period_id = m.period_id AND chk.kind = m.kind AND NOT chk.ok),
fixed AS (
    UPDATE usage_usageevent u SET charged = fix.charged, overage = fix.quantity - fix.charged
      FROM fix
     WHERE u.source = %(source)s AND u.external_id = fix.external_id
       AND (u.charged <> fix.charged)),
tot AS (
    SELECT period_id, kind, charged AS q, overage AS o FROM chk WHERE ok
     UNION ALL
    SELECT period_id, kind, SUM(charged), SUM(quantity - charged)
      FROM fix GROUP BY period_id, kind),
b AS (
    SELECT cur.id, cur.period_id, cur.kind, cur.total, cur.used, cur.total - cur.used AS free,
           tot.q, tot.o,
           SUM(cur.total - cur.used) OVER w - (cur.total - cur.used) AS before,
           row_number() OVER (PARTITION BY cur.period_id, cur.kind
                              ORDER BY (cur.source <> 'plan') DESC, cur.id DESC) AS from_end
      FROM cur
      JOIN tot ON tot.period_id = cur.period_id AND tot.kind = cur.kind
    WINDOW w AS (PARTITION BY cur.period_id, cur.kind ORDER BY (cur.source <> 'plan'), cur.id
                 ROWS UNBOUNDED PRECEDING)),
inc AS (
    SELECT b.*, GREATEST(0, LEAST(b.free, b.q - b.before))::bigint AS add_used,
           CASE WHEN b.from_end = 1 THEN b.o ELSE 0 END::bigint AS add_over
      FROM b),
upd AS (
    UPDATE subscriptions_allowance a
       SET used = a.used + inc.add_used, overage = a.overage + inc.add_over
      FROM inc WHERE a.id = inc.id AND (inc.add_used > 0 OR inc.add_over > 0)),
near AS (
    SELECT period_id FROM inc WHERE kind = 'data'
     GROUP BY period_id
    HAVING SUM(total) > 0 AND SUM(used + add_used) * 100 >= SUM(total) * %(near)s)
SELECT (SELECT COUNT(*) FROM chk
         WHERE (NOT ok AND NOT EXISTS (SELECT 1 FROM usage_mine m
                                        WHERE m.period_id = chk.period_id
                                          AND m.kind = chk.kind))
            OR n_now < n_alw),
       COALESCE((SELECT array_agg(period_id) FROM near), '{}')
"""

_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(rows: Iterable[Row]) -> str:
    """The batch in COPY text format, built in one pass (one write instead of a Python call
    per row). ``rows``: (index, id, ICCID, kind, quantity, occurred_at)."""
    lines = []
    for index, external_id, iccid, kind, quantity, occurred_at in rows:
        if "\\" in external_id or "\t" in external_id or "\n" in external_id \
                or "\r" in external_id:
            external_id = external_id.translate(_ESCAPE)
        lines.append(f"{index}\t{external_id}\t{iccid}\t{kind}\t{quantity}\t"
                     f"{occurred_at.isoformat()}\n")
    return "".join(lines)


def store(cursor: Any, copy_cursor: Any, *, source: str, data: str, at: Any,
          grace: dt.timedelta) -> tuple[int, int, list[tuple[int, str]]]:
    """Steps 1-2 on a DB-API cursor (``copy_cursor``: the psycopg cursor, for COPY); ``data``
    is the batch from ``copy_text``. (inserted, duplicates, rejected)."""
    cursor.execute(_TABLES)
    # Empty already after a commit; not when the caller's transaction spans several batches
    # (DELETE rather than TRUNCATE: no new files and catalog rows per batch).
    cursor.execute("DELETE FROM usage_in; DELETE FROM usage_grp; DELETE FROM usage_mine")
    with copy_cursor.copy("COPY usage_in (idx, external_id, iccid, kind, quantity, "
                          "occurred_at) FROM STDIN") as copy:
        copy.write(data)
    cursor.execute(_STORE, {"source": source, "at": at, "grace": grace})
    rejected: list[tuple[int, str]] = []
    duplicates = candidates = inserted = 0
    for idx, code, dups, n_all, n_ins in cursor.fetchall():
        if idx is None:
            duplicates, candidates, inserted = int(dups), int(n_all), int(n_ins)
        else:
            rejected.append((int(idx), str(code)))
    rejected.sort()
    return inserted, duplicates + candidates - inserted, rejected


def settle(cursor: Any, *, source: str, near_percent: int) -> set[int]:
    """Steps 4-5 for what ``store`` inserted: the charged periods whose data is at or above
    ``near_percent`` % used. Raises ``ConcurrentDuplicate`` when the batch must be retried."""
    cursor.execute(_SETTLE, {"source": source, "near": near_percent})
    unfixable, near = cursor.fetchone()
    if unfixable:
        raise ConcurrentDuplicate  # the caller rolls back everything, charges included
    return {int(p) for p in near}


def charge_batch(cursor: Any, copy_cursor: Any, *, source: str, data: str, at: Any,
                 grace: dt.timedelta, near_percent: int,
                 ) -> tuple[int, int, list[tuple[int, str]], set[int]]:
    """Steps 1-5: (accepted, duplicates, rejected, periods near a threshold). Also used as
    is by the benchmark's database-only probe."""
    inserted, duplicates, rejected = store(cursor, copy_cursor, source=source, data=data,
                                           at=at, grace=grace)
    if not inserted:
        return 0, duplicates, rejected, set()
    near = settle(cursor, source=source, near_percent=near_percent)
    return inserted, duplicates, rejected, near


def ingest(*, source: str, rows: list[Row], now: dt.datetime, grace: dt.timedelta,
           near_percent: int = 0) -> tuple[int, int, list[tuple[int, str]], set[int]]:
    """(accepted, duplicates, rejected, charged periods whose data is at or above
    ``near_percent`` % used); the caller owns the transaction and retries on
    ``ConcurrentDuplicate``."""
    with connection.cursor() as cursor:
        return charge_batch(cursor, cursor.cursor, source=source, data=copy_text(rows),
                            at=clock.db_value(now), grace=grace, near_percent=near_percent)
