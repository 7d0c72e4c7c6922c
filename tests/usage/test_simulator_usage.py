"""Usage from the upstream simulator: signed callback, generation sweep, reconciliation."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any

import pytest
from django.test import Client

pytest.importorskip("esimdesk.usage.services")

from esimdesk.core import clock
from esimdesk.core.models import AuditEntry
from esimdesk.esims.models import Esim
from esimdesk.provisioning.models import UsageDrift
from esimdesk.sandbox.models import SimulatedUsage
from esimdesk.sandbox.simulator import SIGNATURE_HEADER, SimulatorProvider, sign
from esimdesk.sandbox.usage_simulation import (
    MB,
    hourly_usage,
    usage_reconciliation_sweep,
    usage_simulation_sweep,
)
from esimdesk.scheduler import SWEEPS
from esimdesk.usage.models import UsageEvent
from tests.usage.conftest import NOW

HEADER = "HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_")


def _post(body: bytes, signature: str | None) -> Any:
    extra = {HEADER: signature} if signature is not None else {}
    return Client().post("/hooks/upstream/simulator", data=body,
                         content_type="application/json", **extra)


def _records(esim: Esim, n: int = 2) -> bytes:
    return json.dumps({"records": [
        {"id": f"cb-{i}", "iccid": esim.iccid, "kind": "data", "quantity": 5 * MB,
         "occurred_at": (NOW - dt.timedelta(hours=i + 1)).isoformat()} for i in range(n)]
    }).encode()


@pytest.fixture
def in_use(esim: Esim) -> Esim:
    Esim.objects.filter(pk=esim.pk).update(status=Esim.Status.IN_USE)
    esim.refresh_from_db()
    return esim


@pytest.mark.django_db
def test_callback_with_good_signature_is_ingested_once(esim: Esim) -> None:
    body = _records(esim)
    first = _post(body, sign(body))
    assert first.status_code == 200, first.content
    assert first.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    replay = _post(body, sign(body))
    assert replay.status_code == 200 and replay.json()["duplicates"] == 2
    assert UsageEvent.objects.filter(source="simulator").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("signature", [None, "", "bm9wZQ==", "tampered"])
def test_callback_with_bad_signature_stores_nothing(esim: Esim, signature: str | None) -> None:
    body = _records(esim)
    if signature == "tampered":
        signature = sign(body.replace(b"5242880", b"1"))
    answer = _post(body, signature)
    assert answer.status_code == 400 and answer.json()["code"] == "bad_signature"
    assert not UsageEvent.objects.exists()


@pytest.mark.django_db
def test_callback_malformed_and_unknown_provider(esim: Esim) -> None:
    body = b'{"nope": 1}'
    assert _post(body, sign(body)).json()["code"] == "malformed_event"
    other = Client().post("/hooks/upstream/acme", data=b"{}", content_type="application/json")
    assert other.status_code == 404


def test_hourly_usage_is_deterministic_and_busier_in_the_evening() -> None:
    tz = zoneinfo.ZoneInfo("Asia/Tokyo")
    hour = dt.datetime(2026, 6, 10, 11, tzinfo=dt.UTC)  # 20:00 in Tokyo
    assert hourly_usage("8999", hour, tz) == hourly_usage("8999", hour, tz)
    days = [dt.datetime(2026, 6, 1, tzinfo=dt.UTC) + dt.timedelta(days=d) for d in range(60)]
    evening = sum(hourly_usage("8999", d + dt.timedelta(hours=11), tz)[0] for d in days)
    night = sum(hourly_usage("8999", d + dt.timedelta(hours=18), tz)[0] for d in days)  # 3:00
    assert evening > 0 and evening > 3 * night
    quantity, minute = hourly_usage("8999", hour, tz)
    assert 0 <= minute < 60 and isinstance(quantity, int)


@pytest.mark.django_db
def test_simulation_sweep_is_idempotent_and_matches_the_simulators_books(in_use: Esim) -> None:
    assert SWEEPS["usage_simulation"] is usage_simulation_sweep
    first = usage_simulation_sweep(now=NOW)
    assert first["reported"] > 0 and first["accepted"] == first["reported"]
    events = UsageEvent.objects.filter(esim=in_use, source="simulator")
    assert set(events.values_list("external_id", flat=True)) == set(
        SimulatedUsage.objects.values_list("record_id", flat=True))
    assert all(e.startswith(f"sim-{in_use.iccid}-") for e in
               events.values_list("external_id", flat=True))
    count = events.count()
    assert usage_simulation_sweep(now=NOW) == {"reported": 0}
    assert events.count() == count
    total = sum(events.values_list("quantity", flat=True))
    assert SimulatorProvider().balance(in_use.iccid) == total
    # an hour later, only the new hour is reported
    usage_simulation_sweep(now=NOW + dt.timedelta(hours=1))
    assert events.count() - count <= 1


@pytest.mark.django_db
def test_simulation_skips_unused_esims_and_other_upstreams(esim: Esim, settings: Any) -> None:
    assert usage_simulation_sweep(now=NOW) == {"reported": 0}  # ready, not installed
    Esim.objects.filter(pk=esim.pk).update(status=Esim.Status.IN_USE)
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus", "simulator"]}
    assert "skipped" in usage_simulation_sweep(now=NOW)
    assert not UsageEvent.objects.exists()


@pytest.mark.django_db
def test_reconciliation_flags_drift_once_and_clears_it(in_use: Esim) -> None:
    clock.set_now(NOW)
    usage_simulation_sweep(now=NOW)
    assert usage_reconciliation_sweep(now=NOW) == {"checked": 1, "drift": 0}
    assert not UsageDrift.objects.exists()
    # The supplier metered 50 MB esimdesk never received (a lost callback).
    SimulatedUsage.objects.create(record_id="lost-1", iccid=in_use.iccid, quantity=50 * MB,
                                  occurred_at=NOW - dt.timedelta(minutes=5))
    assert usage_reconciliation_sweep(now=NOW) == {"checked": 1, "drift": 1}
    drift = UsageDrift.objects.get()
    assert drift.difference == 50 * MB and drift.resolved_at is None
    assert AuditEntry.objects.filter(action="usage.drift").count() == 1
    usage_reconciliation_sweep(now=NOW)  # unchanged: no second audit row
    assert AuditEntry.objects.filter(action="usage.drift").count() == 1
    # Redelivered: the two agree again and the finding is closed.
    body = json.dumps({"records": [{"id": "lost-1", "iccid": in_use.iccid, "kind": "data",
                                    "quantity": 50 * MB,
                                    "occurred_at": (NOW - dt.timedelta(minutes=5)).isoformat()
                                    }]}).encode()
    assert _post(body, sign(body)).status_code == 200
    assert usage_reconciliation_sweep(now=NOW) == {"checked": 1, "drift": 0}
    drift.refresh_from_db()
    assert drift.resolved_at == NOW
    assert AuditEntry.objects.filter(action="usage.drift_resolved").count() == 1


@pytest.mark.django_db
def test_small_differences_are_within_tolerance(in_use: Esim) -> None:
    usage_simulation_sweep(now=NOW)
    SimulatedUsage.objects.create(record_id="tiny", iccid=in_use.iccid, quantity=1000,
                                  occurred_at=NOW - dt.timedelta(minutes=5))
    assert usage_reconciliation_sweep(now=NOW)["drift"] == 0
