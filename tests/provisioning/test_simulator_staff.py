"""``/staff/simulator/``: staff only, permission-checked, every action with a reason and an
audit row saying who and why."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core.models import AuditEntry
from esimdesk.sandbox.models import SimulatedCallback, SimulatedProfile, SimulatedUsage
from tests.conftest import run_tasks
from tests.provisioning.simulator_helpers import issue

pytestmark = pytest.mark.usefixtures("shop")
_numbers = itertools.count(1)


def staff(*perms: str) -> tuple[Client, User]:
    member = User.objects.create_user(f"ops{next(_numbers)}@example.com", "x-long-password-1",
                                      is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        member.user_permissions.add(Permission.objects.get(content_type__app_label=app,
                                                           codename=codename))
    client = Client()
    client.force_login(member)
    return client, member


VIEW = "sandbox.view_simulatedprofile"
CHANGE = "sandbox.change_simulatedprofile"


def test_only_staff_with_the_permission_see_it() -> None:
    profile, _ = issue()
    assert Client().get("/staff/simulator/").status_code == 302  # to the staff login
    customer = Client()
    customer.force_login(User.objects.create_user("c@example.com", "x-long-password-1"))
    assert customer.get("/staff/simulator/").status_code == 302
    plain, _ = staff()
    assert plain.get("/staff/simulator/").status_code == 403
    assert plain.get(f"/staff/simulator/{profile.pk}/").status_code == 403
    viewer, _ = staff(VIEW)
    page = viewer.get("/staff/simulator/")
    assert page.status_code == 200 and str(profile.iccid) in page.content.decode()
    assert "sim_" not in page.content.decode()  # the API key is for those who may act


def test_list_search_and_filter() -> None:
    first, _ = issue(1)
    second, _ = issue(2)
    SimulatedProfile.objects.filter(pk=second.pk).update(state="installed")
    viewer, _ = staff(VIEW)
    found = viewer.get("/staff/simulator/", {"q": str(first.iccid)[-6:]}).content.decode()
    assert str(first.iccid) in found and str(second.iccid) not in found
    installed = viewer.get("/staff/simulator/", {"state": "installed"}).content.decode()
    assert str(second.iccid) in installed and str(first.iccid) not in installed


def test_viewing_is_not_acting() -> None:
    profile, _ = issue()
    viewer, _ = staff(VIEW)
    response = viewer.post(f"/staff/simulator/{profile.pk}/",
                           {"action": "event", "status": "downloaded", "reason": "try"})
    assert response.status_code == 403
    assert SimulatedProfile.objects.get(pk=profile.pk).state == "released"


def test_sending_an_event_by_hand_needs_a_reason_and_is_audited() -> None:
    profile, esim = issue()
    assert esim is not None
    client, member = staff(VIEW, CHANGE)
    url = f"/staff/simulator/{profile.pk}/"
    assert "downloaded" in client.get(url).content.decode()
    client.post(url, {"action": "event", "status": "downloaded", "reason": ""})
    assert SimulatedProfile.objects.get(pk=profile.pk).state == "released"
    refused = client.post(url, {"action": "event", "status": "enabled", "reason": "skip"},
                          follow=True)
    assert "cannot move" in refused.content.decode()
    response = client.post(url, {"action": "event", "status": "downloaded",
                                 "reason": "customer scanned the QR"})
    assert response.status_code == 302
    client.post(url, {"action": "event", "status": "installed", "reason": "installed"})
    run_tasks()
    esim.refresh_from_db()
    assert esim.status == "installed"
    entry = AuditEntry.objects.filter(action="simulator.profile_event").order_by("pk").first()
    assert entry is not None
    assert entry.actor_type == "staff" and entry.actor == f"{member.pk}:{member}"
    assert entry.reason == "customer scanned the QR"
    page = client.get(url).content.decode()
    assert "simevt-" in page and "installed" in page


def test_usage_now_and_resend() -> None:
    profile, _ = issue()
    client, _ = staff(VIEW, CHANGE)
    url = f"/staff/simulator/{profile.pk}/"
    client.post(url, {"action": "usage", "megabytes": "25", "reason": "demo traffic"})
    usage = SimulatedUsage.objects.get()
    assert usage.quantity == 25 * 1024 * 1024 and usage.iccid == profile.iccid
    run_tasks()
    callback_id = SimulatedCallback.objects.get(kind="usage").pk
    client.post(url, {"action": "resend", "callback": str(callback_id), "reason": "replay"})
    run_tasks()
    assert SimulatedCallback.objects.get(pk=callback_id).attempts == 2
    assert set(AuditEntry.objects.filter(actor_type="staff").values_list("action", flat=True)) \
        == {"simulator.usage", "simulator.callback_resend"}
    console = client.get("/staff/simulator/").content.decode()
    assert "sim-manual-" in console and "sim_" in console  # the callback; the API key
