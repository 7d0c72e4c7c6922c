from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from django.db import connection

from esimdesk.subscriptions.models import Allowance, Period

START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def rec(external_id: Any, number: str, quantity: int, at: dt.datetime,
        kind: str = "data") -> dict[str, Any]:
    return {"id": external_id, "iccid": number, "kind": kind, "quantity": quantity,
            "occurred_at": at.isoformat().replace("+00:00", "Z")}


def data_of(period: Period) -> list[tuple[str, int, int, int]]:
    return [(a.source, a.total, a.used, a.overage)
            for a in Allowance.objects.filter(period=period, kind="data").order_by("id")]


class Blocked:
    """``call`` on a thread of its own, which is known to be waiting for a lock before
    ``start`` returns (so the held batch's commit comes after it asked)."""

    def __init__(self, watcher: psycopg.Connection[Any], call: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self._watcher = watcher
        self._thread = threading.Thread(target=self._run, args=(call,))

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self.result = call()
        except BaseException as error:  # reported by join()
            self.error = error
        finally:
            connection.close()

    def start(self) -> Blocked:
        self._thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            waiting = self._watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'").fetchone()
            if waiting and waiting[0]:
                return self
            time.sleep(0.005)
        raise AssertionError("the concurrent batch never waited for the held one")

    def join(self) -> Any:
        self._thread.join(30)
        if self.error:
            raise self.error
        return self.result


DERIVED_ROUTES = """
SELECT p.id, e.iccid, p.starts_at, p.ends_at, p.state, e.id
  FROM subscriptions_period p
  JOIN subscriptions_subscription s ON s.id = p.subscription_id
  JOIN esims_esim e ON e.id = s.esim_id
 ORDER BY p.id"""
ROUTES = """
SELECT period_id, iccid, starts_at, ends_at, state, esim_id FROM usage_route
 ORDER BY period_id"""


def rows(sql: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def assert_routes_match() -> None:
    """``usage_route`` (PostgreSQL) holds exactly what it derives from."""
    assert rows(ROUTES) == rows(DERIVED_ROUTES)
