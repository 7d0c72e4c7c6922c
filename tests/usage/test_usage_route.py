"""``usage_route`` (PostgreSQL): the table that resolves a usage record in one probe is kept
by triggers, in the same transaction, equal to what the periods, subscriptions and eSIMs
say, through every change they go through."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from esimdesk.core import clock
from esimdesk.esims import services as esims
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Period, Subscription
from esimdesk.usage.services import ingest
from tests.builders import iccid, make_esim, period_of
from tests.usage.helpers import ROUTES, START, assert_routes_match, rec, rows

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

def test_routes_follow_every_change_of_periods_subscriptions_and_esims() -> None:
    esim = make_esim(n=1, data=1000)
    first = period_of(esim)
    make_esim(n=2, data=1000)
    assert len(rows(ROUTES)) == 2
    assert_routes_match()
    plan = first.plan
    second = subscriptions.add_period(subscription=esim.subscription, plan=plan)
    assert_routes_match()
    Period.objects.filter(pk=first.pk).update(ends_at=first.ends_at + dt.timedelta(days=2))
    assert_routes_match()
    Period.objects.filter(pk=second.pk).update(state=Period.State.CANCELLED)
    assert_routes_match()
    first.refresh_from_db()
    first.save()  # every column written, nothing changed
    assert_routes_match()
    Period.objects.filter(pk=second.pk).delete()
    assert_routes_match()
    replacement = esims.create_esim(owner=esim.owner, iccid=iccid(3), smdp_address="s.test",
                                    matching_id="M-3", upstream="simulator")
    Subscription.objects.filter(esim=esim).update(esim=replacement)
    assert_routes_match()
    assert {row[1] for row in rows(ROUTES)} == {iccid(2), iccid(3)}


def test_truncating_the_periods_empties_the_routes() -> None:
    make_esim(n=1, data=1000)
    with connection.cursor() as cursor:  # as the test suite's flush between tests does
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # checks first, then TRUNCATE may run
        cursor.execute("TRUNCATE subscriptions_period CASCADE")
    assert rows(ROUTES) == []


def test_a_reissued_esims_usage_goes_to_the_new_iccid_only() -> None:
    clock.set_now(START)
    esim = make_esim(n=1, data=1000)
    period = period_of(esim)
    replacement = esims.create_esim(owner=esim.owner, iccid=iccid(3), smdp_address="s.test",
                                    matching_id="M-3", upstream="simulator")
    Subscription.objects.filter(esim=esim).update(esim=replacement)
    at = START + dt.timedelta(minutes=5)
    clock.set_now(at)
    result = ingest(source="net", records=[rec("old", iccid(1), 10, at),
                                           rec("new", iccid(3), 20, at),
                                           rec("none", iccid(9), 30, at)])
    assert result.accepted == 1
    assert result.rejected == [(0, "no_period"), (2, "unknown_iccid")]
    assert rows(f"SELECT used FROM subscriptions_allowance WHERE period_id = {period.pk} "
                 "AND kind = 'data'") == [(20,)]


def _copy_row(table: str, overrides: dict[str, Any]) -> None:
    """Insert a row into ``table`` like its first one, with ``overrides``, in raw SQL."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_name FROM information_schema.columns "
                       "WHERE table_name = %s AND table_schema = current_schema()", [table])
        columns = [row[0] for row in cursor.fetchall()]
        values = ", ".join("%s" if name in overrides else name for name in columns)
        cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) "
                       f"SELECT {values} FROM {table} ORDER BY id LIMIT 1",
                       [overrides[name] for name in columns if name in overrides])


def test_routes_hold_whatever_order_a_transaction_writes_rows_in() -> None:
    # The foreign keys are checked at commit, so a load may write a period before its
    # subscription, and a subscription before its eSIM.
    make_esim(n=1, data=1000)
    _copy_row("subscriptions_period", {"id": 900_001, "subscription_id": 900_002,
                                       "sequence": 1})
    assert_routes_match()
    _copy_row("subscriptions_subscription", {"id": 900_002, "esim_id": 900_003})
    assert_routes_match()
    _copy_row("esims_esim", {"id": 900_003, "iccid": iccid(4), "matching_id": "M-4"})
    assert_routes_match()
    assert iccid(4) in {row[1] for row in rows(ROUTES)}
    with connection.cursor() as cursor:
        cursor.execute("UPDATE esims_esim SET id = 900004 WHERE id = 900003")
        cursor.execute("UPDATE subscriptions_subscription SET esim_id = 900004 "
                       "WHERE id = 900002")
    assert_routes_match()
    _copy_row("esims_esim", {"id": 900_005, "iccid": iccid(5), "matching_id": "M-5"})
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM subscriptions_subscription WHERE id = 900002")
    assert_routes_match()
    _copy_row("subscriptions_subscription", {"id": 900_002, "esim_id": 900_005})
    assert_routes_match()
    assert {row[1] for row in rows(ROUTES)} == {iccid(1), iccid(5)}


def test_the_triggers_leave_column_types_free_to_change() -> None:
    # A trigger naming a column (UPDATE OF, WHEN) would make PostgreSQL refuse to change
    # that column's type, and an ordinary AlterField migration would fail.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE subscriptions_period ALTER COLUMN state TYPE varchar(20)")
        cursor.execute("ALTER TABLE esims_esim ALTER COLUMN iccid TYPE varchar(30)")
        cursor.execute("ALTER TABLE subscriptions_subscription "
                       "ALTER COLUMN esim_id TYPE bigint")
