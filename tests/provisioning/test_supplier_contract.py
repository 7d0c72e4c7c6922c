"""The supplier contract beyond ordering: suspend, resume, revoke (idempotent on the
reference), authenticate_callback and parse_callback (typed events), for every adapter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from esimdesk.core.ids import iccid_with_check_digit
from esimdesk.provisioning.models import Es2Order, Es2PlanRecord
from esimdesk.provisioning.suppliers.base import (
    FinalUpstreamError,
    InvalidCallback,
    PlanApplication,
    ProfileOrder,
    ProfileStatus,
    ProfileStatusEvent,
    UpstreamProvider,
    UsageRecord,
)
from esimdesk.provisioning.suppliers.es2plus.adapter import Es2PlusProvider
from esimdesk.provisioning.suppliers.esimgo.adapter import EsimGoProvider, callback_signature
from esimdesk.sandbox.models import SimulatedProfile
from esimdesk.sandbox.simulator import SIGNATURE_HEADER, SimulatorProvider, sign
from tests.builders import DAY
from tests.provisioning.fake_es2plus import FakeSmdp
from tests.provisioning.fake_es2plus import running as smdp_running
from tests.provisioning.fake_esimgo import API_KEY, FakeEsimGo
from tests.provisioning.fake_esimgo import running as esimgo_running

pytestmark = pytest.mark.django_db


class Minimal(UpstreamProvider):
    name = "minimal"

    def order_profile(self, *, reference: str, plan_code: str) -> ProfileOrder:
        return ProfileOrder(iccid="", smdp_address="", matching_id="")

    def apply_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        return PlanApplication(iccid=iccid, plan_code=plan_code, upstream_reference="")


def test_the_base_refuses_what_an_adapter_does_not_offer() -> None:
    adapter = Minimal()
    for call in (adapter.suspend, adapter.resume, adapter.revoke):
        with pytest.raises(FinalUpstreamError) as refused:
            call(reference="x", iccid="8999")
        assert refused.value.code == "not_supported" and not refused.value.retryable
    with pytest.raises(InvalidCallback):
        adapter.authenticate_callback(body=b"{}", headers={}, remote_addr="127.0.0.1")
    with pytest.raises(InvalidCallback):
        adapter.parse_callback(body=b"{}", headers={})


# -- simulator ------------------------------------------------------------------------------

@pytest.fixture
def simulated() -> tuple[SimulatorProvider, str]:
    simulator = SimulatorProvider()
    return simulator, simulator.order_profile(reference="line-1", plan_code=DAY).iccid


def _profile(iccid: str) -> SimulatedProfile:
    return SimulatedProfile.objects.get(iccid=iccid)


def test_simulator_suspend_and_resume(simulated: tuple[SimulatorProvider, str]) -> None:
    simulator, iccid = simulated
    simulator.suspend(reference="s-1", iccid=iccid)
    simulator.suspend(reference="s-1", iccid=iccid)  # a retry
    assert _profile(iccid).suspended
    simulator.resume(reference="r-1", iccid=iccid)
    assert not _profile(iccid).suspended
    # A retried suspend after the resume is the old request: it must not suspend again.
    simulator.suspend(reference="s-1", iccid=iccid)
    assert not _profile(iccid).suspended
    with pytest.raises(FinalUpstreamError) as reused:
        simulator.resume(reference="s-1", iccid=iccid)
    assert reused.value.code == "reference_reused"


def test_simulator_revoke_before_download_cancels(
        simulated: tuple[SimulatorProvider, str]) -> None:
    simulator, iccid = simulated
    simulator.revoke(reference="v-1", iccid=iccid)
    simulator.revoke(reference="v-1", iccid=iccid)
    simulator.revoke(reference="v-2", iccid=iccid)  # revoking a revoked profile succeeds
    profile = _profile(iccid)
    assert profile.state == "cancelled" and profile.revoked_at is not None
    assert profile.status == "revoked"
    for call in (lambda: simulator.resume(reference="r-1", iccid=iccid),
                 lambda: simulator.apply_plan(reference="a-1", iccid=iccid, plan_code="p")):
        with pytest.raises(FinalUpstreamError) as refused:
            call()
        assert refused.value.code == "profile_revoked"


def test_simulator_revoke_after_download_deletes(
        simulated: tuple[SimulatorProvider, str]) -> None:
    simulator, iccid = simulated
    SimulatedProfile.objects.filter(iccid=iccid).update(state="installed")
    simulator.revoke(reference="v-1", iccid=iccid)
    assert _profile(iccid).state == "deleted"


def test_simulator_unknown_iccid_is_final() -> None:
    with pytest.raises(FinalUpstreamError) as unknown:
        SimulatorProvider().suspend(reference="s-1",
                                    iccid=iccid_with_check_digit("8999" * 4 + "00"))
    assert unknown.value.code == "unknown_iccid"


def test_simulator_parse_callback(simulated: tuple[SimulatorProvider, str]) -> None:
    simulator, iccid = simulated
    body = json.dumps({
        "records": [{"id": "u-1", "iccid": iccid, "kind": "data", "quantity": 5,
                     "occurred_at": "2026-11-25T10:00:00+00:00"}],
        "events": [{"id": "e-1", "iccid": iccid, "status": "installed",
                    "occurred_at": "2026-11-25T10:00:00Z"}]}).encode()
    simulator.authenticate_callback(body=body, headers={"x-simulator-signature": sign(body)},
                                    remote_addr="")
    events = simulator.parse_callback(body=body, headers={})
    assert [type(e) for e in events] == [UsageRecord, ProfileStatusEvent]
    assert events[0] == UsageRecord(record_id="u-1", iccid=iccid, kind="data", quantity=5,
                                    occurred_at=events[0].occurred_at)
    status = events[1]
    assert isinstance(status, ProfileStatusEvent)
    assert (status.event_id, status.status) == ("e-1", ProfileStatus.INSTALLED)
    for headers in ({}, {SIGNATURE_HEADER: sign(body + b" ")}, {SIGNATURE_HEADER: "é"}):
        with pytest.raises(InvalidCallback) as refused:
            simulator.authenticate_callback(body=body, headers=headers, remote_addr="")
        assert refused.value.code == "bad_signature"
    for bad in (b"[]", b'{"events": [{"id": "e", "iccid": "1", "status": "exploded", '
                b'"occurred_at": "2026-11-25T10:00:00Z"}]}', b'{"records": [{"id": "u"}]}',
                b"[" * 100_000):
        with pytest.raises(InvalidCallback) as malformed:
            simulator.parse_callback(body=bad, headers={})
        assert malformed.value.code == "malformed_event"


# -- ES2+ -----------------------------------------------------------------------------------

@pytest.fixture
def smdp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSmdp]:
    with smdp_running() as fake:
        fake.add(iccid_with_check_digit("899900000000000001"),
                 iccid_with_check_digit("899900000000000002"))
        monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", fake.url)
        yield fake


def _es2() -> Es2PlusProvider:
    adapter = Es2PlusProvider()
    adapter.timeout = 0.5
    return adapter


def test_es2plus_has_no_suspend_or_resume(smdp: FakeSmdp) -> None:
    for call in (_es2().suspend, _es2().resume):
        with pytest.raises(FinalUpstreamError) as refused:
            call(reference="s", iccid=iccid_with_check_digit("899900000000000001"))
        assert refused.value.code == "not_supported"
    assert smdp.calls == []


def test_es2plus_revoke_before_download_cancels_for_good(smdp: FakeSmdp) -> None:
    adapter = _es2()
    order = adapter.order_profile(reference="line-1", plan_code="p")
    adapter.revoke(reference="v-1", iccid=order.iccid)
    adapter.revoke(reference="v-1", iccid=order.iccid)  # retried: nothing sent again
    assert smdp.called("cancelOrder") == 1
    cancel = next(body for name, body in smdp.calls if name == "cancelOrder")
    assert cancel["finalProfileStatusIndicator"] == "Unavailable"
    assert smdp.profiles[order.iccid].state == "Unavailable"
    assert Es2Order.objects.get(reference="line-1").state == "cancelled"


def test_es2plus_revoke_after_download_is_barred_in_the_network(smdp: FakeSmdp) -> None:
    adapter = _es2()
    order = adapter.order_profile(reference="line-1", plan_code="p")
    smdp.fail_next("cancelOrder", "failed", {"subjectCode": "8.2.1", "reasonCode": "3.5",
                                             "message": "Invalid transition"})
    adapter.revoke(reference="v-1", iccid=order.iccid)
    assert Es2Order.objects.get(reference="line-1").state == "revoked"
    assert Es2PlanRecord.objects.get(reference="v-1").action == "revoke"


def test_es2plus_revoke_refused_for_another_reason_is_an_error(smdp: FakeSmdp) -> None:
    adapter = _es2()
    order = adapter.order_profile(reference="line-1", plan_code="p")
    smdp.fail_next("cancelOrder", "failed", {"subjectCode": "8.1.1", "reasonCode": "3.8"})
    with pytest.raises(FinalUpstreamError):
        adapter.revoke(reference="v-1", iccid=order.iccid)
    adapter.revoke(reference="v-1", iccid=order.iccid)  # the retry is sent, and succeeds
    assert smdp.called("cancelOrder") == 2
    assert Es2Order.objects.get(reference="line-1").state == "cancelled"


def _progress(point: int, status: str = "Executed-Success") -> bytes:
    return json.dumps({
        "header": {"functionRequesterIdentifier": "smdp", "functionCallIdentifier": "n1"},
        "iccid": iccid_with_check_digit("899900000000000001") + "F", "profileType": "t",
        "timestamp": "2026-11-25T10:00:00Z", "notificationPointId": point,
        "notificationPointStatus": {"status": status}}).encode()


def test_es2plus_parse_callback(smdp: FakeSmdp) -> None:
    adapter = _es2()
    [installed] = adapter.parse_callback(body=_progress(4), headers={})
    assert isinstance(installed, ProfileStatusEvent)
    assert installed.status == ProfileStatus.INSTALLED
    assert installed.iccid == iccid_with_check_digit("899900000000000001")
    [downloaded] = adapter.parse_callback(body=_progress(3), headers={})
    assert isinstance(downloaded, ProfileStatusEvent)
    assert downloaded.status == ProfileStatus.DOWNLOADED
    assert downloaded.event_id != installed.event_id
    assert adapter.parse_callback(body=_progress(1), headers={}) == []
    [failed] = adapter.parse_callback(body=_progress(4, "Failed"), headers={})
    assert isinstance(failed, ProfileStatusEvent) and failed.status == ProfileStatus.FAILED
    with pytest.raises(InvalidCallback):
        adapter.parse_callback(body=b'{"header": {}}', headers={})


# -- eSIM Go --------------------------------------------------------------------------------

GO_PLAN = "jp-20gb-month"  # a plan code eSIM Go's bundle naming understands (bundle_for)

@pytest.fixture
def go(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEsimGo]:
    server = FakeEsimGo()
    monkeypatch.setenv("ESIMDESK_ESIMGO_TIMEOUT_SECONDS", "1")
    with esimgo_running(server) as base:
        monkeypatch.setenv("ESIMDESK_ESIMGO_API_KEY", API_KEY)
        monkeypatch.setenv("ESIMDESK_ESIMGO_API_BASE", base)
        monkeypatch.setenv("ESIMDESK_ESIMGO_CALLBACK_SECRET", "cb-secret")
        yield server


def test_esimgo_suspend_resume_and_revoke(go: FakeEsimGo) -> None:
    adapter = EsimGoProvider()
    iccid = adapter.order_profile(reference="line-1", plan_code=GO_PLAN).iccid
    adapter.apply_plan(reference="renew-1", iccid=iccid, plan_code=GO_PLAN)
    adapter.suspend(reference="s-1", iccid=iccid)
    assert go.esims[iccid]["suspended"] is True
    adapter.resume(reference="r-1", iccid=iccid)
    assert go.esims[iccid]["suspended"] is False
    assert len(go.esims[iccid]["bundles"]) == 2
    adapter.revoke(reference="v-1", iccid=iccid)
    assert go.esims[iccid]["bundles"] == [] and go.esims[iccid]["suspended"] is True
    sent = len(go.requests)
    adapter.revoke(reference="v-1", iccid=iccid)
    adapter.suspend(reference="s-1", iccid=iccid)
    assert len(go.requests) == sent  # done before: not sent again
    with pytest.raises(FinalUpstreamError) as reused:
        adapter.suspend(reference="v-1", iccid=iccid)
    assert reused.value.code == "reference_reused"


def test_esimgo_needs_its_key_only_to_call_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ESIMGO_API_KEY", "")
    with pytest.raises(FinalUpstreamError) as refused:
        EsimGoProvider().suspend(reference="s-1", iccid="8944000000000000001")
    assert refused.value.code == "esimgo_misconfigured"


def _go_event(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    return body, {"X-Signature-SHA256": callback_signature(body, "cb-secret")}


def test_esimgo_parse_callback(go: FakeEsimGo) -> None:
    adapter = EsimGoProvider()
    iccid = iccid_with_check_digit("894400000000000001")
    body, headers = _go_event({"iccid": iccid, "alertType": "Utilisation", "bundle": {
        "reference": "b-1", "initialQuantity": 1000, "remainingQuantity": 400}})
    [usage] = adapter.parse_callback(body=body, headers=headers)
    assert usage == UsageRecord(record_id=f"esimgo:{iccid}:b-1:600", iccid=iccid, kind="data",
                                quantity=600, running_total_key=f"esimgo:{iccid}:b-1:")
    body, headers = _go_event({"iccid": iccid, "alertType": "ProfileStatus",
                               "profileStatus": "Deleted"})
    [deleted] = adapter.parse_callback(body=body, headers=headers)
    assert isinstance(deleted, ProfileStatusEvent)
    assert (deleted.event_id, deleted.status) == (f"esimgo:{iccid}:deleted", "deleted")
    body, headers = _go_event({"iccid": iccid, "alertType": "FirstUse"})
    [first] = adapter.parse_callback(body=body, headers=headers)
    assert isinstance(first, ProfileStatusEvent) and first.status == ProfileStatus.FIRST_USE
    body, headers = _go_event({"iccid": iccid, "alertType": "Expiry"})
    assert adapter.parse_callback(body=body, headers=headers) == []
    adapter.authenticate_callback(body=body, headers=headers, remote_addr="192.0.2.1")
    for bad in ({"X-Signature-SHA256": "bm9wZQ=="}, {}, {"X-Signature-SHA256": "é"}):
        with pytest.raises(InvalidCallback) as refused:
            adapter.authenticate_callback(body=body, headers=bad, remote_addr="192.0.2.1")
        assert refused.value.code == "bad_signature"
    with pytest.raises(InvalidCallback) as malformed:
        adapter.parse_callback(body=b"[" * 100_000, headers={})
    assert malformed.value.code == "malformed_event"
