"""Renewals for low data under concurrency (PostgreSQL, real parallel work): batches that
race to use a period's data up start its low-data renewal once, and a renewal bought as the
data runs out starts once, whichever commits first."""

from __future__ import annotations

import datetime as dt
import urllib.request
from typing import Any

import orjson
import pytest
from django_tasks_db.models import DBTaskResult

from esimdesk.accounts import services as accounts
from esimdesk.core import clock
from esimdesk.core.models import AuditEntry
from esimdesk.orders import services as orders
from esimdesk.orders.lines import STARTS_WHEN_DATA_RUNS_OUT, LineRequest
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Period, ReminderLog
from esimdesk.usage.services import ingest
from tests.builders import make_esim, period_of
from tests.e2e.test_concurrency import in_parallel
from tests.usage.helpers import START, rec

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SWITCH_TASK = "esimdesk.subscriptions.data_out.data_out_upstream_task"
THROTTLE_TASK = "esimdesk.usage.tasks.set_depletion_task"


def test_parallel_batches_start_each_low_data_renewal_once(live_server: Any) -> None:
    clock.set_now(START)
    made = [make_esim(n=n, data=20_000) for n in range(1, 7)]
    for esim in made:
        plan = period_of(esim).plan
        subscriptions.add_period(subscription=esim.subscription, plan=plan,
                                 starts_on_data_out=True)
        subscriptions.add_period(subscription=esim.subscription, plan=plan)
    key = accounts.create_api_key(name="net")[1]
    at = START + dt.timedelta(minutes=1)
    clock.set_now(START + dt.timedelta(minutes=5))
    # Each batch alone leaves data; any two of them use it up.
    batches = [[rec(f"b{b}-{esim.pk}-{i}", esim.iccid, 1_500, at)
                for esim in made for i in range(8)] for b in range(6)]

    def send(batch: list[dict[str, Any]]) -> dict[str, Any]:
        request = urllib.request.Request(
            live_server.url + "/api/v1/ops/usage-events", data=orjson.dumps(batch),
            method="POST", headers={"Authorization": f"Bearer {key}",
                                    "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return orjson.loads(response.read())

    results = in_parallel(*[lambda b=b: send(b) for b in batches])
    assert all(r is not None and r["rejected"] == [] for r in results), results
    assert sum(r["accepted"] for r in results) == 6 * 6 * 8
    for esim in made:
        first, second, third = Period.objects.filter(
            subscription=esim.subscription).order_by("sequence")
        assert ReminderLog.objects.filter(period=first, kind="depleted").count() == 1
        assert first.state == "ended" and first.ends_at == START + dt.timedelta(minutes=5)
        assert (second.state, second.starts_at) == ("active", first.ends_at)
        assert third.starts_at == second.ends_at
        assert AuditEntry.objects.filter(action="period.started", object_type="period",
                                         object_id=str(second.pk)).count() == 1
    assert DBTaskResult.objects.filter(task_path=SWITCH_TASK).count() == 6
    assert DBTaskResult.objects.filter(task_path=THROTTLE_TASK).count() == 0


def test_a_renewal_bought_as_the_data_runs_out_starts_once() -> None:
    clock.set_now(START)
    esim = make_esim(n=1, data=10_000)
    first = period_of(esim)
    out = START + dt.timedelta(days=1)
    clock.set_now(out)
    order = orders.create_order(user=esim.owner, currency="USD", lines=[LineRequest(
        type="renewal", plan=first.plan.code, iccid=esim.iccid,
        starts=STARTS_WHEN_DATA_RUNS_OUT)])
    orders.mark_paid(order_id=order.pk, provider="sandbox", method="test", actor="test")
    results = in_parallel(
        lambda: ingest(source="net", records=[rec("all", esim.iccid, 10_000, out)]),
        lambda: orders.fulfil_order(order_id=order.pk))
    assert results[0] is not None and results[0].accepted == 1
    first.refresh_from_db()
    renewal = Period.objects.get(pk=order.lines.get().period_id)
    assert (first.state, first.ends_at) == ("ended", out)
    assert (renewal.state, renewal.starts_at) == ("active", out)
    assert AuditEntry.objects.filter(action="period.started", object_type="period",
                                     object_id=str(renewal.pk)).count() == 1
    assert DBTaskResult.objects.filter(task_path=SWITCH_TASK).count() == 1
