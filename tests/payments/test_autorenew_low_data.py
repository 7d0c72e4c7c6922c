"""Auto-renew's low-data trigger buys a renewal for low data: it starts the moment the data
runs out, never a throttle in between; the time trigger buys an ordinary one."""

from __future__ import annotations

import datetime as dt

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.payments.autorenew import renewals_sweep
from esimdesk.payments.models import RenewalAttempt
from esimdesk.sandbox.models import SandboxRecord, SimulatedProfile
from esimdesk.subscriptions.models import Allowance, Period
from esimdesk.usage.services import ingest
from tests.conftest import run_tasks
from tests.payments.test_autorenew import buy_with_card, user  # noqa: F401 (fixture)
from tests.usage.helpers import rec


def test_the_low_data_trigger_buys_a_renewal_that_starts_when_the_data_runs_out(
        user: User) -> None:  # noqa: F811
    subscription = buy_with_card(user)
    first = Period.objects.get(subscription=subscription)
    iccid = subscription.esim.iccid
    total = Allowance.objects.get(period=first, kind="data").total
    clock.advance(dt.timedelta(days=3))
    ingest(source="net", records=[rec("most", iccid, total * 92 // 100, clock.now())])
    assert renewals_sweep()["recorded"] == 1
    assert RenewalAttempt.objects.get().low_data is True
    run_tasks()
    attempt = RenewalAttempt.objects.get()
    assert attempt.state == "succeeded"
    line = attempt.order.lines.get()
    assert line.low_data is True
    second = Period.objects.get(subscription=subscription, sequence=2)
    assert (second.state, second.starts_at, second.starts_on_data_out) == (
        "scheduled", first.ends_at, True)

    out = clock.now() + dt.timedelta(hours=5)
    clock.set_now(out)
    ingest(source="net", records=[rec("rest", iccid, total // 10, out)])
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.ends_at, second.starts_at, second.state) == (out, out, "active")
    run_tasks()
    assert SimulatedProfile.objects.get(iccid=iccid).status == "released"
    assert SandboxRecord.objects.filter(kind="charge").count() == 2  # charged once
    assert renewals_sweep()["recorded"] == 0  # the new period has all its data


def test_the_time_trigger_buys_an_ordinary_renewal(user: User) -> None:  # noqa: F811
    subscription = buy_with_card(user)
    first = Period.objects.get(subscription=subscription)
    clock.set_now(first.ends_at - dt.timedelta(hours=2))
    renewals_sweep()
    run_tasks()
    attempt = RenewalAttempt.objects.get()
    assert (attempt.state, attempt.low_data) == ("succeeded", False)
    assert attempt.order.lines.get().low_data is False
    assert Period.objects.get(subscription=subscription, sequence=2).starts_on_data_out is False
