"""The staff page of usage records (/staff/usage/), which stands in for the admin list that
a composite primary key rules out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.esims.models import Esim
from esimdesk.usage.services import ingest


def _esim(customer: User) -> Esim:
    return Esim.objects.get(owner=customer)


def _record(esim: Esim, external_id: str, quantity: int, kind: str = "data") -> dict[str, Any]:
    # Within the plan's period, which starts when the order is fulfilled.
    starts = esim.subscription.periods.get().starts_at
    occurred = min(starts + dt.timedelta(seconds=30), clock.now())
    return {"id": external_id, "iccid": esim.iccid, "kind": kind, "quantity": quantity,
            "occurred_at": occurred.isoformat()}


def test_an_agent_finds_an_esims_records_newest_first_and_one_record_by_its_id(
        agent: Client, customer: User) -> None:
    esim = _esim(customer)
    result = ingest(source="network", records=[_record(esim, "cdr-1", 3 * 1024 * 1024),
                                               _record(esim, "cdr-2", 3, kind="sms")])
    assert (result.accepted, result.rejected) == (2, [])
    page = agent.get(f"/staff/usage/?iccid={esim.iccid}").content.decode()
    assert "cdr-1" in page and "cdr-2" in page and "3 MB" in page
    only_sms = agent.get(f"/staff/usage/?iccid={esim.iccid}&kind=sms").content.decode()
    assert "cdr-2" in only_sms and "cdr-1" not in only_sms
    one = agent.get("/staff/usage/?source=network&id=cdr-1").content.decode()
    assert "cdr-1" in one and "cdr-2" not in one
    # The customer page links to it.
    assert f"/staff/usage/?iccid={esim.iccid}" in agent.get(
        f"/staff/customers/{customer.pk}/").content.decode()


def test_bad_searches_are_explained_not_failed(agent: Client, customer: User) -> None:
    assert "not a valid ICCID" in agent.get("/staff/usage/?iccid=1234").content.decode()
    assert "No eSIM has that ICCID" in agent.get(
        "/staff/usage/?iccid=89990000000000000006").content.decode()
    assert "Give the source" in agent.get("/staff/usage/?id=cdr-1").content.decode()
    # With nothing to search for, nothing is listed (never the whole table).
    assert "No usage records found" not in agent.get("/staff/usage/").content.decode()


def test_only_staff_allowed_to_see_usage_reach_the_page(
        finance: Client, nobody: Client, customer: User) -> None:
    assert finance.get("/staff/usage/").status_code == 403
    assert nobody.get("/staff/usage/").status_code == 403
    assert Client().get("/staff/usage/").status_code == 302
