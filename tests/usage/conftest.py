from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.esims.models import Esim
from esimdesk.usage import services as usage
from esimdesk.usage.models import UsageEvent
from tests import builders
from tests.builders import make_esim

# 22:30 UTC: the last 48 hours cross two UTC day boundaries
START = dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 6, 10, 22, 30, tzinfo=dt.UTC)
MB = 1024 * 1024
_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def _forget_duplicate_sources() -> Iterator[None]:
    """Which sources sent duplicates lately is remembered per process; each test starts
    with none, so that it runs the statement it means to."""
    usage._DUPLICATES_SEEN.clear()
    yield
    usage._DUPLICATES_SEEN.clear()


@pytest.fixture
def user(db: None) -> User:
    return builders.user("traveller@example.com")


def started_esim(user: User) -> Esim:
    """An eSIM whose 10 GB month began at START; the clock then moves on to NOW."""
    esim = make_esim(user, starts=START)
    clock.set_now(NOW)
    return esim


@pytest.fixture
def esim(user: User) -> Esim:
    return started_esim(user)


def add_usage(esim: Esim, at: dt.datetime, quantity: int, kind: str = "data",
              **kw: Any) -> UsageEvent:
    """A usage row written directly (the chart and forecast only read them)."""
    period = esim.subscription.periods.order_by("-starts_at").first()
    return UsageEvent.objects.create(source="test", external_id=f"t-{next(_serial)}",
                                     esim=esim, period=period, kind=kind, quantity=quantity,
                                     occurred_at=at, charged=quantity, **kw)


@pytest.fixture
def other() -> Iterator[psycopg.Connection[Any]]:
    """A second connection to the test database (PostgreSQL races), for the transaction
    that is held up."""
    s = connection.settings_dict
    conn = psycopg.connect(dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"] or None,
                           host=s["HOST"] or None, port=s["PORT"] or None)
    yield conn
    conn.close()


@pytest.fixture
def watcher(other: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    conn = psycopg.connect(other.info.dsn, autocommit=True)
    yield conn
    conn.close()
