"""Applying what suppliers report, exactly once: the receiving half of ``parse_callback``.

- ``UsageRecord`` deltas go to ``usage.services.ingest`` (unique per record id there).
- ``UsageRecord`` running totals (``running_total_key``): the total minus what esimdesk
  already charged under that key becomes one delta record, computed under a lock on the eSIM
  row so two totals arriving together cannot both charge the same bytes.
- ``ProfileStatusEvent``: stored first in ``UpstreamEventReceipt`` under ``(provider,
  event_id)``, in the transaction that moves the eSIM; a redelivery hits the unique key and
  changes nothing. Status moves only forward: ``installed`` from ``ready``; ``enabled`` and
  ``first_use`` to ``in_use`` from ``ready`` or ``installed`` (a suspension is lifted by
  staff, not by a device); ``deleted`` is audited (staff decide about a reissue); the rest is
  recorded. An event for an ICCID esimdesk does not know is not stored, so it applies when
  the supplier delivers it again once the eSIM exists.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Sum

from esimdesk.core import audit, clock
from esimdesk.core.errors import IllegalTransition
from esimdesk.core.models import AuditEntry
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.provisioning.models import UpstreamEventReceipt
from esimdesk.provisioning.suppliers.base import (
    ProfileStatus,
    ProfileStatusEvent,
    UpstreamEvent,
    UsageRecord,
)
from esimdesk.usage import services as usage
from esimdesk.usage.models import UsageEvent

logger = logging.getLogger(__name__)

#: status -> (eSIM status it moves to, the eSIM statuses it may move from)
MOVES: dict[str, tuple[str, tuple[str, ...]]] = {
    ProfileStatus.INSTALLED: (Esim.Status.INSTALLED, (Esim.Status.READY,)),
    ProfileStatus.ENABLED: (Esim.Status.IN_USE, (Esim.Status.READY, Esim.Status.INSTALLED)),
    ProfileStatus.FIRST_USE: (Esim.Status.IN_USE, (Esim.Status.READY, Esim.Status.INSTALLED)),
}


@dataclass
class Applied:
    """What one callback did: usage counts as ``usage.ingest`` reports them (rejected =
    (index among the usage records, code)) and one (event id, outcome) per status event."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)


def apply(*, provider: str, events: Sequence[UpstreamEvent]) -> Applied:
    result = Applied()
    deltas = [e for e in events if isinstance(e, UsageRecord) and not e.running_total_key]
    if deltas:
        now = clock.now()
        ingested = usage.ingest(source=provider, records=[
            {"id": r.record_id, "iccid": r.iccid, "kind": r.kind, "quantity": r.quantity,
             "occurred_at": (r.occurred_at or now).isoformat()} for r in deltas])
        result.accepted, result.duplicates = ingested.accepted, ingested.duplicates
        result.rejected = list(ingested.rejected)
    for index, event in enumerate(events):
        if isinstance(event, UsageRecord) and event.running_total_key:
            outcome = _running_total(provider, event)
            if outcome == "accepted":
                result.accepted += 1
            elif outcome == "duplicate":
                result.duplicates += 1
            elif outcome != "unknown_iccid":
                result.rejected.append((index, outcome))
        elif isinstance(event, ProfileStatusEvent):
            result.events.append((event.event_id, _status(provider, event)))
    return result


def _running_total(provider: str, record: UsageRecord) -> str:
    key = record.running_total_key
    with transaction.atomic():
        # A row lock on PostgreSQL; SQLite serialises writers anyway.
        locked = Esim.objects.select_for_update().filter(iccid=record.iccid).first()
        if locked is None:
            logger.warning("%s usage for unknown ICCID %s ignored", provider, record.iccid)
            return "unknown_iccid"
        seen = UsageEvent.objects.filter(source=provider, external_id__startswith=key)
        already = int(seen.aggregate(total=Sum("quantity"))["total"] or 0)
        if record.quantity <= already or seen.filter(external_id=record.record_id).exists():
            return "duplicate"  # a replay, or an older total arriving late
        ingested = usage.ingest(source=provider, records=[{
            "id": record.record_id, "iccid": record.iccid, "kind": record.kind,
            "quantity": record.quantity - already,
            "occurred_at": (record.occurred_at or clock.now()).isoformat()}])
    if ingested.accepted:
        return "accepted"
    if ingested.duplicates:
        return "duplicate"
    return ingested.rejected[0][1] if ingested.rejected else "rejected"


def _status(provider: str, event: ProfileStatusEvent) -> str:
    with transaction.atomic():
        esim = Esim.objects.filter(iccid=event.iccid).first()
        if esim is None:
            logger.info("%s event %s for unknown ICCID %s: not stored", provider,
                        event.event_id, event.iccid)
            return "unknown_iccid"
        try:
            with transaction.atomic():
                receipt = UpstreamEventReceipt.objects.create(
                    provider=provider, event_id=event.event_id[:128], iccid=event.iccid,
                    status=event.status, outcome="received")
        except IntegrityError:
            return "duplicate"
        outcome = "recorded"
        move = MOVES.get(event.status)
        if event.status == ProfileStatus.DELETED:
            audit.record(action="esim.upstream_deleted", obj=esim,
                         actor_type=AuditEntry.ActorType.PROVIDER, actor=provider,
                         after={"profile_status": "deleted", "event": event.event_id})
            outcome = "audited"
        elif event.status == ProfileStatus.FAILED:
            logger.warning("%s reports a failed download of %s: %s", provider, event.iccid,
                           event.detail)
        elif move is not None and esim.status in move[1]:
            try:
                esims.transition(esim=esim, to=move[0], actor_type=AuditEntry.ActorType.PROVIDER,
                                 actor=provider, reason=f"{provider} {event.status} "
                                 f"({event.event_id})")
                outcome = move[0]
            except IllegalTransition:  # moved on meanwhile (revoked): keep it
                outcome = "recorded"
        receipt.outcome = outcome
        receipt.save(update_fields=["outcome"])
    return outcome
