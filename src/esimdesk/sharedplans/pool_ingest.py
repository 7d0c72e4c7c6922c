"""The seam between usage ingestion and pools (see ``sharedplans.pools`` for the rules):
split a validated, deduplicated batch into the records of pooled eSIMs, charged here, and
the rest, left to the personal path. ``sharedplans.pooled`` calls it on both ingestion paths,
after locking the pools and deduplicating, inside the ingestion transaction::

    pooled = charge_pooled(source=source, records=fresh, esim_ids=esim_ids, now=now,
                           grace=grace)
    UsageEvent.objects.bulk_create(pooled.events)       # the pooled records, charged
    fresh = pooled.rest                                  # the personal path goes on as now
    rejected += pooled.rejected

Pool periods do not go into the personal depletion and low-data statements;
``charge_pool`` records the pool's own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from esimdesk.sharedplans.pools import DEFAULT_GRACE, PoolCharge, charge_pool, pooled_esims
from esimdesk.usage.models import UsageEvent


@dataclass
class Pooled:
    #: unsaved ``usage.UsageEvent`` rows of the records charged to pools
    events: list[Any] = field(default_factory=list)
    #: records for the personal path (not pooled, or outside the membership: ``no_pool``)
    rest: list[Any] = field(default_factory=list)
    #: (index in the batch, ``no_period``) for pooled records with no pool period
    rejected: list[tuple[int, str]] = field(default_factory=list)
    #: pool periods charged
    periods: set[int] = field(default_factory=set)


def charge_pooled(*, source: str, records: Sequence[Any], esim_ids: Mapping[str, int],
                  now: dt.datetime, grace: dt.timedelta = DEFAULT_GRACE) -> Pooled:
    """``records``: ``usage.records.Record`` (index, external_id, iccid, kind, quantity,
    occurred_at), deduplicated; ``esim_ids``: ICCID → eSIM id for the batch."""
    result = Pooled()
    pooled = pooled_esims(esim_ids.values())
    mine = [r for r in records if esim_ids.get(r.iccid) in pooled]
    if not mine:
        result.rest = list(records)
        return result
    outcomes = charge_pool(charges=[PoolCharge(esim_ids[r.iccid], r.kind, r.quantity,
                                               r.occurred_at) for r in mine],
                           now=now, grace=grace)
    by_index = {}
    for record, outcome in zip(mine, outcomes, strict=True):
        by_index[record.index] = outcome
        if outcome.period_id is not None:
            result.periods.add(outcome.period_id)
            result.events.append(UsageEvent(
                source=source, external_id=record.external_id, esim_id=esim_ids[record.iccid],
                period_id=outcome.period_id, kind=record.kind, quantity=record.quantity,
                occurred_at=record.occurred_at, received_at=now, charged=outcome.charged,
                overage=outcome.overage))
        elif outcome.code == "no_period":
            result.rejected.append((record.index, "no_period"))
    result.rest = [r for r in records
                   if r.index not in by_index or by_index[r.index].code == "no_pool"]
    return result
