"""When validity starts (``subscriptions.validity``): what starts a pending period, when, and
how everything around a period (queue, top-ups, plan changes, goodwill, reminders, refunds)
treats one that has not started."""

from __future__ import annotations

import datetime as dt

import pytest

from esimdesk.catalog.models import Plan
from esimdesk.core import clock
from esimdesk.core.errors import Conflict
from esimdesk.core.models import AuditEntry
from esimdesk.esims.models import Esim
from esimdesk.esims.upstream_reports import RECEIVER
from esimdesk.orders import services as orders
from esimdesk.provisioning.suppliers.base import ProfileStatus, ProfileStatusEvent
from esimdesk.subscriptions import changes, goodwill, services, validity
from esimdesk.subscriptions.models import Allowance, Period, ReminderLog
from esimdesk.subscriptions.queries import service_for
from esimdesk.subscriptions.reminders import record_due_reminders
from tests.builders import make_esim, period_of, plan, top_up

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)


def first_use_plan(**fields: object) -> Plan:
    return plan(**{"unit": "day", "count": 30,
                   "validity_starts": Plan.ValidityStarts.FIRST_USE, **fields})


def waiting_esim(bought: Plan | None = None, **kw: object) -> Esim:
    clock.set_now(T0)
    return make_esim(plan=bought or first_use_plan(), **kw)  # type: ignore[arg-type]


def reported(esim: Esim, status: str, at: dt.datetime, provider: str = "simulator") -> str:
    return RECEIVER.apply_status(provider=provider, event=ProfileStatusEvent(
        event_id=f"e-{status}-{at.timestamp()}", iccid=esim.iccid, status=status,
        occurred_at=at))


def test_a_new_esim_waits_with_its_full_allowance() -> None:
    esim = waiting_esim()
    period = period_of(esim)
    assert period.state == Period.State.PENDING
    assert (period.starts_at, period.ends_at) == (None, None)
    assert period.activate_by == T0 + dt.timedelta(days=180)
    assert Allowance.objects.get(period=period).used == 0
    service = service_for([esim])[esim.pk]
    assert service.state == "pending" and service.current is None
    assert service.pending is not None and service.pending.validity == "P30D"
    assert service.valid_until is None


def test_a_plan_that_starts_at_purchase_runs_at_once() -> None:
    esim = waiting_esim(plan(validity_starts=Plan.ValidityStarts.PURCHASE))
    assert period_of(esim).state == Period.State.ACTIVE
    assert period_of(esim).starts_at == T0


def test_first_use_starts_it_at_the_reported_time_once() -> None:
    esim = waiting_esim()
    landed = T0 + dt.timedelta(days=5)
    clock.set_now(landed + dt.timedelta(hours=2))
    reported(esim, ProfileStatus.FIRST_USE, landed)
    period = period_of(esim)
    assert (period.state, period.starts_at) == (Period.State.ACTIVE, landed)
    assert period.ends_at == landed + dt.timedelta(days=30)
    reported(esim, ProfileStatus.FIRST_USE, landed + dt.timedelta(hours=1))
    assert period_of(esim).starts_at == landed
    assert AuditEntry.objects.filter(action="period.started").count() == 1


def test_a_report_is_clamped_to_the_purchase_and_to_now() -> None:
    esim = waiting_esim()
    clock.set_now(T0 + dt.timedelta(days=1))
    reported(esim, ProfileStatus.FIRST_USE, T0 - dt.timedelta(days=3))
    assert period_of(esim).starts_at == period_of(esim).created_at == T0
    other = waiting_esim()
    clock.set_now(T0 + dt.timedelta(days=1))
    reported(other, ProfileStatus.FIRST_USE, T0 + dt.timedelta(days=9))
    assert period_of(other).starts_at == T0 + dt.timedelta(days=1)


def test_install_starts_it_when_the_plan_or_the_supplier_says_so() -> None:
    esim = waiting_esim()
    clock.set_now(T0 + dt.timedelta(days=1))
    reported(esim, ProfileStatus.INSTALLED, clock.now())
    assert period_of(esim).state == Period.State.PENDING  # the simulator reports first use

    at_install = waiting_esim(first_use_plan(validity_starts=Plan.ValidityStarts.INSTALL))
    clock.set_now(T0 + dt.timedelta(days=2))
    reported(at_install, ProfileStatus.INSTALLED, clock.now())
    assert period_of(at_install).starts_at == T0 + dt.timedelta(days=2)

    # ES2+ knows download and install only: a first-use plan starts at install there.
    on_es2 = waiting_esim()
    Esim.objects.filter(pk=on_es2.pk).update(upstream="es2plus")
    on_es2.refresh_from_db()
    clock.set_now(T0 + dt.timedelta(days=3))
    reported(on_es2, ProfileStatus.INSTALLED, clock.now(), provider="es2plus")
    assert period_of(on_es2).starts_at == T0 + dt.timedelta(days=3)


def test_start_now_and_the_deadline() -> None:
    esim = waiting_esim()
    owner = esim.owner
    clock.set_now(T0 + dt.timedelta(hours=6))
    started = validity.start_now(user=owner, esim=esim)
    assert started.starts_at == T0 + dt.timedelta(hours=6)
    with pytest.raises(Conflict) as refused:
        validity.start_now(user=owner, esim=esim)
    assert refused.value.code == "not_pending"

    late = waiting_esim(first_use_plan(activate_within_days=30))
    clock.set_now(T0 + dt.timedelta(days=70))  # the sweep was down for weeks
    assert services.sync_period_states()["started"] >= 1
    period = period_of(late)
    assert period.starts_at == T0 + dt.timedelta(days=30)
    assert period.state == Period.State.ENDED  # 30 days from the deadline are over too


def test_periods_queued_behind_it_get_their_times_when_it_starts() -> None:
    bought = first_use_plan()
    esim = waiting_esim(bought)
    subscription = esim.subscription
    second = services.add_period(subscription=subscription, plan=bought)
    third = services.add_period(subscription=subscription, plan=plan(unit="month"))
    for queued in (second, third):
        assert (queued.state, queued.starts_at) == (Period.State.SCHEDULED, None)
    landed = T0 + dt.timedelta(days=4)
    clock.set_now(landed)
    validity.start(subscription_id=subscription.pk, at=landed, actor_type="task",
                   actor="test", reason="test")
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.starts_at == landed + dt.timedelta(days=30)
    assert third.starts_at == second.ends_at
    assert second.state == third.state == Period.State.SCHEDULED


def test_a_top_up_waits_with_it_and_days_it_adds_count_once_it_starts() -> None:
    esim = waiting_esim()
    waiting = changes.topped_up_period(esim.subscription)
    assert waiting is not None and waiting.state == Period.State.PENDING
    changes.add_top_up(subscription=esim.subscription, quantities=[("data", 10**9)],
                       extend_days=7)
    period = period_of(esim)
    assert period.extra_days == 7 and period.validity_iso == "P37D"
    assert Allowance.objects.filter(period=period, source="top_up").count() == 1
    landed = T0 + dt.timedelta(days=2)
    clock.set_now(landed)
    validity.start(subscription_id=esim.subscription.pk, at=landed, actor_type="task",
                   actor="test", reason="test")
    assert period_of(esim).ends_at == landed + dt.timedelta(days=37)


def test_a_top_up_on_a_waiting_plan_is_priced_without_an_end(shop: object) -> None:
    esim = waiting_esim()
    product = top_up(usd=499, data_gb=1, code="more-data-waiting")
    [priced] = orders.price_lines(user=esim.owner, currency="USD", lines=[orders.LineRequest(
        type="top_up", iccid=esim.iccid, product=product.code)])
    assert priced.period is not None and priced.ends_at is None


def test_changing_the_plan_now_waits_for_it_to_start() -> None:
    esim = waiting_esim()
    other = first_use_plan(code="other-30-days")
    with pytest.raises(Conflict) as refused:
        orders.price_lines(user=esim.owner, currency="USD", lines=[orders.LineRequest(
            type="plan_change", plan=other.code, iccid=esim.iccid, when="now")])
    assert refused.value.code == "plan_not_started"
    [later] = orders.price_lines(user=esim.owner, currency="USD", lines=[orders.LineRequest(
        type="plan_change", plan=other.code, iccid=esim.iccid, when="period_end")])
    assert (later.starts_at, later.ends_at) == (None, None)


def test_goodwill_on_a_waiting_plan_makes_it_longer_once_it_starts() -> None:
    esim = waiting_esim()
    period = goodwill.extend_running_period(esim_id=esim.pk, days=3, max_days=7, actor="ops",
                                            reason="late delivery")
    assert (period.ends_at, period.extra_days) == (None, 3)


def test_no_expiry_reminder_while_waiting_and_one_before_the_deadline() -> None:
    esim = waiting_esim()
    period = period_of(esim)
    for days in (1, 100, 172, 173, 174, 179):
        clock.set_now(T0 + dt.timedelta(days=days))
        record_due_reminders()
    kinds = list(ReminderLog.objects.filter(period=period).values_list("kind", flat=True))
    assert kinds == ["activate_by:7d"]


def test_refunding_it_hands_the_wait_to_the_plan_queued_behind() -> None:
    bought = first_use_plan()
    esim = waiting_esim(bought)
    second = services.add_period(subscription=esim.subscription, plan=bought)
    services.end_period_early(period=period_of(esim), actor="test", reason="refund")
    assert period_of(esim).state == Period.State.CANCELLED
    second.refresh_from_db()
    assert second.state == Period.State.PENDING
    assert second.activate_by == period_of(esim).activate_by


def test_usage_starts_it_at_the_record_and_charges_it_once() -> None:
    from esimdesk.usage import services as usage

    esim = waiting_esim()
    used_at = T0 + dt.timedelta(days=2)
    clock.set_now(used_at + dt.timedelta(minutes=5))
    records = [{"id": f"u-{i}", "iccid": esim.iccid, "kind": "data", "quantity": 1000,
                "occurred_at": (used_at + dt.timedelta(seconds=i)).isoformat()}
               for i in range(5)]
    assert usage.ingest(source="test", records=records[2:]).accepted == 3
    period = period_of(esim)
    assert period.starts_at == used_at + dt.timedelta(seconds=2)  # the first to arrive
    # Records from before that start, arriving after it, have no period (as before any
    # plan); the ones already charged are not charged again.
    late = usage.ingest(source="test", records=records)
    assert (late.accepted, late.duplicates, [c for _, c in late.rejected]) == (
        0, 3, ["no_period", "no_period"])
    assert Allowance.objects.get(period=period).used == 3000


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_usage_batches_start_it_once_and_charge_it_once() -> None:
    """PostgreSQL, real parallel transactions: eight batches for the same waiting plan, each
    with its own and shared records, land at once."""
    from esimdesk.usage import services as usage
    from esimdesk.usage.models import UsageEvent
    from tests.e2e.test_concurrency import in_parallel

    esim = waiting_esim()
    base = T0 + dt.timedelta(days=3)
    clock.set_now(base + dt.timedelta(hours=1))
    shared = [{"id": f"s-{i}", "iccid": esim.iccid, "kind": "data", "quantity": 100,
               "occurred_at": (base + dt.timedelta(minutes=10 + i)).isoformat()}
              for i in range(20)]
    batches = [[*shared, *[{"id": f"b{b}-{i}", "iccid": esim.iccid, "kind": "data",
                             "quantity": 10, "occurred_at": (
                                 base + dt.timedelta(minutes=b, seconds=i)).isoformat()}
                            for i in range(30)]] for b in range(8)]
    results = in_parallel(*[lambda batch=batch: usage.ingest(source="race", records=batch)
                            for batch in batches])
    assert sum(r.accepted for r in results) == 20 + 8 * 30 - sum(
        len(r.rejected) for r in results)
    period = period_of(esim)
    assert AuditEntry.objects.filter(action="period.started", object_id=str(period.pk)
                                     ).count() == 1
    stored = UsageEvent.objects.filter(period=period)
    assert Allowance.objects.get(period=period).used == sum(e.quantity for e in stored)
    assert all(e.occurred_at >= period.starts_at for e in stored)
    assert stored.count() == UsageEvent.objects.filter(source="race").count()
