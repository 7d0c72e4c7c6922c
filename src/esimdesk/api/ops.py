"""OpenAPI description of ``POST /api/v1/ops/usage-events``.

The request is served by the plain view in ``api.usage_ingest`` (registered in ``urls.py``
before the ninja API, so NDJSON is read as a stream); this operation documents it in the
OpenAPI reference and, were it ever routed here, hands the request to that same view.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from esimdesk.accounts.api_auth import usage_key_auth
from esimdesk.api.usage_ingest import MAX_RECORDS, ingest_usage_events
from esimdesk.core.api.schemas import ErrorOut

router = Router(tags=["operations"])

_RECORD = {
    "type": "object",
    "required": ["id", "iccid", "kind", "quantity", "occurred_at"],
    "properties": {
        "id": {"type": "string", "maxLength": 128,
               "description": "unique per API key; reuse it when you retry"},
        "iccid": {"type": "string", "example": "8999001000000000018"},
        "kind": {"type": "string", "enum": ["data", "voice", "sms"]},
        "quantity": {"type": "integer", "minimum": 0, "maximum": 10**13,
                     "description": "bytes, seconds or messages"},
        "occurred_at": {"type": "string", "format": "date-time",
                        "example": "2026-03-01T12:00:00Z"},
    },
}


class RejectedOut(Schema):
    index: int
    code: str


class UsageIngestOut(Schema):
    accepted: int
    duplicates: int
    rejected: list[RejectedOut]


@router.post(
    "/ops/usage-events", auth=usage_key_auth, response={200: UsageIngestOut, 403: ErrorOut},
    summary="Ingest usage records",
    description=(
        f"A batch of at most {MAX_RECORDS} usage records, as a JSON array or as NDJSON "
        "(`Content-Type: application/x-ndjson`, one record per line). Each record is "
        "checked on its own: malformed ones are listed in `rejected` with a code "
        "(`invalid_record`, `invalid_id`, `invalid_iccid`, `unknown_iccid`, `invalid_kind`, "
        "`invalid_quantity`, `invalid_time`, `no_period`), ids already stored for this API "
        "key are counted in `duplicates` and charge nothing, the rest is charged before "
        "the answer. Needs an API key holding the `usage:write` scope. Errors: "
        "`400 malformed_json`, `401 unauthorized`, `403 insufficient_scope` (the key does "
        "not hold `usage:write`), `413 too_many_records`."),
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "array", "items": _RECORD,
                                        "maxItems": MAX_RECORDS}},
        "application/x-ndjson": {"schema": _RECORD}}}},
)
def post_usage_events(request: HttpRequest) -> Any:
    response: HttpResponse = ingest_usage_events(request)
    return response
