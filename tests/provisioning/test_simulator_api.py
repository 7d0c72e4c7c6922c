"""The simulator's pull API over HTTP: its own view of a profile and its balance, behind a
bearer key."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from esimdesk.catalog.models import Plan
from esimdesk.core.ids import iccid_with_check_digit
from esimdesk.sandbox import simulator_events
from esimdesk.sandbox.simulator import SimulatorProvider
from esimdesk.sandbox.simulator_api import api_key
from tests.provisioning.simulator_helpers import PLAN, issue

pytestmark = pytest.mark.usefixtures("shop")
MB = 1024 * 1024


def get(path: str, key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return Client().get(path, headers=headers)


def test_without_the_key_nothing_is_shown() -> None:
    profile, _ = issue()
    for key in (None, "", "sim_wrong"):
        response = get(f"/simulator/v1/profiles/{profile.iccid}", key)
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_api_key"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_profile_as_the_supplier_sees_it() -> None:
    profile, _ = issue()
    simulator_events.emit(profile=profile, status="downloaded", origin="staff",
                          actor_type="staff", actor="ops")
    response = get(f"/simulator/v1/profiles/{profile.iccid}F", api_key())  # F pad accepted
    assert response.status_code == 200
    body = response.json()
    assert body["iccid"] == profile.iccid and body["state"] == "downloaded"
    assert body["activation_code"] == (f"LPA:1${SimulatorProvider().smdp_host}$"
                                       f"{profile.matching_id}")
    assert [e["status"] for e in body["events"]] == ["downloaded"]


def test_balance_counts_plans_top_ups_and_metered_usage() -> None:
    profile, _ = issue()
    simulator = SimulatorProvider()
    simulator.apply_plan(reference="renew-1", iccid=str(profile.iccid), plan_code=PLAN)
    simulator.apply_top_up(reference="top-1", iccid=str(profile.iccid), product_code="t",
                           data_bytes=100 * MB, voice_seconds=0, sms_count=0, extend_days=0)
    simulator_events.generate_usage(profile=profile, quantity=30 * MB, actor_type="staff",
                                    actor="ops")
    response = get(f"/simulator/v1/profiles/{profile.iccid}/balance", api_key())
    body = response.json()
    plan_bytes = Plan.objects.get(code=PLAN).data_bytes
    data = next(b for b in body["balances"] if b["kind"] == "data")
    assert data == {"kind": "data", "unit": "bytes", "initial": 2 * plan_bytes + 100 * MB,
                    "used": 30 * MB, "remaining": 2 * plan_bytes + 70 * MB}
    assert [p["reference"] for p in body["plans"]] == ["line-1", "renew-1"]
    assert body["top_ups"][0]["data_bytes"] == 100 * MB
    assert body["suspended"] is False and body["revoked"] is False


def test_unknown_and_invalid_iccids_and_other_methods() -> None:
    issue()
    unknown = iccid_with_check_digit("899900199999999999")
    assert get(f"/simulator/v1/profiles/{unknown}", api_key()).status_code == 404
    bad = get("/simulator/v1/profiles/1234", api_key())
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_iccid"
    post = Client().post("/simulator/v1/profiles/1234", headers={
        "Authorization": f"Bearer {api_key()}"})
    assert post.status_code == 405


def test_a_configured_key_replaces_the_derived_one(monkeypatch: pytest.MonkeyPatch) -> None:
    profile, _ = issue()
    derived = api_key()
    monkeypatch.setenv("ESIMDESK_SIMULATOR_API_KEY", "configured-key-123")
    path = f"/simulator/v1/profiles/{profile.iccid}/balance"
    assert get(path, derived).status_code == 401
    assert get(path, "configured-key-123").status_code == 200
