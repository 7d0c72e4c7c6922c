"""The simulator's pull API, as a supplier serves it: ``GET /simulator/v1/profiles/<iccid>``
and ``GET /simulator/v1/profiles/<iccid>/balance`` with ``Authorization: Bearer <key>``.

The key is ``ESIMDESK_SIMULATOR_API_KEY``, or by default derived from SECRET_KEY (HMAC), so
an installation has one without configuring anything and nobody can guess it. Answers are
JSON; errors are ``{"code", "message", "detail"}`` with 401 / 404 like the rest of esimdesk.
The API answers only while ``simulator`` is in ``ESIMDESK_UPSTREAM_PROVIDERS`` (404
``unknown_supplier`` otherwise).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from esimdesk import config
from esimdesk.core.errors import MESSAGES, ValidationFailed
from esimdesk.core.ids import normalize_iccid
from esimdesk.sandbox import simulator_books
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
