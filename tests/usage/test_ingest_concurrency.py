"""Eight clients posting overlapping batches at once (PostgreSQL: real parallel requests).
Every distinct record is charged exactly once and no balance goes negative."""

from __future__ import annotations

import datetime as dt
import random
import urllib.request
from collections import defaultdict
from typing import Any

import orjson
import pytest

from esimdesk.accounts import services as accounts
from esimdesk.core import clock
from esimdesk.subscriptions.models import Allowance, ReminderLog
from esimdesk.usage.models import UsageEvent
from tests.builders import make_esim, period_of
from tests.e2e.test_concurrency import in_parallel
from tests.usage.helpers import START, rec

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_eight_clients_overlapping_batches(live_server: Any, db: None) -> None:
    clock.set_now(START)
    made = [make_esim(n=n, data=30_000) for n in range(1, 11)]
    esims = [(esim, period_of(esim)) for esim in made]
    key = accounts.create_api_key(name="net")[1]
    at = START + dt.timedelta(minutes=1)
    clock.set_now(START + dt.timedelta(minutes=5))
    pool = [rec(f"r{i}", esims[i % 10][0].iccid, 100 + i % 37, at) for i in range(3000)]
    rng = random.Random(7)
    batches = [rng.sample(pool, 1200) for _ in range(8)]

    def send(batch: list[dict[str, Any]]) -> dict[str, Any]:
        request = urllib.request.Request(
            live_server.url + "/api/v1/ops/usage-events", data=orjson.dumps(batch),
            method="POST", headers={"Authorization": f"Bearer {key}",
                                    "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return orjson.loads(response.read())

    results = in_parallel(*[lambda b=b: send(b) for b in batches])
    assert all(r is not None for r in results), results
    distinct = {r["id"]: r for batch in batches for r in batch}
    assert sum(r["accepted"] for r in results) == len(distinct)
    assert sum(r["accepted"] + r["duplicates"] for r in results) == 8 * 1200
    assert all(r["rejected"] == [] for r in results)
    assert UsageEvent.objects.count() == len(distinct)

    expected: dict[str, int] = defaultdict(int)
    for r in distinct.values():
        expected[r["iccid"]] += r["quantity"]
    for esim, period in esims:
        buckets = Allowance.objects.filter(period=period, kind="data")
        charged = sum(a.used + a.overage for a in buckets)
        assert charged == expected[esim.iccid]
        assert all(0 <= a.used <= a.total for a in buckets)
        events = UsageEvent.objects.filter(period=period)
        assert sum(e.charged for e in events) == sum(a.used for a in buckets)
        depleted = ReminderLog.objects.filter(period=period, kind="depleted").count()
        assert depleted == (1 if charged >= 30_000 else 0)
    assert ReminderLog.objects.filter(kind="depleted").exists()
