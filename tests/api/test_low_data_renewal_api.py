"""``POST /api/v1/orders`` with a renewal line ``"starts": "when_data_runs_out"``."""

from __future__ import annotations

import datetime as dt

from esimdesk.core import clock
from esimdesk.subscriptions.models import Allowance, Period
from esimdesk.usage.services import ingest
from tests.builders import MONTH
from tests.conftest import Api, run_tasks
from tests.usage.helpers import rec


def bought(api: Api) -> str:
    created = api.post("/api/v1/orders", {"lines": [{"type": "new_esim", "plan": MONTH}],
                                          "currency": "USD"})
    assert created.status_code == 201, created.content
    api.post(f"/api/v1/payments/sandbox/{created.json()['payment']['id']}/complete",
             {"outcome": "approve"})
    run_tasks()
    return str(api.get(f"/api/v1/orders/{created.json()['id']}").json()["lines"][0]["iccid"])


def test_a_renewal_for_low_data_over_the_api(api: Api) -> None:
    iccid = bought(api)
    created = api.post("/api/v1/orders", {"lines": [
        {"type": "renewal", "iccid": iccid, "plan": MONTH, "starts": "when_data_runs_out"}],
        "currency": "USD"})
    assert created.status_code == 201, created.content
    [line] = created.json()["lines"]
    assert line["starts"] == "when_data_runs_out"
    assert "when its data runs out" in line["description"]
    api.post(f"/api/v1/payments/sandbox/{created.json()['payment']['id']}/complete",
             {"outcome": "approve"})
    run_tasks()
    esim = api.get(f"/api/v1/esims/{iccid}").json()
    [queued] = esim["queued_periods"]
    assert queued["starts"] == "when_data_runs_out"
    assert esim["current_period"]["starts"] == "at_period_end"

    first = Period.objects.get(subscription__esim__iccid=iccid, sequence=1)
    total = Allowance.objects.get(period=first, kind="data").total
    out = clock.now() + dt.timedelta(days=2)
    clock.set_now(out)
    assert ingest(source="net", records=[rec("all", iccid, total, out)]).accepted == 1
    esim = api.get(f"/api/v1/esims/{iccid}").json()
    assert esim["queued_periods"] == []
    assert esim["current_period"]["starts_at"] == out.isoformat()
    assert esim["current_period"]["allowances"][0]["used"] == 0


def test_starts_is_refused_where_it_means_nothing(api: Api) -> None:
    iccid = bought(api)
    wrong_kind = api.post("/api/v1/orders", {"lines": [
        {"type": "new_esim", "plan": MONTH, "starts": "when_data_runs_out"}],
        "currency": "USD"})
    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["code"] == "starts_not_supported"
    wrong_value = api.post("/api/v1/orders", {"lines": [
        {"type": "renewal", "iccid": iccid, "plan": MONTH, "starts": "tomorrow"}],
        "currency": "USD"})
    assert wrong_value.status_code in (400, 422)
    default = api.post("/api/v1/orders", {"lines": [
        {"type": "renewal", "iccid": iccid, "plan": MONTH, "starts": "at_period_end"}],
        "currency": "USD"})
    assert default.status_code == 201 and default.json()["lines"][0]["starts"] is None
