"""What the dashboard shows of each eSIM, decided once in Python so the templates only show
it: where it is for, one status (with the one main action that goes with it), the data
gauge, how long the traveller is covered and what comes next.

Built for a whole list of eSIMs in a fixed number of queries (the plans' countries and
regions: two), so the dashboard's query count does not grow with the number of eSIMs.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from esimdesk.catalog.models import Plan, Region
from esimdesk.core.units import format_quantity
from esimdesk.esims.models import Esim
from esimdesk.portal.pool_cards import PoolShare, pool_shares
from esimdesk.subscriptions.queries import AllowanceView, EsimService, PeriodView

#: less than this left of the time covered: "Expiring soon"
SOON = dt.timedelta(days=3)
#: less than this share of the data left (percent): "Data running low"
LOW_DATA_PERCENT = 10
#: the gauge ring's radius in its 120 by 120 view box, and its length
RING_RADIUS = 52
RING_LENGTH = 2 * math.pi * RING_RADIUS

#: display order on the dashboard: what needs the traveller first, expired last
_ORDER = {"install": 0, "soon": 1, "low": 1, "capped": 1, "active": 2, "pending": 3, "scheduled": 4,
          "suspended": 5, "expired": 6, "none": 7}


@dataclass(frozen=True)
class Destination:
    name: str
    #: ISO 3166 code of a single-country plan ("" for a region or the world)
    country: str = ""
    #: how many countries a regional or global plan covers (0 for one country)
    countries: int = 0

    @property
    def detail(self) -> str:
        if not self.countries:
            return ""
        return ngettext("%(n)d country", "%(n)d countries", self.countries) % {
            "n": self.countries}


@dataclass(frozen=True)
class Gauge:
    """The data gauge: remaining of total, as text and as the ring's arc length."""

    kind: str
    remaining: int
    total: int
    percent: int
    #: the group whose pool this is ("" for the eSIM's own plan)
    group: str = ""

    @property
    def remaining_text(self) -> str:
        return format_quantity(self.kind, self.remaining)

    @property
    def total_text(self) -> str:
        return format_quantity(self.kind, self.total)

    @property
    def long(self) -> bool:
        """The figure is too wide for the ring at its usual size ("12.4 GB")."""
        return len(self.remaining_text) > 6

    @property
    def label(self) -> str:
        if self.group:
            return _("Shared: %(left)s left of %(total)s · %(group)s") % {
                "left": self.remaining_text, "total": self.total_text, "group": self.group}
        return _("%(left)s left of %(total)s") % {"left": self.remaining_text,
                                                  "total": self.total_text}

    @property
    def arc(self) -> str:
        return f"{RING_LENGTH * self.percent / 100:.1f}"

    @property
    def ring(self) -> str:
        return f"{RING_LENGTH:.1f}"

    @property
    def level(self) -> str:
        if self.percent == 0:
            return "out"
        return "low" if self.percent < 20 else "ok"


@dataclass(frozen=True)
class Next:
    """The first plan queued behind the running one."""

    period: PeriodView
    more: int

    @property
    def text(self) -> str:
        # plan names say their data and days ("Japan 10 GB / 15 days")
        return _("Then: %(plan)s") % {"plan": self.period.plan.name}


@dataclass(frozen=True)
class EsimCard:
    esim: Esim
    service: EsimService
    destination: Destination
    #: install, pending, active, soon, low, scheduled, suspended, expired or none
    status: str
    gauge: Gauge | None
    #: the end of the time covered, current and queued periods back to back (None while
    #: the plan waits for first use, or when nothing is left)
    covered_until: dt.datetime | None
    next: Next | None
    forecast_text: str = ""
    #: the group's pool the eSIM draws on (then ``service`` is the eSIM's own plan, which
    #: the card does not show)
    pool: PoolShare | None = None

    @property
    def status_label(self) -> str:
        return str({
            "install": _("Not installed yet"),
            "pending": _("Starts on arrival"),
            "active": _("Active"),
            "soon": _("Expiring soon"),
            "low": _("Data running low"),
            "capped": _("Your limit reached"),
            "scheduled": _("Starts soon"),
            "suspended": _("Suspended"),
            "expired": _("Expired"),
            "none": _("No plan"),
        }[self.status])

    @property
    def tone(self) -> str:
        """The badge's colour class (site.css .badge.ok/.soon/.expired/.info)."""
        return {"install": "info", "pending": "info", "scheduled": "info", "active": "ok",
                "soon": "soon", "low": "soon", "capped": "soon", "suspended": "expired",
                "expired": "expired", "none": "expired"}[self.status]

    @property
    def iccid_tail(self) -> str:
        return self.esim.iccid[-4:]

    @property
    def installable(self) -> bool:
        return self.status == "install"

    @property
    def renewable(self) -> bool:
        """The eSIM's own plan can be renewed here (a pooled eSIM's plan is the group's:
        its owner renews it on the group page)."""
        return (self.pool is None and self.service.subscription is not None
                and self.status != "suspended")

    @property
    def can_top_up(self) -> bool:
        return (self.pool is None and self.service.current_or_pending is not None
                and self.status != "suspended")


def shown_period(service: EsimService) -> PeriodView | None:
    """The period the card is about: the running one, else the one waiting for first use,
    else the next queued, else the last that ended."""
    return (service.current or service.pending
            or (service.queued[0] if service.queued else None) or service.last_ended)


def status_of(esim: Esim, service: EsimService, covered_until: dt.datetime | None,
              data: AllowanceView | None, now: dt.datetime) -> str:
    """One status per eSIM. Precedence: suspended or revoked; not installed yet (while it
    has something to use); waiting for first use; expiring soon; data running low;
    active; starts soon; expired."""
    if esim.status in (Esim.Status.SUSPENDED, Esim.Status.REVOKED):
        return "suspended"
    state = service.state
    if state in ("expired", "none"):
        return state
    if esim.status == Esim.Status.READY:
        return "install"
    if state == "pending":
        return "pending"
    if state == "scheduled":
        return "scheduled"
    if covered_until is not None and covered_until - now < SOON:
        return "soon"
    if data is not None and data.remaining_percent < LOW_DATA_PERCENT:
        return "low"
    return "active"


def pooled_status(esim: Esim, share: PoolShare, now: dt.datetime) -> str:
    """One status of a pooled eSIM, from the pool's period and the member's cap, with the
    same precedence as ``status_of``."""
    if esim.status in (Esim.Status.SUSPENDED, Esim.Status.REVOKED):
        return "suspended"
    if share.state == "expired":
        return "expired" if share.plan is not None else "none"
    if esim.status == Esim.Status.READY:
        return "install"
    if share.state in ("pending", "scheduled"):
        return share.state
    if share.covered_until is not None and share.covered_until - now < SOON:
        return "soon"
    if share.capped:
        return "capped"
    data = share.data
    if (data is not None and data.remaining_percent < LOW_DATA_PERCENT) or (
            share.cap is not None and share.cap_left_percent < LOW_DATA_PERCENT):
        return "low"
    return "active"


def pool_gauge(share: PoolShare) -> Gauge | None:
    """The gauge of a pooled eSIM: the pool's data left of its total, labelled as shared."""
    data = share.data
    if data is None or share.state not in ("active", "pending"):
        return None
    return Gauge("data", data.remaining, data.total, data.remaining_percent,
                 group=share.group_name)


def pooled_card(esim: Esim, service: EsimService, share: PoolShare,
                places: dict[int, Destination], now: dt.datetime) -> EsimCard:
    return EsimCard(
        esim=esim, service=service,
        destination=(places[share.plan.pk] if share.plan is not None
                     else Destination(esim.display_name)),
        status=pooled_status(esim, share, now), gauge=pool_gauge(share),
        covered_until=share.covered_until, next=None, pool=share)


def destinations(plans: Sequence[Plan]) -> dict[int, Destination]:
    """Where each plan works, keyed by plan id: two queries for any number of plans."""
    ids = {p.pk for p in plans}
    codes: dict[int, list[str]] = defaultdict(list)
    for plan_id, code in (Plan.countries.through.objects.filter(plan_id__in=ids)
                          .order_by("country_id").values_list("plan_id", "country_id")):
        codes[plan_id].append(code)
    # by the plans, not by their region ids: the same two queries with or without regions
    regions = {r.pk: r for r in Region.objects.filter(plan__in=ids).distinct()} if ids else {}
    result = {}
    for plan in plans:
        found = codes.get(plan.pk, [])
        name = plan.destination_from(found, regions.get(plan.region_id or 0))
        if plan.coverage == Plan.Coverage.COUNTRY and len(found) == 1:
            result[plan.pk] = Destination(name, country=found[0])
        else:
            result[plan.pk] = Destination(name, countries=len(found))
    return result


def build_cards(esims: Sequence[Esim], services: dict[int, EsimService],
                forecasts: dict[int, str], now: dt.datetime) -> list[EsimCard]:
    shown = {e.pk: shown_period(services[e.pk]) for e in esims}
    shares = pool_shares(esims, now)
    places = destinations([p.plan for p in shown.values() if p is not None]
                          + [s.plan for s in shares.values() if s.plan is not None])
    cards = []
    for esim in esims:
        service = services[esim.pk]
        if esim.pk in shares:
            cards.append(pooled_card(esim, service, shares[esim.pk], places, now))
            continue
        period = shown[esim.pk]
        data = (next((a for a in period.allowances if a.kind == "data"), None)
                if period is not None else None)
        live = service.current_or_pending
        covered_until = service.valid_until if service.current is not None else None
        status = status_of(esim, service, covered_until, data if live else None, now)
        gauge = (Gauge(data.kind, data.remaining, data.total, data.remaining_percent)
                 if data is not None and live is not None else None)
        queued = service.queued
        cards.append(EsimCard(
            esim=esim, service=service,
            destination=(places[period.plan.pk] if period is not None
                         else Destination(esim.display_name)),
            status=status, gauge=gauge, covered_until=covered_until,
            next=Next(queued[0], len(queued) - 1) if queued and live else None,
            forecast_text=forecasts.get(esim.pk, "")))
    return sorted(cards, key=lambda c: _ORDER[c.status])
