"""Staff suspend and resume an eSIM (fraud, a lost phone, the traveller's request).

The state machine moves first, in the staff request's transaction, with the reason in the
audit row; the supplier bars or frees the ICCID after commit, from a task, under a reference
made once per request so a retried task repeats nothing. The plan's periods keep running
while an eSIM is suspended: a suspension does not stop the clock.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django_tasks import task

from esimdesk.core import audit
from esimdesk.core.errors import Conflict, ValidationFailed
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.provisioning import registry as upstream
from esimdesk.provisioning.retrying import call_from_task

SUSPENDABLE = (Esim.Status.INSTALLED, Esim.Status.IN_USE)


def _clean(reason: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationFailed(code="reason_required")
    return text


def suspend(*, esim_id: int, actor: str, reason: str) -> Esim:
    """Suspend an installed eSIM or one in use (409 ``esim_not_suspendable`` otherwise)."""
    text = _clean(reason)
    with transaction.atomic():
        esim = Esim.objects.select_for_update().get(pk=esim_id)
        if esim.status not in SUSPENDABLE:
            raise Conflict(code="esim_not_suspendable", detail={"status": esim.status})
        moved = esims.transition(esim=esim, to=Esim.Status.SUSPENDED, actor_type="staff",
                                 actor=actor, reason=text)
        supplier_task.enqueue(esim.pk, "suspend", f"suspend-{esim.pk}-{uuid.uuid4().hex[:16]}")
    return moved


def resume(*, esim_id: int, actor: str, reason: str) -> Esim:
    """Lift a suspension: the eSIM is in use again (409 ``esim_not_suspended`` otherwise)."""
    text = _clean(reason)
    with transaction.atomic():
        esim = Esim.objects.select_for_update().get(pk=esim_id)
        if esim.status != Esim.Status.SUSPENDED:
            raise Conflict(code="esim_not_suspended", detail={"status": esim.status})
        moved = esims.transition(esim=esim, to=Esim.Status.IN_USE, actor_type="staff",
                                 actor=actor, reason=text)
        supplier_task.enqueue(esim.pk, "resume", f"resume-{esim.pk}-{uuid.uuid4().hex[:16]}")
    return moved


@task()
def supplier_task(esim_id: int, action: str, reference: str, attempt: int = 1) -> str:
    """Suspend or resume the ICCID at its supplier; the outcome is audited."""
    esim = Esim.objects.get(pk=esim_id)
    supplier = upstream.get(esim.upstream)
    call = supplier.suspend if action == "suspend" else supplier.resume
    outcome = call_from_task(call=lambda: call(reference=reference, iccid=esim.iccid),
                             retry=supplier_task, args=(esim_id, action, reference),
                             attempt=attempt, what=f"{action} {esim.iccid} upstream")
    if outcome == "retrying":
        return outcome
    audit.record(action=f"esim.{action}_upstream" if outcome is None
                 else f"esim.{action}_upstream_failed", obj=esim, actor_type="task",
                 actor=supplier.name, after={"reference": reference},
                 reason="" if outcome is None else f"supplier {outcome}")
    return outcome or "done"
