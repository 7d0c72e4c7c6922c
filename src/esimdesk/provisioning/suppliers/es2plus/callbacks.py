"""ES2+ ``handleDownloadProgressInfo``: the SM-DP+ tells esimdesk how a download is going.

``POST /hooks/upstream/es2plus/gsma/rsp2/es2plus/handleDownloadProgressInfo``, through the
supplier callback steps of ``hooks`` (only while ``es2plus`` is configured; at most
``MAX_BODY_BYTES``; the SM-DP+ authenticated by a bearer secret and/or a client certificate
verified by the TLS proxy, ``Es2PlusProvider.authenticate_callback``). Every valid
notification is recorded (``Es2ProgressNotification``) and answered HTTP 204 with no body,
as SGP.22 asks. Installation success (point 4) moves the eSIM to ``installed``; a failure is
recorded and logged (reissue is a later step); unknown point ids and unknown ICCIDs are
information, recorded and answered 204 so the SM-DP+ does not retry them forever.

Every field has a bound (``FIELD_LIMITS``): a longer one is refused 400
``malformed_notification`` naming the field, so nothing unbounded reaches the database. For an
ICCID esimdesk does not know, only the fixed-size fields are kept (``resultData`` and
``statusCodeData`` are dropped) and the notification is logged.

The request must be ES2+ (``check_envelope``, before the body is read): ``X-Admin-Protocol``
``gsma/rsp/v2.*`` and a JSON content type; its ``header`` must name the requester and the
call (``functionRequesterIdentifier``, ``functionCallIdentifier``). Every answer on this
route carries ``X-Admin-Protocol`` and ``Content-Type: application/json`` (the adapter's
``callback_headers``), and every refusal is in the ES2+ shape (``refusal_answer``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from django.utils.dateparse import parse_datetime

from esimdesk.core.errors import ValidationFailed
from esimdesk.core.ids import normalize_eid
from esimdesk.provisioning import receivers
from esimdesk.provisioning.hooks import Accepted, Answer, refusal
from esimdesk.provisioning.models import Es2ProgressNotification
from esimdesk.provisioning.suppliers.base import (
    InvalidCallback,
    ProfileStatus,
    ProfileStatusEvent,
    UpstreamProvider,
    header,
)
from esimdesk.provisioning.suppliers.es2plus.iccid import local_iccid

logger = logging.getLogger(__name__)

POINT_INSTALLATION = 4
STATUSES = ("Executed-Success", "Executed-WithWarning", "Failed", "Expired")
_SUCCESS = ("Executed-Success", "Executed-WithWarning")
#: longest value accepted per field (characters); the columns they go to are this wide
FIELD_LIMITS = {"iccid": 32, "eid": 64, "profileType": 100, "functionCallIdentifier": 255,
                "functionRequesterIdentifier": 255,
                "timestamp": 64, "resultData": 16 * 1024, "subjectCode": 32, "reasonCode": 32,
                "subjectIdentifier": 128, "message": 512}
_STATUS_CODE_DATA = ("subjectCode", "reasonCode", "subjectIdentifier", "message")
_MAX_POINT_ID = 2**31 - 1  # the column is a 32-bit integer
_ACCEPTED_PROTOCOL = re.compile(r"^gsma/rsp/v2(\.\d+)*$")

# statusCodeData of a refusal, as esimdesk reads SGP.22 5.1.6.4/5.1.6.5: subject 1.1
# function requester, 1.2 function provider (the request), 8.1.1 EID, 8.2.1 profile ICCID,
# 8.2.5 profile type; reason 1.2 not allowed (authorisation), 2.1 invalid, 2.2 mandatory
# element missing, 3.9 unknown, 4.2 execution error.
_REFUSAL_CODES = {"unauthenticated_supplier": ("1.1", "1.2"),
                  "unsupported_protocol": ("1.2", "2.1"),
                  "unsupported_media_type": ("1.2", "2.1"),
                  "callback_too_large": ("1.2", "2.1"),
                  "unknown_supplier": ("1.2", "3.9")}
_FIELD_SUBJECTS = {"iccid": "8.2.1", "eid": "8.1.1", "profileType": "8.2.5"}
_STATUS = {"unsupported_media_type": 415}


class Malformed(Exception):
    def __init__(self, field: str, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.missing = missing


def check_envelope(headers: Mapping[str, str]) -> None:
    """The request is ES2+: ``X-Admin-Protocol: gsma/rsp/v2.*`` and a JSON body, else
    ``InvalidCallback`` (``unsupported_protocol``, ``unsupported_media_type``)."""
    protocol = header(headers, "X-Admin-Protocol").strip()
    if not _ACCEPTED_PROTOCOL.match(protocol):
        raise InvalidCallback(f"X-Admin-Protocol {protocol!r} is not gsma/rsp/v2.*",
                              code="unsupported_protocol")
    media = header(headers, "Content-Type").split(";")[0].strip().lower()
    if media != "application/json":
        raise InvalidCallback(f"Content-Type {media!r} is not application/json",
                              code="unsupported_media_type")


def refusal_answer(code: str, status: int, detail: Any = None, *,
                   missing: bool = False) -> Answer:
    """esimdesk's error answer (``code``, ``message``, ``detail``) inside the ES2+ shape:
    ``header.functionExecutionStatus`` Failed with ``statusCodeData``."""
    status = _STATUS.get(code, status)
    _status, plain = refusal(code, status, detail)
    field = detail.get("field") if isinstance(detail, dict) else None
    subject, reason = _REFUSAL_CODES.get(plain["code"] if plain else code, ("1.2", "4.2"))
    if code == "malformed_notification":
        subject = _FIELD_SUBJECTS.get(str(field), "1.2")
        reason = "2.2" if missing else "2.1"
    data = {"subjectCode": subject, "reasonCode": reason,
            "message": str((plain or {}).get("message", ""))}
    if field:
        data["subjectIdentifier"] = str(field)
    return status, {"header": {"functionExecutionStatus": {"status": "Failed",
                                                           "statusCodeData": data}},
                    **(plain or {})}


def _text(payload: dict[str, Any], field: str, *, required: bool = True) -> str:
    value = payload.get(field)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise Malformed(field, f"{field} must be a non-empty string", missing=value is None)
    return _bounded(field, value.strip())


def _bounded(field: str, value: str) -> str:
    if len(value) > FIELD_LIMITS[field]:
        raise Malformed(field, f"{field} is longer than {FIELD_LIMITS[field]} characters")
    return value


def _status_code_data(value: Any) -> dict[str, str]:
    """``{subjectCode, reasonCode, subjectIdentifier?, message?}``: strings, bounded; other
    keys are dropped."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Malformed("statusCodeData", "statusCodeData must be an object")
    kept = {}
    for key in _STATUS_CODE_DATA:
        if key not in value:
            continue
        if not isinstance(value[key], str):
            raise Malformed(key, f"statusCodeData.{key} must be a string")
        kept[key] = _bounded(key, value[key])
    return kept


def _timestamp(payload: dict[str, Any]) -> dt.datetime:
    raw = _text(payload, "timestamp")
    problem = "timestamp must be a W3C date-time with a time zone"
    try:
        occurred_at = parse_datetime(raw)
        # A time zone far off the year's edges does not fit in UTC (0001-01-01T00:00+23:59).
        if occurred_at is not None and occurred_at.tzinfo is not None:
            return occurred_at.astimezone(dt.UTC)
    except (ValueError, OverflowError) as error:
        raise Malformed("timestamp", problem) from error
    raise Malformed("timestamp", problem)


def _point_id(payload: dict[str, Any]) -> int:
    point_id = payload.get("notificationPointId")
    if isinstance(point_id, bool) or not isinstance(point_id, int | str):
        raise Malformed("notificationPointId", "notificationPointId must be an integer")
    try:
        number = int(point_id)
    except ValueError as error:  # also digits past Python's int-parsing limit
        raise Malformed("notificationPointId", "notificationPointId must be an integer") \
            from error
    if not 0 <= number <= _MAX_POINT_ID:
        raise Malformed("notificationPointId", "notificationPointId is out of range")
    return number


def parse(body: bytes) -> dict[str, Any]:
    """Validate one notification body; returns the fields to record or raises Malformed."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise Malformed("body", "the body is not JSON") from error
    if not isinstance(payload, dict):
        raise Malformed("body", "the body must be a JSON object")
    ids = payload.get("header")
    if not isinstance(ids, dict):
        raise Malformed("header", "header must be an object", missing=ids is None)
    # Both ids, as SGP.22 6.5.1.3 requires of every request.
    _text(ids, "functionRequesterIdentifier")
    call_id = _text(ids, "functionCallIdentifier")
    try:
        iccid = local_iccid(_text(payload, "iccid"))
    except ValidationFailed as error:
        raise Malformed("iccid", "iccid is not a valid ICCID") from error
    point_status = payload.get("notificationPointStatus")
    if not isinstance(point_status, dict) or point_status.get("status") not in STATUSES:
        raise Malformed("notificationPointStatus",
                        f"notificationPointStatus.status must be one of {', '.join(STATUSES)}",
                        missing=point_status is None)
    eid = _text(payload, "eid", required=False)
    if eid:
        try:
            eid = normalize_eid(eid)
        except ValidationFailed as error:
            raise Malformed("eid", "eid is not a valid EID") from error
    return {"iccid": iccid, "eid": eid, "profile_type": _text(payload, "profileType"),
            "function_call_identifier": call_id,
            "point_id": _point_id(payload), "status": point_status["status"],
            "status_code_data": _status_code_data(point_status.get("statusCodeData")),
            "result_data": _text(payload, "resultData", required=False),
            "occurred_at": _timestamp(payload)}


def record(fields: dict[str, Any]) -> Es2ProgressNotification:
    """Store the notification and apply what it means to the eSIM."""
    profiles = receivers.profiles()
    esim_id = profiles.esim_id(fields["iccid"])
    success = fields["status"] in _SUCCESS
    if esim_id is None:
        outcome = "unknown_iccid"
        # Kept for staff to match later, without what only a known profile needs.
        fields = {**fields, "result_data": "", "status_code_data": {}}
        logger.warning("ES2+ progress for unknown ICCID %s (point %s)", fields["iccid"],
                       fields["point_id"])
    elif not success:
        outcome = "failure"
        logger.warning("ES2+ download of %s failed at point %s: %s", fields["iccid"],
                       fields["point_id"], fields["status_code_data"])
    elif fields["point_id"] == POINT_INSTALLATION:
        # ES2+ notifications carry no event id: each one is recorded and applied once here.
        moved = profiles.apply_status(provider="es2plus", event=ProfileStatusEvent(
            event_id=fields["function_call_identifier"], iccid=fields["iccid"],
            status=ProfileStatus.INSTALLED, occurred_at=fields["occurred_at"],
            detail="ES2+ installation notification"))
        # already past ``ready`` still counts as installed; moved on meanwhile does not
        outcome = "installed" if moved in ("installed", "unchanged") else "recorded"
    else:
        # Eligibility check, BPP download and ids we do not know: information only.
        outcome = "recorded"
    if esim_id is not None and fields["eid"]:
        profiles.note_eid(iccid=fields["iccid"], eid=fields["eid"])
    return Es2ProgressNotification.objects.create(esim_id=esim_id, outcome=outcome, **fields)


def handle_download_progress_info(adapter: UpstreamProvider, body: bytes) -> Answer | Accepted:
    try:
        fields = parse(body)
    except Malformed as error:
        logger.warning("ES2+ progress notification refused: %s", error)
        return refusal_answer("malformed_notification", 400, {"field": error.field},
                              missing=error.missing)
    record(fields)
    return Accepted()  # Es2PlusProvider.callback_ack: 204, no body, ES2+ headers
