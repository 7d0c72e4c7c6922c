"""``usage_route`` when two transactions change what it derives from at the same time
(PostgreSQL, real connections): neither fails and the table ends equal to the truth."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection

from esimdesk.esims import services as esims
from tests.usage.helpers import iccid, make_esim
from tests.usage.test_usage_route import _DERIVED, _ROUTES

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def connections() -> Iterator[tuple[psycopg.Connection[Any], psycopg.Connection[Any]]]:
    s = connection.settings_dict
    dsn = dict(dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"] or None,
               host=s["HOST"] or None, port=s["PORT"] or None)
    first, second = psycopg.connect(**dsn), psycopg.connect(**dsn)
    yield first, second
    first.close()
    second.close()


def _waiting(watcher: psycopg.Connection[Any]) -> bool:
    row = watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                          "current_database() AND wait_event_type = 'Lock'").fetchone()
    return bool(row and row[0])


def _cross(first: psycopg.Connection[Any], second: psycopg.Connection[Any],
           first_sql: str, second_sql: str, args: Callable[[], tuple[list[Any], list[Any]]],
           ) -> None:
    """``first_sql`` on ``first``, left uncommitted; ``second_sql`` on ``second`` in a
    thread until it waits for a lock; then both commit, the first first."""
    first_args, second_args = args()
    first.execute(first_sql, first_args)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            second.execute(second_sql, second_args)
            second.commit()
        except BaseException as error:  # reported below
            errors.append(error)
            second.rollback()

    thread = threading.Thread(target=run)
    thread.start()
    with psycopg.connect(first.info.dsn, autocommit=True) as watcher:
        deadline = time.monotonic() + 10
        while not _waiting(watcher):
            assert time.monotonic() < deadline, "the second transaction never waited"
            time.sleep(0.005)
    first.commit()
    thread.join(30)
    assert not errors, errors


_MOVE = "UPDATE subscriptions_subscription SET esim_id = %s WHERE id = %s"
_EXTEND = "UPDATE subscriptions_period SET ends_at = ends_at + interval '1 day' WHERE id = %s"
_INSERT = """
INSERT INTO subscriptions_period (subscription_id, sequence, plan_id, starts_at, ends_at,
                                  state, created_at)
SELECT subscription_id, sequence + 1, plan_id, ends_at, ends_at + interval '30 days',
       'scheduled', created_at
  FROM subscriptions_period WHERE id = %s"""


@pytest.mark.parametrize("first_is", ["period update", "reissue", "period insert"])
def test_a_reissue_crossing_a_period_change_leaves_the_routes_true(
        catalog: None, connections: tuple[psycopg.Connection[Any], psycopg.Connection[Any]],
        first_is: str) -> None:
    esim, period = make_esim(1)
    replacement = esims.create_esim(owner=esim.owner, iccid=iccid(3), smdp_address="s.test",
                                    matching_id="M-3", upstream="simulator")
    move = [replacement.pk, esim.subscription.pk]
    first, second = connections
    if first_is == "period update":
        _cross(first, second, _EXTEND, _MOVE, lambda: ([period.pk], move))
    elif first_is == "reissue":
        _cross(first, second, _MOVE, _EXTEND, lambda: (move, [period.pk]))
    else:
        _cross(first, second, _INSERT, _MOVE, lambda: ([period.pk], move))
    with connection.cursor() as cursor:
        cursor.execute(_ROUTES)
        routes = cursor.fetchall()
        cursor.execute(_DERIVED)
        assert routes == cursor.fetchall()
    assert {row[1] for row in routes} == {iccid(3)}
