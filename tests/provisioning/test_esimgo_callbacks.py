"""eSIM Go's signed callbacks through ``/hooks/upstream/esimgo``: usage charged once whatever
the order, replays and late reports; statuses that never move an eSIM backwards; the
signature eSIM Go really sends (the API key, base64 or hex)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.core.ids import iccid_with_check_digit
from esimdesk.core.models import AuditEntry
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.provisioning.suppliers.esimgo.callbacks import SIGNATURE_HEADER, sign
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Allowance, Period
from esimdesk.usage.models import UsageEvent
from tests.builders import plan

pytestmark = pytest.mark.django_db
SECRET = "callback-secret"
URL = "/hooks/upstream/esimgo"
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
GB = 1_000_000_000
BUNDLE = "esim_20GB_30D_JP_V2"


@pytest.fixture
def subscribed(db: None, monkeypatch: pytest.MonkeyPatch,
               settings: Any) -> tuple[Esim, Period]:
    # Its callback route answers only while eSIM Go is a configured supplier.
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["simulator", "esimgo"]}
    monkeypatch.setenv("ESIMDESK_ESIMGO_CALLBACK_SECRET", SECRET)
    clock.set_now(START)
    user = User.objects.create_user("go@example.com", "x-long-password-1")
    esim = esims.create_esim(owner=user, iccid=iccid_with_check_digit("894400000000000001"),
                             smdp_address="rsp.esim-go.example", matching_id="M-1",
                             upstream="esimgo")
    bought = plan(code="jp-20gb-month", unit="month", data_gb=20, usd=1999)
    period = subscriptions.subscribe_esim(esim=esim, plan=bought)
    Allowance.objects.filter(period=period, kind="data").update(total=GB)
    clock.set_now(START + dt.timedelta(hours=1))
    return esim, period


def callback(event: dict[str, Any], signature: str | None = None) -> Any:
    body = json.dumps(event).encode()
    header = sign(body, SECRET) if signature is None else signature
    return Client().post(URL, data=body, content_type="application/json",
                         headers={SIGNATURE_HEADER: header})


def utilisation(iccid: str, remaining: Any, *, reference: str = "b-1",
                **bundle: Any) -> dict[str, Any]:
    return {"iccid": iccid, "alertType": "Utilisation",
            "bundle": {"id": "7", "reference": reference, "name": BUNDLE,
                       "initialQuantity": GB, "remainingQuantity": remaining, **bundle}}


def status(iccid: str, word: str) -> dict[str, Any]:
    return {"iccid": iccid, "alertType": "ProfileStatus", "profileStatus": word}


def used(period: Period) -> int:
    return Allowance.objects.get(period=period, kind="data", source="plan").used


def test_usage_callback_charges_the_allowance_once(subscribed: tuple[Esim, Period]) -> None:
    esim, period = subscribed
    response = callback(utilisation(esim.iccid, GB // 2))
    assert response.status_code == 200 and response.json()["accepted"] == 1
    assert used(period) == GB // 2
    assert callback(utilisation(esim.iccid, GB // 2)).status_code == 200  # replay
    assert used(period) == GB // 2
    callback(utilisation(esim.iccid, GB // 5))  # 80 % used
    assert used(period) == GB * 4 // 5
    callback(utilisation(esim.iccid, GB // 2))  # a late, older event adds nothing
    assert used(period) == GB * 4 // 5
    assert UsageEvent.objects.filter(source="esimgo").count() == 2


def test_out_of_order_usage_never_charges_twice(subscribed: tuple[Esim, Period]) -> None:
    esim, period = subscribed
    # 100 % arrives first, then the 1 %, 50 % and 80 % alerts it overtook, then replays.
    for remaining in (0, GB * 99 // 100, GB // 2, GB // 5, 0, GB // 2):
        assert callback(utilisation(esim.iccid, remaining)).status_code == 200
    assert used(period) == GB
    assert UsageEvent.objects.filter(source="esimgo").count() == 1


def test_each_bundle_assignment_is_its_own_running_total(
        subscribed: tuple[Esim, Period]) -> None:
    esim, _ = subscribed
    callback(utilisation(esim.iccid, GB // 2, reference="b-1"))
    # The same bundle bought again (a renewal) starts from nothing used.
    callback(utilisation(esim.iccid, GB * 9 // 10, reference="b-2"))
    assert UsageEvent.objects.filter(source="esimgo").count() == 2
    assert sum(UsageEvent.objects.values_list("quantity", flat=True)) == GB * 6 // 10


def test_quantities_as_eSIM_Go_writes_them(subscribed: tuple[Esim, Period]) -> None:
    esim, period = subscribed
    assert callback(utilisation(esim.iccid, "600000000.0")).status_code == 200
    assert used(period) == 400_000_000
    # Unlimited bundles report nothing meaningful: no usage is made up from them.
    assert callback(utilisation(esim.iccid, 0, reference="b-u", unlimited=True)).json() == {
        "ignored": True}
    for garbage in ("lots", None, True, [], "NaN", 1e30):
        response = callback(utilisation(esim.iccid, garbage, reference="b-g"))
        assert response.status_code == 400 and response.json()["code"] == "malformed_event"
    assert used(period) == 400_000_000
    # Used beyond the bundle (remaining below zero): the whole bundle, no more.
    callback(utilisation(esim.iccid, -5, reference="b-1"))
    assert used(period) == GB


def test_statuses_never_move_an_esim_backwards(subscribed: tuple[Esim, Period]) -> None:
    esim, _ = subscribed
    assert callback(status(esim.iccid, "Installed")).json()["status"] == "installed"
    assert callback({"iccid": esim.iccid, "alertType": "FirstUse"}).json()["status"] == "in_use"
    for late in ("Downloaded", "Installed", "Enabled", "Installed"):
        callback(status(esim.iccid, late))  # late and duplicated
    callback({"iccid": esim.iccid, "alertType": "FirstUse"})
    callback(status(esim.iccid, "Deleted"))
    callback(status(esim.iccid, "Deleted"))
    esim.refresh_from_db()
    assert esim.status == Esim.Status.IN_USE
    assert AuditEntry.objects.filter(action="esim.upstream_deleted").count() == 1


def test_a_first_use_before_the_install_report_still_ends_in_use(
        subscribed: tuple[Esim, Period]) -> None:
    esim, _ = subscribed
    callback({"iccid": esim.iccid, "alertType": "FirstUse", "bundle": {
        "name": BUNDLE, "initialQuantity": GB, "remainingQuantity": GB}})
    callback(status(esim.iccid, "Installed"))  # the install report, overtaken
    esim.refresh_from_db()
    assert esim.status == Esim.Status.IN_USE


def test_bad_signature_stores_nothing(subscribed: tuple[Esim, Period]) -> None:
    esim, period = subscribed
    response = callback(utilisation(esim.iccid, 0), signature=sign(b"other", SECRET))
    assert response.status_code == 400 and response.json()["code"] == "bad_signature"
    assert callback(utilisation(esim.iccid, 0), signature="").status_code == 400
    assert not UsageEvent.objects.exists() and used(period) == 0


def test_eSIM_Go_signs_with_the_api_key_in_base64_or_hex(
        subscribed: tuple[Esim, Period], monkeypatch: pytest.MonkeyPatch) -> None:
    esim, period = subscribed
    monkeypatch.setenv("ESIMDESK_ESIMGO_CALLBACK_SECRET", "")
    monkeypatch.setenv("ESIMDESK_ESIMGO_API_KEY", "the-api-key")
    event = utilisation(esim.iccid, GB // 2)
    body = json.dumps(event).encode()
    hexed = hmac.new(b"the-api-key", body, hashlib.sha256).hexdigest()
    assert callback(event, signature=sign(body, SECRET)).status_code == 400
    assert callback(event, signature=hexed.upper()).status_code == 200
    assert callback(event, signature=sign(body, "the-api-key")).status_code == 200  # replay
    assert used(period) == GB // 2
    monkeypatch.setenv("ESIMDESK_ESIMGO_API_KEY", "")  # no key at all: nothing is trusted
    assert callback(event, signature=sign(body, "")).status_code == 400


def test_unknown_events_are_ignored(subscribed: tuple[Esim, Period]) -> None:
    esim, _ = subscribed
    for event in ({"iccid": esim.iccid, "alertType": "SomethingNew"},
                  {"alertType": "LowBalance", "balanceInfo": {"balance": 12.5}},
                  {"iccid": 8944538532008160000, "alertType": "FirstUse"}):
        response = callback(event)
        assert response.status_code == 200 and response.json() == {"ignored": True}
