"""The eSIM Go adapter against a local fake of its API, and its signed callbacks."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.core.ids import iccid_with_check_digit, is_valid_iccid
from esimdesk.core.models import AuditEntry
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.provisioning.models import EsimGoOrder
from esimdesk.provisioning.suppliers.base import FinalUpstreamError, RetryableUpstreamError
from esimdesk.provisioning.suppliers.esimgo import adapter as esimgo
from esimdesk.provisioning.suppliers.esimgo.callbacks import SIGNATURE_HEADER, sign
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Allowance, Period
from esimdesk.usage.models import UsageEvent
from tests.builders import plan
from tests.provisioning.fake_esimgo import API_KEY, FakeEsimGo, running

pytestmark = pytest.mark.django_db
SECRET = "callback-secret"
URL = "/hooks/upstream/esimgo"
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
GB = 1_000_000_000
# A plan code in the shape the adapter names a bundle after (``bundle_for``).
PLAN_CODE = "jp-20gb-month"
BUNDLE = "esim_20GB_30D_JP_V2"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEsimGo]:
    server = FakeEsimGo()
    server.hang_seconds = 1.5
    monkeypatch.setattr(esimgo, "TIMEOUT", (1, 0.5))
    with running(server) as base:
        monkeypatch.setenv("ESIMDESK_ESIMGO_API_KEY", API_KEY)
        monkeypatch.setenv("ESIMDESK_ESIMGO_API_BASE", base)
        yield server


def posts(fake: FakeEsimGo) -> int:
    return sum(1 for method, path in fake.requests if (method, path) == ("POST", "/v2.5/orders"))


def test_bundle_names() -> None:
    assert esimgo.bundle_for(PLAN_CODE) == BUNDLE
    assert esimgo.bundle_for("eu-1gb-day") == "esim_1GB_1D_EU_V2"
    assert esimgo.bundle_for("esim_1GB_7D_NL_V2") == "esim_1GB_7D_NL_V2"
    with pytest.raises(FinalUpstreamError):
        esimgo.bundle_for("weird plan")


def test_order_new_esim_is_idempotent(fake: FakeEsimGo) -> None:
    provider = esimgo.EsimGoProvider()
    first = provider.order_profile(reference="ord-1", plan_code=PLAN_CODE)
    assert is_valid_iccid(first.iccid)
    assert first.smdp_address == "rsp.esim-go.example"
    assert first.upstream_reference == "ord-0001"
    assert fake.esims[first.iccid]["bundles"][0]["name"] == BUNDLE
    again = provider.order_profile(reference="ord-1", plan_code=PLAN_CODE)
    assert again == first
    assert posts(fake) == 1


def test_retry_after_timeout_recovers_the_same_order(fake: FakeEsimGo) -> None:
    provider = esimgo.EsimGoProvider()
    fake.fail = ["commit_then_hang"]
    with pytest.raises(RetryableUpstreamError):
        provider.order_profile(reference="ord-2", plan_code=PLAN_CODE)
    assert len(fake.orders) == 1  # eSIM Go did create it
    profile = provider.order_profile(reference="ord-2", plan_code=PLAN_CODE)
    assert len(fake.orders) == 1 and posts(fake) == 1
    assert profile.upstream_reference == fake.orders[0]["orderReference"]


def test_retry_after_a_request_that_never_arrived_orders_once(fake: FakeEsimGo) -> None:
    provider = esimgo.EsimGoProvider()
    fake.fail = [503]
    with pytest.raises(RetryableUpstreamError):
        provider.order_profile(reference="ord-3", plan_code=PLAN_CODE)
    profile = provider.order_profile(reference="ord-3", plan_code=PLAN_CODE)
    assert len(fake.orders) == 1
    assert profile.iccid in fake.esims


def test_apply_plan_to_existing_esim(fake: FakeEsimGo) -> None:
    provider = esimgo.EsimGoProvider()
    profile = provider.order_profile(reference="ord-4", plan_code=PLAN_CODE)
    applied = provider.apply_plan(reference="renew-4", iccid=profile.iccid,
                                  plan_code=PLAN_CODE)
    assert applied.iccid == profile.iccid and applied.upstream_reference == "ord-0002"
    provider.apply_plan(reference="renew-4", iccid=profile.iccid, plan_code=PLAN_CODE)
    assert len(fake.orders) == 2
    assert len(fake.esims[profile.iccid]["bundles"]) == 2
    assert fake.orders[1]["order"][0]["iccids"] == [profile.iccid]
    # timed out after eSIM Go applied it: the retry finds that order
    fake.fail = ["commit_then_hang"]
    with pytest.raises(RetryableUpstreamError):
        provider.apply_plan(reference="renew-5", iccid=profile.iccid, plan_code=PLAN_CODE)
    provider.apply_plan(reference="renew-5", iccid=profile.iccid, plan_code=PLAN_CODE)
    assert len(fake.orders) == 3
    fake.esims[profile.iccid]["bundles"][0]["remainingQuantity"] = 400_000_000
    assert provider.balance(profile.iccid) == 600_000_000


def test_missing_luhn_digit_is_added_and_audited(fake: FakeEsimGo) -> None:
    fake.luhn = False
    profile = esimgo.EsimGoProvider().order_profile(reference="ord-6", plan_code=PLAN_CODE)
    assert len(profile.iccid) == 19 and is_valid_iccid(profile.iccid)
    row = EsimGoOrder.objects.get(reference="ord-6")
    entry = AuditEntry.objects.get(action="esimgo.iccid_normalised", object_id=str(row.pk))
    assert entry.after == {"iccid": profile.iccid}


@pytest.mark.parametrize(("mode", "error"), [
    (500, RetryableUpstreamError), (429, RetryableUpstreamError),
    ("hang", RetryableUpstreamError), (400, FinalUpstreamError)])
def test_errors_are_typed(fake: FakeEsimGo, mode: Any, error: type[Exception]) -> None:
    fake.fail = [mode]
    with pytest.raises(error) as raised:
        esimgo.EsimGoProvider().order_profile(reference=f"ord-e-{mode}", plan_code=PLAN_CODE)
    if mode == 400:
        assert "fake error 400" in str(raised.value)


def test_unknown_iccid_and_bad_key_are_final(fake: FakeEsimGo,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FinalUpstreamError, match="not found"):
        esimgo.EsimGoProvider().apply_plan(reference="x", iccid="8944000000000099999",
                                           plan_code=PLAN_CODE)
    monkeypatch.setenv("ESIMDESK_ESIMGO_API_KEY", "wrong")
    with pytest.raises(FinalUpstreamError, match="Invalid API key"):
        esimgo.EsimGoProvider().order_profile(reference="y", plan_code=PLAN_CODE)


# -- callbacks ---------------------------------------------------------------------------

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
    bought = plan(code=PLAN_CODE, unit="month", data_gb=20, usd=1999)
    period = subscriptions.subscribe_esim(esim=esim, plan=bought)
    Allowance.objects.filter(period=period, kind="data").update(total=GB)
    clock.set_now(START + dt.timedelta(hours=1))
    return esim, period


def callback(event: dict[str, Any], signature: str | None = None) -> Any:
    body = json.dumps(event).encode()
    header = sign(body, SECRET) if signature is None else signature
    return Client().post(URL, data=body, content_type="application/json",
                         headers={SIGNATURE_HEADER: header})


def utilisation(iccid: str, remaining: int) -> dict[str, Any]:
    return {"iccid": iccid, "alertType": "Utilisation",
            "bundle": {"reference": "b-1", "name": BUNDLE,
                       "initialQuantity": GB, "remainingQuantity": remaining}}


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


def test_bad_signature_stores_nothing(subscribed: tuple[Esim, Period]) -> None:
    esim, period = subscribed
    response = callback(utilisation(esim.iccid, 0), signature=sign(b"other", SECRET))
    assert response.status_code == 400 and response.json()["code"] == "bad_signature"
    assert callback(utilisation(esim.iccid, 0), signature="").status_code == 400
    assert not UsageEvent.objects.exists() and used(period) == 0


def test_status_callbacks_move_the_esim(subscribed: tuple[Esim, Period]) -> None:
    esim, _ = subscribed
    assert callback({"iccid": esim.iccid, "alertType": "ProfileStatus",
                     "profileStatus": "Installed"}).json()["status"] == "installed"
    assert callback({"iccid": esim.iccid, "alertType": "FirstUse"}).json()["status"] == "in_use"
    callback({"iccid": esim.iccid, "alertType": "ProfileStatus", "profileStatus": "Downloaded"})
    callback({"iccid": esim.iccid, "alertType": "ProfileStatus", "profileStatus": "Deleted"})
    esim.refresh_from_db()
    assert esim.status == Esim.Status.IN_USE
    assert AuditEntry.objects.filter(action="esim.upstream_deleted").count() == 1


def test_unknown_events_are_ignored(subscribed: tuple[Esim, Period]) -> None:
    esim, _ = subscribed
    response = callback({"iccid": esim.iccid, "alertType": "SomethingNew"})
    assert response.status_code == 200 and response.json() == {"ignored": True}
