"""Creating groups, invitations (language, expiry, seats), joining, roles, caps, leaving."""

from __future__ import annotations

import datetime as dt

import pytest

from esimdesk.core import clock
from esimdesk.core.audit import AuditEntry
from esimdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from esimdesk.esims.models import Esim
from esimdesk.groups import services as groups
from esimdesk.groups.models import Group, Invitation, Membership
from esimdesk.notifications.models import Notification
from esimdesk.sharedplans import members as group_members
from tests.conftest import run_tasks
from tests.sharedplans.conftest import START, Family, buy_seats, new_user, own_esim

pytestmark = pytest.mark.django_db


@pytest.fixture
def bought(group_plans: None) -> Family:
    """A family of up to four with its plan bought and no one but the owner in it yet."""
    clock.set_now(START)
    owner = new_user("mum@example.com")
    group = groups.create_group(owner=owner, kind=Group.Kind.FAMILY, name="Lin family")
    buy_seats(owner, group, 4)
    group.refresh_from_db()
    return Family(group, owner)


def test_create_group_makes_the_creator_owner(group_plans: None) -> None:
    owner = new_user("boss@example.com")
    group = groups.create_group(owner=owner, kind="enterprise", name="  Acme   Ltd ",
                                company_name="Acme Ltd", tax_id="GB123")
    assert group.name == "Acme Ltd"
    member = Membership.active.get(group=group)
    assert (member.user, member.role) == (owner, "owner")
    with pytest.raises(ValidationFailed) as error:
        groups.create_group(owner=owner, kind="club", name="x")
    assert error.value.code == "invalid_group_kind"


def test_no_invitation_before_the_plan_is_bought(group_plans: None) -> None:
    owner = new_user("early@example.com")
    group = groups.create_group(owner=owner, kind="family", name="Early")
    with pytest.raises(Conflict) as error:
        groups.invite(by=owner, group=group, email="kid@example.com")
    assert error.value.code == "group_has_no_plan"


def test_invitation_to_someone_without_an_account_is_in_the_chosen_language(
        bought: Family) -> None:
    invitation = groups.invite(by=bought.owner, group=bought.group, email="Gran@Example.com",
                               language="zh-hans")
    assert invitation.email == "gran@example.com"
    mail = Notification.objects.get(to="gran@example.com", kind="group_invitation")
    assert mail.language == "zh-hans"
    # Django's own zh-hans date format (no catalogue needed): the message is rendered in
    # the invitee's language, and it carries the token link.
    assert "2026年3月8日" in mail.body_text
    assert f"/groups/join/{invitation.token}/" in mail.body_text


def test_invitation_to_an_account_uses_their_language_and_channels(bought: Family) -> None:
    invitee = new_user("dad@example.com", language="zh-hans")
    groups.invite(by=bought.owner, group=bought.group, email="dad@example.com",
                  language="en")
    sent = Notification.objects.filter(user=invitee, kind="group_invitation")
    assert {n.channel for n in sent} >= {"email", "inapp"}
    assert all(n.language == "zh-hans" for n in sent)


def test_invitation_by_phone_goes_by_text(bought: Family) -> None:
    groups.invite(by=bought.owner, group=bought.group, phone="+86 138 0013 8001")
    sms = Notification.objects.get(kind="group_invitation", channel="sms")
    assert sms.to == "+8613800138001" and "/groups/join/" in sms.body_text
    with pytest.raises(ValidationFailed):
        groups.invite(by=bought.owner, group=bought.group, phone="12")


def test_seats_limit_invitations(bought: Family) -> None:
    for n in range(3):
        groups.invite(by=bought.owner, group=bought.group, email=f"k{n}@example.com")
    with pytest.raises(Conflict) as error:
        groups.invite(by=bought.owner, group=bought.group, email="k9@example.com")
    assert error.value.code == "group_full"
    # An expired invitation frees its seat.
    clock.set_now(START + dt.timedelta(days=8))
    groups.invite(by=bought.owner, group=bought.group, email="k9@example.com")


def test_join_with_own_esim_then_expired_and_used_links_refused(bought: Family) -> None:
    kid = new_user("kid@example.com")
    esim = own_esim(kid)
    esim.subscription.auto_renew = True
    esim.subscription.save()
    invitation = groups.invite(by=bought.owner, group=bought.group, email="kid@example.com")
    member = group_members.accept_invitation(user=kid, token=invitation.token, iccid=esim.iccid)
    assert member.esim == esim and member.role == "member"
    esim.subscription.refresh_from_db()
    assert not esim.subscription.auto_renew  # the group pays now, not the member's card
    with pytest.raises(Conflict) as error:
        group_members.accept_invitation(user=kid, token=invitation.token)
    assert error.value.code == "invitation_closed"
    other = new_user("late@example.com")
    late = groups.invite(by=bought.owner, group=bought.group, email="late@example.com")
    clock.set_now(late.expires_at)
    with pytest.raises(Conflict):
        group_members.accept_invitation(user=other, token=late.token)
    with pytest.raises(NotFound):
        group_members.accept_invitation(user=other, token="nope")


def test_someone_elses_esim_or_one_in_another_pool_cannot_join(bought: Family) -> None:
    kid, stranger = new_user("kid2@example.com"), new_user("x@example.com")
    theirs = own_esim(stranger)
    invitation = groups.invite(by=bought.owner, group=bought.group, email="kid2@example.com")
    with pytest.raises(NotFound):
        group_members.accept_invitation(user=kid, token=invitation.token, iccid=theirs.iccid)
    mine = own_esim(kid)
    group_members.accept_invitation(user=kid, token=invitation.token, iccid=mine.iccid)
    other = groups.create_group(owner=kid, kind="family", name="Kid's own")
    buy_seats(kid, other, 2)
    with pytest.raises(Conflict) as error:
        group_members.attach_esim(user=kid, group_id=other.pk, iccid=mine.iccid)
    assert error.value.code == "esim_in_pool"


def test_join_with_a_new_esim_orders_one_in_the_background(bought: Family) -> None:
    kid = new_user("new@example.com")
    invitation = groups.invite(by=bought.owner, group=bought.group, email="new@example.com")
    member = group_members.accept_invitation(user=kid, token=invitation.token)
    assert member.esim is None
    run_tasks()
    member.refresh_from_db()
    assert member.esim is not None and member.esim.owner == kid
    assert Esim.objects.filter(owner=kid).count() == 1
    assert AuditEntry.objects.filter(action="esim.pool_plan_applied",
                                     object_id=str(member.esim_id)).count() == 1


def test_roles_and_permissions(bought: Family) -> None:
    a, b = new_user("a@example.com"), new_user("b@example.com")
    inv_a = groups.invite(by=bought.owner, group=bought.group, email="a@example.com",
                          role="admin")
    admin = group_members.accept_invitation(user=a, token=inv_a.token)
    assert admin.role == "admin"
    inv_b = groups.invite(by=a, group=bought.group, email="b@example.com")
    member = group_members.accept_invitation(user=b, token=inv_b.token)
    with pytest.raises(PermissionDenied):
        groups.invite(by=a, group=bought.group, email="c@example.com", role="admin")
    with pytest.raises(PermissionDenied):
        groups.set_role(by=a, membership=member, role="admin")
    with pytest.raises(PermissionDenied):
        groups.set_cap(by=b, membership=member, cap_bytes=1)
    with pytest.raises(PermissionDenied):
        group_members.remove_member(by=a, membership_id=admin.pk)
    groups.set_cap(by=a, membership=member, cap_percent=30)
    with pytest.raises(ValidationFailed):
        groups.set_cap(by=a, membership=member, cap_percent=130)
    owner_row = Membership.active.get(group=bought.group, user=bought.owner)
    with pytest.raises(Conflict):
        group_members.remove_member(by=bought.owner, membership_id=owner_row.pk)
    with pytest.raises(Conflict):
        group_members.leave_group(user=bought.owner, group_id=bought.group.pk)
    stranger = new_user("s@example.com")
    with pytest.raises(NotFound):
        groups.membership_of(user=stranger, group_id=bought.group.pk)


def test_leaving_keeps_the_esim_and_allows_rejoining(bought: Family) -> None:
    kid = new_user("leaver@example.com")
    esim = own_esim(kid)
    invitation = groups.invite(by=bought.owner, group=bought.group, email=kid.email or "")
    group_members.accept_invitation(user=kid, token=invitation.token, iccid=esim.iccid)
    left = group_members.leave_group(user=kid, group_id=bought.group.pk)
    assert left.left_at is not None
    esim.refresh_from_db()
    assert esim.owner == kid and esim.status != "revoked"
    assert esim.subscription.periods.exists()  # their own plan is untouched
    again = groups.invite(by=bought.owner, group=bought.group, email=kid.email or "")
    rejoined = group_members.accept_invitation(user=kid, token=again.token, iccid=esim.iccid)
    assert rejoined.pk != left.pk
    assert Invitation.objects.filter(group=bought.group, state="accepted").count() == 2
    assert AuditEntry.objects.filter(action__in=["group.join", "group.leave"]).count() == 3


@pytest.mark.parametrize("template", ["group_invitation", "group_added", "pool_low_data",
                                      "member_near_cap", "pool_expiry_reminder"])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_group_message_renders_on_every_channel(family: Family, template: str,
                                                      language: str) -> None:
    from esimdesk.notifications.models import Channel
    from esimdesk.notifications.rendering import render_message

    user = family.members[1].user
    user.language = language
    period = family.period
    context = {"group": family.group, "inviter": family.owner, "by": family.owner,
               "url": "http://testserver/groups/join/t/", "group_url": "http://testserver/g/",
               "expires_at": START, "period": period, "plan": period.plan, "level": "3d",
               "allowance": {"total": 100, "used": 80, "remaining": 20, "used_percent": 80},
               "auto_renew": False, "cap": 100, "used": 90, "remaining": 10,
               "used_percent": 90}
    rendered = render_message(user=user, template=template, context=context,
                              channels=[Channel.EMAIL, Channel.SMS, Channel.INAPP])
    assert all(r.text.strip() for r in rendered.values())
    assert rendered[Channel.EMAIL].subject and "http://testserver/" in (
        rendered[Channel.EMAIL].text + rendered[Channel.SMS].text)
