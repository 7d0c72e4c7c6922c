"""An eSIM that stops being the customer's before install is cancelled at its supplier too:
a refund (ES2+ ``cancelOrder`` on the local SM-DP+, eSIM Go's revoke and bar on its fake,
the simulator), retried with backoff, recovered after a crash, never under two references,
and what the supplier really said is in the audit trail; a refusal or a failure alerts
staff. The refund's money never depends on any of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from esimdesk.console.alerts import alerts_sweep, describe
from esimdesk.console.models import Alert
from esimdesk.core import clock
from esimdesk.core.errors import Conflict, ValidationFailed
from esimdesk.core.models import AuditEntry
from esimdesk.core.money import Money
from esimdesk.esims import services as esims
from esimdesk.esims import upstream_revoke
from esimdesk.esims.models import Esim, UpstreamRevoke
from esimdesk.notifications.models import Notification
from esimdesk.orders import reissue as reissues
from esimdesk.orders.kinds import registry as kinds
from esimdesk.orders.models import OrderLine
from esimdesk.payments import refunds
from esimdesk.payments.models import Payment, Refund
from esimdesk.provisioning import registry
from esimdesk.provisioning.models import SupplierAction
from esimdesk.provisioning.retrying import retry_delay
from esimdesk.sandbox.models import SimulatedProfile
from tests import builders
from tests.builders import bought_esim, standard_plan
from tests.conftest import run_tasks
from tests.provisioning import fake_es2plus, fake_esimgo

pytestmark = pytest.mark.django_db


@pytest.fixture
def smdp(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[fake_es2plus.FakeSmdp]:
    """ES2+ is the only supplier, pointed at the local SM-DP+."""
    with fake_es2plus.running() as fake:
        fake.add(builders.iccid(901), builders.iccid(902))
        settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus"]}
        monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", fake.url)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_REQUESTER_ID", "esimdesk-test")
        monkeypatch.setenv("ESIMDESK_ES2PLUS_PROFILE_TYPE", "travel-data")
        monkeypatch.setenv("ESIMDESK_OPS_EMAIL", "ops@example.com")
        monkeypatch.setenv("ESIMDESK_ES2PLUS_TIMEOUT_SECONDS", "0.3")
        yield fake


def _bought(email: str = "traveller@example.com") -> Esim:
    return bought_esim(builders.user(email), standard_plan())


def _refund(esim: Esim) -> Refund:
    """Staff refund the eSIM's order in full; only the refund's own task runs."""
    line = OrderLine.objects.get(esim=esim)
    payment = Payment.objects.get(order=line.order, status=Payment.Status.SUCCEEDED)
    refund = refunds.request_refund(payment=payment, amount=payment.money,
                                    via=Refund.Via.STAFF, reason="changed their mind",
                                    user=None)
    refunds.execute_refund(refund_id=refund.pk)
    refund.refresh_from_db()
    return refund


def _actions(esim: Esim) -> list[str]:
    return list(AuditEntry.objects.filter(object_type="esim", object_id=str(esim.pk))
                .order_by("pk").values_list("action", flat=True))


def _time_passes() -> None:
    """The retries queued with backoff are due."""
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())


def _money_back(refund: Refund) -> None:
    refund.refresh_from_db()
    payment = refund.payment
    payment.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert payment.refunded == payment.amount
    assert Refund.objects.filter(payment=payment).count() == 1


def test_refund_of_an_uninstalled_es2plus_esim_cancels_the_order_upstream(
        smdp: fake_es2plus.FakeSmdp) -> None:
    esim = _bought()
    assert esim.upstream == "es2plus"
    refund = _refund(esim)
    esim.refresh_from_db()
    assert esim.status == Esim.Status.REVOKED
    assert smdp.called("cancelOrder") == 0  # after the refund's commit, from a task
    run_tasks()
    [cancel] = [body for name, body in smdp.calls if name == "cancelOrder"]
    assert cancel["iccid"] == esim.iccid
    assert cancel["finalProfileStatusIndicator"] == "Unavailable"
    assert smdp.profiles[esim.iccid].state == "Unavailable"
    row = UpstreamRevoke.objects.get(esim=esim)
    assert (row.status, row.reference, row.attempts) == ("revoked", f"revoke-esim-{esim.pk}", 1)
    assert row.revoked_upstream_at is not None
    actions = _actions(esim)
    assert actions[-2:] == ["esim.upstream_revoke_requested", "esim.revoked_upstream"]
    assert "esim.upstream_revoke_refused" not in actions
    _money_back(refund)
    assert alerts_sweep() == {"opened": 0, "closed": 0}


def test_a_refused_cancel_is_audited_as_refused_and_alerts_staff(
        smdp: fake_es2plus.FakeSmdp) -> None:
    esim = _bought()
    smdp.fail_next("cancelOrder", "failed",
                   {"subjectCode": "8.1.1", "reasonCode": "3.8", "message": "Refused by policy"})
    refund = _refund(esim)
    run_tasks()
    row = UpstreamRevoke.objects.get(esim=esim)
    assert (row.status, row.code) == ("refused", "es2_8.1.1_3.8")
    assert "Refused by policy" in row.message
    actions = _actions(esim)
    assert "esim.upstream_revoke_refused" in actions
    assert "esim.revoked_upstream" not in actions
    entry = AuditEntry.objects.get(action="esim.upstream_revoke_refused")
    assert entry.after["code"] == "es2_8.1.1_3.8"
    assert "Refused by policy" in entry.reason
    _money_back(refund)

    # Staff see it on the console and the operations mailbox hears of it, once.
    assert alerts_sweep()["opened"] == 1
    alert = Alert.objects.get(kind=Alert.Kind.UPSTREAM_REVOKE)
    assert alert.subject == str(esim.pk) and alert.emailed
    assert esim.iccid in describe(alert.kind, alert.details)
    mail = Notification.objects.get(to="ops@example.com", kind="ops_alert")
    assert esim.iccid in mail.subject
    assert alerts_sweep()["opened"] == 0

    # Staff ask again under the same reference; the supplier agrees; the alert closes.
    upstream_revoke.retry(revoke_id=row.pk, actor="staff:1")
    run_tasks()
    row.refresh_from_db()
    assert row.status == "revoked"
    assert smdp.called("cancelOrder") == 2
    assert {ref for name, ref in SupplierAction.objects.values_list("action", "reference")
            if name == "revoke"} == {row.reference}
    assert _actions(esim)[-2:] == ["esim.upstream_revoke_retried", "esim.revoked_upstream"]
    assert alerts_sweep()["closed"] == 1
    with pytest.raises(Conflict) as done:
        upstream_revoke.retry(revoke_id=row.pk, actor="staff:1")
    assert done.value.code == "revoke_not_retryable"


def test_a_timeout_is_retried_with_backoff_then_succeeds(smdp: fake_es2plus.FakeSmdp) -> None:
    esim = _bought()
    smdp.fail_next("cancelOrder", "hang")
    clock.set_now(clock.now())
    refund = _refund(esim)
    run_tasks()
    row = UpstreamRevoke.objects.get(esim=esim)
    assert (row.status, row.attempts, row.code) == ("pending", 1, "es2_timeout")
    with pytest.raises(Conflict) as busy:  # staff cannot start a second chain of tries
        upstream_revoke.retry(revoke_id=row.pk, actor="staff:1")
    assert busy.value.code == "revoke_in_progress"
    retry = DBTaskResult.objects.get(task_path=upstream_revoke.TASK_PATH, status="READY")
    assert retry.args_kwargs["args"] == [row.pk, 2]
    assert retry.run_after == clock.now() + retry_delay(1)
    _time_passes()
    run_tasks()
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("revoked", 2)
    assert smdp.called("cancelOrder") == 2
    assert smdp.profiles[esim.iccid].state == "Unavailable"
    assert _actions(esim).count("esim.revoked_upstream") == 1
    _money_back(refund)


def test_a_crash_after_the_local_revoke_loses_no_cancellation(
        smdp: fake_es2plus.FakeSmdp) -> None:
    esim = _bought()
    _refund(esim)
    # The process died right after the refund committed: the task was queued with it.
    queued = DBTaskResult.objects.get(task_path=upstream_revoke.TASK_PATH)
    assert queued.status == "READY" and smdp.called("cancelOrder") == 0
    # A worker took it and died before the call: the task is stuck "running".
    DBTaskResult.objects.filter(pk=queued.pk).update(status="RUNNING")
    assert upstream_revoke.recover() == {"requeued": 0, "failed": 0}  # not stale yet
    clock.set_now(clock.now() + upstream_revoke.STALE * 2)
    assert upstream_revoke.recover() == {"requeued": 1, "failed": 0}
    assert upstream_revoke.recover() == {"requeued": 0, "failed": 0}  # queued once
    run_tasks()
    row = UpstreamRevoke.objects.get(esim=esim)
    assert row.status == "revoked"
    assert smdp.called("cancelOrder") == 1


def test_a_replayed_refund_never_calls_twice_or_under_another_reference(
        smdp: fake_es2plus.FakeSmdp) -> None:
    esim = _bought()
    refund = _refund(esim)
    run_tasks()
    # The provider's confirmation again, the refund effects again, a second request.
    assert refunds.succeed(refund=refund) == Refund.Status.SUCCEEDED
    line = OrderLine.objects.select_related("esim", "period").get(esim=esim)
    kinds.kind_for(line.type).take_back(line=line, actor="refund", reason="replay")
    again = upstream_revoke.request(esim=Esim.objects.get(pk=esim.pk), cause="replay",
                                    actor="test", reference="another-reference")
    assert again.reference == f"revoke-esim-{esim.pk}"
    assert upstream_revoke.carry_out(revoke_id=again.pk) == "revoked"
    run_tasks()
    assert smdp.called("cancelOrder") == 1
    assert UpstreamRevoke.objects.count() == 1
    assert SupplierAction.objects.filter(action="revoke").count() == 1
    assert _actions(esim).count("esim.upstream_revoke_requested") == 1
    _money_back(refund)


def test_the_refund_stands_when_the_supplier_cannot_be_reached(
        smdp: fake_es2plus.FakeSmdp, monkeypatch: pytest.MonkeyPatch) -> None:
    esim = _bought()
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", "http://127.0.0.1:9")  # the SM-DP+ is down
    refund = _refund(esim)
    _money_back(refund)
    assert Notification.objects.filter(kind="refund_confirmation").count() == 1
    run_tasks()
    for _ in range(5):
        _time_passes()
        run_tasks()
    row = UpstreamRevoke.objects.get(esim=esim)
    assert (row.status, row.attempts) == ("failed", 5)
    entry = AuditEntry.objects.get(action="esim.upstream_revoke_failed")
    assert entry.after["attempts"] == 5
    assert "esim.revoked_upstream" not in _actions(esim)
    _money_back(refund)
    # Two incidents: this profile, and the SM-DP+ failing every call (console.alerts).
    assert alerts_sweep()["opened"] == 2
    assert "could not be reached" in describe(
        Alert.Kind.UPSTREAM_REVOKE, Alert.objects.get(kind=Alert.Kind.UPSTREAM_REVOKE).details)
    assert Alert.objects.filter(kind=Alert.Kind.SUPPLIER_IN_A_ROW, subject="es2plus").exists()
    # Staff barred the ICCID with the network: the alert closes, the audit says who.
    upstream_revoke.mark_handled(revoke_id=row.pk, actor="staff:1",
                                 note="barred at the carrier")
    assert Alert.objects.get(kind=Alert.Kind.UPSTREAM_REVOKE).closed_at is None
    alerts_sweep()
    assert Alert.objects.get(kind=Alert.Kind.UPSTREAM_REVOKE).closed_at is not None
    assert _actions(esim)[-1] == "esim.upstream_revoke_handled"


def test_a_profile_already_downloaded_is_not_reported_cancelled(
        smdp: fake_es2plus.FakeSmdp) -> None:
    esim = _bought()
    smdp.fail_next("cancelOrder", "failed",
                   {"subjectCode": "8.2.1", "reasonCode": "3.5", "message": "Downloaded"})
    _refund(esim)
    run_tasks()
    row = UpstreamRevoke.objects.get(esim=esim)
    assert (row.status, row.code) == ("not_supported", "already_downloaded")
    assert "esim.revoked_upstream" not in _actions(esim)
    assert "bar the ICCID in the network" in AuditEntry.objects.get(
        action="esim.upstream_revoke_refused").reason
    alerts_sweep()
    assert "bar the ICCID in the network" in describe(Alert.Kind.UPSTREAM_REVOKE,
                                                      Alert.objects.get().details)


def test_refund_of_an_esimgo_esim_revokes_its_bundle_and_bars_it(
        settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_esimgo.FakeEsimGo()
    monkeypatch.setenv("ESIMDESK_ESIMGO_TIMEOUT_SECONDS", "1")
    with fake_esimgo.running(fake) as base:
        monkeypatch.setenv("ESIMDESK_ESIMGO_API_KEY", fake_esimgo.API_KEY)
        monkeypatch.setenv("ESIMDESK_ESIMGO_API_BASE", base)
        settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["esimgo"]}
        plan = builders.plan(code="jp-20gb-month", unit="month", data_gb=20, usd=2499)
        esim = bought_esim(builders.user("go@example.com"), plan)
        assert esim.upstream == "esimgo" and fake.esims[esim.iccid]["bundles"]
        refund = _refund(esim)
        run_tasks()
    assert fake.esims[esim.iccid]["bundles"] == []
    assert fake.esims[esim.iccid]["suspended"] is True
    assert [m for m, path in fake.requests if m == "DELETE"] == ["DELETE"]
    assert UpstreamRevoke.objects.get(esim=esim).status == "revoked"
    assert _actions(esim)[-1] == "esim.revoked_upstream"
    _money_back(refund)


def test_refund_of_a_simulated_esim_revokes_the_simulated_profile(shop: Any) -> None:
    esim = bought_esim(builders.user("sim@example.com"), standard_plan())
    assert esim.upstream == "simulator"
    refund = _refund(esim)
    run_tasks()
    assert SimulatedProfile.objects.get(iccid=esim.iccid).revoked_at is not None
    assert UpstreamRevoke.objects.get(esim=esim).status == "revoked"
    _money_back(refund)


def test_staff_cancel_an_uninstalled_esim_whose_supplier_cannot_revoke(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.PROVIDERS, "refusing", "tests.builders.RefusingSupplier")
    registry.provider_class.cache_clear()
    esim = esims.create_esim(owner=builders.user("fraud@example.com"),
                             iccid=builders.iccid(777), smdp_address="smdp.example.com",
                             matching_id="M-777", upstream="refusing")
    row = upstream_revoke.revoke_before_install(esim_id=esim.pk, actor="staff:1",
                                                reason="stolen card")
    run_tasks()
    row.refresh_from_db()
    assert (row.status, row.code) == ("not_supported", "not_supported")
    assert Esim.objects.get(pk=esim.pk).status == Esim.Status.REVOKED
    assert _actions(esim)[-3:] == ["esim.status", "esim.upstream_revoke_requested",
                                   "esim.upstream_revoke_refused"]
    alerts_sweep()
    text = describe(Alert.Kind.UPSTREAM_REVOKE, Alert.objects.get().details)
    assert "cannot cancel" in text and "bar the ICCID in the network" in text
    registry.provider_class.cache_clear()


def test_only_an_uninstalled_esim_is_cancelled_by_staff(shop: Any) -> None:
    esim = builders.in_use(builders.make_esim())
    with pytest.raises(Conflict) as refused:
        upstream_revoke.revoke_before_install(esim_id=esim.pk, actor="staff:1", reason="x")
    assert refused.value.code == "esim_not_cancellable"
    with pytest.raises(ValidationFailed):
        upstream_revoke.revoke_before_install(esim_id=esim.pk, actor="staff:1", reason=" ")
    assert not UpstreamRevoke.objects.exists()


def test_partial_refund_keeps_the_esim(smdp: fake_es2plus.FakeSmdp) -> None:
    esim = _bought()
    line = OrderLine.objects.get(esim=esim)
    payment = Payment.objects.get(order=line.order)
    refund = refunds.request_refund(payment=payment, amount=Money(100, payment.currency),
                                    via=Refund.Via.STAFF, reason="goodwill", user=None)
    run_tasks()
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert Esim.objects.get(pk=esim.pk).status == Esim.Status.READY
    assert smdp.called("cancelOrder") == 0 and not UpstreamRevoke.objects.exists()


def test_staff_ask_again_and_settle_from_the_list(monkeypatch: pytest.MonkeyPatch,
                                                  client: Any) -> None:
    monkeypatch.setitem(registry.PROVIDERS, "refusing", "tests.builders.RefusingSupplier")
    registry.provider_class.cache_clear()
    esim = esims.create_esim(owner=builders.user("list@example.com"),
                             iccid=builders.iccid(778), smdp_address="smdp.example.com",
                             matching_id="M-778", upstream="refusing")
    row = upstream_revoke.revoke_before_install(esim_id=esim.pk, actor="staff:1",
                                                reason="mistaken order")
    run_tasks()
    client.force_login(builders.agent())
    url = "/staff/esims/upstreamrevoke/"
    page = client.get(url)
    assert page.status_code == 200 and esim.iccid in page.content.decode()
    client.post(url, {"action": "try_again", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 0)
    run_tasks()
    row.refresh_from_db()
    assert row.status == "not_supported"
    client.post(url, {"action": "mark_settled", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.handled_at is not None and not row.needs_action
    assert _actions(esim)[-3:] == ["esim.upstream_revoke_retried",
                                   "esim.upstream_revoke_refused",
                                   "esim.upstream_revoke_handled"]
    registry.provider_class.cache_clear()


def test_a_reissue_whose_old_profile_the_smdp_refuses_to_cancel_says_so(
        smdp: fake_es2plus.FakeSmdp) -> None:
    old = _bought()
    smdp.fail_next("cancelOrder", "failed",
                   {"subjectCode": "8.1.1", "reasonCode": "3.8", "message": "Refused"})
    reissue = reissues.request_reissue(esim_id=old.pk, actor="staff:1", reason="won't install")
    run_tasks()
    reissue.refresh_from_db()
    assert reissue.status == "done" and reissue.revoked_upstream_at is None
    row = UpstreamRevoke.objects.get(esim=old)
    assert (row.status, row.reference) == ("refused", f"{reissue.reference}-revoke")
    actions = _actions(old)
    assert "esim.upstream_revoke_refused" in actions
    assert "esim.revoked_upstream" not in actions
    upstream_revoke.retry(revoke_id=row.pk, actor="staff:1")
    run_tasks()
    reissue.refresh_from_db()
    assert reissue.revoked_upstream_at is not None
    assert smdp.profiles[old.iccid].state == "Unavailable"
