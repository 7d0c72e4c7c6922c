"""``POST /hooks/upstream/esimgo``: eSIM Go's usage and status callbacks.

The signature is checked first (HMAC-SHA256 of the raw body with
``ESIMDESK_ESIMGO_CALLBACK_SECRET``, base64, in ``X-Signature-SHA256``); a bad one is a 400
and nothing is stored. Then:

- ``Utilisation`` (thresholds, depletion): eSIM Go reports a bundle's ``initialQuantity`` and
  ``remainingQuantity``, not a delta. The bytes used so far on that bundle, minus what esimdesk
  already recorded from eSIM Go for it, become one usage record with the id
  ``esimgo:<iccid>:<bundle>:<used>``, stable per event: a replay is a duplicate in
  ``usage.ingest``, and a late, older event finds nothing new to charge.
- ``ProfileStatus`` (downloaded / installed / enabled / deleted) and ``FirstUse``: the eSIM's
  status where esimdesk's state machine allows it.
- anything else: 200, ignored (eSIM Go retries non-2xx answers).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from esimdesk import config
from esimdesk.core import audit, clock
from esimdesk.core.errors import IllegalTransition
from esimdesk.core.models import AuditEntry
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.provisioning.providers.base import FinalUpstreamError
from esimdesk.provisioning.providers.esimgo import clean_iccid
from esimdesk.usage import services as usage
from esimdesk.usage.models import UsageEvent

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature-SHA256"
SOURCE = "esimgo"
# eSIM Go profile status -> esimdesk eSIM status (deleted is audited, not a state: the
# customer may still be owed a refund or a new profile, which staff decide).
STATUS = {"downloaded": Esim.Status.INSTALLED, "installed": Esim.Status.INSTALLED,
          "enabled": Esim.Status.INSTALLED, "firstuse": Esim.Status.IN_USE}


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _answer(http_status: int, /, **body: Any) -> tuple[int, dict[str, Any]]:
    return http_status, body


def handle(body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
    secret = config.env("ESIMDESK_ESIMGO_CALLBACK_SECRET")
    # No secret configured means no callback can be trusted, not that all can.
    if not secret or not signature \
            or not hmac.compare_digest(sign(body, secret), signature.strip()):
        logger.warning("eSIM Go callback refused: bad signature")
        return _answer(400, code="bad_signature", message="The signature does not match.",
                       detail=None)
    try:
        event = json.loads(body)
        if not isinstance(event, dict):
            raise TypeError("the event must be an object")
    except (ValueError, TypeError) as error:
        return _answer(400, code="malformed_event", message=str(error), detail=None)
    alert = str(event.get("alertType", "")).replace("_", "").replace(" ", "").lower()
    try:
        iccid = clean_iccid(str(event.get("iccid", "")))
    except FinalUpstreamError:
        logger.warning("eSIM Go callback %s without a valid ICCID: ignored", alert)
        return _answer(200, ignored=True)
    if alert == "utilisation":
        return _utilisation(iccid, event)
    if alert in ("profilestatus", "firstuse"):
        return _status(iccid, alert, event)
    logger.info("eSIM Go callback %r ignored", alert)
    return _answer(200, ignored=True)


def _utilisation(iccid: str, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    bundle = event.get("bundle") or {}
    try:
        initial = int(bundle["initialQuantity"])
        remaining = int(bundle["remainingQuantity"])
    except (KeyError, TypeError, ValueError):
        return _answer(400, code="malformed_event", message="bundle quantities missing",
                       detail=None)
    key = str(bundle.get("reference") or bundle.get("id") or bundle.get("name") or "bundle")
    used = max(initial - remaining, 0)
    prefix = f"{SOURCE}:{iccid}:{key}:"
    with transaction.atomic():
        # One callback at a time per eSIM, so two thresholds arriving together cannot both
        # charge the same bytes (a row lock on PostgreSQL; SQLite serialises writers).
        locked = Esim.objects.select_for_update().filter(iccid=iccid).first()
        if locked is None:
            logger.warning("eSIM Go usage for unknown ICCID %s ignored", iccid)
            return _answer(200, ignored=True)
        seen = UsageEvent.objects.filter(source=SOURCE, external_id__startswith=prefix)
        already = int(seen.aggregate(total=Sum("quantity"))["total"] or 0)
        record_id = f"{prefix}{used}"
        if used <= already or seen.filter(external_id=record_id).exists():
            return _answer(200, accepted=0, duplicates=1, rejected=[])
        result = usage.ingest(source=SOURCE, records=[{
            "id": record_id, "iccid": iccid, "kind": "data", "quantity": used - already,
            "occurred_at": clock.now().isoformat()}])
    return _answer(200, accepted=result.accepted, duplicates=result.duplicates,
                   rejected=[{"index": i, "code": code} for i, code in result.rejected])


def _status(iccid: str, alert: str, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    esim = Esim.objects.filter(iccid=iccid).first()
    if esim is None:
        return _answer(200, ignored=True)
    state = "firstuse" if alert == "firstuse" else str(event.get("profileStatus", "")).lower()
    if state == "deleted":
        audit.record(action="esim.upstream_deleted", obj=esim,
                     actor_type=AuditEntry.ActorType.SYSTEM, actor=SOURCE,
                     after={"profileStatus": "deleted"})
        return _answer(200, status=esim.status)
    target = STATUS.get(state)
    if target is None:
        return _answer(200, ignored=True)
    # Only move forward: a late "installed" after first use changes nothing.
    if target == Esim.Status.INSTALLED and esim.status != Esim.Status.READY:
        return _answer(200, status=esim.status)
    try:
        esim = esims.transition(esim=esim, to=target, actor_type=AuditEntry.ActorType.SYSTEM,
                                actor=SOURCE, reason=f"eSIM Go {state}")
    except IllegalTransition:
        logger.info("eSIM Go %s for %s in %s: no transition", state, iccid, esim.status)
    return _answer(200, status=esim.status)


@csrf_exempt
@require_POST
def esimgo_callback(request: HttpRequest) -> JsonResponse:
    status, body = handle(request.body, request.headers.get(SIGNATURE_HEADER))
    return JsonResponse(body, status=status)
