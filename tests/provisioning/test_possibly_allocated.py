"""Profiles possibly allocated at a supplier (a call whose outcome was lost and that no
retry settled) raise one console alert per supplier, e-mailed once, until staff have
reconciled every one of them: ES2+ downloads (``Es2UnknownDownload``) and eSIM Go orders
(``EsimGoOrder`` *possibly allocated*), each through its adapter's
``possibly_allocated`` hook, against the local fakes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from esimdesk.accounts.models import User
from esimdesk.console.alerts import alerts_sweep, describe
from esimdesk.console.models import Alert
from esimdesk.core import clock
from esimdesk.notifications.models import Notification
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.provisioning import registry
from esimdesk.provisioning.models import Es2UnknownDownload, EsimGoOrder
from esimdesk.provisioning.suppliers.base import PossiblyAllocated, RetryableUpstreamError
from esimdesk.provisioning.suppliers.es2plus import reconcile
from esimdesk.provisioning.suppliers.es2plus.adapter import Es2PlusProvider
from esimdesk.provisioning.suppliers.es2plus.transport import OutcomeUnknown
from esimdesk.provisioning.suppliers.esimgo import ordering
from tests import builders
from tests.provisioning import fake_es2plus, fake_esimgo
from tests.provisioning.fake_es2plus import FakeSmdp
from tests.provisioning.fake_esimgo import FakeEsimGo

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
OPS = "ops@example.com"
KIND = Alert.Kind.POSSIBLY_ALLOCATED


@pytest.fixture(autouse=True)
def _ops(monkeypatch: pytest.MonkeyPatch) -> None:
    clock.set_now(START)
    monkeypatch.setenv("ESIMDESK_OPS_EMAIL", OPS)


@pytest.fixture
def esimgo(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEsimGo]:
    server = FakeEsimGo()
    server.hang_seconds = 2
    with fake_esimgo.running(server) as base:
        monkeypatch.setenv("ESIMDESK_ESIMGO_API_KEY", fake_esimgo.API_KEY)
        monkeypatch.setenv("ESIMDESK_ESIMGO_API_BASE", base)
        monkeypatch.setenv("ESIMDESK_ESIMGO_TIMEOUT_SECONDS", "0.5")
        yield server


@pytest.fixture
def smdp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSmdp]:
    with fake_es2plus.running() as fake:
        fake.add(builders.iccid(1), builders.iccid(2))
        monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", fake.url)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_PROFILE_TYPE", "travel-data")
        monkeypatch.setenv("ESIMDESK_ES2PLUS_SMDP_ADDRESS", "")
        yield fake


def _es2() -> Es2PlusProvider:
    adapter = registry.get("es2plus")
    assert isinstance(adapter, Es2PlusProvider)
    adapter.timeout = 0.5
    return adapter


def _failed_over_from_esimgo(settings: Any, esimgo: FakeEsimGo,
                             monkeypatch: pytest.MonkeyPatch) -> Order:
    """A paid order whose eSIM Go order was made but its answer lost, and the search for
    it unanswered: fulfilment moves on to the simulator, the eSIM Go order stays possibly
    allocated."""
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["esimgo", "simulator"]}
    monkeypatch.setenv("ESIMDESK_ACTIVATION_ATTEMPTS", "2")
    plan = builders.plan(countries=("TH",), unit="month", data_gb=10, usd=1299)
    builders.bundle(plan, "esimgo", code="esim_10GB_30D_TH_V2", priority=1)
    builders.bundle(plan, "simulator", code="SIM-TH-10", priority=2)
    buyer = User.objects.create_user("go@example.com", "x-long-password-1")
    payment = checkout.place_order(user=buyer, currency="USD", method="sandbox", lines=[
        orders.LineRequest(plan=plan.code, type="new_esim")]).payment
    assert payment is not None
    payments.complete_sandbox_payment(user=buyer, payment_id=payment.public_id,
                                      outcome="approve")
    esimgo.fail = ["commit_then_hang", "hang"]
    assert orders.fulfil_order(order_id=payment.order_id) == "retrying"
    assert orders.fulfil_order(order_id=payment.order_id, attempt=2) == "fulfilled"
    assert EsimGoOrder.objects.get().state == EsimGoOrder.State.UNKNOWN
    return Order.objects.get(pk=payment.order_id)


def _open() -> dict[str, Alert]:
    return {alert.subject: alert for alert in
            Alert.objects.filter(kind=KIND, open_key__isnull=False)}


def test_each_supplier_with_profiles_possibly_allocated_has_one_alert_until_reconciled(
        settings: Any, esimgo: FakeEsimGo, smdp: FakeSmdp,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _failed_over_from_esimgo(settings, esimgo, monkeypatch)
    for reference in ("es2-1", "es2-2"):
        smdp.fail_next("downloadOrder", "slow")
        with pytest.raises(OutcomeUnknown):
            _es2().order_profile(reference=reference, plan_code="p")
    # ES2+ records a lost download only once the order went on: alerted at once. An eSIM
    # Go order may still be settled by a retry: alerted once none has for a while.
    assert alerts_sweep()["opened"] == 1 and set(_open()) == {"es2plus"}
    clock.advance(ordering.ALERT_AFTER + dt.timedelta(minutes=1))
    assert alerts_sweep() == {"opened": 1, "closed": 0}
    alerts = _open()
    assert set(alerts) == {"es2plus", "esimgo"}
    assert describe(KIND, alerts["esimgo"].details) == (
        "1 profile possibly allocated at eSIM Go (the oldest call 11 minutes ago): "
        "reconcile it with the supplier, then mark it reconciled.")
    assert describe(KIND, alerts["es2plus"].details).startswith(
        "2 profiles possibly allocated at GSMA ES2+ (SM-DP+) (the oldest call 11 minutes")
    subjects = list(Notification.objects.filter(to=OPS, kind="ops_alert")
                    .values_list("subject", flat=True))
    assert len(subjects) == 2 and all("Profiles possibly allocated" in s for s in subjects)
    assert alerts_sweep() == {"opened": 0, "closed": 0}  # one alert per supplier, told once

    assert ordering.mark_reconciled(pks=[EsimGoOrder.objects.get().pk], actor=OPS) == 1
    assert alerts_sweep() == {"opened": 0, "closed": 1} and set(_open()) == {"es2plus"}
    staff = User.objects.create_superuser(OPS, "x-long-password-1")
    reconcile.mark_reconciled(ids=Es2UnknownDownload.objects.values_list("pk", flat=True),
                              user=staff)
    assert alerts_sweep() == {"opened": 0, "closed": 1} and not _open()
    assert Notification.objects.filter(to=OPS, kind="ops_alert").count() == 2


def test_an_esimgo_order_its_retry_settles_raises_no_alert(esimgo: FakeEsimGo) -> None:
    esimgo.fail = ["commit_then_hang"]
    with pytest.raises(RetryableUpstreamError):
        registry.get("esimgo").order_profile(reference="go-1", plan_code="jp-20gb-month")
    assert EsimGoOrder.objects.get().state == EsimGoOrder.State.UNKNOWN
    clock.advance(dt.timedelta(minutes=2))  # the next try finds the order made
    registry.get("esimgo").order_profile(reference="go-1", plan_code="jp-20gb-month")
    assert EsimGoOrder.objects.get().state == EsimGoOrder.State.READY
    clock.advance(ordering.ALERT_AFTER * 2)
    assert alerts_sweep()["opened"] == 0 and not Alert.objects.exists()


def test_a_supplier_whose_records_cannot_be_read_leaves_the_others_watched(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(cls: Any, now: dt.datetime) -> PossiblyAllocated:
        raise RuntimeError("table missing")

    def two(cls: Any, now: dt.datetime) -> PossiblyAllocated:
        return PossiblyAllocated(2, now - dt.timedelta(minutes=30))

    monkeypatch.setattr(registry.provider_class("es2plus"), "possibly_allocated",
                        classmethod(broken))
    monkeypatch.setattr(registry.provider_class("esimgo"), "possibly_allocated",
                        classmethod(two))
    assert alerts_sweep()["opened"] == 1
    assert set(_open()) == {"esimgo"} and _open()["esimgo"].details == {
        "supplier": "eSIM Go", "count": 2, "oldest_minutes": 30}
