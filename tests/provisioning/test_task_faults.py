"""Whatever goes wrong after a supplier answered, a task that made the call ends recorded:
a reissue or a family member's new eSIM whose profile esimdesk cannot record is retried
under the same reference (no second profile) and then marked failed with staff told once;
a staff retry of an order that needs attention, failing again, tells staff again (the
customer once only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.core.errors import ValidationFailed
from esimdesk.core.models import AuditEntry
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim, Reissue
from esimdesk.groups import services as groups
from esimdesk.groups.models import Group, Membership
from esimdesk.notifications.models import Notification
from esimdesk.orders import reissue as reissues
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.provisioning import retrying
from esimdesk.sandbox.models import SimulatedProfile
from esimdesk.sharedplans import members as group_members
from tests import builders
from tests.builders import FAMILY_PLAN, Shop
from tests.provisioning.test_supplier_faults import (
    FAULTS,
    OPS_EMAIL,
    _order_for,
    _told_ops,
    _use,
    inject,
    settle,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> User:
    monkeypatch.setenv("ESIMDESK_OPS_EMAIL", OPS_EMAIL)
    clock.set_now(dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC))
    return User.objects.create_user("faulty@example.com", "x-long-password-1")


def _refuse_to_record(monkeypatch: pytest.MonkeyPatch, *, times: int | None = None) -> list[int]:
    """``esims.create_esim`` refuses the supplier's install data (the first ``times``
    calls, or every call), as it does an SM-DP+ address it cannot use."""
    real = esims.create_esim
    made: list[int] = []

    def refusing(**kwargs: Any) -> Esim:
        made.append(1)
        if times is None or len(made) <= times:
            raise ValidationFailed("not a host name", code="invalid_smdp_address")
        return real(**kwargs)

    monkeypatch.setattr(esims, "create_esim", refusing)
    return made


def _reissue_of(customer: User) -> tuple[Esim, Reissue]:
    old = builders.make_esim(customer)
    return old, reissues.request_reissue(esim_id=old.pk, actor="agent@example.com",
                                         reason="QR will not scan")


# -- reissue ---------------------------------------------------------------------------------

def test_a_reissue_whose_new_profile_cannot_be_recorded_fails_and_tells_staff_once(
        customer: User, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _use(settings, "simulator")
    old, reissue = _reissue_of(customer)
    made = _refuse_to_record(monkeypatch)
    settle()  # a dead task fails the test here
    reissue.refresh_from_db()
    old.refresh_from_db()
    assert reissue.status == Reissue.Status.FAILED and reissue.new_esim is None
    assert "could not be recorded" in reissue.failure
    assert "invalid_smdp_address" in reissue.failure or "not a host name" in reissue.failure
    assert old.status == Esim.Status.READY  # the traveller keeps the profile they had
    assert len(made) == retrying.ATTEMPTS
    assert SimulatedProfile.objects.count() == 2  # the old one and one replacement, reused
    [ops] = _told_ops("ops_supplier_action_failed")
    assert reissue.reference in ops.subject and "still failing after 5 tries" in ops.body_text
    assert AuditEntry.objects.filter(action="supplier.action_failed", object_type="esim",
                                     object_id=str(old.pk)).count() == 1
    assert AuditEntry.objects.filter(action="esim.reissue_failed").count() == 1


def test_a_reissue_whose_new_profile_could_not_be_recorded_once_succeeds_on_the_retry(
        customer: User, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _use(settings, "simulator")
    _old, reissue = _reissue_of(customer)
    made = _refuse_to_record(monkeypatch, times=1)
    settle()
    reissue.refresh_from_db()
    assert reissue.status == Reissue.Status.DONE and len(made) == 2
    assert reissue.new_esim is not None and reissue.new_esim.subscription is not None
    assert SimulatedProfile.objects.count() == 2  # the retry got the same profile back
    assert not _told_ops("ops_supplier_action_failed")


def test_a_reissue_whose_supplier_keeps_raising_fails_with_the_reason(
        customer: User, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _use(settings, "simulator")
    _old, reissue = _reissue_of(customer)
    inject(monkeypatch, "simulator", "order_profile", FAULTS[0])
    settle()
    reissue.refresh_from_db()
    assert reissue.status == Reissue.Status.FAILED
    assert "did not issue a new profile" in reissue.failure
    assert "FileNotFoundError" in reissue.failure
    assert len(_told_ops("ops_supplier_action_failed")) == 1


# -- a family member's new eSIM -------------------------------------------------------------

def test_a_members_new_esim_that_cannot_be_recorded_tells_staff_and_no_task_dies(
        customer: User, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _use(settings, "simulator")
    builders.make_group_plans()
    group = groups.create_group(owner=customer, kind=Group.Kind.FAMILY, name="The Lins")
    builders.buy(customer, orders.LineRequest(type="group_plan", plan=FAMILY_PLAN,
                                              group=group.pk, members=2), pay="marked")
    joiner = builders.user("joiner@example.com")
    invitation = groups.invite(by=customer, group=group, email="joiner@example.com")
    made = _refuse_to_record(monkeypatch)
    member = group_members.accept_invitation(user=joiner, token=invitation.token)
    settle()
    assert Membership.objects.get(pk=member.pk).esim_id is None
    assert len(made) == retrying.ATTEMPTS
    assert SimulatedProfile.objects.filter(reference=f"esimdesk-member-{member.pk}").count() == 1
    [ops] = _told_ops("ops_supplier_action_failed")
    assert f"membership {member.pk}" in ops.subject


# -- a staff retry that fails again ---------------------------------------------------------

def test_a_staff_retry_that_fails_again_tells_staff_again_but_not_the_customer(
        customer: User, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _use(settings, "simulator")
    order = _order_for("order_profile", customer, "simulator")
    inject(monkeypatch, "simulator", "order_profile", FAULTS[1])
    settle()
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILMENT_FAILED
    assert len(_told_ops("ops_activation_failed")) == 1
    delayed = Notification.objects.filter(kind="activation_delayed", user=customer)
    told_customer = set(delayed.values_list("pk", flat=True))
    assert delayed.filter(channel="email").count() == 1
    for n in (2, 3):  # each staff retry is a run of its own, told when it fails
        clock.advance(dt.timedelta(hours=1))
        assert orders.retry_fulfilment(order_ids=[order.pk], actor="agent@example.com") == 1
        settle()
        order.refresh_from_db()
        assert order.status == Order.Status.FULFILMENT_FAILED
        failures = AuditEntry.objects.filter(action="order.fulfilment_failed",
                                             object_id=str(order.pk)).order_by("at")
        assert failures.count() == n
        assert failures.last().before == {"status": Order.Status.FULFILMENT_FAILED}
        mails = _told_ops("ops_activation_failed")
        assert len(mails) == n
        assert "after a staff retry" in max(mails, key=lambda m: m.pk).subject
    # The traveller heard once that we are on it.
    assert set(delayed.values_list("pk", flat=True)) == told_customer


def test_a_run_that_ends_twice_is_told_once(customer: User, settings: Any) -> None:
    _use(settings, "simulator")
    order = _order_for("order_profile", customer, "simulator")
    orders._fail(order.pk, "deadline passed")  # the run from payment
    orders._fail(order.pk, "deadline passed")  # its last try delivered twice
    since = clock.now().isoformat()
    for _ in range(2):  # a staff retry's last try, delivered twice
        orders._fail(order.pk, "deadline passed", since)
    assert AuditEntry.objects.filter(action="order.fulfilment_failed").count() == 2
    assert [m.to for m in _told_ops("ops_activation_failed")] == [OPS_EMAIL] * 2
