"""Reissue: staff replace a profile that failed to install with a new one.

The new profile comes from the supplier that issued the old one, under an idempotent
reference, and carries the plan that runs (plans queued after it are applied to it too).
In one transaction the subscription — every period, and so the data left — moves to the
new eSIM and the old one is marked revoked; after commit the old profile is cancelled
upstream (``esims.upstream_revoke``, which records and audits what the supplier said) and
the traveller gets the new install e-mail. A reissue is refused once the eSIM is in use:
a profile that works is never replaced behind the traveller's back.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django_tasks import task

from esimdesk.catalog import bundles as supplier_bundles
from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict, ValidationFailed
from esimdesk.esims import services as esims
from esimdesk.esims import upstream_revoke
from esimdesk.esims.models import Esim, Reissue
from esimdesk.notifications import services as notifications
from esimdesk.provisioning import registry as upstream
from esimdesk.provisioning.retrying import attempt_from_task
from esimdesk.subscriptions.models import Period, Subscription

logger = logging.getLogger(__name__)
REISSUABLE = (Esim.Status.READY, Esim.Status.INSTALLED, Esim.Status.SUSPENDED)


def request_reissue(*, esim_id: int, actor: str, reason: str) -> Reissue:
    """Staff: start replacing the profile. Refused without a reason, for an eSIM in use or
    revoked, or while another reissue of it is under way. Audited; the work runs as a task."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed(code="reason_required")
    with transaction.atomic():
        esim = Esim.objects.select_for_update().get(pk=esim_id)
        if esim.status not in REISSUABLE:
            raise Conflict(code="esim_not_reissuable", detail={"status": esim.status})
        count = Reissue.objects.filter(old_esim=esim).count()
        try:
            with transaction.atomic():
                reissue = Reissue.objects.create(
                    old_esim=esim, reference=f"reissue-{esim.pk}-{count + 1}",
                    reason=reason[:500], requested_by=actor[:150])
        except IntegrityError:
            raise Conflict(code="reissue_in_progress") from None
        audit.record(action="esim.reissue_requested", obj=esim, actor_type="staff",
                     actor=actor, after={"reissue": reissue.reference}, reason=reason)
        reissue_task.enqueue(reissue.pk)
    return reissue


@task()
def reissue_task(reissue_id: int, attempt: int = 1) -> str:
    return carry_out(reissue_id=reissue_id, attempt=attempt)


@task()
def revoke_profile_task(reissue_id: int, attempt: int = 1) -> str:
    return revoke_old_profile(reissue_id=reissue_id, attempt=attempt)


def _plans_to_carry(subscription: Subscription) -> list[Period]:
    """The running period first (or the next queued one), then the queued ones."""
    return list(subscription.periods.filter(
        state__in=[Period.State.ACTIVE, Period.State.SCHEDULED]).select_related("plan")
        .order_by("sequence"))


def carry_out(*, reissue_id: int, attempt: int = 1) -> str:
    """The task: order the replacement upstream (idempotent), then switch over.

    Ordering and switching over are tried together (``provisioning.retrying``): whatever
    goes wrong, the supplier's error or anything after it answered (a profile
    ``esims.create_esim`` refuses, a database hiccup), is retried with backoff under the
    same references, so no second profile is made; once the tries run out or the supplier
    refuses for good the reissue is marked failed with the reason, and staff are told once
    (``supplier.action_failed`` on the old eSIM, and ``ESIMDESK_OPS_EMAIL``). The task
    never dies with nothing recorded."""
    reissue = Reissue.objects.select_related("old_esim").get(pk=reissue_id)
    if reissue.status != Reissue.Status.PENDING:
        return reissue.status
    old = reissue.old_esim
    subscription = Subscription.objects.filter(esim=old).first()
    periods = _plans_to_carry(subscription) if subscription else []
    plan = periods[0].plan if periods else (subscription.plan if subscription else None)
    if plan is None:
        return _give_up(reissue, "the eSIM has no plan to carry over")
    supplier = upstream.get(old.upstream)
    # How far the try got: the supplier's answer, or recording it (for the failure text).
    stage = ["ordering"]
    finished: list[str] = []

    def order_and_switch_over() -> None:
        stage[0] = "ordering"
        # What this supplier calls each plan (its bundle code; ES2+: the profile type).
        profile = supplier.order_profile(
            reference=reissue.reference,
            plan_code=supplier_bundles.code_for(plan, supplier.name))
        for period in periods[1:]:
            supplier.apply_plan(reference=f"{reissue.reference}-p{period.pk}",
                                iccid=profile.iccid,
                                plan_code=supplier_bundles.code_for(period.plan, supplier.name))
        stage[0] = "recording"
        finished.append(_switch_over(reissue.pk, supplier.name, profile))

    result = attempt_from_task(call=order_and_switch_over, retry=reissue_task,
                               args=(reissue_id,), attempt=attempt,
                               what=f"reissue {reissue.reference}", about=old)
    if result.done:
        return finished[0]
    if result.outcome == "retrying":
        return result.outcome
    what = ("the new profile could not be recorded" if stage[0] == "recording"
            else "the supplier did not issue a new profile")
    return _give_up(reissue, f"{what} ({result.outcome}: {result.code}: {result.message})")


def _switch_over(reissue_id: int, supplier: str, profile: Any) -> str:
    with transaction.atomic():
        reissue = Reissue.objects.select_for_update().get(pk=reissue_id)
        if reissue.status != Reissue.Status.PENDING:
            return reissue.status
        old = Esim.objects.select_for_update().get(pk=reissue.old_esim_id)
        new = esims.create_esim(owner=old.owner, iccid=profile.iccid,
                                smdp_address=profile.smdp_address,
                                matching_id=profile.matching_id,
                                confirmation_code=profile.confirmation_code,
                                upstream=supplier,
                                upstream_reference=profile.upstream_reference)
        if old.label:
            new.label = old.label
            new.save(update_fields=["label"])
        Subscription.objects.filter(esim=old).update(esim=new)
        revoked = esims.transition(esim=old, to=Esim.Status.REVOKED, actor_type="task",
                                   actor="reissue", reason=reissue.reason)
        reissue.new_esim = new
        reissue.status = Reissue.Status.DONE
        reissue.completed_at = clock.now()
        reissue.save(update_fields=["new_esim", "status", "completed_at"])
        audit.record(action="esim.reissued", obj=new, actor_type="task", actor="reissue",
                     before={"iccid": old.iccid}, after={"iccid": new.iccid},
                     reason=reissue.reason)
        upstream_revoke.request(esim=revoked, cause=f"reissued ({reissue.reference})",
                                actor="reissue", reference=f"{reissue.reference}-revoke")
        url = settings.PUBLIC_URL + reverse("portal:esim", args=[new.iccid])
        notifications.notify(user=new.owner, kind="esim_reissued", template="esim_reissued",
                             context={"esim": new, "old_iccid": old.iccid, "esim_url": url},
                             dedupe_key=f"esim-reissued:{reissue.pk}", transactional=True)
    return reissue.status


def _give_up(reissue: Reissue, failure: str) -> str:
    with transaction.atomic():
        locked = Reissue.objects.select_for_update().get(pk=reissue.pk)
        if locked.status != Reissue.Status.PENDING:
            return locked.status
        locked.status = Reissue.Status.FAILED
        locked.failure = failure[:500]
        locked.completed_at = clock.now()
        locked.save(update_fields=["status", "failure", "completed_at"])
        audit.record(action="esim.reissue_failed", obj=locked.old_esim, actor_type="task",
                     actor="reissue", reason=failure)
    return locked.status


def revoke_old_profile(*, reissue_id: int, attempt: int = 1) -> str:
    """A task queued by an earlier version for the old profile: it is cancelled upstream
    through ``esims.upstream_revoke``, under the reference it always had. Recording the
    request is retried like a supplier call, and staff are told if it never works."""
    reissue = Reissue.objects.select_related("old_esim").get(pk=reissue_id)
    rows: list[int] = []

    def record() -> None:
        with transaction.atomic():
            rows.append(upstream_revoke.request(
                esim=reissue.old_esim, cause=f"reissued ({reissue.reference})",
                actor="reissue", reference=f"{reissue.reference}-revoke").pk)

    result = attempt_from_task(call=record, retry=revoke_profile_task, args=(reissue_id,),
                               attempt=attempt,
                               what=f"cancelling the profile replaced by {reissue.reference}",
                               about=reissue.old_esim)
    if not result.done:
        return result.outcome
    return upstream_revoke.carry_out(revoke_id=rows[0], attempt=attempt)
