"""What suppliers report about profiles, applied to eSIMs (``provisioning.receivers``'s
``ProfileReceiver``, provided in ``EsimsConfig.ready``).

Status moves only forward: ``installed`` from ``ready``; ``enabled`` and ``first_use`` to
``in_use`` from ``ready`` or ``installed`` (a suspension is lifted by staff, not by a
device); ``deleted`` is audited (staff decide about a reissue); the rest is recorded.
After applying a report, ``profile_reported`` is sent, so apps above (subscriptions: the
validity that starts at first use) act on it in the same transaction.
"""

from __future__ import annotations

import logging

import django.dispatch

from esimdesk.core import audit
from esimdesk.core.errors import IllegalTransition
from esimdesk.core.models import AuditEntry
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.provisioning.suppliers.base import ProfileStatus, ProfileStatusEvent

logger = logging.getLogger(__name__)

#: sent with ``esim``, ``provider`` and ``event`` (a ``ProfileStatusEvent``) once per report
profile_reported = django.dispatch.Signal()

#: status -> (eSIM status it moves to, the eSIM statuses it may move from)
MOVES: dict[str, tuple[str, tuple[str, ...]]] = {
    ProfileStatus.INSTALLED: (Esim.Status.INSTALLED, (Esim.Status.READY,)),
    ProfileStatus.ENABLED: (Esim.Status.IN_USE, (Esim.Status.READY, Esim.Status.INSTALLED)),
    ProfileStatus.FIRST_USE: (Esim.Status.IN_USE, (Esim.Status.READY, Esim.Status.INSTALLED)),
}


class EsimReports:
    def esim_id(self, iccid: str) -> int | None:
        return Esim.objects.filter(iccid=iccid).values_list("pk", flat=True).first()

    def status_of(self, iccid: str) -> str | None:
        return Esim.objects.filter(iccid=iccid).values_list("status", flat=True).first()

    def apply_status(self, *, provider: str, event: ProfileStatusEvent) -> str:
        esim = Esim.objects.get(iccid=event.iccid)
        outcome = self._move(esim, provider, event)
        profile_reported.send(sender=EsimReports, esim=esim, provider=provider, event=event)
        return outcome

    def _move(self, esim: Esim, provider: str, event: ProfileStatusEvent) -> str:
        if event.status == ProfileStatus.DELETED:
            audit.record(action="esim.upstream_deleted", obj=esim,
                         actor_type=AuditEntry.ActorType.PROVIDER, actor=provider,
                         after={"profile_status": "deleted", "event": event.event_id})
            return "audited"
        if event.status == ProfileStatus.FAILED:
            logger.warning("%s reports a failed download of %s: %s", provider, event.iccid,
                           event.detail)
            return "recorded"
        move = MOVES.get(event.status)
        if move is None:
            return "recorded"
        if esim.status not in move[1]:
            return "unchanged"
        reason = event.detail or f"{provider} {event.status} ({event.event_id})"
        try:
            esims.transition(esim=esim, to=move[0], actor_type=AuditEntry.ActorType.PROVIDER,
                             actor=provider, reason=reason)
        except IllegalTransition:  # moved on meanwhile (revoked): keep it
            return "recorded"
        return move[0]

    def note_eid(self, *, iccid: str, eid: str) -> None:
        Esim.objects.filter(iccid=iccid, eid="").update(eid=eid)


RECEIVER = EsimReports()
