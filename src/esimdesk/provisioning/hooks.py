"""Upstream callbacks: ``POST /hooks/upstream/<provider>``. Signature first, then the records
go to ``usage.services.ingest`` (exactly once per record id; a replay is answered 200).

Only the simulator delivers usage this way so far. Its signature is HMAC-SHA256 of the raw
body, base64, in ``X-Simulator-Signature``, keyed with a secret derived from SECRET_KEY (the
simulator runs inside esimdesk, so both ends know it; a real supplier's key would come from
its ``ESIMDESK_<SUPPLIER>_*`` settings).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from esimdesk.usage import services as usage

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Simulator-Signature"


def _key() -> bytes:
    return hashlib.sha256(f"simulator-usage-callback:{settings.SECRET_KEY}".encode()).digest()


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(_key(), body, hashlib.sha256).digest()).decode()


def _error(code: str, message: str, status: int) -> tuple[int, dict[str, Any]]:
    return status, {"code": code, "message": message, "detail": None}


def handle_simulator_callback(body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
    """Verify, then ingest. Returns (HTTP status, JSON body); the scheduler's simulation
    sweep calls this in-process with a body it signed, exactly as the HTTP view does."""
    if not signature or not hmac.compare_digest(sign(body), signature.strip()):
        logger.warning("simulator callback refused: bad signature")
        return _error("bad_signature", "The signature does not match the body.", 400)
    try:
        payload = json.loads(body)
        records = payload["records"]
        if not isinstance(records, list):
            raise TypeError("records must be a list")
    except (ValueError, KeyError, TypeError) as error:
        logger.warning("simulator callback malformed: %s", error)
        return _error("malformed_event", str(error), 400)
    result = usage.ingest(source="simulator", records=records)
    return 200, {"accepted": result.accepted, "duplicates": result.duplicates,
                 "rejected": [{"index": i, "code": code} for i, code in result.rejected]}


@csrf_exempt
@require_POST
def upstream_callback(request: HttpRequest, provider: str) -> JsonResponse:
    if provider != "simulator":
        status, body = _error("unknown_provider", f"Unknown upstream {provider!r}.", 404)
    else:
        status, body = handle_simulator_callback(request.body,
                                                 request.headers.get(SIGNATURE_HEADER))
    return JsonResponse(body, status=status)
