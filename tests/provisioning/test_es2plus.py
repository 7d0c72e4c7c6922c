"""The ES2+ adapter against a local SM-DP+ (plain HTTP here; mutual TLS, the connection check
and ``esimdesk check`` in test_es2plus_tls.py, notifications in test_es2plus_callbacks.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from esimdesk.accounts.models import User
from esimdesk.catalog.bundles import suppliers_for
from esimdesk.console.alerts import alerts_sweep, describe
from esimdesk.console.models import Alert
from esimdesk.core.ids import eid_with_check_digits, iccid_with_check_digit
from esimdesk.core.models import AuditEntry
from esimdesk.notifications.models import Notification
from esimdesk.provisioning import registry
from esimdesk.provisioning.models import Es2Order, Es2PlanRecord, Es2UnknownDownload
from esimdesk.provisioning.suppliers.base import FinalUpstreamError, RetryableUpstreamError
from esimdesk.provisioning.suppliers.es2plus import reconcile
from esimdesk.provisioning.suppliers.es2plus.adapter import Es2PlusProvider
from esimdesk.provisioning.suppliers.es2plus.transport import OutcomeUnknown
from tests import builders
from tests.provisioning.fake_es2plus import FakeSmdp, running


def iccid(n: int) -> str:
    return iccid_with_check_digit(f"89990{n:013d}")


@pytest.fixture
def smdp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSmdp]:
    with running() as fake:
        fake.add(iccid(1), iccid(2))
        monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", fake.url)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_REQUESTER_ID", "esimdesk-test")
        monkeypatch.setenv("ESIMDESK_ES2PLUS_PROFILE_TYPE", "travel-data")
        monkeypatch.setenv("ESIMDESK_ES2PLUS_SMDP_ADDRESS", "")
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
    assert download["profileType"] == "travel-data"  # no bundle: the global fallback
    assert "iccid" not in download and "eid" not in download  # no pool, no EID known
    assert download["header"]["functionRequesterIdentifier"] == "esimdesk-test"
    confirm = smdp.calls[1][1]
    assert confirm == {**confirm, "iccid": iccid(1), "releaseFlag": True}
    assert not {"eid", "matchingId", "confirmationCode", "smdsAddress"} & set(confirm)
    assert all(headers["X-Admin-Protocol"] == "gsma/rsp/v2.5.0" and
               headers["Content-Type"] == "application/json" for headers in smdp.requests)
    stored = Es2Order.objects.get(reference="ord-1")
    assert stored.download_call_id == download["header"]["functionCallIdentifier"]
    # Same reference again: the stored result, no call at all.
    again = provider().order_profile(reference="ord-1", plan_code="EU-5GB")
    assert again == order
    assert len(smdp.calls) == 2


@pytest.mark.django_db
def test_function_call_identifier_is_fresh_on_every_call(smdp: FakeSmdp) -> None:
    smdp.fail_next("confirmOrder", "http500")
    with pytest.raises(RetryableUpstreamError):
        provider().order_profile(reference="ord-1", plan_code="p")
    provider().order_profile(reference="ord-1", plan_code="p")
    ids = [body["header"]["functionCallIdentifier"] for _, body in smdp.calls]
    assert len(ids) == 3 and len(set(ids)) == 3
    # Idempotency lives in Es2Order: the retry confirmed the first ICCID, allocated nothing.
    assert smdp.allocations == 1 and smdp.called("downloadOrder") == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "data", "error", "code"), [
    ("failed", {"subjectCode": "8.1.1", "reasonCode": "3.8", "message": "EID refused"},
     FinalUpstreamError, "es2_8.1.1_3.8"),
    ("failed", {"subjectCode": "8.2.5", "reasonCode": "3.7"}, FinalUpstreamError,
     "es2_8.2.5_3.7"),
    ("failed", {"subjectCode": "8.1", "reasonCode": "4.2", "message": "Execution error"},
     RetryableUpstreamError, "es2_8.1_4.2"),
    ("failed", None, FinalUpstreamError, "es2_failed"),  # no statusCodeData at all
    ("failed", {"message": "refused"}, FinalUpstreamError, "es2_failed"),
    ("expired", None, FinalUpstreamError, "es2_expired"),
    ("http500", None, OutcomeUnknown, "es2_http_500"),
    ("hang", None, OutcomeUnknown, "es2_timeout"),
    ("slow", None, OutcomeUnknown, "es2_timeout"),
    ("drop", None, OutcomeUnknown, "es2_connection_lost"),
    ("garbage", None, OutcomeUnknown, "es2_bad_answer"),
    ("deep", None, OutcomeUnknown, "es2_bad_answer"),
    ("protocol", None, FinalUpstreamError, "es2_protocol"),
    ("html", None, FinalUpstreamError, "es2_protocol"),  # not an SM-DP+ answering
])
def test_failures_map_to_typed_errors(smdp: FakeSmdp, kind: str, data: Any,
                                      error: type[Exception], code: str) -> None:
    smdp.fail_next("downloadOrder", kind, data)
    with pytest.raises(error) as raised:
        provider().order_profile(reference="ord-1", plan_code="p")
    assert raised.value.code == code  # type: ignore[attr-defined]
    assert "es2__" not in str(raised.value)
    if data and data.get("message"):
        assert str(raised.value) == data["message"]


@pytest.mark.django_db
def test_an_answer_without_x_admin_protocol_is_read_when_it_is_es2(
        smdp: FakeSmdp, caplog: pytest.LogCaptureFixture) -> None:
    smdp.fail_next("downloadOrder", "bare")
    assert provider().order_profile(reference="ord-1", plan_code="p").iccid == iccid(1)
    assert "without X-Admin-Protocol" in caplog.text


@pytest.mark.django_db
def test_a_wrong_path_is_a_final_404_naming_the_setting(smdp: FakeSmdp,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", smdp.url + "/smdp")
    with pytest.raises(FinalUpstreamError) as raised:
        provider().order_profile(reference="ord-1", plan_code="p")
    assert raised.value.code == "es2_http_404"
    assert "ESIMDESK_ES2PLUS_URL" in str(raised.value)
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", smdp.url + "/gsma/rsp2/es2plus")
    with pytest.raises(FinalUpstreamError) as refused:
        provider().order_profile(reference="ord-2", plan_code="p")
    assert refused.value.code == "es2_misconfigured"
    assert smdp.calls == []


@pytest.mark.django_db
def test_warning_is_success(smdp: FakeSmdp, caplog: pytest.LogCaptureFixture) -> None:
    smdp.fail_next("downloadOrder", "warning",
                   {"subjectCode": "8.2.5", "reasonCode": "1.1", "message": "Low stock"})
    order = provider().order_profile(reference="ord-1", plan_code="p")
    assert order.iccid == iccid(1)
    assert "Low stock" in caplog.text


def test_connection_refused_is_retryable_and_nothing_was_sent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", "http://127.0.0.1:9")
    with pytest.raises(RetryableUpstreamError) as raised:
        Es2PlusProvider().call("releaseProfile", {"iccid": iccid(1)})
    assert raised.value.code == "es2_connection"
    assert not isinstance(raised.value, OutcomeUnknown)


@pytest.mark.parametrize(("name", "value"), [("ESIMDESK_ES2PLUS_URL", ""),
                                             ("ESIMDESK_ES2PLUS_URL", "ftp://smdp.example"),
                                             ("ESIMDESK_ES2PLUS_TIMEOUT_SECONDS", "soon"),
                                             ("ESIMDESK_ES2PLUS_TIMEOUT_SECONDS", "0"),
                                             ("ESIMDESK_ES2PLUS_TLS_MIN_VERSION", "1.1")])
def test_bad_settings_are_refused_on_the_first_call_out(monkeypatch: pytest.MonkeyPatch,
                                                        name: str, value: str) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", "https://smdp.example.com")
    monkeypatch.setenv(name, value)
    adapter = Es2PlusProvider()  # receiving progress notifications needs none of them
    with pytest.raises(FinalUpstreamError) as refused:
        adapter.call("releaseProfile", {"iccid": iccid(1)})
    assert refused.value.code == "es2_misconfigured"
    assert name in str(refused.value)


@pytest.mark.django_db
def test_the_timeout_setting(smdp: FakeSmdp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_TIMEOUT_SECONDS", "0.2")
    adapter = Es2PlusProvider()
    assert adapter.timeout == 0.2
    smdp.fail_next("releaseProfile", "hang")
    with pytest.raises(OutcomeUnknown) as raised:
        adapter.call("releaseProfile", {"iccid": iccid(1)})
    assert raised.value.code == "es2_timeout" and "0.2 s" in str(raised.value)


# -- the SM-DP+ address ---------------------------------------------------------------------


@pytest.mark.django_db
def test_missing_smdp_address_then_fixed_setting_completes_the_stored_order(
        smdp: FakeSmdp, monkeypatch: pytest.MonkeyPatch) -> None:
    smdp.smdp_address = None  # and the URL's host is 127.0.0.1: no host name anywhere
    with pytest.raises(FinalUpstreamError) as raised:
        provider().order_profile(reference="ord-1", plan_code="p")
    assert raised.value.code == "es2_no_smdp_address"
    assert "ESIMDESK_ES2PLUS_SMDP_ADDRESS" in str(raised.value)
    assert Es2Order.objects.get(reference="ord-1").state == "confirmed"
    # Staff fix the setting and retry: the stored order completes, nothing is ordered again.
    monkeypatch.setenv("ESIMDESK_ES2PLUS_SMDP_ADDRESS", "smdp.operator.example")
    order = provider().order_profile(reference="ord-1", plan_code="p")
    assert order.smdp_address == "smdp.operator.example"
    assert order.iccid == iccid(1) and smdp.allocations == 1 and len(smdp.calls) == 2


@pytest.mark.django_db
def test_the_answered_address_wins_over_the_setting(smdp: FakeSmdp,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_SMDP_ADDRESS", "smdp.operator.example")
    assert provider().order_profile(reference="ord-1", plan_code="p").smdp_address == \
        "smdp.fake.test"
    smdp.smdp_address = "10.0.0.7"  # not a host name: the setting stands in
    assert provider().order_profile(reference="ord-2", plan_code="p").smdp_address == \
        "smdp.operator.example"


def test_the_url_host_is_the_last_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", "https://smdp.vendor.example:8443")
    monkeypatch.setenv("ESIMDESK_ES2PLUS_SMDP_ADDRESS", "")
    assert Es2PlusProvider().smdp_address("") == "smdp.vendor.example"


# -- profiles possibly allocated (no pool) and the pool -------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["slow", "drop", "garbage", "http500"])
def test_an_unknown_download_is_recorded_and_the_order_proceeds(smdp: FakeSmdp,
                                                                kind: str) -> None:
    smdp.fail_next("downloadOrder", kind)
    with pytest.raises(OutcomeUnknown):
        provider().order_profile(reference="ord-1", plan_code="p")
    sent = smdp.bodies("downloadOrder")[0]["header"]["functionCallIdentifier"]
    unknown = Es2UnknownDownload.objects.get()
    assert unknown.function_call_identifier == sent
    assert (unknown.reference, unknown.profile_type) == ("ord-1", "travel-data")
    assert unknown.reconciled_at is None and unknown.error_code.startswith("es2_")
    # The retry orders again (the SM-DP+ picks): the customer gets one profile...
    order = provider().order_profile(reference="ord-1", plan_code="p")
    assert Es2Order.objects.filter(reference="ord-1", state="confirmed").count() == 1
    unknown.refresh_from_db()
    assert unknown.order_iccid == order.iccid
    if kind != "http500":
        # ...and the first profile, allocated by the lost call, is the one staff reconcile.
        assert smdp.allocations == 2 and order.iccid == iccid(2)
        assert smdp.profiles[iccid(1)].state == "Allocated"


@pytest.mark.django_db
def test_nothing_sent_is_not_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", "http://127.0.0.1:9")
    with pytest.raises(RetryableUpstreamError):
        provider().order_profile(reference="ord-1", plan_code="p")
    assert not Es2UnknownDownload.objects.exists()


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
    assert not Es2UnknownDownload.objects.exists()


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
    smdp.fail_next("downloadOrder", "slow")  # allocated upstream, the answer lost
    with pytest.raises(RetryableUpstreamError):
        provider().order_profile(reference="ord-1", plan_code="p")
    order = provider().order_profile(reference="ord-1", plan_code="p")
    assert order.iccid == iccid(2)
    assert smdp.profiles[iccid(2)].state == "Released" and smdp.allocations == 1
    assert not Es2UnknownDownload.objects.exists()  # the pool's ICCID is asked for again


@pytest.mark.django_db
def test_eighteen_digit_iccids_are_completed_and_sent_back_as_spelled(smdp: FakeSmdp) -> None:
    short = f"89990{9:013d}"  # 18 digits: the SM-DP+ leaves the Luhn digit off
    smdp.profiles.clear()
    smdp.add(short)
    order = provider().order_profile(reference="ord-1", plan_code="p")
    assert order.iccid == iccid_with_check_digit(short) and len(order.iccid) == 19
    assert smdp.bodies("confirmOrder")[0]["iccid"] == short
    provider().cancel_order(order.iccid)
    assert smdp.bodies("cancelOrder")[0]["iccid"] == short
    assert smdp.profiles[short].state == "Available"


# -- what travels with the order ------------------------------------------------------------


@pytest.mark.django_db
def test_profile_type_is_the_plans_es2_bundle_else_the_global_one(
        smdp: FakeSmdp, settings: Any) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus"]}
    mapped = builders.plan(code="EU-5GB")
    builders.bundle(mapped, "es2plus", code="PT-EUROPE-5GB")
    unmapped = builders.plan(code="JP-1GB")
    for reference, plan in (("ord-1", mapped), ("ord-2", unmapped)):
        [choice] = suppliers_for(plan)
        provider().order_profile(reference=reference, plan_code=choice.code)
    assert [body["profileType"] for body in smdp.bodies("downloadOrder")] == \
        ["PT-EUROPE-5GB", "travel-data"]
    assert Es2Order.objects.get(reference="ord-1").profile_type == "PT-EUROPE-5GB"


@pytest.mark.django_db
def test_no_profile_type_at_all_is_left_to_the_smdp(smdp: FakeSmdp,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_PROFILE_TYPE", "")
    provider().order_profile(reference="ord-1", plan_code="JP-1GB")
    assert "profileType" not in smdp.bodies("downloadOrder")[0]


@pytest.mark.django_db
def test_eid_matching_id_confirmation_code_and_smds(smdp: FakeSmdp,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_MATCHING_IDS", "1")
    monkeypatch.setenv("ESIMDESK_ES2PLUS_CONFIRMATION_CODES", "1")
    monkeypatch.setenv("ESIMDESK_ES2PLUS_SMDS_ADDRESS", "lpa.ds.gsma.com")
    eid = eid_with_check_digits("89049032" + "0" * 22)
    smdp.fail_next("confirmOrder", "http500")  # the retry sends the same values
    adapter = provider()
    with pytest.raises(RetryableUpstreamError):
        adapter.order_profile(reference="ord-1", plan_code="p", eid=eid)
    order = adapter.order_profile(reference="ord-1", plan_code="p", eid=eid)
    assert smdp.bodies("downloadOrder")[0]["eid"] == eid
    first, second = smdp.bodies("confirmOrder")
    assert {k: v for k, v in first.items() if k != "header"} == \
        {k: v for k, v in second.items() if k != "header"}
    assert second["eid"] == eid and second["smdsAddress"] == "lpa.ds.gsma.com"
    assert second["matchingId"] == order.matching_id == smdp.profiles[iccid(1)].matching_id
    assert len(order.confirmation_code) == 8 and order.confirmation_code.isdigit()
    assert second["confirmationCode"] == order.confirmation_code
    # Without an EID the SM-DS has nothing to register: no smdsAddress.
    provider().order_profile(reference="ord-2", plan_code="p")
    assert "smdsAddress" not in smdp.bodies("confirmOrder")[-1]


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
def test_a_204_with_x_admin_protocol_is_success_without_output(smdp: FakeSmdp) -> None:
    adapter = provider()
    order = adapter.order_profile(reference="ord-1", plan_code="p")
    smdp.fail_next("cancelOrder", "nocontent")
    adapter.cancel_order(order.iccid)
    assert Es2Order.objects.get(reference="ord-1").state == "cancelled"


@pytest.mark.django_db
def test_revoke_cancels_unavailable_once(smdp: FakeSmdp) -> None:
    adapter = provider()
    order = adapter.order_profile(reference="ord-1", plan_code="p")
    adapter.revoke(reference="rev-1", iccid=order.iccid)
    adapter.revoke(reference="rev-1", iccid=order.iccid)
    assert smdp.profiles[iccid(1)].state == "Unavailable" and smdp.called("cancelOrder") == 1


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


# -- staff reconcile what may be allocated ----------------------------------------------------


@pytest.mark.django_db
def test_staff_list_and_reconcile_possibly_allocated_profiles(smdp: FakeSmdp) -> None:
    smdp.fail_next("downloadOrder", "slow")
    with pytest.raises(OutcomeUnknown):
        provider().order_profile(reference="ord-1", plan_code="p")
    unknown = Es2UnknownDownload.objects.get()
    staff = Client()
    staff.force_login(User.objects.create_superuser("ops@example.com", "x-long-password-1"))
    url = reverse("admin:provisioning_es2unknowndownload_changelist")
    page = staff.get(url + "?state=open").content.decode()
    assert unknown.function_call_identifier in page
    response = staff.post(url, {"action": "mark_reconciled", "_selected_action": [unknown.pk]})
    assert response.status_code == 302
    unknown.refresh_from_db()
    assert unknown.reconciled_at is not None and unknown.reconciled_by == "ops@example.com"
    assert unknown.function_call_identifier not in staff.get(url + "?state=open").content.decode()
    assert AuditEntry.objects.filter(action="es2.download_reconciled").count() == 1


@pytest.mark.django_db
def test_possibly_allocated_profiles_raise_one_alert_until_reconciled(
        smdp: FakeSmdp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_OPS_EMAIL", "ops@example.com")
    for reference in ("ord-1", "ord-2"):
        smdp.fail_next("downloadOrder", "slow")
        with pytest.raises(OutcomeUnknown):
            provider().order_profile(reference=reference, plan_code="p")
    assert alerts_sweep()["opened"] == 1
    alert = Alert.objects.get(kind=Alert.Kind.POSSIBLY_ALLOCATED, open_key__isnull=False)
    assert alert.subject == "es2plus" and alert.details["count"] == 2
    assert "2 profiles possibly allocated at GSMA ES2+ (SM-DP+)" in describe(alert.kind,
                                                                           alert.details)
    assert Notification.objects.filter(to="ops@example.com", kind="ops_alert").count() == 1
    ops = User.objects.create_superuser("ops@example.com", "x-long-password-1")
    reconcile.mark_reconciled(ids=Es2UnknownDownload.objects.values_list("pk", flat=True),
                              user=ops)
    assert alerts_sweep()["closed"] == 1
