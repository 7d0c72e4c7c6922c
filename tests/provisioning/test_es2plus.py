"""The ES2+ adapter against a local SM-DP+, and the handleDownloadProgressInfo endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core.ids import eid_with_check_digits, iccid_with_check_digit
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.provisioning import registry
from esimdesk.provisioning.models import Es2Order, Es2PlanRecord, Es2ProgressNotification
from esimdesk.provisioning.suppliers.base import FinalUpstreamError, RetryableUpstreamError
from esimdesk.provisioning.suppliers.es2plus.adapter import Es2PlusProvider
from tests.provisioning.fake_es2plus import FakeSmdp, running

PROGRESS_URL = "/hooks/upstream/es2plus/gsma/rsp2/es2plus/handleDownloadProgressInfo"


def iccid(n: int) -> str:
    return iccid_with_check_digit(f"89990{n:013d}")


@pytest.fixture
def smdp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSmdp]:
    with running() as fake:
        fake.add(iccid(1), iccid(2))
        monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", fake.url)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_REQUESTER_ID", "esimdesk-test")
        monkeypatch.setenv("ESIMDESK_ES2PLUS_PROFILE_TYPE", "travel-data")
        yield fake


def provider() -> Es2PlusProvider:
    adapter = registry.get("es2plus")
    assert isinstance(adapter, Es2PlusProvider)
    adapter.timeout = 0.5
    return adapter


@pytest.mark.django_db
def test_order_profile_success(smdp: FakeSmdp) -> None:
    order = provider().order_profile(reference="ord-1", plan_code="EU-5GB")
    assert order.iccid == iccid(1)
    assert order.smdp_address == "smdp.fake.test"
    assert order.matching_id == smdp.profiles[iccid(1)].matching_id
    assert order.confirmation_code == ""
    assert smdp.profiles[iccid(1)].state == "Released"
    download = smdp.calls[0][1]
    assert download["profileType"] == "travel-data"
    assert "iccid" not in download  # no pool: the SM-DP+ chooses
    assert download["header"]["functionRequesterIdentifier"] == "esimdesk-test"
    confirm = smdp.calls[1][1]
    assert confirm == {**confirm, "iccid": iccid(1), "releaseFlag": True}
    # Same reference again: the stored result, no call at all.
    again = provider().order_profile(reference="ord-1", plan_code="EU-5GB")
    assert again == order
    assert len(smdp.calls) == 2


@pytest.mark.django_db
def test_smdp_address_falls_back_to_url_host(smdp: FakeSmdp) -> None:
    smdp.smdp_address = None
    assert provider().order_profile(reference="ord-1", plan_code="p").smdp_address == \
        "127.0.0.1"


@pytest.mark.django_db
def test_deterministic_function_call_identifier(smdp: FakeSmdp) -> None:
    smdp.fail_next("confirmOrder", "http500")
    with pytest.raises(RetryableUpstreamError):
        provider().order_profile(reference="ord-1", plan_code="p")
    provider().order_profile(reference="ord-1", plan_code="p")
    ids = [body["header"]["functionCallIdentifier"] for name, body in smdp.calls
           if name == "confirmOrder"]
    assert len(ids) == 2 and ids[0] == ids[1]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "data", "error", "code"), [
    ("failed", {"subjectCode": "8.1.1", "reasonCode": "3.8", "message": "EID refused"},
     FinalUpstreamError, "es2_8.1.1_3.8"),
    ("failed", {"subjectCode": "8.2.5", "reasonCode": "3.7"}, FinalUpstreamError,
     "es2_8.2.5_3.7"),
    ("failed", {"subjectCode": "8.1", "reasonCode": "4.2", "message": "Execution error"},
     RetryableUpstreamError, "es2_8.1_4.2"),
    ("expired", None, FinalUpstreamError, "es2_expired"),
    ("http500", None, RetryableUpstreamError, "es2_http_500"),
    ("hang", None, RetryableUpstreamError, "es2_timeout"),
    ("protocol", None, FinalUpstreamError, "es2_protocol"),
])
def test_failures_map_to_typed_errors(smdp: FakeSmdp, kind: str, data: Any,
                                      error: type[Exception], code: str) -> None:
    smdp.fail_next("downloadOrder", kind, data)
    with pytest.raises(error) as raised:
        provider().order_profile(reference="ord-1", plan_code="p")
    assert raised.value.code == code  # type: ignore[attr-defined]
    if data and data.get("message"):
        assert str(raised.value) == data["message"]


@pytest.mark.django_db
def test_warning_is_success(smdp: FakeSmdp, caplog: pytest.LogCaptureFixture) -> None:
    smdp.fail_next("downloadOrder", "warning",
                   {"subjectCode": "8.2.5", "reasonCode": "1.1", "message": "Low stock"})
    order = provider().order_profile(reference="ord-1", plan_code="p")
    assert order.iccid == iccid(1)
    assert "Low stock" in caplog.text


def test_connection_refused_is_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", "http://127.0.0.1:9")
    adapter = Es2PlusProvider()
    with pytest.raises(RetryableUpstreamError) as raised:
        adapter.call("releaseProfile", {"iccid": iccid(1)}, call_id="x")
    assert raised.value.code == "es2_connection"


def test_missing_url_is_refused_on_the_first_call_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESIMDESK_ES2PLUS_URL", raising=False)
    adapter = Es2PlusProvider()  # receiving progress notifications needs no URL
    with pytest.raises(FinalUpstreamError) as refused:
        adapter.call("releaseProfile", {"iccid": iccid(1)}, call_id="x")
    assert refused.value.code == "es2_misconfigured"


@pytest.mark.django_db
def test_retry_after_confirm_timeout_reuses_the_iccid(smdp: FakeSmdp) -> None:
    smdp.fail_next("confirmOrder", "hang")
    with pytest.raises(RetryableUpstreamError):
        provider().order_profile(reference="ord-1", plan_code="p")
    assert Es2Order.objects.get(reference="ord-1").state == "ordered"
    order = provider().order_profile(reference="ord-1", plan_code="p")
    assert order.iccid == iccid(1)
    assert smdp.allocations == 1 and smdp.called("downloadOrder") == 1
    assert smdp.profiles[iccid(2)].state == "Available"


@pytest.mark.django_db
def test_pool_iccids_and_f_pad(smdp: FakeSmdp, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    padded = iccid(3) + "F"
    smdp.add(padded)
    pool = tmp_path / "iccids.txt"
    pool.write_text(f"# pool\n{padded}\n{iccid(2)}\n")
    monkeypatch.setenv("ESIMDESK_ES2PLUS_ICCIDS", str(pool))
    first = provider().order_profile(reference="ord-1", plan_code="p")
    assert first.iccid == iccid(3)  # normalised: no F
    assert smdp.calls[0][1]["iccid"] == padded  # sent as the SM-DP+ spells it
    assert smdp.profiles[padded].state == "Released"
    second = provider().order_profile(reference="ord-2", plan_code="p")
    assert second.iccid == iccid(2)
    with pytest.raises(FinalUpstreamError) as raised:
        provider().order_profile(reference="ord-3", plan_code="p")
    assert raised.value.code == "es2_pool_exhausted"


@pytest.mark.django_db
def test_pool_retry_after_download_timeout(smdp: FakeSmdp, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    pool = tmp_path / "iccids.txt"
    pool.write_text(f"{iccid(2)}\n")
    monkeypatch.setenv("ESIMDESK_ES2PLUS_ICCIDS", str(pool))
    smdp.fail_next("downloadOrder", "hang")
    with pytest.raises(RetryableUpstreamError):
        provider().order_profile(reference="ord-1", plan_code="p")
    # The SM-DP+ did allocate it after all (the answer was lost).
    smdp.profiles[iccid(2)].state = "Allocated"
    order = provider().order_profile(reference="ord-1", plan_code="p")
    assert order.iccid == iccid(2)
    assert smdp.profiles[iccid(2)].state == "Released"


@pytest.mark.django_db
def test_cancel_and_release(smdp: FakeSmdp) -> None:
    adapter = provider()
    order = adapter.order_profile(reference="ord-1", plan_code="p")
    adapter.cancel_order(order.iccid)
    assert smdp.profiles[iccid(1)].state == "Available"
    assert Es2Order.objects.get(reference="ord-1").state == "cancelled"
    cancel = next(body for name, body in smdp.calls if name == "cancelOrder")
    assert cancel["finalProfileStatusIndicator"] == "Available"
    assert cancel["matchingId"] == order.matching_id
    with pytest.raises(FinalUpstreamError):
        adapter.order_profile(reference="ord-1", plan_code="p")
    smdp.profiles[iccid(2)].state = "Confirmed"
    adapter.release_profile(iccid(2))
    assert smdp.profiles[iccid(2)].state == "Released"
    with pytest.raises(FinalUpstreamError) as raised:
        adapter.release_profile(iccid(2))
    assert raised.value.code == "es2_8.2.1_3.3"


@pytest.mark.django_db
def test_plans_are_local_records(smdp: FakeSmdp) -> None:
    adapter = provider()
    first = adapter.apply_plan(reference="app-1", iccid=iccid(1), plan_code="EU-5GB")
    assert adapter.apply_plan(reference="app-1", iccid=iccid(1), plan_code="EU-5GB") == first
    adapter.end_plan(reference="end-1", iccid=iccid(1))
    adapter.end_plan(reference="end-1", iccid=iccid(1))
    assert list(Es2PlanRecord.objects.values_list("action", flat=True).order_by("pk")) == \
        ["apply", "end"]
    assert smdp.calls == []


# -- handleDownloadProgressInfo -------------------------------------------------------------


CALLBACK_TOKEN = "smdp-callback-token-4f1c9a"


@pytest.fixture
def es2_callbacks(db: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """ES2+ configured, with the bearer secret the SM-DP+ sends on its callbacks."""
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus", "simulator"]}
    monkeypatch.setenv("ESIMDESK_ES2PLUS_CALLBACK_TOKEN", CALLBACK_TOKEN)


@pytest.fixture
def esim(es2_callbacks: None) -> Esim:
    owner = User.objects.create_user("traveller@example.com", "correct-horse-battery-42")
    return esims.create_esim(owner=owner, iccid=iccid(1), smdp_address="smdp.fake.test",
                             matching_id="ABC-123", upstream="es2plus")


def notification(point: Any = 4, status: str = "Executed-Success", **extra: Any) -> dict[str, Any]:
    return {"header": {"functionRequesterIdentifier": "smdp", "functionCallIdentifier": "n1"},
            "iccid": iccid(1) + "F", "profileType": "travel-data",
            "timestamp": "2026-11-25T10:00:00Z", "notificationPointId": point,
            "notificationPointStatus": {"status": status}, **extra}


def post(body: Any, **extra: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    extra.setdefault("HTTP_AUTHORIZATION", f"Bearer {CALLBACK_TOKEN}")
    return Client().post(PROGRESS_URL, data=raw, content_type="application/json", **extra)


def test_installation_moves_esim_to_installed(esim: Esim) -> None:
    eid = eid_with_check_digits("89049032" + "0" * 22)
    response = post(notification(3))
    assert response.status_code == 204 and response.content == b""
    esim.refresh_from_db()
    assert esim.status == "ready"
    response = post(notification(4, eid=eid))
    assert response.status_code == 204 and response.content == b""
    esim.refresh_from_db()
    assert esim.status == "installed" and esim.installed_at is not None
    assert esim.eid == eid
    rows = list(Es2ProgressNotification.objects.order_by("pk"))
    assert [(r.point_id, r.outcome) for r in rows] == [(3, "recorded"), (4, "installed")]
    assert rows[1].esim == esim
    # A repeated notification is recorded again and changes nothing.
    assert post(notification(4)).status_code == 204


def test_failure_is_recorded(esim: Esim) -> None:
    body = notification(3, "Failed")
    body["notificationPointStatus"]["statusCodeData"] = {"subjectCode": "8.1",
                                                         "reasonCode": "4.2"}
    assert post(body).status_code == 204
    row = Es2ProgressNotification.objects.get()
    assert row.outcome == "failure" and row.status_code_data["reasonCode"] == "4.2"
    esim.refresh_from_db()
    assert esim.status == "ready"


def test_unknown_point_and_unknown_iccid(esim: Esim) -> None:
    assert post(notification(99)).status_code == 204
    assert post({**notification(4), "iccid": iccid(7)}).status_code == 204
    outcomes = list(Es2ProgressNotification.objects.order_by("pk")
                    .values_list("point_id", "outcome"))
    assert outcomes == [(99, "recorded"), (4, "unknown_iccid")]


@pytest.mark.parametrize("body", [
    b"not json",
    b"[]",
    {k: v for k, v in notification().items() if k != "header"},
    {k: v for k, v in notification().items() if k != "profileType"},
    {k: v for k, v in notification().items() if k != "notificationPointStatus"},
    {**notification(), "iccid": "123"},
    {**notification(), "timestamp": "yesterday"},
    {**notification(), "timestamp": "2026-11-25T10:00:00"},
    {**notification(), "notificationPointId": "four"},
    {**notification(), "eid": "1234"},
])
def test_malformed_is_400(es2_callbacks: None, body: Any) -> None:
    response = post(body)
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_notification"
    assert not Es2ProgressNotification.objects.exists()


def test_get_is_refused(es2_callbacks: None) -> None:
    assert Client().get(PROGRESS_URL).status_code == 405
