"""The simulator as a network: it meters usage on eSIMs in use and reports it to esimdesk
through the signed upstream callback, the way real suppliers do, so the demo's balances,
charts and forecasts move. Also the reconciliation of esimdesk's totals with its own.

Usage is a pure function of (ICCID, hour): a record ``sim-<iccid>-<hour>`` always has the
same quantity, so running the sweep twice, or on two machines, reports nothing twice (and
esimdesk's ingestion would deduplicate it anyway).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import zoneinfo
from typing import Any

from django.conf import settings
from django.db.models import Q, Sum

from esimdesk.core import audit, clock
from esimdesk.core.models import AuditEntry
from esimdesk.esims.models import Esim
from esimdesk.provisioning.models import UsageDrift
from esimdesk.sandbox.models import SimulatedProfile, SimulatedUsage
from esimdesk.sandbox.simulator import SimulatorProvider
from esimdesk.sandbox.simulator_callbacks import handle_simulator_callback, sign
from esimdesk.subscriptions.models import Period
from esimdesk.usage.models import UsageEvent

logger = logging.getLogger(__name__)

MB = 1024 * 1024
HOUR = dt.timedelta(hours=1)
# How far back a sweep (re)reports: covers a scheduler that was down for a few hours.
LOOKBACK = dt.timedelta(hours=6)
# Drift smaller than this is delivery still in flight or rounding, not a problem.
TOLERANCE_BYTES = 1 * MB
TOLERANCE_RATIO = 0.01
IN_USE = (Esim.Status.INSTALLED, Esim.Status.IN_USE)


def simulator_is_upstream() -> bool:
    return settings.ESIMDESK["UPSTREAM_PROVIDERS"][0] == SimulatorProvider.name


def hourly_usage(iccid: str, hour: dt.datetime, tz: dt.tzinfo) -> tuple[int, int]:
    """(bytes, minute of the hour the record is stamped at) for one eSIM and UTC hour.

    Seeded by ICCID and hour, so it is the same every time. Travellers use little at night,
    some during the day and most in the evening, in their own time zone; a used hour is a
    few bursts of tens of MB."""
    rng = random.Random(f"{iccid}|{hour.isoformat()}")  # a simulation, not a secret
    local = hour.astimezone(tz).hour
    chance, scale = (0.15, 0.2) if local < 7 else (0.9, 2.0) if local >= 18 else (0.6, 1.0)
    minute = rng.randrange(60)
    if rng.random() >= chance:
        return 0, minute
    bursts = rng.randint(1, 3)
    return int(sum(rng.randint(5, 60) for _ in range(bursts)) * scale * MB), minute


def _running_periods(now: dt.datetime) -> list[Period]:
    return list(Period.objects
                .filter(starts_at__lte=now, ends_at__gt=now,
                        subscription__esim__upstream=SimulatorProvider.name,
                        subscription__esim__status__in=IN_USE)
                .exclude(state__in=[Period.State.CANCELLED, Period.State.ENDED])
                .select_related("subscription__esim__owner").order_by("pk"))


def usage_simulation_sweep(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """Report the simulated usage of the last hours that was not reported yet."""
    if not simulator_is_upstream():
        return {"skipped": "simulator is not the upstream"}
    instant = now or clock.now()
    records: list[dict[str, Any]] = []
    # A profile barred at the simulator (suspended, revoked) uses no network.
    barred = set(SimulatedProfile.objects.filter(Q(suspended=True) | Q(revoked_at__isnull=False))
                 .values_list("iccid", flat=True))
    for period in _running_periods(instant):
        esim = period.subscription.esim
        if esim.iccid in barred:
            continue
        try:
            tz: dt.tzinfo = zoneinfo.ZoneInfo(esim.owner.time_zone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz = dt.UTC
        hour = max(period.starts_at, instant - LOOKBACK).replace(minute=0, second=0,
                                                                  microsecond=0)
        while hour <= instant:
            quantity, minute = hourly_usage(esim.iccid, hour, tz)
            at = hour + dt.timedelta(minutes=minute)
            if quantity and period.starts_at <= at <= instant:
                records.append({"id": f"sim-{esim.iccid}-{hour:%Y%m%d%H}", "iccid": esim.iccid,
                                "kind": "data", "quantity": quantity,
                                "occurred_at": at.isoformat()})
            hour += HOUR
    sent = set(SimulatedUsage.objects.filter(record_id__in=[r["id"] for r in records])
               .values_list("record_id", flat=True))
    fresh = [r for r in records if r["id"] not in sent]
    if not fresh:
        return {"reported": 0}
    body = json.dumps({"records": fresh}).encode()
    status, answer = handle_simulator_callback(body, sign(body))
    if status != 200:  # not in the simulator's books: the next sweep sends it again
        logger.warning("simulated usage not accepted: %s %s", status, answer)
        return {"reported": 0, "status": status}
    # The supplier's books: what it reported, whether or not esimdesk could charge it.
    SimulatedUsage.objects.bulk_create(
        [SimulatedUsage(record_id=r["id"], iccid=r["iccid"], kind=r["kind"],
                        quantity=r["quantity"], occurred_at=dt.datetime.fromisoformat(
                            r["occurred_at"])) for r in fresh], ignore_conflicts=True)
    return {"reported": len(fresh), **{k: answer[k] for k in ("accepted", "duplicates")},
            "rejected": len(answer["rejected"])}


def usage_reconciliation_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Compare, per running period of a simulator eSIM, the data esimdesk recorded with the
    simulator's own total; flag drift above the tolerance (log, audit row, ``UsageDrift``
    for the staff console) and clear the flag when the two agree again."""
    if not simulator_is_upstream():
        return {"checked": 0, "drift": 0}
    instant = now or clock.now()
    simulator = SimulatorProvider()
    periods = _running_periods(instant)
    # By eSIM and time (the index usage events have): a period's events are its eSIM's
    # from its start on.
    ours = dict(UsageEvent.objects.filter(
        esim_id__in=[p.subscription.esim_id for p in periods],
        occurred_at__gte=min((p.starts_at for p in periods), default=instant),
        period__in=periods, kind="data")
                .values("period_id").annotate(total=Sum("quantity"))
                .values_list("period_id", "total").order_by())
    open_drifts = {d.period_id: d for d in UsageDrift.objects.filter(period__in=periods)}
    flagged = 0
    for period in periods:
        iccid = period.subscription.esim.iccid
        # One query per period: a sweep over the simulator's demo eSIMs, not a hot path.
        theirs = simulator.balance(iccid, since=period.starts_at, until=period.ends_at)
        mine = int(ours.get(period.pk) or 0)
        tolerance = max(TOLERANCE_BYTES, int(max(mine, theirs) * TOLERANCE_RATIO))
        drift = open_drifts.get(period.pk)
        if abs(theirs - mine) > tolerance:
            flagged += 1
            _flag(period, iccid, mine, theirs, drift, instant)
        elif drift is not None and drift.resolved_at is None:
            drift.ours, drift.theirs, drift.checked_at, drift.resolved_at = (
                mine, theirs, instant, instant)
            drift.save()
            audit.record(action="usage.drift_resolved", obj=drift,
                         actor_type=AuditEntry.ActorType.SYSTEM, actor="usage_reconciliation",
                         after={"ours": mine, "theirs": theirs})
    return {"checked": len(periods), "drift": flagged}


def _flag(period: Period, iccid: str, mine: int, theirs: int, drift: UsageDrift | None,
          instant: dt.datetime) -> None:
    logger.warning("usage drift on %s period %s: esimdesk %s bytes, simulator %s bytes",
                   iccid, period.pk, mine, theirs)
    if drift is None:
        drift = UsageDrift(period=period, iccid=iccid, supplier=SimulatorProvider.name,
                           detected_at=instant)
    before = None if drift.pk is None else {"ours": drift.ours, "theirs": drift.theirs}
    if before == {"ours": mine, "theirs": theirs} and drift.resolved_at is None:
        UsageDrift.objects.filter(pk=drift.pk).update(checked_at=instant)
        return  # unchanged since the last run: no new audit row
    drift.ours, drift.theirs, drift.checked_at, drift.resolved_at = mine, theirs, instant, None
    drift.save()
    audit.record(action="usage.drift", obj=drift, actor_type=AuditEntry.ActorType.SYSTEM,
                 actor="usage_reconciliation", before=before,
                 after={"ours": mine, "theirs": theirs, "period": period.pk})
