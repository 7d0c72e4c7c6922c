"""Upstream callbacks: ``POST /hooks/upstream/<provider>``. The adapter's ``parse_callback``
verifies the signature first and turns the body into typed events; ``upstream_events.apply``
applies them exactly once (a replay is answered 200 and changes nothing).

The simulator posts here (``/hooks/upstream/simulator``): usage records and profile status
events, signed with HMAC-SHA256 of the raw body, base64, in ``X-Simulator-Signature``, keyed
with a secret derived from SECRET_KEY (the simulator runs inside esimdesk, so both ends know
it). eSIM Go and ES2+ have their own paths (``esimgo_callbacks``, ``es2plus_progress``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from esimdesk.provisioning import upstream_events
from esimdesk.provisioning.providers.base import InvalidCallback, UsageRecord
from esimdesk.provisioning.providers.simulator import SIGNATURE_HEADER, SimulatorProvider, sign

__all__ = ["SIGNATURE_HEADER", "handle_simulator_callback", "sign", "upstream_callback"]

logger = logging.getLogger(__name__)


def _error(code: str, message: str, status: int) -> tuple[int, dict[str, Any]]:
    return status, {"code": code, "message": message, "detail": None}


def handle_simulator_callback(body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
    """Verify, then apply. Returns (HTTP status, JSON body); the simulator's usage sweep and
    its callback task call this in-process with a body they signed, exactly as the HTTP view
    does. The answer has the usage counts when the body had records (or nothing else), and
    ``events: [{id, outcome}]`` when it had status events."""
    simulator = SimulatorProvider()
    try:
        events = simulator.parse_callback(body=body, headers={SIGNATURE_HEADER: signature or ""})
    except InvalidCallback as error:
        logger.warning("simulator callback refused: %s", error.code)
        return _error(error.code, str(error), 400)
    applied = upstream_events.apply(provider=simulator.name, events=events)
    answer: dict[str, Any] = {}
    has_usage = any(isinstance(event, UsageRecord) for event in events)
    if has_usage or not applied.events:
        answer.update(accepted=applied.accepted, duplicates=applied.duplicates,
                      rejected=[{"index": i, "code": code} for i, code in applied.rejected])
    if applied.events:
        answer["events"] = [{"id": event_id, "outcome": outcome}
                            for event_id, outcome in applied.events]
    return 200, answer


@csrf_exempt
@require_POST
def upstream_callback(request: HttpRequest, provider: str) -> JsonResponse:
    if provider != SimulatorProvider.name:
        status, body = _error("unknown_provider", f"Unknown upstream {provider!r}.", 404)
    else:
        status, body = handle_simulator_callback(request.body,
                                                 request.headers.get(SIGNATURE_HEADER))
    return JsonResponse(body, status=status)
