"""``POST /hooks/upstream/esimgo``: eSIM Go's usage and status callbacks.

``EsimGoProvider.parse_callback`` checks the signature first (HMAC-SHA256 of the raw body with
``ESIMDESK_ESIMGO_CALLBACK_SECRET``, base64, in ``X-Signature-SHA256``); a bad one is a 400
and nothing is stored. ``upstream_events.apply`` then applies the events exactly once:

- ``Utilisation`` (thresholds, depletion): eSIM Go reports a bundle's ``initialQuantity`` and
  ``remainingQuantity``, not a delta. The bytes used so far on that bundle, minus what esimdesk
  already recorded from eSIM Go for it, become one usage record with the id
  ``esimgo:<iccid>:<bundle>:<used>``, stable per event: a replay is a duplicate, and a late,
  older event finds nothing new to charge.
- ``ProfileStatus`` (downloaded / installed / enabled / deleted) and ``FirstUse``: the eSIM's
  status where esimdesk's state machine allows it, once per status and profile.
- anything else: 200, ignored (eSIM Go retries non-2xx answers).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from esimdesk.esims.models import Esim
from esimdesk.provisioning import upstream_events
from esimdesk.provisioning.providers.base import InvalidCallback, ProfileStatusEvent
from esimdesk.provisioning.providers.esimgo import (
    SIGNATURE_HEADER,
    EsimGoProvider,
)
from esimdesk.provisioning.providers.esimgo import (
    callback_signature as sign,
)

__all__ = ["SIGNATURE_HEADER", "esimgo_callback", "handle", "sign"]

SOURCE = EsimGoProvider.name


def handle(body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
    try:
        events = EsimGoProvider().parse_callback(body=body,
                                                 headers={SIGNATURE_HEADER: signature or ""})
    except InvalidCallback as error:
        return 400, {"code": error.code, "message": str(error), "detail": None}
    # One event per eSIM Go callback.
    if not events or not Esim.objects.filter(iccid=events[0].iccid).exists():
        return 200, {"ignored": True}
    applied = upstream_events.apply(provider=SOURCE, events=events)
    if isinstance(events[0], ProfileStatusEvent):
        status = Esim.objects.filter(iccid=events[0].iccid).values_list("status", flat=True)
        return 200, {"status": status.first()}
    return 200, {"accepted": applied.accepted, "duplicates": applied.duplicates,
                 "rejected": [{"index": i, "code": code} for i, code in applied.rejected]}


@csrf_exempt
@require_POST
def esimgo_callback(request: HttpRequest) -> JsonResponse:
    status, body = handle(request.body, request.headers.get(SIGNATURE_HEADER))
    return JsonResponse(body, status=status)
