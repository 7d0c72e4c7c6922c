"""``POST /hooks/upstream/esimgo``: eSIM Go's usage and status callbacks.

They go through the supplier callback steps of ``hooks``: the route answers only while
``esimgo`` is configured, a body over 64 KiB is refused unread (413), and
``EsimGoProvider.authenticate_callback`` checks the signature (HMAC-SHA256 of the raw body with
``ESIMDESK_ESIMGO_CALLBACK_SECRET`` or else the API key, which is what eSIM Go's V3 callbacks
are signed with; base64 or hex, in ``X-Signature-SHA256``) before anything is parsed: a bad
one is a 400 and nothing is stored. ``upstream_events.apply`` then applies the events
exactly once:

- ``Utilisation`` (thresholds, depletion): eSIM Go reports a bundle's ``initialQuantity`` and
  ``remainingQuantity``, not a delta. The bytes used so far on that bundle, minus what esimdesk
  already recorded from eSIM Go for it, become one usage record with the id
  ``esimgo:<iccid>:<bundle>:<used>``, stable per event: a replay is a duplicate, and a late,
  older event finds nothing new to charge (alerts overtaking each other never charge twice).
  An unlimited bundle's report charges nothing; a quantity that is not a number is a 400.
- ``ProfileStatus`` (downloaded / installed / enabled / deleted) and ``FirstUse``: the eSIM's
  status where esimdesk's state machine allows it, once per status and profile.
- anything else: 200, ignored (eSIM Go retries non-2xx answers).
"""

from __future__ import annotations

import logging

from esimdesk.provisioning import receivers, upstream_events
from esimdesk.provisioning.hooks import Accepted, Answer, refusal
from esimdesk.provisioning.suppliers.base import (
    InvalidCallback,
    ProfileStatusEvent,
    UpstreamProvider,
)
from esimdesk.provisioning.suppliers.esimgo.adapter import SIGNATURE_HEADER, EsimGoProvider
from esimdesk.provisioning.suppliers.esimgo.adapter import callback_signature as sign

__all__ = ["SIGNATURE_HEADER", "esimgo_callback", "sign"]

logger = logging.getLogger(__name__)
SOURCE = EsimGoProvider.name


def esimgo_callback(adapter: UpstreamProvider, body: bytes) -> Answer | Accepted:
    try:
        events = adapter.parse_callback(body=body, headers={})
    except InvalidCallback as error:
        logger.warning("eSIM Go callback refused: %s (%s)", error.code, error)
        return refusal(error.code, 400)
    # One event per eSIM Go callback.
    profiles = receivers.profiles()
    if not events or profiles.esim_id(events[0].iccid) is None:
        return Accepted({"ignored": True})
    applied = upstream_events.apply(provider=SOURCE, events=events)
    if isinstance(events[0], ProfileStatusEvent):
        return Accepted({"status": profiles.status_of(events[0].iccid)})
    return Accepted({"accepted": applied.accepted, "duplicates": applied.duplicates,
                     "rejected": [{"index": i, "code": code} for i, code in applied.rejected]})
