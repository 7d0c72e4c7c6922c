"""The PostgreSQL path charges optimistically: a batch stores its events with charges
computed from the balance as last committed, then locks the balances and corrects what a
concurrent batch made wrong. These tests stop a batch between the two steps, commit another
batch on the same period, then let the first one finish."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection

from esimdesk.core import clock
from esimdesk.subscriptions.models import Allowance
from esimdesk.usage import ingest_pg
from esimdesk.usage.models import UsageEvent
from esimdesk.usage.services import ingest
from tests.usage.helpers import START, data_of, make_esim, rec

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
AT = START + dt.timedelta(minutes=1)


@pytest.fixture
def other() -> Iterator[psycopg.Connection[Any]]:
    """A second connection to the test database, for the batch that is held up."""
    s = connection.settings_dict
    conn = psycopg.connect(dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"] or None,
                           host=s["HOST"] or None, port=s["PORT"] or None)
    yield conn
    conn.close()


def held_batch(conn: psycopg.Connection[Any], iccid: str,
               quantities: list[int]) -> tuple[int, int, list[tuple[int, str]]]:
    """Steps 1-3 of a batch on ``conn``, its transaction left open."""
    rows = [(i, f"held-{i}", iccid, "data", q, AT) for i, q in enumerate(quantities)]
    cursor = conn.cursor()
    return ingest_pg.store(cursor, cursor, source="net", data=ingest_pg.copy_text(rows),
                           at=clock.now(), grace=dt.timedelta(hours=72))


def test_a_nearly_full_period_is_charged_again_after_a_concurrent_batch(
        catalog: None, other: psycopg.Connection[Any]) -> None:
    clock.set_now(START)
    esim, period = make_esim(data=1000)
    clock.set_now(START + dt.timedelta(minutes=5))
    # The held batch needs more than the free 1,000: its records are listed for correction.
    assert held_batch(other, esim.iccid, [600, 600]) == (2, 0, [])
    assert ingest(source="net", records=[rec("first", esim.iccid, 700, AT)]).accepted == 1
    ingest_pg.settle(other.cursor(), source="net", near_percent=50)
    other.commit()
    assert data_of(period) == [("plan", 1000, 1000, 900)]
    held = {e.external_id: (e.charged, e.overage)
            for e in UsageEvent.objects.filter(external_id__startswith="held-")}
    assert held == {"held-0": (300, 300), "held-1": (0, 600)}
    assert sum(e.charged for e in UsageEvent.objects.all()) == 1000


def test_room_used_up_by_a_concurrent_batch_makes_the_batch_retry(
        catalog: None, other: psycopg.Connection[Any]) -> None:
    clock.set_now(START)
    esim, period = make_esim(data=1000)
    clock.set_now(START + dt.timedelta(minutes=5))
    # There was room for the held batch when it stored its events; there is none at the end.
    assert held_batch(other, esim.iccid, [600]) == (1, 0, [])
    assert ingest(source="net", records=[rec("first", esim.iccid, 700, AT)]).accepted == 1
    with pytest.raises(ingest_pg.ConcurrentDuplicate):
        ingest_pg.settle(other.cursor(), source="net", near_percent=50)
    other.rollback()
    assert data_of(period) == [("plan", 1000, 700, 0)]
    assert not UsageEvent.objects.filter(external_id__startswith="held-").exists()


def test_room_for_both_batches_needs_no_correction(
        catalog: None, other: psycopg.Connection[Any]) -> None:
    clock.set_now(START)
    esim, period = make_esim(data=10_000)
    clock.set_now(START + dt.timedelta(minutes=5))
    Allowance.objects.create(period=period, kind="data", source="top_up", total=500)
    assert held_batch(other, esim.iccid, [3000, 4000]) == (2, 0, [])
    assert ingest(source="net", records=[rec("first", esim.iccid, 3500, AT)]).accepted == 1
    ingest_pg.settle(other.cursor(), source="net", near_percent=50)
    other.commit()
    # 10,500 used of 10,500: the plan's bucket first, then the top-up; nothing over.
    assert data_of(period) == [("plan", 10_000, 10_000, 0), ("top_up", 500, 500, 0)]
    assert {(e.charged, e.overage) for e in UsageEvent.objects.all()} == {
        (3000, 0), (4000, 0), (3500, 0)}



def _delete_period(conn: psycopg.Connection[Any], period_id: int) -> None:
    conn.execute("DELETE FROM subscriptions_allowance WHERE period_id = %s", [period_id])
    conn.execute("DELETE FROM subscriptions_period WHERE id = %s", [period_id])


def test_a_period_deleted_between_the_two_steps_makes_the_batch_retry(
        catalog: None, other: psycopg.Connection[Any]) -> None:
    # Usage events carry no per-row foreign-key check: the batch notices that the allowances
    # it charged are gone and is retried (the retry then rejects the records, no period).
    clock.set_now(START)
    esim, period = make_esim(data=1000)
    clock.set_now(START + dt.timedelta(minutes=5))
    assert held_batch(other, esim.iccid, [100]) == (1, 0, [])
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM subscriptions_allowance WHERE period_id = %s", [period.pk])
        cursor.execute("DELETE FROM subscriptions_period WHERE id = %s", [period.pk])
    with pytest.raises(ingest_pg.ConcurrentDuplicate):
        ingest_pg.settle(other.cursor(), source="net", near_percent=50)
    other.rollback()
    assert not UsageEvent.objects.exists()


def test_a_charged_period_cannot_be_deleted_while_the_batch_runs_nor_after(
        catalog: None, other: psycopg.Connection[Any]) -> None:
    clock.set_now(START)
    esim, period = make_esim(data=1000)
    clock.set_now(START + dt.timedelta(minutes=5))
    assert held_batch(other, esim.iccid, [100]) == (1, 0, [])
    ingest_pg.settle(other.cursor(), source="net", near_percent=50)
    # The batch holds its period's allowances until it commits: a delete has to wait ...
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
        catalog: None, other: psycopg.Connection[Any]) -> None:
    clock.set_now(START)
    _, period = make_esim(data=1000)
    _delete_period(other, period.pk)
    other.commit()
    assert not Allowance.objects.filter(period_id=period.pk).exists()
