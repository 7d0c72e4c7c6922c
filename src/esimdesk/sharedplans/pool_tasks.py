"""Upstream work for pools, from background tasks enqueued in the transaction that decided
it: applying the pool's plan to a member's eSIM, throttling or stopping a member (cap
reached) or every member (pool used up), and ending the pool's plan on the eSIM of a member
who left. Each call carries an idempotent reference, so a redelivered task changes nothing
twice; passing supplier failures retry with backoff (``provisioning.retrying``)."""

from __future__ import annotations

from django_tasks import task

from esimdesk.core import audit, clock
from esimdesk.groups.models import Membership
from esimdesk.orders.models import OrderLine
from esimdesk.provisioning import registry as upstream
from esimdesk.provisioning.retrying import call_from_task
from esimdesk.subscriptions import allowance_policy as policy
from esimdesk.subscriptions.models import Period


def _member(membership_id: int) -> Membership:
    return Membership.objects.select_related("esim", "group").get(pk=membership_id)


def _over(period: Period) -> bool:
    """The period has ended (one waiting for first use, or queued behind it, has not)."""
    return period.ends_at is not None and period.ends_at <= clock.now()


@task()
def apply_pool_plan_task(period_id: int, membership_id: int, attempt: int = 1) -> str:
    """The pool's plan runs on the member's eSIM for the period (a new period, or a member
    who joined during one). A pool waiting for its first member's first use is applied
    too: it is on the eSIM when the member arrives."""
    member = _member(membership_id)
    period = Period.objects.select_related("plan").get(pk=period_id)
    esim = member.esim
    if esim is None or _over(period):
        return "nothing to apply"
    if member.left_at is not None and (period.starts_at is None
                                       or member.left_at <= period.starts_at):
        return "left"
    def apply() -> None:
        upstream.get(esim.upstream).apply_plan(
            reference=f"esimdesk-pool-{period_id}-m{membership_id}", iccid=esim.iccid,
            plan_code=period.plan.code)

    failed = call_from_task(
        call=apply,
        retry=apply_pool_plan_task, args=(period_id, membership_id), attempt=attempt,
        what=f"pool plan upstream for {esim.iccid}", about=esim)
    if failed:
        return failed
    audit.record(action="esim.pool_plan_applied", obj=esim, actor_type="task", actor="groups",
                 after={"period": period_id, "group": member.group_id})
    return "applied"


@task()
def member_depletion_task(period_id: int, membership_id: int, reason: str,
                          attempt: int = 1) -> str:
    """Throttle or stop one member's eSIM: ``reason`` is ``cap`` (the member's cap, the
    plan's group terms say how) or ``pool`` (the pool is used up, the plan's depletion)."""
    member = _member(membership_id)
    period = Period.objects.select_related("plan").get(pk=period_id)
    esim = member.esim
    if esim is None or _over(period):
        return "period over"
    terms = getattr(period.plan, "group_terms", None)
    behaviour = terms.cap_action if reason == "cap" and terms is not None \
        else period.plan.depletion
    action = policy.policy_for(depletion=behaviour).on_depleted
    if action is None:
        return "nothing upstream"  # the policy does nothing when the data runs out
    failed = call_from_task(
        call=lambda: upstream.get(esim.upstream).set_depletion(
            reference=f"esimdesk-{reason}-{period_id}-m{membership_id}", iccid=esim.iccid,
            action=action),
        retry=member_depletion_task, args=(period_id, membership_id, reason),
        attempt=attempt, what=f"{reason} depletion upstream for {esim.iccid}", about=esim)
    if failed:
        return failed
    audit.record(action="esim.data_depleted_upstream", obj=esim, actor_type="task",
                 actor="groups", after={"period": period_id, "action": action},
                 reason="member cap reached" if reason == "cap" else "shared pool used up")
    return action


@task()
def member_lift_task(period_id: int, membership_id: int, reference: str,
                     attempt: int = 1) -> str:
    """A member's cap was raised or removed after it held them: lift the throttle or stop
    on their eSIM (idempotent on ``reference``, the same on every retry)."""
    member = _member(membership_id)
    period = Period.objects.get(pk=period_id)
    esim = member.esim
    if esim is None or _over(period):
        return "period over"
    failed = call_from_task(
        call=lambda: upstream.get(esim.upstream).lift_depletion(reference=reference,
                                                                iccid=esim.iccid),
        retry=member_lift_task, args=(period_id, membership_id, reference),
        attempt=attempt, what=f"lifting the cap hold on {esim.iccid}")
    if failed:
        if failed != "retrying":  # refused or out of tries: staff see it in the history
            audit.record(action="esim.lift_failed", obj=esim, actor_type="task",
                         actor="groups", after={"period": period_id},
                         reason=f"upstream {failed}")
        return failed
    audit.record(action="esim.data_restored_upstream", obj=esim, actor_type="task",
                 actor="groups", after={"period": period_id}, reason="member cap raised")
    return "lifted"


@task()
def pool_depletion_task(period_id: int) -> int:
    """The pool's data is used up: every member's eSIM is throttled or stopped."""
    period = Period.objects.select_related("subscription").get(pk=period_id)
    group_id = period.subscription.group_id
    assert group_id is not None
    members = list(Membership.active.filter(group_id=group_id,
                                            esim__isnull=False).values_list("pk", flat=True))
    for membership_id in members:
        member_depletion_task.enqueue(period_id, membership_id, "pool")
    return len(members)


@task()
def end_pool_plan_task(membership_id: int, attempt: int = 1) -> str:
    """A member left or was removed: the pool's plan stops on their eSIM (the eSIM stays
    theirs, with its own plans if it has any)."""
    member = _member(membership_id)
    esim = member.esim
    if esim is None:
        return "no eSIM"
    failed = call_from_task(
        call=lambda: upstream.get(esim.upstream).end_plan(
            reference=f"esimdesk-pool-left-m{membership_id}", iccid=esim.iccid),
        retry=end_pool_plan_task, args=(membership_id,), attempt=attempt,
        what=f"end pool plan upstream for {esim.iccid}", about=esim)
    if failed:
        return failed
    audit.record(action="esim.pool_plan_ended", obj=esim, actor_type="task", actor="groups",
                 after={"group": member.group_id})
    return "ended"


@task()
def pool_top_up_task(line_id: int, membership_id: int, attempt: int = 1) -> str:
    """A pool was topped up: the top-up upstream on one member's eSIM (idempotent on the
    line and the member), so a service held because the pool ran out resumes."""
    line = OrderLine.objects.select_related("product").get(
        pk=line_id)
    member = _member(membership_id)
    esim, product = member.esim, line.product
    if esim is None or product is None:
        return "nothing to apply"

    def apply() -> None:
        upstream.get(esim.upstream).apply_top_up(
            reference=f"esimdesk-line-{line_id}-m{membership_id}", iccid=esim.iccid,
            product_code=product.code, data_bytes=product.data_bytes,
            voice_seconds=product.voice_seconds, sms_count=product.sms_count,
            extend_days=product.extends_validity_days)

    failed = call_from_task(call=apply, retry=pool_top_up_task, args=(line_id, membership_id),
                            attempt=attempt, what=f"pool top-up upstream for {esim.iccid}",
                            about=esim)
    if failed:
        return failed
    audit.record(action="esim.pool_top_up_applied", obj=esim, actor_type="task",
                 actor="groups", after={"line": line_id, "group": member.group_id})
    return "applied"
