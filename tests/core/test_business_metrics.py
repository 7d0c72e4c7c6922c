"""The business counters on ``/metrics`` move where the events happen, and ``/metrics`` is
served only to a scraper with the token."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from esimdesk.core import clock
from esimdesk.provisioning import registry
from esimdesk.usage import services as usage
from tests import builders


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def refusing(settings: Any) -> Any:
    registry.register("refusing", "tests.builders.RefusingSupplier")
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["refusing", "simulator"]}
    yield
    registry.PROVIDERS.pop("refusing", None)
    registry.provider_class.cache_clear()


def test_counters_move_with_the_business(db: None, refusing: None,
                                         django_capture_on_commit_callbacks: Any) -> None:
    clock.set_now(dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC))
    before = {
        "placed": value("esimdesk_orders_placed_total", currency="USD"),
        "paid": value("esimdesk_orders_paid_total", currency="USD"),
        "payments": value("esimdesk_payments_total", provider="sandbox", outcome="succeeded"),
        "activations": value("esimdesk_activation_seconds_count"),
        "failed": value("esimdesk_activations_failed_total"),
        "ok": value("esimdesk_supplier_calls_total", supplier="simulator",
                    operation="order_profile", outcome="ok"),
        "refused": value("esimdesk_supplier_calls_total", supplier="refusing",
                         operation="order_profile", outcome="refused"),
        "latency": value("esimdesk_supplier_call_seconds_count", supplier="simulator",
                         operation="order_profile"),
        "failovers": value("esimdesk_supplier_failovers_total", supplier="refusing"),
        "declined": value("esimdesk_renewals_total", outcome="declined"),
        "batches": value("esimdesk_usage_batches_total"),
        "records": value("esimdesk_usage_records_total", outcome="accepted"),
        "rejected": value("esimdesk_usage_records_total", outcome="rejected"),
    }
    # Counts made in a transaction are added when it commits: run the callbacks the
    # test's own transaction would run.
    with django_capture_on_commit_callbacks(execute=True):
        sold = builders.plan(usd=1000, prices={"USD": 1000}, unit="month")
        builders.bundle(sold, "refusing", priority=1)
        builders.bundle(sold, "simulator", priority=2)
        stuck = builders.plan(usd=500, prices={"USD": 500})
        builders.bundle(stuck, "refusing")
        buyer = builders.user("frank@example.com")
        order = builders.buy(buyer, builders.new_esim_line(sold))
        builders.buy(buyer, builders.new_esim_line(stuck))
        subscription = builders.auto_renewing(builders.user("gina@example.com"), sold, card="0341")
        builders.renewal_due(subscription)
        iccid = order.lines.get().esim.iccid
        usage.ingest(source="network-a", records=[
            {"id": f"r{n}", "iccid": iccid, "kind": "data", "quantity": 1000,
             "occurred_at": clock.now().isoformat()} for n in range(5)] + [{"id": "bad"}])
    moved = {
        "placed": value("esimdesk_orders_placed_total", currency="USD"),
        "paid": value("esimdesk_orders_paid_total", currency="USD"),
        "payments": value("esimdesk_payments_total", provider="sandbox", outcome="succeeded"),
        "activations": value("esimdesk_activation_seconds_count"),
        "failed": value("esimdesk_activations_failed_total"),
        "ok": value("esimdesk_supplier_calls_total", supplier="simulator",
                    operation="order_profile", outcome="ok"),
        "refused": value("esimdesk_supplier_calls_total", supplier="refusing",
                         operation="order_profile", outcome="refused"),
        "latency": value("esimdesk_supplier_call_seconds_count", supplier="simulator",
                         operation="order_profile"),
        "failovers": value("esimdesk_supplier_failovers_total", supplier="refusing"),
        "declined": value("esimdesk_renewals_total", outcome="declined"),
        "batches": value("esimdesk_usage_batches_total"),
        "records": value("esimdesk_usage_records_total", outcome="accepted"),
        "rejected": value("esimdesk_usage_records_total", outcome="rejected"),
    }
    # Three orders (two new eSIMs of ``sold``, the stuck one) placed, paid and paid for;
    # the renewal order is placed but declined.
    assert {name: moved[name] - before[name] for name in before} == {
        "placed": 4, "paid": 3, "payments": 3, "activations": 2, "failed": 1, "ok": 2,
        "refused": 3, "latency": 2, "failovers": 2, "declined": 1, "batches": 1,
        "records": 5, "rejected": 1}


def test_metrics_need_the_token(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESIMDESK_METRICS_TOKEN", raising=False)
    assert Client().get("/metrics").status_code == 404  # off without a token
    monkeypatch.setenv("ESIMDESK_METRICS_TOKEN", "scrape-me-7f3a")
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-7f3a")
    assert response.status_code == 200
    text = response.content.decode()
    for name in ("esimdesk_orders_paid_total", "esimdesk_payments_total",
                 "esimdesk_activation_seconds_bucket", "esimdesk_supplier_calls_total",
                 "esimdesk_supplier_call_seconds_bucket", "esimdesk_renewals_total",
                 "esimdesk_usage_records_total"):
        assert f"# TYPE {name.rsplit('_', 1)[0]}" in text or name in text, name
