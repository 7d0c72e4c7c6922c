"""The portable ingestion path: plain ORM reads and a Python loop in one transaction.

Used on SQLite (which serialises writers, so there is no race to guard against beyond the
unique constraint) and as the reference behaviour the PostgreSQL fast path must match. Each
record is charged by ``subscriptions.allowance_policy.charge``, in batch order.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence

from django.db import transaction

from esimdesk.esims.models import Esim
from esimdesk.subscriptions import allowance_policy as policy
from esimdesk.subscriptions.models import Allowance, Period
from esimdesk.usage.models import UsageEvent
from esimdesk.usage.records import Record

CHUNK = 500  # keeps IN (...) lists under SQLite's variable limit


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def without_duplicates(source: str, records: list[Record]) -> tuple[list[Record], int]:
    """The records to charge, and how many were duplicates: a repeat inside the batch (the
    first occurrence wins) or an id already stored for ``source``."""
    fresh: list[Record] = []
    seen: set[str] = set()
    for record in records:
        if record.external_id not in seen:
            seen.add(record.external_id)
            fresh.append(record)
    stored: set[str] = set()
    for chunk in _chunks([r.external_id for r in fresh]):
        stored.update(UsageEvent.objects.filter(source=source, external_id__in=chunk)
                      .values_list("external_id", flat=True))
    fresh = [r for r in fresh if r.external_id not in stored]
    return fresh, len(records) - len(fresh)


def ingest(*, source: str, records: list[Record], now: dt.datetime, grace: dt.timedelta,
           ) -> tuple[int, int, list[tuple[int, str]], set[int]]:
    """(accepted, duplicates, rejected, touched period ids); the caller owns the
    transaction."""
    assert transaction.get_connection().in_atomic_block
    rejected: list[tuple[int, str]] = []
    fresh, duplicates = without_duplicates(source, records)

    esim_ids: dict[str, int] = {}
    for chunk in _chunks(sorted({r.iccid for r in fresh})):
        esim_ids.update(Esim.objects.filter(iccid__in=chunk).values_list("iccid", "pk"))
    periods: dict[int, list[tuple[int, dt.datetime, dt.datetime]]] = defaultdict(list)
    depletion: dict[int, str] = {}  # period id -> its plan's depletion behaviour
    for chunk in _chunks([str(i) for i in sorted(set(esim_ids.values()))]):
        for pid, owner, starts, ends, behaviour in (
                Period.objects.filter(subscription__esim_id__in=chunk)
                .exclude(state=Period.State.CANCELLED)
                .values_list("pk", "subscription__esim_id", "starts_at", "ends_at",
                             "plan__depletion")):
            if owner is not None:
                periods[owner].append((pid, starts, ends))
                depletion[pid] = behaviour

    charged: list[tuple[Record, int, int]] = []  # (record, esim id, period id)
    for record in fresh:
        esim_id = esim_ids.get(record.iccid)
        if esim_id is None:
            rejected.append((record.index, "unknown_iccid"))
            continue
        period_id = next((pid for pid, starts, ends in periods[esim_id]
                          if starts <= record.occurred_at < ends and now < ends + grace), None)
        if period_id is None:
            rejected.append((record.index, "no_period"))
            continue
        charged.append((record, esim_id, period_id))

    touched = {period_id for _, _, period_id in charged}
    buckets: dict[tuple[int, str], list[Allowance]] = defaultdict(list)
    for chunk in _chunks([str(p) for p in sorted(touched)]):
        # Locked in id order, as the PostgreSQL path does (a no-op on SQLite).
        for allowance in Allowance.objects.select_for_update().filter(
                period_id__in=chunk).order_by("pk"):
            buckets[(allowance.period_id, allowance.kind)].append(allowance)
    for key, group in buckets.items():
        buckets[key] = policy.sort_buckets(group)

    events = []
    changed: dict[int, Allowance] = {}
    for record, esim_id, period_id in charged:
        outcome = policy.charge(
            buckets.get((period_id, record.kind), []), record.quantity,
            policy=policy.policy_for(depletion=depletion[period_id], kind=record.kind))
        for allowance in outcome.changed:
            changed[allowance.pk] = allowance
        events.append(UsageEvent(source=source, external_id=record.external_id,
                                 esim_id=esim_id, period_id=period_id, kind=record.kind,
                                 quantity=record.quantity, occurred_at=record.occurred_at,
                                 received_at=now, charged=outcome.charged,
                                 overage=outcome.overage))
    UsageEvent.objects.bulk_create(events, batch_size=CHUNK)
    Allowance.objects.bulk_update(list(changed.values()), ["used", "overage"],
                                  batch_size=CHUNK)
    return len(events), duplicates, rejected, touched
