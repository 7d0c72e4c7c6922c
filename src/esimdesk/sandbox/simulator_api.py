"""The simulator's API, as a supplier serves it: ``GET /simulator/v1/profiles/<iccid>`` and
``GET /simulator/v1/profiles/<iccid>/balance`` with ``Authorization: Bearer <key>``; and, to
drive a simulated phone from a test or a script, ``POST
/simulator/v1/profiles/<iccid>/events`` with ``{"event": "installed" | "enabled" |
"first_use" | "disabled" | "deleted", "at": optional ISO 8601 time}``: the simulator reports
the event (and any step of the phone's path before it not taken yet) through its signed
callbacks, exactly as its automatic events (202 with the events sent; 400
``invalid_profile_event`` / ``invalid_event_time`` / ``malformed_json``; 409
``illegal_profile_event`` / ``simulated_profile_revoked``).

The key is ``ESIMDESK_SIMULATOR_API_KEY``, or by default derived from SECRET_KEY (HMAC), so
an installation has one without configuring anything and nobody can guess it. Answers are
JSON; errors are ``{"code", "message", "detail"}`` with 401 / 404 like the rest of esimdesk.
The API answers only while ``simulator`` is in ``ESIMDESK_UPSTREAM_PROVIDERS`` (404
``unknown_supplier`` otherwise).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from esimdesk import config
from esimdesk.core.errors import MESSAGES, DomainError, ValidationFailed
from esimdesk.core.ids import normalize_iccid
from esimdesk.core.models import AuditEntry
from esimdesk.sandbox import simulator_books, simulator_events
from esimdesk.sandbox.models import SimulatedProfile


def api_key() -> str:
    configured = config.env("ESIMDESK_SIMULATOR_API_KEY").strip()
    if configured:
        return configured
    digest = hmac.new(settings.SECRET_KEY.encode(), b"esimdesk-simulator-pull-api",
                      hashlib.sha256).hexdigest()
    return f"sim_{digest[:40]}"


def _error(code: str, status: int, detail: Any = None) -> JsonResponse:
    return JsonResponse({"code": code, "message": str(MESSAGES.get(code, code)),
                         "detail": detail}, status=status)


def _authorised(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(),
                                                              api_key().encode())


def _profile(request: HttpRequest, iccid: str) -> SimulatedProfile | JsonResponse:
    # Like its callbacks, the simulator's API exists only while the simulator is a supplier.
    if "simulator" not in settings.ESIMDESK["UPSTREAM_PROVIDERS"]:
        return _error("unknown_supplier", 404)
    if not _authorised(request):
        response = _error("invalid_api_key", 401)
        response["WWW-Authenticate"] = 'Bearer realm="simulator"'
        return response
    try:
        number = normalize_iccid(iccid)
    except ValidationFailed:
        return _error("invalid_iccid", 400, {"iccid": iccid})
    profile = SimulatedProfile.objects.filter(iccid=number).first()
    if profile is None:
        return _error("unknown_simulated_profile", 404, {"iccid": number})
    return profile


@require_GET
def profile_detail(request: HttpRequest, iccid: str) -> JsonResponse:
    found = _profile(request, iccid)
    if isinstance(found, JsonResponse):
        return found
    return JsonResponse(simulator_books.describe(found))


@require_GET
def profile_balance(request: HttpRequest, iccid: str) -> JsonResponse:
    found = _profile(request, iccid)
    if isinstance(found, JsonResponse):
        return found
    return JsonResponse(simulator_books.balance(found))


#: what a caller may report; the steps before one are walked (``simulator_events.walk_to``)
API_EVENTS = ("installed", "enabled", "first_use", "disabled", "deleted")


@csrf_exempt  # a bearer-key API, not a browser form
@require_POST
def profile_events(request: HttpRequest, iccid: str) -> JsonResponse:
    found = _profile(request, iccid)
    if isinstance(found, JsonResponse):
        return found
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return _error("malformed_json", 400)
    if not isinstance(body, dict) or body.get("event") not in API_EVENTS:
        return _error("invalid_profile_event", 400, {"allowed": list(API_EVENTS)})
    at = None
    if body.get("at") is not None:
        at = parse_datetime(body["at"]) if isinstance(body["at"], str) else None
        if at is None or at.tzinfo is None:
            return _error("invalid_event_time", 400, {"at": body.get("at")})
    try:
        events = simulator_events.walk_to(
            profile=found, event=body["event"], origin="simulator",
            actor_type=AuditEntry.ActorType.SYSTEM, actor="simulator-api",
            reason="reported through the simulator API", at=at)
    except DomainError as error:
        return JsonResponse({"code": error.code, "message": str(error.message),
                             "detail": error.detail}, status=error.status)
    return JsonResponse({"iccid": found.iccid, "state": found.state, "events": [
        {"id": e.event_id, "event": e.status, "occurred_at": e.occurred_at.isoformat()}
        for e in events]}, status=202)
