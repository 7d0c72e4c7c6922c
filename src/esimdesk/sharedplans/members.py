"""Joining and leaving a group, which touch eSIMs and the pool (so they live above both).

The rules (docs/groups.md):

- **Join**: an open invitation (pending, not expired) is accepted by the signed-in person who
  has its link, with one of their own eSIMs (not revoked, not in another pool) or with a new
  one, which is ordered from the supplier in the background with the pool's plan. The
  member's cap starts at the group's default (``Group.default_cap_percent``).
- **Leave / removal**: the member leaves at once (``left_at``); their eSIM stays theirs (with
  its own plans, if it has any) and the pool's plan is ended on it upstream. Usage charged
  while they were in stays on their tally and in the pool, so the books of the period stay
  exact; what is left in the pool stays with the group; the seat stays paid until the
  period ends and can be given to someone else. Nothing is refunded. The owner cannot leave
  or be removed; administrators remove members, only the owner removes administrators.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from esimdesk.catalog import bundles as supplier_bundles
from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict, NotFound, PermissionDenied
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.groups import services as groups
from esimdesk.groups.models import Invitation, Membership
from esimdesk.provisioning import registry as upstream
from esimdesk.provisioning.retrying import call_from_task
from esimdesk.sharedplans.pool_tasks import apply_pool_plan_task, end_pool_plan_task
from esimdesk.sharedplans.pools import pool_subscription
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Period


def accept_invitation(*, user: Any, token: str, iccid: str | None = None) -> Membership:
    """Join the invitation's group with the eSIM ``iccid`` (one of the user's) or, without
    it, with a new eSIM ordered in the background."""
    esim = _joinable_esim(user, iccid) if iccid else None
    with transaction.atomic():
        invitation = groups.open_invitation(token)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_open(clock.now()):
            raise Conflict(code="invitation_closed", detail={"state": invitation.state})
        if Membership.active.filter(group_id=invitation.group_id, user=user).exists():
            raise Conflict(_("You are already in this group."), code="already_member")
        try:
            with transaction.atomic():
                member = Membership.objects.create(
                    group_id=invitation.group_id, user=user, role=invitation.role, esim=esim,
                    cost_centre=invitation.cost_centre,
                    data_cap_percent=invitation.group.default_cap_percent)
        except IntegrityError:
            # A parallel request got there first (same person, or same eSIM elsewhere).
            raise Conflict(_("You are already in this group, or this eSIM already shares "
                             "another group's plan."), code="already_member") from None
        invitation.state = Invitation.State.ACCEPTED
        invitation.accepted_by, invitation.accepted_at = user, clock.now()
        invitation.save(update_fields=["state", "accepted_by", "accepted_at"])
        audit.record_by_user(user=user, action="group.join", obj=member,
                             after={"group": invitation.group_id, "role": member.role,
                                    "esim": esim.iccid if esim else "new"})
        if esim is None:
            member_esim_task.enqueue(member.pk)
        else:
            attach_to_pool(member)
    return member


def attach_esim(*, user: Any, group_id: int, iccid: str | None = None) -> Membership:
    """A member without an eSIM in the pool (the owner, who creates the group, or someone
    whose eSIM order failed) brings one of theirs, or without ``iccid`` gets a new one."""
    member = groups.membership_of(user=user, group_id=group_id)
    esim = _joinable_esim(user, iccid) if iccid else None
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=member.pk)
        if locked.esim_id is not None:
            raise Conflict(_("You already share the plan with an eSIM."),
                           code="member_has_esim")
        if esim is None:
            member_esim_task.enqueue(locked.pk)
            return locked
        locked.esim = esim
        try:
            with transaction.atomic():
                locked.save(update_fields=["esim"])
        except IntegrityError:
            raise Conflict(_("This eSIM already shares another group's plan."),
                           code="esim_in_pool") from None
        audit.record_by_user(user=user, action="group.member_esim", obj=locked,
                             after={"esim": esim.iccid})
        attach_to_pool(locked)
    return locked


def _joinable_esim(user: Any, iccid: str) -> Esim:
    esim = esims.get_for_owner(user=user, iccid=iccid)
    if esim.status == Esim.Status.REVOKED:
        raise Conflict(code="esim_not_renewable")
    if Membership.active.filter(esim=esim).exists():
        raise Conflict(_("This eSIM already shares another group's plan."), code="esim_in_pool")
    return esim


def attach_to_pool(member: Membership) -> int:
    """Queue the pool's plan upstream on the member's eSIM for the current and queued
    periods (or the one waiting for the first member's first use), and switch off the
    automatic renewal of the eSIM's own plan (the group pays now; what is left of the own
    plan stays). Call inside the transaction that linked the eSIM."""
    own = getattr(member.esim, "subscription", None) if member.esim_id else None
    if own is not None and own.auto_renew:
        subscriptions.set_auto_renew(user=member.user, subscription=own, enabled=False)
    subscription = pool_subscription(member.group_id)
    if subscription is None or member.esim_id is None:
        return 0
    # Running, queued, or waiting for the first member's first use (no end yet).
    live = list(subscription.periods.exclude(state__in=[Period.State.CANCELLED,
                                                        Period.State.ENDED])
                .filter(Q(ends_at__gt=clock.now()) | Q(ends_at__isnull=True))
                .order_by("sequence").values_list("pk", flat=True))
    for period_id in live:
        apply_pool_plan_task.enqueue(period_id, member.pk)
    return len(live)


def leave_group(*, user: Any, group_id: int) -> Membership:
    member = groups.membership_of(user=user, group_id=group_id)
    if member.role == Membership.Role.OWNER:
        raise Conflict(_("The owner cannot leave the group."), code="owner_cannot_leave")
    return _detach(member, by=user, action="group.leave")


def remove_member(*, by: Any, membership_id: int) -> Membership:
    member = Membership.active.filter(pk=membership_id).first()
    if member is None:
        raise NotFound(code="unknown_member")
    manager = groups.manager_of(user=by, group_id=member.group_id)
    if member.role == Membership.Role.OWNER:
        raise Conflict(_("The owner cannot leave the group."), code="owner_cannot_leave")
    if member.role == Membership.Role.ADMIN and manager.role != Membership.Role.OWNER:
        raise PermissionDenied(code="group_owner_only")
    return _detach(member, by=by, action="group.remove")


def _detach(member: Membership, *, by: Any, action: str) -> Membership:
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=member.pk)
        if locked.left_at is not None:
            return locked
        locked.left_at = clock.now()
        locked.save(update_fields=["left_at"])
        audit.record_by_user(user=by, action=action, obj=locked,
                             before={"left_at": None},
                             after={"left_at": locked.left_at.isoformat(),
                                    "esim": locked.esim.iccid if locked.esim else None})
        if locked.esim_id is not None:
            end_pool_plan_task.enqueue(locked.pk)
    return locked


# -- a new eSIM for a member --------------------------------------------------------------------

MEMBER_ESIM_TASK_PATH = f"{__name__}.member_esim_task"


def esims_being_made(membership_ids: Iterable[int]) -> set[int]:
    """Which of ``membership_ids`` have a new eSIM on its way: ``member_esim_task`` queued
    or running for them (one query). A member without an eSIM and without such a task has
    none coming: they use no eSIM of the group's until they attach one."""
    wanted = set(membership_ids)
    if not wanted:
        return set()
    found = set()
    for args_kwargs in (DBTaskResult.objects
                        .filter(task_path=MEMBER_ESIM_TASK_PATH,
                                status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING])
                        .values_list("args_kwargs", flat=True)):
        args = (args_kwargs or {}).get("args") or []
        if args and args[0] in wanted:
            found.add(args[0])
    return found


@task()
def member_esim_task(membership_id: int, attempt: int = 1) -> str:
    """Order a profile for a member who joined without an eSIM, from the first configured
    supplier, under a reference of the membership (a retry reuses the profile), and record
    it. Ordering and recording are retried together: a profile the supplier issued but
    esimdesk could not record is asked for again under the same reference, never lost."""
    member = Membership.objects.select_related("user", "group").get(pk=membership_id)
    if member.esim_id is not None or member.left_at is not None:
        return "nothing to do"
    subscription = pool_subscription(member.group_id)
    if subscription is None:
        return "no pool"
    supplier = upstream.get(settings.ESIMDESK["UPSTREAM_PROVIDERS"][0])
    made: list[str] = []

    def order_and_record() -> None:
        profile = supplier.order_profile(
            reference=f"esimdesk-member-{membership_id}",
            plan_code=supplier_bundles.code_for(subscription.plan, supplier.name))
        with transaction.atomic():
            locked = Membership.objects.select_for_update().get(pk=membership_id)
            if locked.esim_id is not None:
                made.append("done before")
                return
            esim = esims.create_esim(owner=locked.user, iccid=profile.iccid,
                                     smdp_address=profile.smdp_address,
                                     matching_id=profile.matching_id,
                                     confirmation_code=profile.confirmation_code,
                                     upstream=supplier.name,
                                     upstream_reference=profile.upstream_reference)
            locked.esim = esim
            locked.save(update_fields=["esim"])
            audit.record(action="group.member_esim", obj=locked, actor_type="task",
                         actor="groups", after={"esim": esim.iccid})
            attach_to_pool(locked)
            made.append(esim.iccid)

    failed = call_from_task(call=order_and_record, retry=member_esim_task,
                            args=(membership_id,), attempt=attempt,
                            what=f"member eSIM for membership {membership_id}", about=member)
    return failed or made[0]
