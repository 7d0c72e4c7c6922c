"""Charging usage records: per-record validation, exactly once, the right period, buckets in
order, overage instead of a negative balance, depletion once, low-data reminders."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from esimdesk.core import clock
from esimdesk.sandbox.models import SimulatedProfile
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Allowance, ReminderLog
from esimdesk.usage import services as usage
from esimdesk.usage.models import UsageEvent
from esimdesk.usage.services import ingest
from tests.builders import iccid, make_esim, period_of
from tests.conftest import run_tasks
from tests.usage.helpers import START, data_of, rec

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now(db: None) -> None:
    clock.set_now(START)


def test_replaying_a_batch_changes_nothing_and_counts_duplicates() -> None:
    esim = make_esim(n=1, data=10_000)
    period = period_of(esim)
    at = START + dt.timedelta(minutes=5)
    clock.set_now(at + dt.timedelta(minutes=1))
    batch = [rec(f"r{i}", esim.iccid, 100, at) for i in range(20)]
    first = ingest(source="net", records=batch)
    assert (first.accepted, first.duplicates, first.rejected) == (20, 0, [])
    assert data_of(period) == [("plan", 10_000, 2000, 0)]
    again = ingest(source="net", records=batch)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 20, [])
    assert data_of(period) == [("plan", 10_000, 2000, 0)]
    assert UsageEvent.objects.count() == 20
    # Another source may use the same ids: they are other records.
    assert ingest(source="cdr", records=batch[:1]).accepted == 1


def test_a_source_that_replays_is_looked_up_first_until_it_stops() -> None:
    # On PostgreSQL a replay fails the fast insert and runs again looking records up; the
    # source's next batches then start that way, until one carries no duplicate.
    esim = make_esim(n=1, data=10_000)
    period = period_of(esim)
    at = START + dt.timedelta(minutes=5)
    clock.set_now(at)
    ingest(source="net", records=[rec("a", esim.iccid, 10, at)])
    assert not usage._sends_duplicates("net")
    replay = ingest(source="net", records=[rec("a", esim.iccid, 10, at),
                                           rec("b", esim.iccid, 10, at)])
    assert (replay.accepted, replay.duplicates) == (1, 1)
    assert usage._sends_duplicates("net") == (connection.vendor == "postgresql")
    assert ingest(source="net", records=[rec("a", esim.iccid, 10, at)]).duplicates == 1
    assert ingest(source="net", records=[rec("c", esim.iccid, 10, at)]).accepted == 1
    assert not usage._sends_duplicates("net")
    assert data_of(period) == [("plan", 10_000, 30, 0)]


def test_mixed_batch_is_handled_per_record() -> None:
    esim = make_esim(n=1, data=10_000)
    period = period_of(esim)
    at = START + dt.timedelta(minutes=5)
    clock.set_now(at)
    ingest(source="net", records=[rec("old", esim.iccid, 10, at)])
    batch = [
        rec("old", esim.iccid, 10, at),                 # 0 stored before
        rec("new", esim.iccid, 10, at),                 # 1 accepted
        rec("new", esim.iccid, 10, at),                 # 2 duplicate inside the batch
        rec("", esim.iccid, 10, at),                    # 3
        rec("a", "8999012345678901234", 10, at),        # 4 bad Luhn
        rec("b", iccid(99), 10, at),                    # 5 valid, unknown
        rec("c", esim.iccid, 10, at, kind="mms"),       # 6
        rec("d", esim.iccid, -1, at),                   # 7
        {**rec("e", esim.iccid, 1, at), "quantity": 1.5},   # 8
        rec("f", esim.iccid, 10**13 + 1, at),           # 9
        {**rec("g", esim.iccid, 1, at), "occurred_at": "2026-03-01T12:00:00"},  # 10 naive
        {**rec("h", esim.iccid, 1, at), "occurred_at": "yesterday"},  # 11
        rec("i", esim.iccid, 10, START - dt.timedelta(days=1)),  # 12 before any period
        "not an object",                                 # 13
        {**rec("j", esim.iccid, 1, at), "quantity": True},  # 14
        rec(12345, esim.iccid + "F" if len(esim.iccid) == 19 else esim.iccid, 5, at),  # 15
    ]
    result = ingest(source="net", records=batch)
    assert result.accepted == 2
    assert result.duplicates == 2
    assert result.rejected == [
        (3, "invalid_id"), (4, "invalid_iccid"), (5, "unknown_iccid"), (6, "invalid_kind"),
        (7, "invalid_quantity"), (8, "invalid_quantity"), (9, "invalid_quantity"),
        (10, "invalid_time"), (11, "invalid_time"), (12, "no_period"),
        (13, "invalid_record"), (14, "invalid_quantity")]
    assert data_of(period)[0][2] == 25


def test_boundary_instant_goes_to_the_later_period() -> None:
    esim = make_esim(n=1, data=1000)
    first = period_of(esim)
    second = subscriptions.add_period(subscription=first.subscription, plan=first.plan)
    Allowance.objects.filter(period=second, kind="data").update(total=1000)
    assert second.starts_at == first.ends_at
    clock.set_now(first.ends_at + dt.timedelta(minutes=1))
    result = ingest(source="net", records=[
        rec("before", esim.iccid, 7, first.ends_at - dt.timedelta(microseconds=1)),
        rec("at", esim.iccid, 11, first.ends_at)])
    assert result.accepted == 2
    assert data_of(first)[0][2] == 7
    assert data_of(second)[0][2] == 11
    assert UsageEvent.objects.get(external_id="at").period_id == second.pk


def test_late_record_within_grace_goes_to_its_ended_period() -> None:
    esim = make_esim(n=1, data=1000)
    period = period_of(esim)
    late_at = period.ends_at - dt.timedelta(minutes=1)
    clock.set_now(period.ends_at + dt.timedelta(hours=71))
    assert ingest(source="net", records=[rec("late", esim.iccid, 5, late_at)]).accepted == 1
    assert data_of(period)[0][2] == 5
    clock.set_now(period.ends_at + dt.timedelta(hours=73))
    result = ingest(source="net", records=[rec("too-late", esim.iccid, 5, late_at)])
    assert result.rejected == [(0, "no_period")]
    assert data_of(period)[0][2] == 5


def test_future_records_are_refused() -> None:
    esim = make_esim(n=1, data=1000)
    result = ingest(source="net", records=[
        rec("f", esim.iccid, 5, START + dt.timedelta(hours=1))])
    assert result.rejected == [(0, "invalid_time")]


def test_buckets_fill_in_order_then_overage_and_depletion_once() -> None:
    esim = make_esim(n=1, data=100)
    period = period_of(esim)
    Allowance.objects.create(period=period, kind="data", source="top_up", total=50)
    at = START + dt.timedelta(minutes=1)
    result = ingest(source="net", records=[rec("a", esim.iccid, 80, at),
                                           rec("b", esim.iccid, 60, at)])
    assert result.accepted == 2
    assert data_of(period) == [("plan", 100, 100, 0), ("top_up", 50, 40, 0)]
    assert not ReminderLog.objects.filter(period=period, kind="depleted").exists()
    result = ingest(source="net", records=[rec("c", esim.iccid, 30, at)])
    assert data_of(period) == [("plan", 100, 100, 0), ("top_up", 50, 50, 20)]
    event = UsageEvent.objects.get(external_id="c")
    assert (event.charged, event.overage) == (10, 20)
    assert ReminderLog.objects.filter(period=period, kind="depleted").count() == 1
    ingest(source="net", records=[rec("d", esim.iccid, 30, at)])  # more overage
    assert data_of(period)[1] == ("top_up", 50, 50, 50)
    run_tasks()
    profile = SimulatedProfile.objects.get(iccid=esim.iccid)
    assert profile.status == "throttled"  # the plan throttles (the builders' default)
    from django_tasks_db.models import DBTaskResult
    assert DBTaskResult.objects.filter(
        task_path="esimdesk.usage.tasks.set_depletion_task").count() == 1


def test_stop_plans_stop_upstream() -> None:
    esim = make_esim(n=1, data=10)
    period = period_of(esim)
    period.plan.depletion = "stop"
    period.plan.save(update_fields=["depletion"])
    ingest(source="net", records=[rec("a", esim.iccid, 11, START)])
    run_tasks()
    assert SimulatedProfile.objects.get(iccid=esim.iccid).status == "stopped"


def test_voice_without_a_bucket_is_all_overage_and_never_negative() -> None:
    esim = make_esim(n=1, data=10)
    period = period_of(esim)
    Allowance.objects.filter(period=period, kind="voice").delete()
    ingest(source="net", records=[rec("v", esim.iccid, 60, START, kind="voice")])
    event = UsageEvent.objects.get(external_id="v")
    assert (event.charged, event.overage) == (0, 60)
    assert all(a.used <= a.total for a in Allowance.objects.all())


def test_low_data_thresholds_recorded_once_nearest_only() -> None:
    esim = make_esim(n=1, data=1000)
    period = period_of(esim)
    at = START + dt.timedelta(minutes=1)
    ingest(source="net", records=[rec("a", esim.iccid, 500, at)])
    assert set(ReminderLog.objects.filter(period=period).values_list("kind", flat=True)) == {
        "low_data:50"}
    ingest(source="net", records=[rec("b", esim.iccid, 450, at)])  # 95 %: only the 90 one
    kinds = set(ReminderLog.objects.filter(period=period).values_list("kind", flat=True))
    assert kinds == {"low_data:50", "low_data:90"}
    ingest(source="net", records=[rec("b", esim.iccid, 450, at)])  # replay: nothing new
    assert ReminderLog.objects.filter(period=period).count() == 2
    run_tasks()
    assert ReminderLog.objects.filter(period=period, sent_at__isnull=True).count() == 0
