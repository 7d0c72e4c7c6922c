"""``GET /api/v1/esims/{iccid}`` reads the eSIM and its balances in one statement: the same
answer as the list (which goes through ``service_for``), a fixed number of queries, and
someone else's eSIM is unknown."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from esimdesk.core import clock
from esimdesk.subscriptions.models import Allowance, Period
from esimdesk.usage.services import ingest
from tests.builders import MONTH
from tests.conftest import Api
from tests.e2e.helpers import buy_and_pay


def test_one_esim_answers_like_the_list_in_a_fixed_number_of_queries(api: Api) -> None:
    clock.set_now(dt.datetime(2026, 3, 30, 22, 15, tzinfo=dt.UTC))
    iccid = buy_and_pay(api, MONTH)["lines"][0]["iccid"]
    with CaptureQueriesContext(connection) as first:
        assert api.get(f"/api/v1/esims/{iccid}").status_code == 200
    # A renewal (queued period), a top-up bucket, usage and a cancelled period.
    clock.advance(dt.timedelta(days=3))
    buy_and_pay(api, MONTH, iccid=iccid)
    current = Period.objects.filter(subscription__esim__iccid=iccid, state="active").get()
    Allowance.objects.create(period=current, kind="data", source="top_up", total=1000)
    ingest(source="net", records=[{"id": "u1", "iccid": iccid, "kind": "data",
                                   "quantity": 12345, "occurred_at": clock.now().isoformat()}])
    Period.objects.create(subscription=current.subscription, sequence=99, plan=current.plan,
                          starts_at=current.starts_at, ends_at=current.ends_at,
                          state="cancelled")
    with CaptureQueriesContext(connection) as later:
        one = api.get(f"/api/v1/esims/{iccid}")
    assert one.status_code == 200
    assert len(later) == len(first)
    listed = api.get("/api/v1/esims").json()["items"]
    assert one.json() == listed[0]
    body = one.json()
    assert body["service"] == "active" and len(body["queued_periods"]) == 1
    data = body["current_period"]["allowances"][0]
    assert (data["kind"], data["total"], data["used"]) == ("data", 10 * 1024**3 + 1000, 12345)


def test_an_esim_without_periods_and_unknown_ones(api: Api, other_api: Api) -> None:
    clock.set_now(dt.datetime(2026, 3, 30, 22, 15, tzinfo=dt.UTC))
    iccid = buy_and_pay(api, MONTH)["lines"][0]["iccid"]
    assert other_api.get(f"/api/v1/esims/{iccid}").json()["code"] == "unknown_esim"
    assert api.get("/api/v1/esims/12345").status_code == 404
    padded = api.get(f"/api/v1/esims/{iccid}F")  # the SGP.22 pad is accepted
    assert padded.status_code == 200 and padded.json()["iccid"] == iccid
    Period.objects.filter(subscription__esim__iccid=iccid).update(state="cancelled")
    body = api.get(f"/api/v1/esims/{iccid}").json()
    assert (body["service"], body["current_period"], body["auto_renew"]) == (
        "none", None, False)
    assert body == api.get("/api/v1/esims").json()["items"][0]
