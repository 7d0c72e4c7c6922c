"""Applying what suppliers report, exactly once: the receiving half of ``parse_callback``.

The eSIMs and usage apps apply it (``provisioning.receivers``); this module makes each
report count once:

- ``UsageRecord`` deltas go to the usage receiver's ``ingest`` (unique per record id there);
  running totals (``running_total_key``) to its ``running_total``.
- ``ProfileStatusEvent``: stored first in ``UpstreamEventReceipt`` under ``(provider,
  event_id)``, in the transaction in which the profile receiver applies it; a redelivery
  hits the unique key and changes nothing. An event for an ICCID esimdesk does not know is
  not stored, so it applies when the supplier delivers it again once the eSIM exists.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from esimdesk.core import clock
from esimdesk.provisioning import receivers
from esimdesk.provisioning.models import UpstreamEventReceipt
from esimdesk.provisioning.suppliers.base import ProfileStatusEvent, UpstreamEvent, UsageRecord

logger = logging.getLogger(__name__)

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
        ingested = receivers.usage().ingest(source=provider, records=[
            {"id": r.record_id, "iccid": r.iccid, "kind": r.kind, "quantity": r.quantity,
             "occurred_at": (r.occurred_at or now).isoformat()} for r in deltas])
        result.accepted, result.duplicates = ingested.accepted, ingested.duplicates
        result.rejected = list(ingested.rejected)
    for index, event in enumerate(events):
        if isinstance(event, UsageRecord) and event.running_total_key:
            outcome = receivers.usage().running_total(provider=provider, record=event)
            if outcome == "accepted":
                result.accepted += 1
            elif outcome == "duplicate":
                result.duplicates += 1
            elif outcome != "unknown_iccid":
                result.rejected.append((index, outcome))
        elif isinstance(event, ProfileStatusEvent):
            result.events.append((event.event_id, _status(provider, event)))
    return result


def _status(provider: str, event: ProfileStatusEvent) -> str:
    profiles = receivers.profiles()
    with transaction.atomic():
        if profiles.esim_id(event.iccid) is None:
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
        outcome = profiles.apply_status(provider=provider, event=event)
        if outcome == "unchanged":
            outcome = "recorded"
        receipt.outcome = outcome
        receipt.save(update_fields=["outcome"])
    return outcome
