"""Validity that starts on arrival, through the API as the app sees it: bought a week ahead
the plan waits with its full allowance and no dates; it starts at the first use the
supplier reports (at the event's time), or at the first usage record, or at *Start now*, or
by itself at ``activate_by``; a renewal bought meanwhile queues behind it; unused, it is
refunded in full."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from esimdesk.catalog.models import Plan
from esimdesk.core import clock
from esimdesk.sandbox.simulator_api import api_key
from esimdesk.subscriptions.services import sync_period_states
from esimdesk.usage import services as usage
from tests.builders import plan
from tests.conftest import Api, run_tasks
from tests.e2e.helpers import buy_and_pay, complete, post_order

T0 = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)
GB = 1024**3


@pytest.fixture
def travel_plan(db: Any) -> Plan:
    return plan(code="jp-30-days", unit="day", count=30, data_gb=5, usd=1900,
                validity_starts=Plan.ValidityStarts.FIRST_USE)


def bought(api: Api, travel_plan: Plan) -> str:
    clock.set_now(T0)
    order = buy_and_pay(api, travel_plan.code)
    return str(order["lines"][0]["iccid"])


def esim(api: Api, iccid: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/esims/{iccid}")
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


def report(iccid: str, event: str, at: dt.datetime | None = None) -> Any:
    body = {"event": event, **({"at": at.isoformat()} if at else {})}
    response = Client().post(f"/simulator/v1/profiles/{iccid}/events", body,
                             content_type="application/json",
                             headers={"Authorization": f"Bearer {api_key()}"})
    run_tasks()  # the signed callback carrying it
    return response


def test_bought_a_week_ahead_it_waits_then_runs_thirty_days_from_first_use(
        api: Api, travel_plan: Plan) -> None:
    iccid = bought(api, travel_plan)
    waiting = esim(api, iccid)
    assert waiting["service"] == "pending" and waiting["valid_until"] is None
    period = waiting["current_period"]
    assert period["state"] == "pending"
    assert period["starts_at"] is None and period["ends_at"] is None
    assert period["validity"] == "P30D"
    assert dt.datetime.fromisoformat(period["activate_by"]) == T0 + dt.timedelta(days=180)
    assert period["allowances"][0] == {"kind": "data", "total": 5 * GB, "used": 0,
                                       "remaining": 5 * GB, "unit": "bytes"}

    clock.set_now(T0 + dt.timedelta(days=7))
    assert report(iccid, "installed").status_code == 202
    assert esim(api, iccid)["service"] == "pending"  # installed is not first use here

    landed = T0 + dt.timedelta(days=8, hours=3)
    clock.set_now(landed + dt.timedelta(minutes=20))  # the report arrives late
    answer = report(iccid, "first_use", at=landed)
    assert answer.status_code == 202, answer.content
    running = esim(api, iccid)
    assert running["service"] == "active"
    period = running["current_period"]
    assert period["state"] == "active"
    assert dt.datetime.fromisoformat(period["starts_at"]) == landed
    assert dt.datetime.fromisoformat(period["ends_at"]) == landed + dt.timedelta(days=30)

    again = report(iccid, "first_use")
    assert again.status_code == 409 and again.json()["code"] == "illegal_profile_event"


def test_usage_that_arrives_first_starts_it_and_is_charged_to_it(
        api: Api, travel_plan: Plan) -> None:
    iccid = bought(api, travel_plan)
    used_at = T0 + dt.timedelta(days=3, hours=2)
    clock.set_now(used_at + dt.timedelta(hours=1))
    result = usage.ingest(source="simulator", records=[
        {"id": "r-1", "iccid": iccid, "kind": "data", "quantity": 200 * 1024**2,
         "occurred_at": used_at.isoformat()},
        {"id": "r-2", "iccid": iccid, "kind": "data", "quantity": 100 * 1024**2,
         "occurred_at": (used_at + dt.timedelta(minutes=30)).isoformat()}])
    assert (result.accepted, result.rejected) == (2, [])
    period = esim(api, iccid)["current_period"]
    assert dt.datetime.fromisoformat(period["starts_at"]) == used_at
    assert period["allowances"][0]["used"] == 300 * 1024**2
    replay = usage.ingest(source="simulator", records=[
        {"id": "r-1", "iccid": iccid, "kind": "data", "quantity": 200 * 1024**2,
         "occurred_at": used_at.isoformat()}])
    assert replay.duplicates == 1
    assert esim(api, iccid)["current_period"]["allowances"][0]["used"] == 300 * 1024**2


def test_start_now(api: Api, other_api: Api, travel_plan: Plan) -> None:
    iccid = bought(api, travel_plan)
    clock.set_now(T0 + dt.timedelta(days=2))
    assert other_api.post(f"/api/v1/esims/{iccid}/start", {}).status_code == 404
    response = api.post(f"/api/v1/esims/{iccid}/start", {})
    assert response.status_code == 200, response.content
    period = response.json()["current_period"]
    assert dt.datetime.fromisoformat(period["starts_at"]) == T0 + dt.timedelta(days=2)
    again = api.post(f"/api/v1/esims/{iccid}/start", {})
    assert again.status_code == 409 and again.json()["code"] == "not_pending"
    assert again.json()["message"]


def test_it_starts_by_itself_at_activate_by(api: Api, travel_plan: Plan) -> None:
    iccid = bought(api, travel_plan)
    deadline = T0 + dt.timedelta(days=180)
    clock.set_now(deadline - dt.timedelta(minutes=1))
    sync_period_states()
    assert esim(api, iccid)["service"] == "pending"
    clock.set_now(deadline + dt.timedelta(hours=5))  # the sweep runs late
    sync_period_states()
    period = esim(api, iccid)["current_period"]
    assert dt.datetime.fromisoformat(period["starts_at"]) == deadline
    assert dt.datetime.fromisoformat(period["ends_at"]) == deadline + dt.timedelta(days=30)


def test_a_renewal_queues_behind_the_plan_that_has_not_started(
        api: Api, travel_plan: Plan) -> None:
    iccid = bought(api, travel_plan)
    clock.set_now(T0 + dt.timedelta(days=1))
    renewal = post_order(api, travel_plan.code, iccid=iccid)
    complete(api, renewal)
    run_tasks()
    queued = esim(api, iccid)["queued_periods"]
    assert [(q["state"], q["starts_at"], q["validity"]) for q in queued] == [
        ("scheduled", None, "P30D")]
    landed = T0 + dt.timedelta(days=6)
    clock.set_now(landed)
    report(iccid, "first_use", at=landed)
    after = esim(api, iccid)
    end = landed + dt.timedelta(days=30)
    assert dt.datetime.fromisoformat(after["current_period"]["ends_at"]) == end
    [next_one] = after["queued_periods"]
    assert dt.datetime.fromisoformat(next_one["starts_at"]) == end
    assert dt.datetime.fromisoformat(after["valid_until"]) == end + dt.timedelta(days=30)


def test_an_installed_but_unused_plan_is_refunded_in_full(api: Api, travel_plan: Plan) -> None:
    iccid = bought(api, travel_plan)
    clock.set_now(T0 + dt.timedelta(days=2))
    report(iccid, "installed")
    order = api.get("/api/v1/orders").json()["items"][0]
    assert order["refund_eligible"] is True
    response = api.post(f"/api/v1/orders/{order['id']}/refund", {})
    assert response.status_code == 200, response.content
    run_tasks()
    assert esim(api, iccid)["service"] == "none"


def test_a_used_plan_is_not_refundable(api: Api, travel_plan: Plan) -> None:
    iccid = bought(api, travel_plan)
    clock.set_now(T0 + dt.timedelta(days=2))
    report(iccid, "first_use")
    order = api.get("/api/v1/orders").json()["items"][0]
    assert order["refund_eligible"] is False
    response = api.post(f"/api/v1/orders/{order['id']}/refund", {})
    assert response.status_code == 409


def test_the_simulator_api_refuses_bad_events(api: Api, travel_plan: Plan) -> None:
    iccid = bought(api, travel_plan)
    for body, code in (({"event": "teleported"}, "invalid_profile_event"),
                       ({"event": "first_use", "at": "yesterday"}, "invalid_event_time"),
                       ({"event": "first_use", "at": "2030-01-01T00:00:00+00:00"},
                        "invalid_event_time")):
        response = Client().post(f"/simulator/v1/profiles/{iccid}/events", body,
                                 content_type="application/json",
                                 headers={"Authorization": f"Bearer {api_key()}"})
        assert response.status_code == 400 and response.json()["code"] == code
    unauthorised = Client().post(f"/simulator/v1/profiles/{iccid}/events",
                                 {"event": "first_use"}, content_type="application/json")
    assert unauthorised.status_code == 401
    assert esim(api, iccid)["service"] == "pending"
