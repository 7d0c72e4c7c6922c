"""Placing an order in three steps: no provider call runs inside a transaction, whoever
places the order; a refused start, a retry with the same Idempotency-Key and a process
stopped between the steps each leave the right thing behind.

Transactional tests: pytest-django otherwise wraps each test in a transaction, and the probe
could not tell whether esimdesk opened one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.core.models import IdempotencyRecord
from esimdesk.orders.lines import LineRequest
from esimdesk.orders.models import Order
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.payments.autorenew import charge_renewal, renewals_sweep
from esimdesk.payments.models import Payment, RenewalAttempt
from esimdesk.payments.providers.base import RetryableProviderError, StartRequest, StartResult
from esimdesk.payments.sweeps import payments_sweep
from esimdesk.sandbox.payment import SandboxProvider
from esimdesk.subscriptions.models import Period
from tests.builders import DAY, FAMILY_PLAN, MONTH, Shop, make_group_plans
from tests.conftest import Api, run_tasks, verified_email
from tests.payments.test_autorenew import buy_with_card

pytestmark = pytest.mark.django_db(transaction=True)
ORDER = {"lines": [{"type": "new_esim", "plan": DAY}], "currency": "USD",
         "provider": "sandbox"}


class Probe:
    """Wraps the sandbox provider's ``start``: each call checks that no transaction is open
    on the connection (and, on PostgreSQL, that this session holds no transaction id, so no
    row lock), then answers as the sandbox would, or fails when told to."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail = False
        self.during: Any = None  # run inside the call, as a second request would

    def start(self, provider: SandboxProvider, request: StartRequest) -> StartResult:
        self.calls += 1
        assert not connection.in_atomic_block, "a provider call inside a transaction"
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() "
                               "AND locktype = 'transactionid'")
                assert cursor.fetchone()[0] == 0, "row locks held during a provider call"
        assert Payment.objects.get(public_id=request.payment_id).status == "starting"
        if self.during is not None:
            during, self.during = self.during, None
            during()
        if self.fail:
            raise RetryableProviderError("not answering")
        return ORIGINAL_START(provider, request)


ORIGINAL_START = SandboxProvider.start


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch, shop: Shop) -> Probe:
    probe = Probe()
    monkeypatch.setattr(SandboxProvider, "start",
                        lambda provider, request: probe.start(provider, request))
    return probe


@pytest.fixture
def portal() -> Client:
    client = Client()
    user = User.objects.create_user("portal@example.com", "correct-horse-battery-42")
    verified_email(user)
    client.force_login(user)
    return client


def test_the_api_order_and_paying_again(probe: Probe) -> None:
    api = Api.signup("api@example.com")
    created = api.post("/api/v1/orders", ORDER)
    assert created.status_code == 201, created.content
    assert created.json()["payment"]["status"] == "pending"
    number = created.json()["id"]
    again = api.post(f"/api/v1/orders/{number}/payments", {"provider": "sandbox"})
    assert again.status_code == 201, again.content
    assert probe.calls == 2
    statuses = sorted(Payment.objects.values_list("status", flat=True))
    assert statuses == ["cancelled", "pending"]  # the first attempt was superseded


def test_the_api_plan_change(probe: Probe) -> None:
    api = Api.signup("change@example.com")
    created = api.post("/api/v1/orders", ORDER).json()
    payments.complete_sandbox_payment(user=User.objects.get(email="change@example.com"),
                                      payment_id=created["payment"]["id"], outcome="approve")
    run_tasks()
    iccid = Order.objects.get(number=created["id"]).lines.get().esim.iccid
    changed = api.post(f"/api/v1/esims/{iccid}/plan-change", {
        "plan": MONTH, "when": "period_end", "currency": "USD",
        "provider": "sandbox"})
    assert changed.status_code == 201, changed.content
    assert probe.calls == 2


def test_the_portal_checkout_and_paying_again(probe: Probe, portal: Client) -> None:
    response = portal.post("/checkout/", {"plan": DAY, "currency": "USD",
                                          "provider": "sandbox"})
    assert response.status_code == 302, response.content
    number = Order.objects.get().number
    assert portal.post(f"/orders/{number}/pay/", {"provider": "sandbox"}).status_code == 302
    assert probe.calls == 2


def test_a_group_order_over_the_api_and_in_the_portal(probe: Probe, portal: Client) -> None:
    make_group_plans()
    api = Api.signup("owner@example.com")
    gid = api.post("/api/v1/groups", {"kind": "family", "name": "Probe family"}).json()["id"]
    ordered = api.post(f"/api/v1/groups/{gid}/orders", {
        "plan": FAMILY_PLAN, "members": 3, "currency": "USD",
        "provider": "sandbox"})
    assert ordered.status_code == 201, ordered.content
    owner = Client()
    owner.force_login(User.objects.get(email="owner@example.com"))
    page = owner.post(f"/groups/{gid}/checkout/?members=4&plan={FAMILY_PLAN}", {
        "plan": FAMILY_PLAN, "currency": "USD", "provider": "sandbox"})
    assert page.status_code == 302, page.content
    assert probe.calls == 2


def test_a_refused_start_leaves_no_order_and_paying_again_keeps_it(probe: Probe) -> None:
    api = Api.signup("refused@example.com")
    probe.fail = True
    refused = api.post("/api/v1/orders", ORDER)
    assert (refused.status_code, refused.json()["code"]) == (503, "provider_unavailable")
    assert not Order.objects.exists() and not Payment.objects.exists()
    probe.fail = False
    number = api.post("/api/v1/orders", ORDER).json()["id"]
    probe.fail = True
    again = api.post(f"/api/v1/orders/{number}/payments", {"provider": "sandbox"})
    assert again.status_code == 503
    order = Order.objects.get()
    assert order.status == Order.Status.AWAITING_PAYMENT
    failed = order.payments.get(status="failed")
    assert failed.failure_code == "provider_unavailable"
    assert order.payments.get(status="pending")  # the earlier attempt still stands


def test_a_retry_while_the_first_request_is_with_the_provider_replays_its_answer(
        probe: Probe) -> None:
    api = Api.signup("retry@example.com")
    key = {"Idempotency-Key": "k-1"}
    seen: list[Any] = []
    # The retry arrives while the first request is in step 2: it finds the key in
    # progress, fresh, so it would wait; told to stop waiting at once, it says so.
    checkout_wait = checkout.WAIT_SECONDS
    checkout.WAIT_SECONDS = 0.0
    try:
        probe.during = lambda: seen.append(api.post("/api/v1/orders", ORDER, headers=key))
        first = api.post("/api/v1/orders", ORDER, headers=key)
    finally:
        checkout.WAIT_SECONDS = checkout_wait
    assert first.status_code == 201
    assert (seen[0].status_code, seen[0].json()["code"]) == (409, "request_in_progress")
    replay = api.post("/api/v1/orders", ORDER, headers=key)
    assert replay.json() == first.json()
    assert Order.objects.count() == 1 and probe.calls == 1


def test_a_process_stopped_between_the_steps_is_swept_and_taken_over(probe: Probe) -> None:
    clock.set_now(dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC))
    api = Api.signup("killed@example.com")
    user = User.objects.get(email="killed@example.com")
    key = {"Idempotency-Key": "k-2"}
    with pytest.raises(KeyboardInterrupt):  # the process dies while the provider is asked
        probe.during = _die
        api.post("/api/v1/orders", ORDER, headers=key)
    stuck = Payment.objects.get()
    assert stuck.status == "starting"
    assert IdempotencyRecord.objects.get().status_code == 0  # in progress
    assert payments_sweep()["abandoned"] == 0  # not yet: it may still be answered

    clock.set_now(clock.now() + checkout.STARTING_TIMEOUT + dt.timedelta(seconds=1))
    taken_over = api.post("/api/v1/orders", ORDER, headers=key)
    assert taken_over.status_code == 201, taken_over.content
    assert Order.objects.count() == 1  # the same order, a new attempt
    stuck.refresh_from_db()
    assert (stuck.status, stuck.failure_code) == ("failed", "start_interrupted")
    assert taken_over.json()["payment"]["id"] != stuck.public_id
    assert api.post("/api/v1/orders", ORDER, headers=key).json() == taken_over.json()

    # Without a retry, the sweep fails a starting payment once its time is up.
    placed = checkout.place_order(user=user, method="sandbox", currency="USD",
                                  lines=[LineRequest(type="new_esim", plan=DAY)])
    assert placed.payment is not None
    Payment.objects.filter(pk=placed.payment.pk).update(status="starting")
    clock.set_now(clock.now() + checkout.STARTING_TIMEOUT + dt.timedelta(seconds=1))
    assert payments_sweep()["abandoned"] == 1
    assert Payment.objects.get(pk=placed.payment.pk).status == "failed"


def test_automatic_renewal_charges_with_no_transaction_open(
        probe: Probe, monkeypatch: pytest.MonkeyPatch) -> None:
    charged: list[str] = []

    def charge_saved(provider: SandboxProvider, **kwargs: Any) -> Any:
        assert not connection.in_atomic_block, "a provider call inside a transaction"
        charged.append(kwargs["payment_id"])
        return original(provider, **kwargs)

    original = SandboxProvider.charge_saved
    monkeypatch.setattr(SandboxProvider, "charge_saved",
                        lambda provider, **kwargs: charge_saved(provider, **kwargs))
    user = User.objects.create_user("renews@example.com", "x-long-password-1")
    buy_with_card(user)
    clock.set_now(Period.objects.get().ends_at - dt.timedelta(hours=2))
    assert renewals_sweep()["charging"] == 1
    attempt = RenewalAttempt.objects.get()
    assert charge_renewal(attempt_id=attempt.pk) == "succeeded"
    assert charge_renewal(attempt_id=attempt.pk) == "succeeded"  # a redelivery: nothing
    assert len(charged) == 1


def _die() -> None:
    raise KeyboardInterrupt
