"""``POST /hooks/upstream/simulator``: the upstream simulator's usage records and status
events (docs/providers/simulator.md), and the same delivered in-process by its own sweeps and
tasks (``handle_simulator_callback``), which sign what they send."""

from __future__ import annotations

import logging
from typing import Any

from esimdesk.provisioning import upstream_events
from esimdesk.provisioning.hooks import Accepted, Answer, deliver, refusal
from esimdesk.provisioning.suppliers.base import InvalidCallback, UpstreamProvider, UsageRecord
from esimdesk.sandbox.simulator import SIGNATURE_HEADER, SimulatorProvider, sign

__all__ = ["SIGNATURE_HEADER", "handle_simulator_callback", "sign", "simulator_events"]

logger = logging.getLogger(__name__)


def simulator_events(adapter: UpstreamProvider, body: bytes) -> Answer | Accepted:
    """The answer has the usage counts when the body had records (or nothing else), and
    ``events: [{id, outcome}]`` when it had status events."""
    try:
        events = adapter.parse_callback(body=body, headers={})
    except InvalidCallback as error:
        logger.warning("simulator callback refused: %s (%s)", error.code, error)
        return refusal(error.code, 400)
    applied = upstream_events.apply(provider=adapter.name, events=events)
    answer: dict[str, Any] = {}
    has_usage = any(isinstance(event, UsageRecord) for event in events)
    if has_usage or not applied.events:
        answer.update(accepted=applied.accepted, duplicates=applied.duplicates,
                      rejected=[{"index": i, "code": code} for i, code in applied.rejected])
    if applied.events:
        answer["events"] = [{"id": event_id, "outcome": outcome}
                            for event_id, outcome in applied.events]
    return Accepted(answer)


def handle_simulator_callback(body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
    """The simulator's sweeps and tasks deliver here in-process, with a body they signed:
    authenticated and applied exactly as ``POST /hooks/upstream/simulator`` is."""
    status, answer = deliver(SimulatorProvider(), body=body,
                             headers={SIGNATURE_HEADER: signature or ""})
    return status, answer or {}
