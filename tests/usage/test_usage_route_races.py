"""``usage_route`` when two transactions change what it derives from at the same time
(PostgreSQL, real connections): neither fails and the table ends equal to the truth."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import connection

from esimdesk.esims import services as esims
from tests.builders import iccid, make_esim, period_of
from tests.usage.helpers import ROUTES, Blocked, assert_routes_match, rows

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

_MOVE = "UPDATE subscriptions_subscription SET esim_id = %s WHERE id = %s"
_EXTEND = "UPDATE subscriptions_period SET ends_at = ends_at + interval '1 day' WHERE id = %s"
_INSERT = """
INSERT INTO subscriptions_period (subscription_id, sequence, plan_id, starts_at, ends_at,
                                  state, extra_days, starts_on_data_out, created_at)
SELECT subscription_id, sequence + 1, plan_id, ends_at, ends_at + interval '30 days',
       'scheduled', 0, false, created_at
  FROM subscriptions_period WHERE id = %s"""


def _run(sql: str, args: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, args)


@pytest.mark.parametrize("first_is", ["period update", "reissue", "period insert"])
def test_a_reissue_crossing_a_period_change_leaves_the_routes_true(
        db: None, other: psycopg.Connection[Any], watcher: psycopg.Connection[Any],
        first_is: str) -> None:
    esim = make_esim(n=1, data=1000)
    period = period_of(esim)
    replacement = esims.create_esim(owner=esim.owner, iccid=iccid(3), smdp_address="s.test",
                                    matching_id="M-3", upstream="simulator")
    move = [replacement.pk, esim.subscription.pk]
    first, second = {
        "period update": ((_EXTEND, [period.pk]), (_MOVE, move)),
        "reissue": ((_MOVE, move), (_EXTEND, [period.pk])),
        "period insert": ((_INSERT, [period.pk]), (_MOVE, move)),
    }[first_is]
    # The first change is held uncommitted on ``other``; the second waits for it, and
    # goes on once it commits.
    other.execute(*first)
    crossing = Blocked(watcher, lambda: _run(*second)).start()
    other.commit()
    crossing.join()
    assert_routes_match()
    assert {row[1] for row in rows(ROUTES)} == {iccid(3)}
