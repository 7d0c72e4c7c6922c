"""The PostgreSQL fast path: COPY the batch into a temporary table, then set-based SQL.

Every step costs the database work per record, so the common case is made to take as few
index probes and writes per record as it can (docs/PERFORMANCE.md has the measured split).
Steps, all in the caller's transaction:

1. (Python) ``prepare`` drops repeats inside the batch (the first occurrence wins) and sorts
   the rest by id, then COPY puts them into ``usage_in_c`` (per connection, emptied on commit).
   Sorted ids make every batch insert its events in one global order: two batches carrying
   the same records wait on each other in that order instead of deadlocking.
2. One statement (``_CHARGE``): resolve (ICCID, ``occurred_at``) -> the eSIM and the period
   running then (half-open, with the late grace) in ``usage_route``; insert the events,
   each charged in full (duplicates: see below); per (period, kind), add the records' sum
   to the plan's bucket where that bucket has room for all of it. That ``UPDATE`` re-checks
   the room on the row it locks, so a concurrent batch that filled the bucket meanwhile is
   seen. The records of the pairs it could not charge so (no room, top-ups involved, a kind
   the plan lacks) go to ``usage_rest_c``.
3. Only when ``usage_rest_c`` has rows (a period running out): ``_SETTLE_REST`` locks the
   pairs' buckets in one order, charges those records again in batch order from the locked
   balances, corrects their events, fills the buckets in order (plan first, then top-ups by
   id) and puts the overage on the last bucket.

Storing a record once costs one index insert in the common case. The batch's records are
inserted with a plain ``INSERT``: a record stored before (a replay) or by a concurrent batch
meanwhile makes it fail with a unique violation, and the caller retries the batch with
``conflict_safe=True``, whose statement leaves out the records stored before and inserts
with ``ON CONFLICT DO NOTHING``, charging only what it inserted. (Looking every record up
first cost a tenth of the batch, ``ON CONFLICT`` almost a third; ``services`` starts a
source's batches in the safe mode while that source keeps sending duplicates.)

What keeps an event's eSIM and period in existence without a foreign-key constraint: a
deferred trigger refuses, at commit, to delete one that committed events reference
(migration ``usage/0003``), and the rows a batch locks (the period's buckets, or the period
itself where the kind has none) keep the period from being deleted until this transaction
commits: a delete waits there and its trigger then sees these events. A period that went
away between steps 2 and 3 raises ``ConcurrentDuplicate``, and the caller retries the whole
batch (whose records are then rejected).

How a bucket is charged is ``subscriptions.allowance_policy``'s rule: the statements are
assembled from its SQL fragments once, at import (``_POLICY``), so a batch costs no Python
per record for it.

Records of pooled eSIMs never reach this module: ``sharedplans.pooled`` charges them to their pools
first, in the same transaction, and passes on the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connection

from esimdesk.core import clock
from esimdesk.subscriptions import allowance_policy as policy

# A validated record: (index in the batch, id, ICCID, kind, quantity, occurred_at in UTC).
# A tuple, because building a dataclass per record cost as much as checking it.
Row = tuple[int, str, str, str, int, dt.datetime]


class ConcurrentDuplicate(Exception):
    """Something this batch charged went away before its balances were locked (a period was
    deleted meanwhile); the caller rolls back and retries, and the retry sees the change."""


# Temporary tables live as long as a (persistent) connection: a changed definition gets a new
# name, so a worker still running the previous release never finds the wrong columns. Record
# ids compare bytewise (``COLLATE "C"``), as in the events' key (migration ``usage/0004``).
_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS usage_in_c (
    idx integer NOT NULL, external_id text COLLATE "C" NOT NULL, iccid text NOT NULL,
    kind text NOT NULL, quantity bigint NOT NULL, occurred_at timestamptz NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS usage_rest_c (
    idx integer NOT NULL, external_id text COLLATE "C" NOT NULL, period_id bigint NOT NULL,
    kind text NOT NULL, quantity bigint NOT NULL
) ON COMMIT DELETE ROWS
"""

# Step 2. ``r``: each record resolved to its eSIM and the period running at occurred_at by
# one probe of ``usage_route`` (migration ``usage/0007``), read backwards from occurred_at:
# the first period not cancelled that started by then and has not ended then (the periods
# of an eSIM never overlap, so there is at most one). The LATERAL subquery, whose LIMIT
# keeps the planner from turning it into a join, is one index probe per record whatever the
# planner estimates (as a hash join, a batch it misjudges reads every route). ``n``: the
# records to store: those with a period, less, in the safe statement, the ones stored
# before; ``ins``: the events inserted; ``pairs``: their sum per (period, kind), in (period,
# kind) order, so that concurrent batches lock the plan buckets in one order; ``upd``: the
# pairs charged in full to the plan's bucket; ``rest``: the records of the other pairs, for
# step 3 (its ``EXISTS`` is a one-time test: in the common case, nothing missed, the join is
# never built). The answer's first rows are the rejected records (not stored before; the
# bytewise ICCID index of ``usage/0006`` tells an unknown ICCID from one without a period),
# its last row the counts, which are read in an order that runs the insert before the
# update: the buckets stay locked as briefly as possible.
# The allowance policy's rule, as the fragments the statements below are made of.
policy.check_set_based(policy.all_policies())
_POLICY = {
    "a_is_plan": policy.sql_is_plan("a"),
    "a_room": policy.sql_room("a"),
    "a_order": policy.sql_bucket_order("a"),
    "cur_order": policy.sql_bucket_order("cur"),
    "cur_room": policy.sql_room("cur"),
    "cur_last_first": policy.sql_bucket_order("cur", last_first=True),
    "record_take": policy.sql_take(
        own="m.quantity", pool="COALESCE(fr.free, 0)",
        before="(SUM(m.quantity) OVER (PARTITION BY m.period_id, m.kind ORDER BY m.idx)"
               " - m.quantity)"),
    "bucket_take": policy.sql_take(own="b.free", pool="b.q", before="b.before"),
}

_CHARGE = """
WITH r AS MATERIALIZED (
    SELECT i.idx, i.external_id, i.iccid, i.kind, i.quantity, i.occurred_at, rt.esim_id,
           rt.period_id
      FROM usage_in_c i
      LEFT JOIN LATERAL (
          SELECT rt.esim_id, rt.period_id FROM usage_route rt
           WHERE rt.iccid = i.iccid COLLATE "C" AND rt.starts_at <= i.occurred_at
             AND i.occurred_at < rt.ends_at AND rt.state <> 'cancelled'
             AND rt.ends_at > %(at)s - %(grace)s
           ORDER BY rt.starts_at DESC
           LIMIT 1) rt ON true),
n AS MATERIALIZED (
    SELECT r.idx, r.external_id, r.kind, r.quantity, r.occurred_at, r.esim_id, r.period_id
      FROM r WHERE r.period_id IS NOT NULL {new_only}),
ins AS (
    INSERT INTO usage_usageevent (source, external_id, esim_id, period_id, kind, quantity,
                                  occurred_at, received_at, charged, overage)
    SELECT %(source)s, external_id, esim_id, period_id, kind, quantity, occurred_at, %(at)s,
           quantity, 0
      FROM n
    {conflict}
    RETURNING external_id, period_id, kind, quantity),
pairs AS MATERIALIZED (
    SELECT period_id, kind, SUM(quantity) AS q FROM ins
     GROUP BY period_id, kind ORDER BY period_id, kind),
upd AS (
    UPDATE subscriptions_allowance a SET used = a.used + pairs.q
      FROM pairs
     WHERE a.period_id = pairs.period_id AND a.kind = pairs.kind AND {a_is_plan}
       AND pairs.q > 0 AND {a_room} >= pairs.q
    RETURNING a.period_id, a.kind, a.used, a.total),
missed AS (
    SELECT pairs.period_id, pairs.kind FROM pairs
     WHERE pairs.q > 0 AND NOT EXISTS (SELECT 1 FROM upd WHERE upd.period_id = pairs.period_id
                                                          AND upd.kind = pairs.kind)),
rest AS (
    INSERT INTO usage_rest_c (idx, external_id, period_id, kind, quantity)
    SELECT n.idx, n.external_id, n.period_id, n.kind, n.quantity
      FROM missed m
      JOIN ins ON ins.period_id = m.period_id AND ins.kind = m.kind
      JOIN n ON n.external_id = ins.external_id
     WHERE EXISTS (SELECT 1 FROM missed)
    RETURNING 1)
SELECT r.idx, CASE WHEN (SELECT true FROM esims_esim e
                           WHERE e.iccid COLLATE "C" = r.iccid LIMIT 1) IS NULL
                  THEN 'unknown_iccid' ELSE 'no_period' END,
       NULL::bigint, NULL::bigint, NULL::bigint[]
  FROM r WHERE r.period_id IS NULL AND {not_stored}
 UNION ALL
SELECT NULL, NULL, (SELECT COUNT(*) FROM ins), (SELECT COUNT(*) FROM rest),
       (SELECT COALESCE(array_agg(period_id), '{{}}') FROM upd
         WHERE kind = 'data' AND total > 0 AND used * 100 >= total * %(near)s)
"""

# Whether a record of ``r`` is not stored yet: a subquery (one probe of the key) rather than
# NOT EXISTS, which the planner may turn into a scan of every stored record of the source.
_NOT_STORED = """(SELECT true FROM usage_usageevent u
                    WHERE u.source = %(source)s AND u.external_id = r.external_id
                    LIMIT 1) IS NULL"""

# The common case, fresh records: no look-up before the insert, whose unique index refuses a
# record stored before (or meanwhile, by a concurrent batch) and fails the batch.
_FAST = _CHARGE.format(new_only="", conflict="", not_stored=_NOT_STORED, **_POLICY)
# After such a failure: the records stored before are left out, and what a concurrent batch
# stores meanwhile is skipped by the insert.
_SAFE = _CHARGE.format(new_only="AND " + _NOT_STORED,
                       conflict="ON CONFLICT (source, external_id) DO NOTHING",
                       not_stored=_NOT_STORED, **_POLICY)

# Step 3 in one statement: ``cur`` locks the buckets of the pairs in usage_rest_c, in the order
# step 2 locks plan buckets ((period, kind), plan first), and, having waited for any batch
# holding them, reads their latest committed values; ``held`` locks the periods of pairs
# without a bucket (a kind the plan does not include) and ``gone`` counts the periods that
# no longer exist. The records are charged again in batch order (``fix``) from the free
# capacity and their events corrected; the charges per (period, kind) then fill the buckets
# in order (plan first, then top-ups by id) and the overage goes on the last bucket.
_SETTLE_REST_TEMPLATE = """
WITH pr AS (SELECT period_id, kind FROM usage_rest_c GROUP BY period_id, kind),
cur AS (
    SELECT a.id, a.period_id, a.kind, a.source, a.total, a.used
      FROM subscriptions_allowance a
     WHERE (a.period_id, a.kind) IN (SELECT period_id, kind FROM pr)
     ORDER BY a.period_id, a.kind, {a_order}
       FOR UPDATE),
fr AS (SELECT period_id, kind, SUM({cur_room}) AS free FROM cur GROUP BY period_id, kind),
bare AS (
    SELECT pr.period_id FROM pr
     WHERE NOT EXISTS (SELECT 1 FROM fr WHERE fr.period_id = pr.period_id
                                          AND fr.kind = pr.kind)),
held AS (
    SELECT p.id FROM subscriptions_period p
     WHERE p.id IN (SELECT period_id FROM bare)
     ORDER BY p.id
       FOR KEY SHARE),
gone AS (SELECT DISTINCT period_id FROM bare WHERE period_id NOT IN (SELECT id FROM held)),
fix AS (
    SELECT m.external_id, m.period_id, m.kind, m.quantity,
           {record_take}::bigint AS charged
      FROM usage_rest_c m
      LEFT JOIN fr ON fr.period_id = m.period_id AND fr.kind = m.kind),
fixed AS (
    UPDATE usage_usageevent u SET charged = fix.charged, overage = fix.quantity - fix.charged
      FROM fix
     WHERE u.source = %(source)s AND u.external_id = fix.external_id
       AND u.charged <> fix.charged),
tot AS (
    SELECT period_id, kind, SUM(charged) AS q, SUM(quantity - charged) AS o
      FROM fix GROUP BY period_id, kind),
b AS (
    SELECT cur.id, cur.period_id, cur.kind, cur.total, cur.used, {cur_room} AS free,
           tot.q, tot.o,
           SUM({cur_room}) OVER w - ({cur_room}) AS before,
           row_number() OVER (PARTITION BY cur.period_id, cur.kind
                              ORDER BY {cur_last_first}) AS from_end
      FROM cur
      JOIN tot ON tot.period_id = cur.period_id AND tot.kind = cur.kind
    WINDOW w AS (PARTITION BY cur.period_id, cur.kind ORDER BY {cur_order}
                 ROWS UNBOUNDED PRECEDING)),
inc AS (
    SELECT b.*, {bucket_take}::bigint AS add_used,
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
SELECT (SELECT COUNT(*) FROM gone),
       COALESCE((SELECT array_agg(period_id) FROM near), '{{}}')
"""
_SETTLE_REST = _SETTLE_REST_TEMPLATE.format(**_POLICY)

_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def prepare(rows: Iterable[Row]) -> tuple[str, int]:
    """The batch in COPY text format, and how many rows repeated an id earlier in the batch
    (left out: the first occurrence wins). Sorted by id, see step 1; built in one pass (one
    write instead of a Python call per row)."""
    first: dict[str, Row] = {}
    repeats = 0
    for row in rows:
        if row[1] in first:
            repeats += 1
        else:
            first[row[1]] = row
    lines = []
    for external_id in sorted(first):
        index, _, iccid, kind, quantity, occurred_at = first[external_id]
        if "\\" in external_id or "\t" in external_id or "\n" in external_id \
                or "\r" in external_id:
            external_id = external_id.translate(_ESCAPE)
        lines.append(f"{index}\t{external_id}\t{iccid}\t{kind}\t{quantity}\t"
                     f"{occurred_at.isoformat()}\n")
    return "".join(lines), repeats


# Every step of a batch is one index probe per record (see _CHARGE); a planner that
# believes the events table empty (statistics from before the first batch, with autovacuum
# off or behind) would otherwise scan it once per record. JIT compilation costs more than it
# saves on statements made of index probes. Both hold until ``_PLANNER_RESET``.
_PLANNER = "SET LOCAL enable_seqscan = off; SET LOCAL jit = off"
_PLANNER_RESET = "RESET enable_seqscan; RESET jit"


def store_and_charge(cursor: Any, copy_cursor: Any, *, source: str, data: str, at: Any,
                     grace: dt.timedelta, near_percent: int, conflict_safe: bool = False,
                     ) -> tuple[int, int, list[tuple[int, str]], int, set[int]]:
    """Steps 1-2 on a DB-API cursor (``copy_cursor``: the psycopg cursor, for COPY); ``data``
    is the batch from ``prepare``. (inserted, duplicates stored before, rejected, records
    left for step 3, charged periods whose data is at or above ``near_percent`` % used)."""
    cursor.execute(_TABLES)
    # Empty already after a commit; not when the caller's transaction spans several batches
    # (DELETE rather than TRUNCATE: no new files and catalog rows per batch).
    cursor.execute("DELETE FROM usage_in_c; DELETE FROM usage_rest_c")
    cursor.execute(_PLANNER)
    with copy_cursor.copy("COPY usage_in_c (idx, external_id, iccid, kind, quantity, "
                          "occurred_at) FROM STDIN") as copy:
        copy.write(data)
    cursor.execute(_SAFE if conflict_safe else _FAST,
                   {"source": source, "at": at, "grace": grace, "near": near_percent})
    rejected: list[tuple[int, str]] = []
    inserted = rest = 0
    near: set[int] = set()
    rows = cursor.fetchall()
    for idx, code, n_ins, n_rest, near_ids in rows:
        if idx is None:
            inserted, rest, near = int(n_ins), int(n_rest), {int(p) for p in near_ids}
        else:
            rejected.append((int(idx), str(code)))
    rejected.sort()
    candidates = data.count("\n") - len(rejected)
    return inserted, candidates - inserted, rejected, rest, near


def settle_rest(cursor: Any, *, source: str, near_percent: int) -> set[int]:
    """Step 3 for the records ``store_and_charge`` left in ``usage_rest_c``: the charged
    periods whose data is at or above ``near_percent`` % used. Raises
    ``ConcurrentDuplicate`` when the batch must be retried."""
    cursor.execute(_SETTLE_REST, {"source": source, "near": near_percent})
    gone, near = cursor.fetchone()
    if gone:
        raise ConcurrentDuplicate  # the caller rolls back everything, charges included
    return {int(p) for p in near}


def charge_batch(cursor: Any, copy_cursor: Any, *, source: str, data: str, at: Any,
                 grace: dt.timedelta, near_percent: int, conflict_safe: bool = False,
                 ) -> tuple[int, int, list[tuple[int, str]], set[int]]:
    """Steps 1-3 for a ``prepare``d batch: (accepted, duplicates stored before, rejected,
    periods near a threshold). Also used as is by the benchmark's database-only probe."""
    inserted, duplicates, rejected, rest, near = store_and_charge(
        cursor, copy_cursor, source=source, data=data, at=at, grace=grace,
        near_percent=near_percent, conflict_safe=conflict_safe)
    if rest:
        near |= settle_rest(cursor, source=source, near_percent=near_percent)
    cursor.execute(_PLANNER_RESET)
    return inserted, duplicates, rejected, near


def ingest(*, source: str, rows: list[Row], now: dt.datetime, grace: dt.timedelta,
           near_percent: int = 0, conflict_safe: bool = False,
           ) -> tuple[int, int, list[tuple[int, str]], set[int]]:
    """(accepted, duplicates, rejected, charged periods whose data is at or above
    ``near_percent`` % used); the caller owns the transaction, and retries on
    ``ConcurrentDuplicate`` or on a unique violation (then with ``conflict_safe``)."""
    data, repeats = prepare(rows)
    with connection.cursor() as cursor:
        accepted, duplicates, rejected, near = charge_batch(
            cursor, cursor.cursor, source=source, data=data, at=clock.db_value(now),
            grace=grace, near_percent=near_percent, conflict_safe=conflict_safe)
    return accepted, duplicates + repeats, rejected, near
