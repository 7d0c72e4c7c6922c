"""Races of the PostgreSQL path, staged one step at a time.

A batch is held up on a second connection after its main statement (events stored, plan
buckets with room charged and locked, the rest listed for step 3), while another batch runs
through the service; then the held batch finishes. The outcome must be what running the two
batches one after the other gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest
from django.db import connection

from esimdesk.core import clock
from esimdesk.esims.models import Esim
from esimdesk.subscriptions.models import Allowance, Period
from esimdesk.usage import ingest_pg
from esimdesk.usage.models import UsageEvent
from esimdesk.usage.services import IngestResult, ingest
from tests.builders import make_esim, period_of
from tests.usage.helpers import START, Blocked, data_of, rec

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
AT = START + dt.timedelta(minutes=1)
GRACE = dt.timedelta(hours=72)


def held_batch(conn: psycopg.Connection[Any], iccid: str, quantities: list[int], *,
               kind: str = "data", prefix: str = "held",
               ) -> tuple[int, int, list[tuple[int, str]], int, set[int]]:
    """Steps 1-2 of a batch on ``conn``, its transaction left open: (inserted, duplicates,
    rejected, records left for step 3, periods near 50 %)."""
    rows = [(i, f"{prefix}-{i}", iccid, kind, q, AT) for i, q in enumerate(quantities)]
    data, _ = ingest_pg.prepare(rows)
    cursor = conn.cursor()
    return ingest_pg.store_and_charge(cursor, cursor, source="net", data=data,
                                      at=clock.now(), grace=GRACE, near_percent=50)


def finish(conn: psycopg.Connection[Any], rest: int) -> None:
    if rest:
        ingest_pg.settle_rest(conn.cursor(), source="net", near_percent=50)
    conn.commit()


def _esim_five_minutes_in(*, data: int) -> tuple[Esim, Period]:
    """An eSIM whose data bucket holds ``data`` bytes, five minutes into its period."""
    clock.set_now(START)
    esim = make_esim(n=1, data=data)
    period = period_of(esim)
    clock.set_now(START + dt.timedelta(minutes=5))
    return esim, period


def test_a_batch_that_finds_the_bucket_filled_meanwhile_is_charged_from_the_new_balance(
        db: None, other: psycopg.Connection[Any],
        watcher: psycopg.Connection[Any]) -> None:
    esim, period = _esim_five_minutes_in(data=1000)
    # The held batch charged 600 to the plan's bucket and holds it.
    assert held_batch(other, esim.iccid, [600]) == (1, 0, [], 0, {period.pk})
    late = Blocked(watcher, lambda: ingest(
        source="net", records=[rec("late", esim.iccid, 700, AT)])).start()
    other.commit()
    # The late batch re-checked the room on the row it locked: 400 left, 300 over.
    assert late.join() == IngestResult(1, 0, [])
    assert data_of(period) == [("plan", 1000, 1000, 300)]
    event = UsageEvent.objects.get(external_id="late")
    assert (event.charged, event.overage) == (400, 300)


def test_a_nearly_full_period_is_charged_again_after_a_concurrent_batch(
        db: None, other: psycopg.Connection[Any]) -> None:
    esim, period = _esim_five_minutes_in(data=1000)
    # 1,200 does not fit in the free 1,000: both records are left for step 3, nothing locked.
    assert held_batch(other, esim.iccid, [600, 600]) == (2, 0, [], 2, set())
    assert ingest(source="net", records=[rec("first", esim.iccid, 700, AT)]).accepted == 1
    finish(other, rest=2)
    assert data_of(period) == [("plan", 1000, 1000, 900)]
    held = {e.external_id: (e.charged, e.overage)
            for e in UsageEvent.objects.filter(external_id__startswith="held-")}
    assert held == {"held-0": (300, 300), "held-1": (0, 600)}
    assert sum(e.charged for e in UsageEvent.objects.all()) == 1000


def test_top_ups_fill_after_the_plan_when_a_concurrent_batch_used_the_room(
        db: None, other: psycopg.Connection[Any],
        watcher: psycopg.Connection[Any]) -> None:
    esim, period = _esim_five_minutes_in(data=10_000)
    Allowance.objects.create(period=period, kind="data", source="top_up", total=500)
    assert held_batch(other, esim.iccid, [3000, 4000])[:4] == (2, 0, [], 0)
    late = Blocked(watcher, lambda: ingest(
        source="net", records=[rec("late", esim.iccid, 3500, AT)])).start()
    other.commit()
    assert late.join().accepted == 1
    # 10,500 used of 10,500: the plan's bucket first, then the top-up; nothing over.
    assert data_of(period) == [("plan", 10_000, 10_000, 0), ("top_up", 500, 500, 0)]
    assert {(e.charged, e.overage) for e in UsageEvent.objects.all()} == {
        (3000, 0), (4000, 0), (3500, 0)}


def _esim_without_sms_bucket() -> tuple[Esim, Period]:
    """An eSIM whose plan has no SMS allowance, five minutes into its period."""
    esim, period = _esim_five_minutes_in(data=1000)
    Allowance.objects.filter(period=period, kind="sms").delete()
    return esim, period


def test_a_kind_without_an_allowance_is_all_overage(
        db: None, other: psycopg.Connection[Any]) -> None:
    esim, _ = _esim_without_sms_bucket()
    assert held_batch(other, esim.iccid, [3], kind="sms") == (1, 0, [], 1, set())
    finish(other, rest=1)
    event = UsageEvent.objects.get(external_id="held-0")
    assert (event.charged, event.overage) == (0, 3)


def test_a_record_stored_meanwhile_makes_the_batch_start_again_and_count_it_once(
        db: None, other: psycopg.Connection[Any],
        watcher: psycopg.Connection[Any]) -> None:
    esim, period = _esim_five_minutes_in(data=10_000)
    assert held_batch(other, esim.iccid, [100])[:4] == (1, 0, [], 0)
    # The same record ("held-0") and a new one: the insert waits for the held batch, fails
    # on its key once that commits, and the batch is run again looking records up first.
    late = Blocked(watcher, lambda: ingest(source="net", records=[
        rec("held-0", esim.iccid, 100, AT), rec("new", esim.iccid, 50, AT)])).start()
    other.commit()
    assert late.join() == IngestResult(1, 1, [])
    assert data_of(period) == [("plan", 10_000, 150, 0)]
    assert UsageEvent.objects.count() == 2


def _delete_period(conn: Any, period_id: int) -> None:
    """``conn``: a psycopg connection or a DB-API cursor."""
    conn.execute("DELETE FROM subscriptions_allowance WHERE period_id = %s", [period_id])
    conn.execute("DELETE FROM subscriptions_period WHERE id = %s", [period_id])


def test_a_period_deleted_between_the_two_steps_makes_the_batch_retry(
        db: None, other: psycopg.Connection[Any]) -> None:
    # Usage events carry no per-row foreign-key check: the batch notices that the period it
    # charged is gone and is retried (the retry then rejects the records, no period).
    esim, period = _esim_without_sms_bucket()
    # SMS has no bucket: nothing is locked until step 3, which finds the period gone.
    assert held_batch(other, esim.iccid, [1], kind="sms") == (1, 0, [], 1, set())
    with connection.cursor() as cursor:
        _delete_period(cursor, period.pk)
    with pytest.raises(ingest_pg.ConcurrentDuplicate):
        ingest_pg.settle_rest(other.cursor(), source="net", near_percent=50)
    other.rollback()
    assert not UsageEvent.objects.exists()


def test_a_charged_period_cannot_be_deleted_while_the_batch_runs_nor_after(
        db: None, other: psycopg.Connection[Any]) -> None:
    esim, period = _esim_five_minutes_in(data=1000)
    assert held_batch(other, esim.iccid, [100])[:4] == (1, 0, [], 0)
    # The batch holds its period's plan bucket until it commits: a delete has to wait ...
    deleter = psycopg.connect(other.info.dsn)
    try:
        deleter.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            _delete_period(deleter, period.pk)
        deleter.rollback()
        other.commit()
        # ... and once the events are committed, the deferred guard refuses it at commit.
        _delete_period(deleter, period.pk)
        with pytest.raises(psycopg.errors.ForeignKeyViolation,
                           match="usage events still reference period"):
            deleter.commit()
        deleter.rollback()
        deleter.execute("SET CONSTRAINTS usage_events_reference_esim IMMEDIATE")
        with pytest.raises(psycopg.errors.ForeignKeyViolation,
                           match="usage events still reference eSIM"):
            deleter.execute("DELETE FROM esims_esim WHERE id = %s", [esim.pk])
        deleter.rollback()
    finally:
        deleter.close()
    assert data_of(period) == [("plan", 1000, 100, 0)]


def test_a_period_without_usage_events_can_still_be_deleted(
        db: None, other: psycopg.Connection[Any]) -> None:
    clock.set_now(START)
    period = period_of(make_esim(n=1, data=1000))
    _delete_period(other, period.pk)
    other.commit()
    assert not Allowance.objects.filter(period_id=period.pk).exists()
