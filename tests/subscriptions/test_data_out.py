"""Renewals for low data: bought to start when the data runs out, they start at the instant
the ingestion transaction records the running period's data as used up (on whichever
database path runs these tests), the old period ends then, later periods move up, and
upstream the old plan is ended and the new one applied and lifted together, never
throttled in between. If the data lasts they start at the end as usual; bought after the
data ran out they start at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tasks_db.models import DBTaskResult

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.core.errors import ValidationFailed
from esimdesk.esims.models import Esim
from esimdesk.orders import services as orders
from esimdesk.orders.lines import STARTS_WHEN_DATA_RUNS_OUT, LineRequest
from esimdesk.payments import refund_policy
from esimdesk.sandbox.models import SimulatedPlanApplication, SimulatedProfile
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Allowance, Period, ReminderLog
from esimdesk.usage.models import UsageEvent
from esimdesk.usage.services import ingest
from tests import builders
from tests.builders import GB, bought_esim, buy
from tests.conftest import run_tasks
from tests.usage.helpers import rec

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def traveller(db: None) -> User:
    clock.set_now(START)
    return builders.user("low@example.com")


@pytest.fixture
def esim(traveller: User) -> Esim:
    """A 1 GB month bought and running from START (the sandbox approves, the simulator
    issues the profile)."""
    return bought_esim(traveller, builders.plan(code="jp-1gb-month", unit="month", data_gb=1,
                                                usd=999))


def renew(traveller: User, esim: Esim, *, low_data: bool = True) -> Period:
    order = buy(traveller, LineRequest(type="renewal", plan=esim.subscription.plan.code,
                                       iccid=esim.iccid,
                                       starts=STARTS_WHEN_DATA_RUNS_OUT if low_data else None))
    line = order.lines.get()
    assert line.low_data is low_data
    assert line.period is not None
    return Period.objects.get(pk=line.period.pk)


def use(esim: Esim, quantity: int, at: dt.datetime, name: str) -> None:
    clock.set_now(at)
    assert ingest(source="net", records=[rec(name, esim.iccid, quantity, at)]).accepted == 1


def tasks(path: str) -> int:
    return DBTaskResult.objects.filter(task_path=path).count()


def test_starts_the_moment_the_data_runs_out_and_later_periods_move_up(
        traveller: User, esim: Esim) -> None:
    first = Period.objects.get(subscription__esim=esim, sequence=1)
    second = renew(traveller, esim)
    third = renew(traveller, esim, low_data=False)
    assert (second.state, second.starts_at, second.starts_on_data_out) == (
        "scheduled", first.ends_at, True)
    assert third.starts_at == second.ends_at
    use(esim, GB // 2, START + dt.timedelta(days=3), "half")
    second.refresh_from_db()
    assert second.state == "scheduled"  # data left: nothing moves

    out = START + dt.timedelta(days=5, hours=2)
    use(esim, GB, out, "rest")
    first.refresh_from_db()
    second.refresh_from_db()
    third.refresh_from_db()
    assert (first.state, first.ends_at) == ("ended", out)
    assert (second.state, second.starts_at, second.ends_at) == (
        "active", out, out + (START.replace(month=10) - START))
    assert third.starts_at == second.ends_at and third.state == "scheduled"
    assert ReminderLog.objects.filter(period=first, kind="depleted").count() == 1
    # The next record belongs to the new period, with its full allowance.
    use(esim, 1000, out + dt.timedelta(minutes=1), "next")
    assert UsageEvent.objects.get(external_id="next").period_id == second.pk
    assert Allowance.objects.get(period=second, kind="data").used == 1000

    # Upstream: never throttled; the old plan ended, the renewal applied (once) and lifted.
    run_tasks()
    assert tasks("esimdesk.usage.tasks.set_depletion_task") == 0
    assert tasks("esimdesk.subscriptions.data_out.data_out_upstream_task") == 1
    profile = SimulatedProfile.objects.get(iccid=esim.iccid)
    assert profile.status == "released"
    line = second.order_line
    assert SimulatedPlanApplication.objects.filter(
        reference=line.upstream_reference).count() == 1


def test_when_the_data_lasts_it_starts_at_the_end(traveller: User, esim: Esim) -> None:
    first = Period.objects.get(subscription__esim=esim, sequence=1)
    second = renew(traveller, esim)
    use(esim, GB // 2, START + dt.timedelta(days=3), "half")
    clock.set_now(first.ends_at)
    subscriptions.sync_period_states()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state, second.starts_at) == ("ended", "active", first.ends_at)
    run_tasks()
    assert tasks("esimdesk.subscriptions.data_out.data_out_upstream_task") == 0


def test_bought_after_the_data_ran_out_it_starts_at_once_and_lifts_the_throttle(
        traveller: User, esim: Esim) -> None:
    first = Period.objects.get(subscription__esim=esim, sequence=1)
    use(esim, GB + 5, START + dt.timedelta(days=2), "all")
    run_tasks()
    assert SimulatedProfile.objects.get(iccid=esim.iccid).status == "throttled"
    bought_at = START + dt.timedelta(days=2, hours=3)
    clock.set_now(bought_at)
    second = renew(traveller, esim)
    first.refresh_from_db()
    assert (first.state, first.ends_at) == ("ended", second.starts_at)
    assert second.state == "active" and bought_at <= second.starts_at <= clock.now()
    run_tasks()
    assert SimulatedProfile.objects.get(iccid=esim.iccid).status == "released"


def test_an_ordinary_renewal_still_waits_for_the_end(traveller: User, esim: Esim) -> None:
    second = renew(traveller, esim, low_data=False)
    first = Period.objects.get(subscription__esim=esim, sequence=1)
    use(esim, GB + 5, START + dt.timedelta(days=2), "all")
    run_tasks()
    second.refresh_from_db()
    assert (second.state, second.starts_at) == ("scheduled", first.ends_at)
    assert SimulatedProfile.objects.get(iccid=esim.iccid).status == "throttled"


def test_refunds_a_waiting_one_in_full_but_not_one_that_started(
        traveller: User, esim: Esim) -> None:
    second = renew(traveller, esim)
    order = second.order_line.order
    assert refund_policy.ineligibility(order) is None  # queued, unused
    use(esim, GB + 5, START + dt.timedelta(days=2), "all")
    assert refund_policy.ineligibility(order) == "started"


def test_only_a_renewal_starts_when_the_data_runs_out(traveller: User, esim: Esim) -> None:
    plan = esim.subscription.plan.code
    with pytest.raises(ValidationFailed) as caught:
        orders.price_lines(user=traveller, currency="USD", lines=[
            LineRequest(type="new_esim", plan=plan, starts=STARTS_WHEN_DATA_RUNS_OUT)])
    assert caught.value.code == "starts_not_supported"
    with pytest.raises(ValidationFailed) as caught:
        orders.price_lines(user=traveller, currency="USD", lines=[
            LineRequest(type="renewal", plan=plan, iccid=esim.iccid, starts="tomorrow")])
    assert caught.value.code == "invalid_starts"


def test_a_renewal_behind_a_plan_waiting_for_first_use_waits_and_then_follows_its_data(
        traveller: User) -> None:
    travel = builders.plan(code="jp-1gb-week", unit="day", count=7, data_gb=1, usd=599,
                           validity_starts="first_use")
    esim = bought_esim(traveller, travel)
    pending = Period.objects.get(subscription__esim=esim, sequence=1)
    assert pending.state == "pending"
    second = renew(traveller, esim)
    assert (second.state, second.starts_at) == ("scheduled", None)  # waits without dates
    arrived = START + dt.timedelta(days=4)
    use(esim, GB // 4, arrived, "arrival")  # first use starts the plan
    second.refresh_from_db()
    assert second.starts_at == arrived + dt.timedelta(days=7)
    out = arrived + dt.timedelta(days=1)
    use(esim, GB, out, "rest")
    second.refresh_from_db()
    assert (second.state, second.starts_at) == ("active", out)
