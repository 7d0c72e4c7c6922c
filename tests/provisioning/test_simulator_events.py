"""Profile status events: the simulator moves its profile, records the event under a unique
id and delivers it as a signed callback through a task; esimdesk moves the eSIM exactly once
per event, however often it is delivered. Also: usage now, automatic progress."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from esimdesk.core import clock
from esimdesk.core.errors import Conflict, ValidationFailed
from esimdesk.core.models import AuditEntry
from esimdesk.esims.models import Esim
from esimdesk.provisioning.models import UpstreamEventReceipt
from esimdesk.sandbox import simulator_events
from esimdesk.sandbox.models import (
    SimulatedCallback,
    SimulatedProfile,
    SimulatedProfileEvent,
    SimulatedUsage,
)
from esimdesk.sandbox.simulator import SIGNATURE_HEADER, sign
from esimdesk.sandbox.usage_simulation import usage_simulation_sweep
from esimdesk.subscriptions.models import Allowance
from esimdesk.usage.models import UsageEvent
from tests.conftest import run_tasks
from tests.provisioning.simulator_helpers import issue

pytestmark = pytest.mark.usefixtures("shop")


def send(profile: SimulatedProfile, status: str) -> SimulatedProfileEvent:
    return simulator_events.emit(profile=profile, status=status, origin="staff",
                                 actor_type="staff", actor="1:ops@example.com",
                                 reason="rehearsal")


def status_of(esim: Esim | None) -> str:
    assert esim is not None
    esim.refresh_from_db()
    return esim.status


def test_downloaded_installed_enabled_move_the_esim_once_each() -> None:
    profile, esim = issue()
    send(profile, "downloaded")
    run_tasks()
    assert status_of(esim) == "ready"  # on the device, not installed yet
    send(profile, "installed")
    run_tasks()
    assert status_of(esim) == "installed"
    send(profile, "enabled")
    run_tasks()
    assert status_of(esim) == "in_use"
    assert profile.state == "enabled"
    assert set(UpstreamEventReceipt.objects.values_list("status", "outcome")) == {
        ("downloaded", "recorded"), ("installed", "installed"), ("enabled", "in_use")}
    moves = AuditEntry.objects.filter(action="esim.status", actor="simulator")
    assert [m.after["status"] for m in moves.order_by("pk")] == ["installed", "in_use"]
    assert SimulatedCallback.objects.filter(delivered_at__isnull=False).count() == 3
    assert AuditEntry.objects.filter(action="simulator.profile_event",
                                     actor_type="staff").count() == 3


def test_a_replayed_event_changes_nothing() -> None:
    profile, esim = issue()
    event = send(profile, "downloaded")
    send(profile, "installed")
    run_tasks()
    assert event.callback is not None
    simulator_events.resend(callback_id=event.callback.pk, actor_type="staff", actor="ops",
                            reason="replay on purpose")
    run_tasks()
    callback = SimulatedCallback.objects.get(pk=event.callback.pk)
    assert callback.last_answer == {"events": [{"id": event.event_id, "outcome": "duplicate"}]}
    assert callback.attempts == 2 and callback.delivered_at is not None
    # Over HTTP too, with the body exactly as signed.
    body = callback.body.encode()
    response = Client().post("/hooks/upstream/simulator", data=body,
                             content_type="application/json",
                             headers={SIGNATURE_HEADER: sign(body)})
    assert response.status_code == 200
    assert response.json()["events"] == [{"id": event.event_id, "outcome": "duplicate"}]
    assert UpstreamEventReceipt.objects.count() == 2
    assert AuditEntry.objects.filter(action="esim.status").count() == 1
    assert status_of(esim) == "installed"


def test_events_only_move_forward_and_deleted_is_audited_once() -> None:
    profile, esim = issue()
    assert esim is not None
    Esim.objects.filter(pk=esim.pk).update(status="suspended")
    for status in ("downloaded", "installed", "enabled"):
        send(profile, status)
    run_tasks()
    assert status_of(esim) == "suspended"  # a device does not lift a suspension
    event = send(profile, "deleted")
    run_tasks()
    assert event.callback is not None
    simulator_events.resend(callback_id=event.callback.pk, actor_type="staff", actor="ops")
    run_tasks()
    assert AuditEntry.objects.filter(action="esim.upstream_deleted").count() == 1


def test_the_life_cycle_refuses_impossible_events() -> None:
    profile, _ = issue()
    with pytest.raises(Conflict) as refused:
        send(profile, "enabled")  # not downloaded yet
    assert refused.value.code == "illegal_profile_event"
    send(profile, "deleted")
    with pytest.raises(Conflict):
        send(profile, "downloaded")
    assert SimulatedProfileEvent.objects.count() == 1


def test_an_event_before_the_esim_exists_is_delivered_again() -> None:
    profile, _ = issue(with_esim=False)
    event = send(profile, "downloaded")
    assert event.callback is not None
    assert run_tasks() == 1
    callback = SimulatedCallback.objects.get(pk=event.callback.pk)
    assert callback.delivered_at is None and callback.last_http_status == 200
    retry = DBTaskResult.objects.filter(status="READY").get()
    assert retry.args_kwargs["args"] == [callback.pk, 2]
    assert not UpstreamEventReceipt.objects.exists()  # unknown then: nothing stored
    # Fulfilment writes the eSIM; the retry applies the event.
    from esimdesk.accounts.models import User
    from esimdesk.esims import services as esims

    esims.create_esim(owner=User.objects.create_user("late@example.com", "x-long-password-1"),
                      iccid=str(profile.iccid), smdp_address="smdp.example",
                      matching_id=profile.matching_id, upstream="simulator")
    assert simulator_events.deliver(callback_id=callback.pk, attempt=2) == "delivered"
    assert UpstreamEventReceipt.objects.get().outcome == "recorded"


def test_delivery_gives_up_after_the_last_attempt() -> None:
    profile, _ = issue(with_esim=False)
    event = send(profile, "downloaded")
    assert event.callback is not None
    outcome = simulator_events.deliver(callback_id=event.callback.pk,
                                       attempt=simulator_events.DELIVERY_ATTEMPTS)
    assert outcome == "gave_up"
    assert SimulatedCallback.objects.get(pk=event.callback.pk).gave_up_at is not None


def test_status_events_over_http_need_the_signature() -> None:
    profile, esim = issue()
    body = json.dumps({"events": [{"id": "evt-x", "iccid": profile.iccid,
                                   "status": "installed",
                                   "occurred_at": clock.now().isoformat()}]}).encode()
    refused = Client().post("/hooks/upstream/simulator", data=body,
                            content_type="application/json",
                            headers={SIGNATURE_HEADER: sign(b"other")})
    assert refused.status_code == 400 and refused.json()["code"] == "bad_signature"
    assert status_of(esim) == "ready"
    accepted = Client().post("/hooks/upstream/simulator", data=body,
                             content_type="application/json",
                             headers={SIGNATURE_HEADER: sign(body)})
    assert accepted.json() == {"events": [{"id": "evt-x", "outcome": "installed"}]}
    assert status_of(esim) == "installed"


def test_usage_now_is_metered_and_charged_once() -> None:
    profile, esim = issue()
    assert esim is not None
    usage = simulator_events.generate_usage(profile=profile, quantity=50 * 1024 * 1024,
                                            actor_type="staff", actor="ops", reason="demo")
    run_tasks()
    charged = UsageEvent.objects.get(source="simulator")
    assert (charged.external_id, charged.quantity) == (usage.record_id, 50 * 1024 * 1024)
    data = Allowance.objects.get(period__subscription__esim=esim, kind="data")
    assert data.used == 50 * 1024 * 1024
    callback = SimulatedCallback.objects.get(kind="usage")
    simulator_events.resend(callback_id=callback.pk, actor_type="staff", actor="ops")
    run_tasks()
    assert UsageEvent.objects.count() == 1
    assert SimulatedCallback.objects.get(pk=callback.pk).last_answer["duplicates"] == 1
    with pytest.raises(ValidationFailed) as refused:
        simulator_events.generate_usage(profile=profile, quantity=0, actor_type="staff",
                                        actor="ops")
    assert refused.value.code == "invalid_request"


def test_automatic_progress_is_off_by_default() -> None:
    issue()
    assert not DBTaskResult.objects.filter(
        task_path__endswith="simulator_progress_task").exists()


def test_automatic_progress_walks_a_new_profile_to_its_first_use(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_SIMULATOR_AUTO_PROGRESS", "30")
    clock.set_now(dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC))
    profile, esim = issue()
    steps = DBTaskResult.objects.filter(task_path__endswith="simulator_progress_task")
    first = steps.get()
    assert first.run_after == dt.datetime(2026, 6, 1, 12, 0, 30, tzinfo=dt.UTC)
    assert first.args_kwargs["args"] == [profile.pk, "released"]
    assert simulator_events.progress(profile_id=profile.pk, expected="released") == "downloaded"
    assert simulator_events.progress(profile_id=profile.pk, expected="released") == "skipped"
    assert simulator_events.progress(profile_id=profile.pk, expected="downloaded") == "installed"
    assert simulator_events.progress(profile_id=profile.pk, expected="installed") == "enabled"
    assert simulator_events.progress(profile_id=profile.pk, expected="enabled") == "first_use"
    assert simulator_events.progress(profile_id=profile.pk, expected="enabled") == "skipped"
    assert [s.args_kwargs["args"][1] for s in steps.order_by("enqueued_at")] == [
        "released", "downloaded", "installed", "enabled"]  # and nothing after first use
    profile.refresh_from_db()
    assert profile.state == "enabled" and profile.first_used_at is not None
    run_tasks()  # the deliveries (the progress steps are due only in 30 s)
    assert status_of(esim) == "in_use"
    assert set(SimulatedProfileEvent.objects.values_list("origin", flat=True)) == {"auto"}


def test_a_suspended_or_revoked_profile_uses_no_network() -> None:
    clock.set_now(dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC))
    profile, esim = issue()
    assert esim is not None
    Esim.objects.filter(pk=esim.pk).update(status="in_use")
    # Evening (UTC owner): six busy hours to report, so some usage is all but certain.
    clock.set_now(dt.datetime(2026, 6, 1, 21, 0, tzinfo=dt.UTC))
    for barred in ({"suspended": True}, {"revoked_at": clock.now()}):
        SimulatedProfile.objects.filter(pk=profile.pk).update(**barred)
        assert usage_simulation_sweep()["reported"] == 0
        SimulatedProfile.objects.filter(pk=profile.pk).update(suspended=False, revoked_at=None)
    assert usage_simulation_sweep()["reported"] > 0
    assert SimulatedUsage.objects.filter(iccid=profile.iccid).exists()
