"""Reads of validity and balances shared by the API and the portal.

Everything is fetched for a whole list of eSIMs in a fixed number of queries, so a page's
query count does not grow with the number of eSIMs or periods.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from esimdesk.catalog.models import Plan
from esimdesk.core import clock
from esimdesk.core.units import UNITS
from esimdesk.esims.models import Esim
from esimdesk.subscriptions.models import Period, Subscription


@dataclass
class AllowanceView:
    kind: str
    total: int
    used: int
    unit: str

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.used)

    @property
    def used_percent(self) -> int:
        return 100 if self.total == 0 else min(100, self.used * 100 // self.total)

    @property
    def remaining_percent(self) -> int:
        return 100 - self.used_percent


@dataclass
class PeriodView:
    """A period as pages and the API show it. A pending period, and one queued behind it,
    has no ``starts_at``/``ends_at`` yet; ``validity`` (ISO 8601) says how long it will
    run and ``activate_by`` when a pending one starts by itself."""

    id: int
    sequence: int
    plan: Plan
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    state: str
    allowances: list[AllowanceView] = field(default_factory=list)
    activate_by: dt.datetime | None = None
    validity: str = ""
    #: queued to start when the data of the period before it runs out
    starts_on_data_out: bool = False

    @property
    def pending(self) -> bool:
        return self.state == Period.State.PENDING

    def seconds_left(self, now: dt.datetime) -> int:
        if self.ends_at is None:
            return 0
        return max(0, int((self.ends_at - now).total_seconds()))


@dataclass
class EsimService:
    """What an eSIM can do right now: current period, queued ones, and the overall state."""

    subscription: Subscription | None
    current: PeriodView | None
    queued: list[PeriodView]
    last_ended: PeriodView | None
    #: the period waiting for first use (then ``current`` is None)
    pending: PeriodView | None = None

    @property
    def state(self) -> str:
        if self.current is not None:
            return "active"
        if self.pending is not None:
            return "pending"
        if self.queued:
            return "scheduled"
        return "expired" if self.last_ended is not None else "none"

    @property
    def current_or_pending(self) -> PeriodView | None:
        return self.current or self.pending

    @property
    def valid_until(self) -> dt.datetime | None:
        """The end of the last period with times (None while the plan waits for first
        use: nothing has an end yet)."""
        if self.pending is not None:
            return None
        views = ([self.current] if self.current else []) + self.queued
        return max((v.ends_at for v in views if v.ends_at is not None), default=None)


def _view(period: Period, allowances: list[AllowanceView]) -> PeriodView:
    totals: dict[str, AllowanceView] = {}
    for allowance in allowances:
        view = totals.get(allowance.kind)
        if view is None:
            totals[allowance.kind] = AllowanceView(allowance.kind, allowance.total,
                                                   allowance.used, allowance.unit)
        else:  # a top-up adds a bucket of the same kind: show the sum
            view.total += allowance.total
            view.used += allowance.used
    order = {"data": 0, "voice": 1, "sms": 2}
    return PeriodView(period.pk, period.sequence, period.plan, period.starts_at, period.ends_at,
                      period.state, sorted(totals.values(), key=lambda a: order[a.kind]),
                      activate_by=period.activate_by, validity=period.validity_iso,
                      starts_on_data_out=period.starts_on_data_out)


def preview_window(plan: Plan, esim: Esim | None, *, now: dt.datetime | None = None,
                   ) -> tuple[dt.datetime | None, dt.datetime | None]:
    """When a period of ``plan`` bought now would run: a new eSIM starts now (or, for a
    plan whose validity starts at first use or install, when that happens: no times yet);
    a renewal starts when the eSIM's latest period ends, or now if that has passed, and
    waits without times behind a plan that has not started. The same rules
    ``subscriptions.services.add_period`` applies when the order is fulfilled."""
    instant = now or clock.now()
    latest = None
    if esim is None:
        if plan.validity_starts != Plan.ValidityStarts.PURCHASE:
            return None, None
    else:
        live = (Period.objects.filter(subscription__esim=esim)
                .exclude(state=Period.State.CANCELLED))
        if live.filter(starts_at__isnull=True).exists():
            return None, None
        latest = live.order_by("-ends_at").values_list("ends_at", flat=True).first()
    starts_at = next_start(latest, instant)
    return starts_at, plan.ends_at(starts_at)


def next_start(latest_end: dt.datetime | None, instant: dt.datetime) -> dt.datetime:
    """A new period starts when the latest one ends, or now if that end has passed."""
    return max(instant, latest_end) if latest_end else instant


# The hot read behind the dashboard and GET /api/v1/esims/{iccid}: one statement for all
# periods and allowances of a set of eSIMs. Written as SQL because building the equivalent
# ORM query (three joins) costs more CPU than running it.
_SERVICE_SQL = """
SELECT s.esim_id, s.id, s.plan_id, s.auto_renew, s.created_at, s.group_id,
       p.id, p.sequence, p.starts_at, p.ends_at, p.state, p.activate_by, p.extra_days,
       p.starts_on_data_out,
       pl.id, pl.code, pl.name_en, pl.name_zh_hans, pl.validity_unit, pl.validity_count,
       pl.coverage, pl.region_id, pl.kind,
       a.kind, a.total, a.used
  FROM subscriptions_allowance a
  JOIN subscriptions_period p ON p.id = a.period_id
  JOIN subscriptions_subscription s ON s.id = p.subscription_id
  JOIN catalog_plan pl ON pl.id = p.plan_id
 WHERE s.esim_id IN ({ids}) AND p.state <> %s
 ORDER BY CASE WHEN p.starts_at IS NULL THEN 1 ELSE 0 END, p.starts_at, p.sequence,
          a.id
"""


def service_for(esims: Iterable[Esim], *, now: dt.datetime | None = None) -> dict[int, EsimService]:
    """Validity and balances of each eSIM (keyed by eSIM id) in one query.

    Every period has at least its data allowance, so reading the allowances joined with
    their period, plan and subscription sees every period.
    """
    esim_ids = [e.pk for e in esims]
    rows: list[tuple[Any, ...]] = []
    if esim_ids:
        sql = _SERVICE_SQL.format(ids=", ".join(["%s"] * len(esim_ids)))
        with connection.cursor() as cursor:
            cursor.execute(sql, [*esim_ids, Period.State.CANCELLED])
            rows = cursor.fetchall()
    return _services(esim_ids, rows, now or clock.now())


# GET /api/v1/esims/{iccid}: the owner's eSIM and everything of _SERVICE_SQL in one
# statement (the eSIM's own columns repeat on each allowance row). The periods, allowances
# and plans are joined inside the parentheses so that, as in _SERVICE_SQL, a period counts
# only with its allowances.
_OWNED_SQL = """
SELECT {esim_columns},
       s.esim_id, s.id, s.plan_id, s.auto_renew, s.created_at, s.group_id,
       p.id, p.sequence, p.starts_at, p.ends_at, p.state, p.activate_by, p.extra_days,
       p.starts_on_data_out,
       pl.id, pl.code, pl.name_en, pl.name_zh_hans, pl.validity_unit, pl.validity_count,
       pl.coverage, pl.region_id, pl.kind,
       a.kind, a.total, a.used
  FROM esims_esim e
  LEFT JOIN subscriptions_subscription s ON s.esim_id = e.id
  LEFT JOIN (subscriptions_period p
             JOIN subscriptions_allowance a ON a.period_id = p.id
             JOIN catalog_plan pl ON pl.id = p.plan_id)
         ON p.subscription_id = s.id AND p.state <> %s
 WHERE e.iccid = %s AND e.owner_id = %s
 ORDER BY CASE WHEN p.starts_at IS NULL THEN 1 ELSE 0 END, p.starts_at, p.sequence,
          a.id
"""


def owned_esim_service(*, owner_id: int, iccid: str, now: dt.datetime | None = None,
                       ) -> tuple[Esim, EsimService] | None:
    """The eSIM ``iccid`` (normalised) of ``owner_id`` with its validity and balances, in
    one query; None when the owner has no such eSIM. The same answer as loading the eSIM
    and calling ``service_for([esim])``, at the cost of one statement instead of two."""
    fields = Esim._meta.concrete_fields
    quote = connection.ops.quote_name
    sql = _OWNED_SQL.format(esim_columns=", ".join(f"e.{quote(f.column)}" for f in fields))
    with connection.cursor() as cursor:
        cursor.execute(sql, [Period.State.CANCELLED, iccid, owner_id])
        rows = cursor.fetchall()
    if not rows:
        return None
    width = len(fields)
    values = []
    for model_field, value in zip(fields, rows[0][:width], strict=True):
        # The conversions the ORM applies to these columns (SQLite hands back text).
        col = model_field.get_col(Esim._meta.db_table)
        for converter in (connection.ops.get_db_converters(col)
                          + col.get_db_converters(connection)):
            value = converter(value, col, connection)
        values.append(value)
    esim = Esim.from_db(connection.alias, [f.attname for f in fields], values)
    periods = [row[width:] for row in rows if row[width + 6] is not None]
    return esim, _services([esim.pk], periods, now or clock.now())[esim.pk]


def _services(esim_ids: list[int], rows: list[tuple[Any, ...]], instant: dt.datetime,
              ) -> dict[int, EsimService]:
    """EsimService of each eSIM from the rows of _SERVICE_SQL."""
    periods: dict[int, tuple[Period, list[AllowanceView]]] = {}
    subscriptions: dict[int, Subscription] = {}
    plans: dict[int, Plan] = {}
    by_esim: dict[int, list[int]] = defaultdict(list)
    for (esim_id, sub_id, sub_plan, auto_renew, sub_created, group_id, period_id, sequence,
         starts_at, ends_at, state, activate_by, extra_days, data_out, plan_id, code, name_en,
         name_zh,
         unit, count, coverage, region_id, kind, a_kind, total, used) in rows:
        if esim_id not in subscriptions:
            subscriptions[esim_id] = Subscription(
                id=sub_id, esim_id=esim_id, group_id=group_id, plan_id=sub_plan,
                auto_renew=auto_renew, created_at=sub_created)
        plan = plans.get(plan_id)
        if plan is None:
            plan = plans[plan_id] = Plan(
                id=plan_id, code=code, name_en=name_en, name_zh_hans=name_zh,
                validity_unit=unit, validity_count=count, coverage=coverage,
                region_id=region_id, kind=kind)
        if period_id not in periods:
            period = Period(id=period_id, subscription_id=sub_id, sequence=sequence,
                            plan=plan, starts_at=clock.from_db(starts_at),
                            ends_at=clock.from_db(ends_at),
                            state=state, activate_by=clock.from_db(activate_by),
                            extra_days=extra_days, starts_on_data_out=bool(data_out))
            periods[period_id] = (period, [])
            by_esim[esim_id].append(period_id)
        periods[period_id][1].append(AllowanceView(a_kind, total, used, UNITS[a_kind]))
    result: dict[int, EsimService] = {}
    for esim_id in esim_ids:
        current = pending = None
        queued: list[PeriodView] = []
        last_ended = None
        for period_id in by_esim.get(esim_id, []):
            period, allowances = periods[period_id]
            view = _view(period, allowances)
            if period.state == Period.State.PENDING:
                pending = view
            elif period.starts_at is None or period.ends_at is None:
                queued.append(view)  # waits behind the pending period
            elif period.ends_at <= instant:
                last_ended = view
            elif period.starts_at <= instant:
                current = view
            else:
                queued.append(view)
        result[esim_id] = EsimService(subscriptions.get(esim_id), current, queued, last_ended,
                                      pending)
    return result

