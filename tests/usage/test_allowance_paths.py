"""Every charging path follows the one allowance policy.

The same random batches (replays inside and across batches, late records inside and past the
grace, records on the boundary between two periods, before any period and in the future,
overage past every bucket, several kinds, top-up buckets) go to each path, each on an eSIM of
its own with the same periods and buckets: the PostgreSQL set-based statements, the portable
Python loop, and a pool. After every batch, each path's balances, events and answers must be
those of a reference model: a plain loop over the records calling
``allowance_policy.charge``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.esims import services as esims
from esimdesk.groups.models import Group, Membership
from esimdesk.sharedplans.models import MemberUsage
from esimdesk.subscriptions import allowance_policy as policy
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Allowance, Period, ReminderLog, Subscription
from esimdesk.usage import ingest_sqlite
from esimdesk.usage import services as usage
from esimdesk.usage.models import UsageEvent
from esimdesk.usage.records import CLOCK_SKEW, Record
from tests.builders import iccid, make_esim, period_of
from tests.usage.helpers import rec

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
HOUR = dt.timedelta(hours=1)
# The buckets of each period, in the order they are created (ids ascend): (kind, source,
# total). A kind left out is a kind the plan lacks; a total of 0 is a bucket with no room.
BUCKETS = (
    (("data", "plan", 600), ("voice", "plan", 200), ("data", "top_up", 200),
     ("data", "top_up", 100)),
    (("data", "plan", 400), ("sms", "plan", 5), ("voice", "plan", 0), ("data", "top_up", 100),
     ("data", "top_up", 50)),
)
_numbers = itertools.count(700)


@dataclass
class Lane:
    """One path's eSIM and its two periods (the pool's, for the pool path)."""

    iccid: str
    periods: tuple[int, int]


@dataclass
class World:
    lanes: dict[str, Lane]
    boundary: dt.datetime  # where the first period ends and the second starts
    end: dt.datetime  # the end of the second
    examples: itertools.count[int] = field(default_factory=itertools.count)

    def reset(self) -> None:
        """Balances back to empty (each example uses sources of its own, so earlier events
        are neither duplicates nor counted)."""
        ids = [pid for lane in self.lanes.values() for pid in lane.periods]
        Allowance.objects.filter(period_id__in=ids).update(used=0, overage=0)
        MemberUsage.objects.filter(period_id__in=ids).delete()
        ReminderLog.objects.filter(period_id__in=ids).delete()


def _set_buckets(periods: tuple[int, int]) -> None:
    Allowance.objects.filter(period_id__in=periods).delete()
    for period_id, buckets in zip(periods, BUCKETS, strict=True):
        for kind, source, total in buckets:
            Allowance.objects.create(period_id=period_id, kind=kind, source=source, total=total)


def _personal_lane(n: int) -> Lane:
    esim = make_esim(n=n)
    first = period_of(esim)
    second = subscriptions.add_period(subscription=esim.subscription, plan=first.plan)
    lane = Lane(esim.iccid, (first.pk, second.pk))
    _set_buckets(lane.periods)
    return lane


def _pool_lane(n: int, first: Period, second: Period) -> Lane:
    owner = User.objects.create_user(f"pool{n}@example.com", "x-long-password-1")
    group = Group.objects.create(kind=Group.Kind.FAMILY, name="Pool", owner=owner, seats=1)
    plan = first.plan
    subscription = Subscription.objects.create(group=group, plan=plan)
    periods = tuple(
        Period.objects.create(subscription=subscription, sequence=index, plan=plan,
                              starts_at=like.starts_at, ends_at=like.ends_at, state=like.state).pk
        for index, like in enumerate((first, second), start=1))
    esim = esims.create_esim(owner=owner, iccid=iccid(n), smdp_address="smdp.example.com",
                             matching_id=f"P-{n}", upstream="simulator")
    Membership.objects.create(group=group, user=owner, role=Membership.Role.OWNER, esim=esim,
                              joined_at=T0 - dt.timedelta(days=30))
    lane = Lane(esim.iccid, (periods[0], periods[1]))
    _set_buckets(lane.periods)
    return lane


@pytest.fixture
def world(db: None) -> World:
    clock.set_now(T0)
    lanes = {name: _personal_lane(next(_numbers)) for name in ("set_based", "python")}
    first, second = Period.objects.filter(pk__in=lanes["python"].periods).order_by("sequence")
    lanes["pool"] = _pool_lane(next(_numbers), first, second)
    return World(lanes, boundary=first.ends_at, end=second.ends_at)


# -- the reference model -----------------------------------------------------------------------


@dataclass
class ModelBucket:
    pk: int
    source: str
    total: int
    used: int = 0
    overage: int = 0


Answer = tuple[int, int, list[tuple[int, str]]]  # accepted, duplicates, rejected


class Model:
    """The rules of ``usage.services`` as a plain loop over the records, charging with
    ``allowance_policy.charge``."""

    def __init__(self, world: World) -> None:
        self.windows = [(T0, world.boundary), (world.boundary, world.end)]
        self.buckets: dict[tuple[int, str], list[ModelBucket]] = defaultdict(list)
        pk = itertools.count(1)
        for index, buckets in enumerate(BUCKETS):
            for kind, source, total in buckets:
                self.buckets[(index, kind)].append(ModelBucket(next(pk), source, total))
        self.stored: set[str] = set()
        self.events: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])

    def ingest(self, batch: list[dict[str, Any]], now: dt.datetime) -> Answer:
        accepted = duplicates = 0
        rejected: list[tuple[int, str]] = []
        seen: set[str] = set()
        grace = usage.late_grace()
        for index, raw in enumerate(batch):
            occurred = dt.datetime.fromisoformat(raw["occurred_at"])
            if occurred > now + CLOCK_SKEW:
                rejected.append((index, "invalid_time"))
                continue
            if raw["id"] in seen or raw["id"] in self.stored:
                duplicates += 1
                continue
            seen.add(raw["id"])
            period = next((i for i, (starts, ends) in enumerate(self.windows)
                           if starts <= occurred < ends and now < ends + grace), None)
            if period is None:
                rejected.append((index, "no_period"))
                continue
            self.stored.add(raw["id"])
            accepted += 1
            buckets = policy.sort_buckets(self.buckets.get((period, raw["kind"]), []))
            outcome = policy.charge(buckets, raw["quantity"])
            self.events[(period, raw["kind"])][0] += outcome.charged
            self.events[(period, raw["kind"])][1] += outcome.overage
        return accepted, duplicates, sorted(rejected)

    def balances(self) -> dict[tuple[int, str], list[tuple[str, int, int, int]]]:
        return {key: [(b.source, b.total, b.used, b.overage) for b in group]
                for key, group in self.buckets.items()}


def balances(lane: Lane) -> dict[tuple[int, str], list[tuple[str, int, int, int]]]:
    found: dict[tuple[int, str], list[tuple[str, int, int, int]]] = defaultdict(list)
    for allowance in Allowance.objects.filter(period_id__in=lane.periods).order_by("id"):
        found[(lane.periods.index(allowance.period_id), allowance.kind)].append(
            (allowance.source, allowance.total, allowance.used, allowance.overage))
    return dict(found)


def events(lane: Lane, source: str) -> dict[tuple[int, str], list[int]]:
    rows = (UsageEvent.objects.filter(source=source).values("period_id", "kind")
            .annotate(charged=Sum("charged"), overage=Sum("overage")))
    return {(lane.periods.index(row["period_id"]), row["kind"]): [row["charged"], row["overage"]]
            for row in rows}


# -- the paths ---------------------------------------------------------------------------------


def through_service(source: str, batch: list[dict[str, Any]], now: dt.datetime) -> Answer:
    """``usage.services.ingest``: the set-based statements on PostgreSQL for a personal
    eSIM, ``subscriptions.pools`` for a pooled one."""
    clock.set_now(now)
    result = usage.ingest(source=source, records=batch)
    return result.accepted, result.duplicates, result.rejected


def through_python(source: str, batch: list[dict[str, Any]], now: dt.datetime) -> Answer:
    """``usage.ingest_sqlite`` called directly (on PostgreSQL too)."""
    clock.set_now(now)
    valid, rejected = usage.validate_all(batch, latest=now + CLOCK_SKEW)
    with transaction.atomic():
        accepted, duplicates, refused, _ = ingest_sqlite.ingest(
            source=source, records=[Record(*row) for row in valid], now=now,
            grace=usage.late_grace())
    return accepted, duplicates, sorted([*rejected, *refused])


Path = Callable[[str, list[dict[str, Any]], dt.datetime], Answer]


# -- random batches ----------------------------------------------------------------------------


@st.composite
def batches(draw: st.DrawFn) -> list[tuple[int, list[tuple[str, int, str, int]]]]:
    """(when the batch arrives, its records (id, instant, kind, quantity)), as choices that
    ``run`` turns into times relative to the world's boundary. A record id always stands for
    the same record, so a repeated id is a replay."""
    pool = draw(st.lists(st.tuples(st.integers(0, 7), st.sampled_from(["data", "voice", "sms"]),
                                   st.integers(0, 400)), min_size=1, max_size=14))
    arrivals = sorted(draw(st.lists(st.integers(0, 4), min_size=1, max_size=4)))
    return [(arrival, [(f"r{i}", *pool[i]) for i in draw(
                st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=10))])
            for arrival in arrivals]


def run(world: World, paths: dict[str, Path],
        drawn: list[tuple[int, list[tuple[str, int, str, int]]]]) -> None:
    world.reset()
    example = next(world.examples)
    boundary, grace = world.boundary, usage.late_grace()
    instants = [T0 - HOUR, T0, T0 + HOUR, boundary - SECOND, boundary, boundary + HOUR,
                boundary + grace - HOUR, boundary + grace + HOUR]
    arrivals = [boundary - 2 * HOUR, boundary + 2 * HOUR, boundary + grace - 30 * SECOND,
                boundary + grace + 2 * HOUR, world.end - HOUR]
    model = Model(world)
    for arrival, records in drawn:
        now = arrivals[arrival]
        expected = model.ingest([rec(i, "x", q, instants[at], kind) for i, at, kind, q in records],
                                now)
        for name, path in paths.items():
            lane = world.lanes[name]
            batch = [rec(i, lane.iccid, q, instants[at], kind) for i, at, kind, q in records]
            assert path(f"hyp{example}-{name}", batch, now) == expected, name
            assert balances(lane) == model.balances(), name
            assert events(lane, f"hyp{example}-{name}") == \
                {key: value for key, value in model.events.items()}, name


EXAMPLES = settings(max_examples=30, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@EXAMPLES
@given(drawn=batches())
def test_python_and_pool_paths_match_the_policy(world: World, drawn: Any) -> None:
    run(world, {"python": through_python, "pool": through_service}, drawn)


@pytest.mark.postgres
@EXAMPLES
@given(drawn=batches())
def test_set_based_path_matches_the_policy(world: World, drawn: Any) -> None:
    run(world, {"set_based": through_service, "python": through_python}, drawn)
