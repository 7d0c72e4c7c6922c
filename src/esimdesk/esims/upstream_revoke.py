"""Cancelling at the supplier a profile esimdesk revoked: the one way every path does it.

An eSIM stops being the customer's before it is installed when its order is refunded in
full (the customer, staff, the payment provider), when staff reissue it or cancel it
(fraud). Each path revokes the eSIM locally and, in the same transaction, calls
``request``: it writes one ``UpstreamRevoke`` row per eSIM, under a reference made once
(``revoke-esim-<pk>``, or the one the caller gives), and queues ``revoke_upstream_task``
in that transaction too, so a crash after the commit loses nothing and a replay (a second
refund, a redelivered webhook) finds the row and calls nothing again. Money never waits:
the refund is already confirmed when this is requested, and nothing here can undo it.

The task asks the supplier (``UpstreamProvider.revoke``, idempotent on the reference) with
backoff on passing failures (``provisioning.retrying``), then records what the supplier
really said, on the row and in the audit trail:

- ``esim.revoked_upstream``: the supplier confirmed; the activation code no longer works;
- ``esim.upstream_revoke_refused``: the supplier said no (its code and message), or cannot
  cancel at all (``not_supported``: bar the ICCID in the network);
- ``esim.upstream_revoke_failed``: it could not be reached before the tries ran out.

The last two leave the profile possibly usable: the row stays ``needs_action``, which the
console's alerts sweep shows as an alert and mails to ``ESIMDESK_OPS_EMAIL``, until staff
try again (``retry``) or settle it another way (``mark_handled``). A task lost with its
worker is queued again by the ``upstream_revokes`` sweep (``recover``).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict, ValidationFailed
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim, Reissue, UpstreamRevoke
from esimdesk.provisioning import registry as upstream
from esimdesk.provisioning.models import SupplierAction
from esimdesk.provisioning.retrying import ATTEMPTS, Attempt, attempt_from_task
from esimdesk.provisioning.suppliers.base import RetryableUpstreamError, UpstreamError

logger = logging.getLogger(__name__)

#: A pending cancellation untouched this long, with no task queued for it, lost its task.
STALE = dt.timedelta(hours=1)
TASK_PATH = f"{__name__}.revoke_upstream_task"

#: What an adapter records when the supplier could not cancel but the adapter revoked the
#: profile in its own books (ES2+: the profile was already downloaded, so ``cancelOrder``
#: is refused and only the network can bar the ICCID). Reported as the supplier's refusal.
NOT_CANCELLED_UPSTREAM = {
    ("es2plus", "revoked"): ("already_downloaded",
                             "The profile was already downloaded: the SM-DP+ cannot cancel "
                             "it. Bar the ICCID in the network."),
}

#: The supplier's codes that mean it cannot cancel this profile at all.
CANNOT_CANCEL = ("not_supported", "already_downloaded")

Status = UpstreamRevoke.Status


def request(*, esim: Esim, cause: str, actor: str, reference: str = "",
            actor_type: str = "task") -> UpstreamRevoke:
    """Record that ``esim`` (revoked in esimdesk) must be cancelled at its supplier, and
    queue the call. Call it inside the transaction that revoked the eSIM.

    Idempotent per eSIM: a second request returns the first row, with its reference, and
    queues nothing."""
    with transaction.atomic():
        found = UpstreamRevoke.objects.filter(esim=esim).first()
        if found is not None:
            return found
        if not Esim.objects.filter(pk=esim.pk, status=Esim.Status.REVOKED).exists():
            raise Conflict(code="esim_not_revoked", detail={"iccid": esim.iccid})
        try:
            with transaction.atomic():
                row = UpstreamRevoke.objects.create(
                    esim=esim, supplier=esim.upstream,
                    reference=(reference or f"revoke-esim-{esim.pk}")[:100],
                    cause=cause[:200])
        except IntegrityError:  # a concurrent request for the same eSIM got there first
            return UpstreamRevoke.objects.get(esim=esim)
        audit.record(action="esim.upstream_revoke_requested", obj=esim,
                     actor_type=actor_type, actor=actor,
                     after={"supplier": row.supplier, "reference": row.reference},
                     reason=row.cause)
        revoke_upstream_task.enqueue(row.pk)
    return row


def revoke_before_install(*, esim_id: int, actor: str, reason: str) -> UpstreamRevoke:
    """Staff cancel an eSIM that was never installed (fraud, a mistaken order): it is
    revoked here and at its supplier. An installed eSIM is suspended instead (409
    ``esim_not_cancellable``). The plan on it is not refunded: that is a refund's job."""
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationFailed(code="reason_required")
    with transaction.atomic():
        esim = Esim.objects.select_for_update().get(pk=esim_id)
        if esim.status != Esim.Status.READY:
            raise Conflict(code="esim_not_cancellable", detail={"status": esim.status})
        revoked = esims.transition(esim=esim, to=Esim.Status.REVOKED, actor_type="staff",
                                   actor=actor, reason=text)
        return request(esim=revoked, cause=f"cancelled by staff: {text}", actor=actor,
                       actor_type="staff")


@task()
def revoke_upstream_task(revoke_id: int, attempt: int = 1) -> str:
    """``carry_out`` from the worker: queued by ``request`` in the revoking transaction, by
    itself for a retry, by staff (``retry``) and by the sweep (``recover``)."""
    return carry_out(revoke_id=revoke_id, attempt=attempt)


def carry_out(*, revoke_id: int, attempt: int = 1) -> str:
    """Ask the supplier to cancel the profile, then record the answer. A row no longer
    pending (settled by an earlier run) is left as it is and nothing is called."""
    row = UpstreamRevoke.objects.select_related("esim").get(pk=revoke_id)
    if row.status != Status.PENDING:
        return str(row.status)
    UpstreamRevoke.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1,
                                                    last_attempt_at=clock.now())
    iccid, reference, supplier = row.esim.iccid, row.reference, row.supplier

    def call() -> None:
        try:
            upstream.get(supplier).revoke(reference=reference, iccid=iccid)
        except UpstreamError:
            raise
        except Exception as error:  # an answer esimdesk could not read: outcome unknown
            logger.exception("revoke %s at %s", iccid, supplier)
            raise RetryableUpstreamError(f"{type(error).__name__}: {error}",
                                         code="unexpected_error") from error

    result = attempt_from_task(call=call, retry=revoke_upstream_task, args=(revoke_id,),
                               attempt=attempt, what=f"revoke {iccid} at {supplier}",
                               tell_staff=False)  # recorded and alerted by _record
    return _record(row.pk, result)


def _supplier_words(row: UpstreamRevoke, result: Attempt) -> Attempt:
    """A success the adapter recorded as a local revoke only is the supplier's refusal."""
    if not result.done:
        return result
    said = (SupplierAction.objects.filter(reference=row.reference, done_at__isnull=False)
            .values_list("outcome", flat=True).first())
    local = NOT_CANCELLED_UPSTREAM.get((row.supplier, said or ""))
    return Attempt("refused", *local) if local else result


def _record(revoke_id: int, result: Attempt) -> str:
    with transaction.atomic():
        row = UpstreamRevoke.objects.select_for_update().select_related("esim").get(
            pk=revoke_id)
        if row.status != Status.PENDING:
            return str(row.status)
        result = _supplier_words(row, result)
        row.code, row.message = result.code[:60], result.message[:500]
        if result.outcome == "retrying":
            row.save(update_fields=["code", "message"])
            return result.outcome
        after = {"supplier": row.supplier, "reference": row.reference,
                 "attempts": row.attempts}
        if result.done:
            row.status = Status.REVOKED
            row.revoked_upstream_at = clock.now()
            audit.record(action="esim.revoked_upstream", obj=row.esim, actor_type="task",
                         actor=row.supplier, after=after, reason=row.cause)
            # A reissue's own record of the old profile's fate says the same.
            Reissue.objects.filter(old_esim=row.esim, revoked_upstream_at__isnull=True) \
                .update(revoked_upstream_at=row.revoked_upstream_at)
        elif result.outcome == "failed":
            row.status = Status.FAILED
            audit.record(action="esim.upstream_revoke_failed", obj=row.esim,
                         actor_type="task", actor=row.supplier,
                         after={**after, "code": row.code},
                         reason=f"no answer after {row.attempts} tries: {row.message}"[:500])
        else:
            row.status = Status.NOT_SUPPORTED if row.code in CANNOT_CANCEL \
                else Status.REFUSED
            audit.record(action="esim.upstream_revoke_refused", obj=row.esim,
                         actor_type="task", actor=row.supplier,
                         after={**after, "code": row.code, "status": row.status},
                         reason=_advice(row))
        row.save(update_fields=["status", "code", "message", "revoked_upstream_at"])
    if row.status in UpstreamRevoke.NEEDS_ACTION:
        logger.error("eSIM %s is revoked in esimdesk but not at %s (%s): %s", row.esim.iccid,
                     row.supplier, row.status, row.message)
    return str(row.status)


def _advice(row: UpstreamRevoke) -> str:
    if row.status == Status.NOT_SUPPORTED:
        return (f"supplier cannot cancel: bar the ICCID in the network ({row.code}: "
                f"{row.message})")[:500]
    return f"supplier refused ({row.code}): {row.message}"[:500]


def retry(*, revoke_id: int, actor: str) -> UpstreamRevoke:
    """Staff: ask the supplier again, under the same reference, with fresh tries (409
    ``revoke_not_retryable`` once the supplier confirmed, ``revoke_in_progress`` while it
    is still being asked)."""
    with transaction.atomic():
        row = UpstreamRevoke.objects.select_for_update().select_related("esim").get(
            pk=revoke_id)
        if row.status == Status.REVOKED:
            raise Conflict(code="revoke_not_retryable", detail={"status": row.status})
        if row.status == Status.PENDING:
            raise Conflict(code="revoke_in_progress", detail={"attempts": row.attempts})
        before = row.status
        row.status, row.attempts, row.handled_at = Status.PENDING, 0, None
        row.save(update_fields=["status", "attempts", "handled_at"])
        audit.record(action="esim.upstream_revoke_retried", obj=row.esim, actor_type="staff",
                     actor=actor, before={"status": before}, after={"status": row.status,
                                                                    "reference": row.reference})
        revoke_upstream_task.enqueue(row.pk)
    return row


def mark_handled(*, revoke_id: int, actor: str, note: str) -> UpstreamRevoke:
    """Staff settled a refused or failed cancellation outside esimdesk (the ICCID barred in
    the network, the supplier's support cancelled it): the alert closes. A reason is
    required; a confirmed or pending cancellation needs none (409 ``revoke_not_open``)."""
    text = " ".join((note or "").split())
    if not text:
        raise ValidationFailed(code="reason_required")
    with transaction.atomic():
        row = UpstreamRevoke.objects.select_for_update().select_related("esim").get(
            pk=revoke_id)
        if not row.needs_action:
            raise Conflict(code="revoke_not_open", detail={"status": row.status})
        row.handled_at, row.handled_by, row.handled_note = clock.now(), actor[:200], text[:500]
        row.save(update_fields=["handled_at", "handled_by", "handled_note"])
        audit.record(action="esim.upstream_revoke_handled", obj=row.esim, actor_type="staff",
                     actor=actor, after={"status": row.status, "reference": row.reference},
                     reason=text)
    return row


def needing_action(limit: int = 100) -> list[UpstreamRevoke]:
    """The cancellations staff must act on, oldest first, at most ``limit`` (one query)."""
    return list(UpstreamRevoke.objects.filter(status__in=UpstreamRevoke.NEEDS_ACTION,
                                              handled_at__isnull=True)
                .select_related("esim").order_by("requested_at", "pk")[:limit])


def recover(now: dt.datetime | None = None) -> dict[str, int]:
    """The ``upstream_revokes`` sweep: queue again each pending cancellation whose task was
    lost (its worker died mid-call); one whose tries are used up is recorded as failed."""
    now = now or clock.now()
    stale = list(UpstreamRevoke.objects.filter(status=Status.PENDING,
                                               requested_at__lt=now - STALE)
                 .exclude(last_attempt_at__gte=now - STALE).values_list("pk", "attempts"))
    if not stale:
        return {"requeued": 0, "failed": 0}
    queued = {(args_kwargs or {}).get("args", [None])[0] for args_kwargs in
              DBTaskResult.objects.filter(task_path=TASK_PATH, status=TaskResultStatus.READY)
              .values_list("args_kwargs", flat=True)}
    requeued = failed = 0
    for pk, attempts in stale:
        if pk in queued:
            continue
        if attempts >= ATTEMPTS:
            _record(pk, Attempt("failed", "task_lost", "the cancellation's task was lost"))
            failed += 1
        else:
            revoke_upstream_task.enqueue(pk, attempts + 1)
            requeued += 1
    return {"requeued": requeued, "failed": failed}
