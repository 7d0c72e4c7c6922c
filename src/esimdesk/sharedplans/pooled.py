"""Records of eSIMs that draw on a family or organisation pool, on both ingestion paths.

Before the personal path (SQLite loop or PostgreSQL set-based SQL) sees a batch, the
records of pooled eSIMs are taken out, deduplicated, and charged to their pools by
``sharedplans.pool_ingest.charge_pooled`` (which applies the same rules as personal
allowances, plus the members' caps); records outside a membership (before joining, after
leaving) go back to the personal path. The caller's transaction covers both.

Exactly once under concurrency: the pools are locked before deduplication — on PostgreSQL
with a transaction-level advisory lock per group, taken in group order (SQLite serialises
writers anyway) — so a second batch carrying the same record waits, then sees it stored.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection

from esimdesk.groups.models import Membership
from esimdesk.sharedplans.pool_ingest import charge_pooled
from esimdesk.usage.charging import PooledResult
from esimdesk.usage.ingest_pg import Row
from esimdesk.usage.ingest_sqlite import without_duplicates
from esimdesk.usage.models import UsageEvent
from esimdesk.usage.records import Record

# First key of the advisory locks (the second is the group id): "pool" in ASCII.
_LOCK_NAMESPACE = 0x706F6F6C
CHUNK = 500


def _pooled_iccids(iccids: set[str]) -> dict[str, tuple[int, int]]:
    """ICCID -> (eSIM id, group id) for the batch's eSIMs that are or were in a pool."""
    found: dict[str, tuple[int, int]] = {}
    ordered = sorted(iccids)
    for start in range(0, len(ordered), CHUNK):
        for iccid, esim_id, group_id in (
                Membership.objects.filter(esim__iccid__in=ordered[start:start + CHUNK])
                .values_list("esim__iccid", "esim_id", "group_id")):
            found.setdefault(iccid, (esim_id, group_id))
    return found


def _lock_pools(group_ids: set[int]) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for group_id in sorted(group_ids):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, group_id])


def charge_pooled_rows(*, source: str, rows: list[Row], now: dt.datetime,
                       grace: dt.timedelta) -> PooledResult:
    """Inside the ingestion transaction: charge the pooled rows, return the rest."""
    result = PooledResult()
    if not rows or not Membership.objects.filter(esim__isnull=False).exists():
        result.rest = rows
        return result
    pooled = _pooled_iccids({row[2] for row in rows})
    mine = [row for row in rows if row[2] in pooled]
    if not mine:
        result.rest = rows
        return result
    result.rest = [row for row in rows if row[2] not in pooled]
    _lock_pools({pooled[row[2]][1] for row in mine})
    fresh, result.duplicates = without_duplicates(source, [Record(*row) for row in mine])
    if not fresh:
        return result
    charged = charge_pooled(source=source, records=fresh, now=now, grace=grace,
                            esim_ids={iccid: pair[0] for iccid, pair in pooled.items()})
    UsageEvent.objects.bulk_create(charged.events, batch_size=CHUNK)
    result.accepted = len(charged.events)
    result.rejected = list(charged.rejected)
    back = {record.index for record in charged.rest}
    result.rest.extend(row for row in mine if row[0] in back)
    result.rest.sort(key=lambda row: row[0])
    return result
