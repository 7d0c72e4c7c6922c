from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from esimdesk.accounts.models import User
from esimdesk.catalog.models import Plan
from esimdesk.core import clock
from esimdesk.esims.models import Esim
from esimdesk.subscriptions import services
from esimdesk.subscriptions.models import Allowance, Period
from esimdesk.subscriptions.queries import AllowanceView, service_for
from tests import builders
from tests.builders import DAY, Shop, make_esim

START = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def unsubscribed_esim(user: User, n: int = 1) -> Esim:
    return make_esim(user, n=n, subscribe=False)


@pytest.fixture
def user(shop: Shop) -> User:
    return builders.user("p@example.com")


def test_renewals_queue_back_to_back_and_after_expiry_start_now(shop: Shop, user: User) -> None:
    plan = Plan.objects.get(code=DAY)
    clock.set_now(START)
    esim = unsubscribed_esim(user)
    first = services.subscribe_esim(esim=esim, plan=plan)
    second = services.add_period(subscription=esim.subscription, plan=plan)
    third = services.add_period(subscription=esim.subscription, plan=plan)
    assert (first.starts_at, second.starts_at, third.starts_at) == (
        START, START + dt.timedelta(days=1), START + dt.timedelta(days=2))
    assert second.state == Period.State.SCHEDULED
    clock.set_now(START + dt.timedelta(days=5))
    fourth = services.add_period(subscription=esim.subscription, plan=plan)
    assert fourth.starts_at == clock.now()
    assert fourth.sequence == 4


def test_sweep_moves_states_once_and_is_idempotent(shop: Shop, user: User) -> None:
    plan = Plan.objects.get(code=DAY)
    clock.set_now(START)
    esim = unsubscribed_esim(user)
    services.subscribe_esim(esim=esim, plan=plan)
    services.add_period(subscription=esim.subscription, plan=plan)
    clock.set_now(START + dt.timedelta(days=1, minutes=1))
    assert services.sync_period_states() == {"ended": 1, "started": 1}
    assert services.sync_period_states() == {"ended": 0, "started": 0}
    assert list(Period.objects.order_by("sequence").values_list("state", flat=True)) == [
        "ended", "active"]


def test_remaining_is_never_negative_and_the_database_refuses_overuse(user: User) -> None:
    view = AllowanceView("data", total=100, used=100, unit="bytes")
    assert view.remaining == 0 and view.used_percent == 100
    esim = unsubscribed_esim(user)
    period = services.subscribe_esim(esim=esim, plan=Plan.objects.get(code=DAY))
    data = Allowance.objects.get(period=period, kind="data")
    data.used = data.total + 1
    with pytest.raises(IntegrityError), transaction.atomic():
        data.save()


def test_a_subscription_belongs_to_an_esim_or_a_group_never_both_or_neither(user: User) -> None:
    from esimdesk.subscriptions.models import Subscription

    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(plan=Plan.objects.first())


def test_dashboard_and_esim_page_queries_do_not_grow_with_esims(shop: Shop, user: User) -> None:
    plan = Plan.objects.get(code=DAY)
    client = Client()
    client.force_login(user)

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    first = unsubscribed_esim(user, 1)
    services.subscribe_esim(esim=first, plan=plan)
    small_dashboard, small_page = count("/dashboard/"), count(f"/esims/{first.iccid}/")
    for n in range(2, 8):
        esim = unsubscribed_esim(user, n)
        services.subscribe_esim(esim=esim, plan=plan)
        for _ in range(3):
            services.add_period(subscription=esim.subscription, plan=plan)
    for _ in range(5):
        services.add_period(subscription=first.subscription, plan=plan)
    assert count("/dashboard/") == small_dashboard
    assert count(f"/esims/{first.iccid}/") == small_page
    assert len(service_for([first])[first.pk].queued) == 5
