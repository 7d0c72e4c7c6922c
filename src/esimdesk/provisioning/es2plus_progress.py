"""ES2+ ``handleDownloadProgressInfo``: the SM-DP+ tells esimdesk how a download is going.

``POST /hooks/upstream/es2plus/gsma/rsp2/es2plus/handleDownloadProgressInfo``. Every valid
notification is recorded (``Es2ProgressNotification``) and answered HTTP 204 with no body,
as SGP.22 asks. Installation success (point 4) moves the eSIM to ``installed``; a failure is
recorded and logged (reissue is a later step); unknown point ids and unknown ICCIDs are
information, recorded and answered 204 so the SM-DP+ does not retry them forever.

Authenticity: ES2+ authenticates the SM-DP+ by mutual TLS. esimdesk expects the reverse
proxy in front of it to require and verify the SM-DP+'s client certificate on this path;
the view itself does no authentication.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from esimdesk.core.errors import IllegalTransition, ValidationFailed
from esimdesk.core.ids import normalize_eid, normalize_iccid
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.provisioning.models import Es2ProgressNotification

logger = logging.getLogger(__name__)

POINT_INSTALLATION = 4
_SUCCESS = ("Executed-Success", "Executed-WithWarning")


class Malformed(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _text(payload: dict[str, Any], field: str, *, required: bool = True) -> str:
    value = payload.get(field)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise Malformed(field, f"{field} must be a non-empty string")
    return value.strip()


def parse(body: bytes) -> dict[str, Any]:
    """Validate one notification body; returns the fields to record or raises Malformed."""
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise Malformed("body", "the body is not JSON") from error
    if not isinstance(payload, dict):
        raise Malformed("body", "the body must be a JSON object")
    header = payload.get("header")
    if not isinstance(header, dict):
        raise Malformed("header", "header must be an object")
    try:
        iccid = normalize_iccid(_text(payload, "iccid"))
    except ValidationFailed as error:
        raise Malformed("iccid", "iccid is not a valid ICCID") from error
    occurred_at = parse_datetime(_text(payload, "timestamp"))
    if occurred_at is None or occurred_at.tzinfo is None:
        raise Malformed("timestamp", "timestamp must be a W3C date-time with a time zone")
    point_id = payload.get("notificationPointId")
    if isinstance(point_id, bool) or not isinstance(point_id, int | str):
        raise Malformed("notificationPointId", "notificationPointId must be an integer")
    try:
        point_id = int(point_id)
    except ValueError as error:
        raise Malformed("notificationPointId", "notificationPointId must be an integer") \
            from error
    point_status = payload.get("notificationPointStatus")
    if not isinstance(point_status, dict) or not isinstance(point_status.get("status"), str):
        raise Malformed("notificationPointStatus", "notificationPointStatus.status is required")
    eid = _text(payload, "eid", required=False)
    if eid:
        try:
            eid = normalize_eid(eid)
        except ValidationFailed as error:
            raise Malformed("eid", "eid is not a valid EID") from error
    return {"iccid": iccid, "eid": eid, "profile_type": _text(payload, "profileType"),
            "function_call_identifier": str(header.get("functionCallIdentifier") or "")[:255],
            "point_id": point_id, "status": point_status["status"][:30],
            "status_code_data": point_status.get("statusCodeData") or {},
            "result_data": _text(payload, "resultData", required=False),
            "occurred_at": occurred_at}


def record(fields: dict[str, Any]) -> Es2ProgressNotification:
    """Store the notification and apply what it means to the eSIM."""
    esim = Esim.objects.filter(iccid=fields["iccid"]).first()
    success = fields["status"] in _SUCCESS
    if esim is None:
        outcome = "unknown_iccid"
        logger.warning("ES2+ progress for unknown ICCID %s (point %s)", fields["iccid"],
                       fields["point_id"])
    elif not success:
        outcome = "failure"
        logger.warning("ES2+ download of %s failed at point %s: %s", esim.iccid,
                       fields["point_id"], fields["status_code_data"])
    elif fields["point_id"] == POINT_INSTALLATION:
        outcome = "installed"
        if esim.status == Esim.Status.READY:
            try:
                esims.transition(esim=esim, to=Esim.Status.INSTALLED, actor_type="system",
                                 actor="es2plus", reason="ES2+ installation notification")
            except IllegalTransition:  # moved on meanwhile (in use, revoked): keep it
                outcome = "recorded"
    else:
        # Eligibility check, BPP download and ids we do not know: information only.
        outcome = "recorded"
    if esim is not None and fields["eid"] and not esim.eid:
        Esim.objects.filter(pk=esim.pk, eid="").update(eid=fields["eid"])
    return Es2ProgressNotification.objects.create(esim=esim, outcome=outcome, **fields)


@csrf_exempt
@require_POST
def handle_download_progress_info(request: HttpRequest) -> HttpResponse:
    try:
        fields = parse(request.body)
    except Malformed as error:
        logger.warning("ES2+ progress notification refused: %s", error)
        return JsonResponse({"code": "malformed_notification", "message": str(error),
                             "detail": {"field": error.field}}, status=400)
    record(fields)
    return HttpResponse(status=204)
