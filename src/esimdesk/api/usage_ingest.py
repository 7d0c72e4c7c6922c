"""``POST /api/v1/ops/usage-events``: batches of usage records from the network or a supplier.

A plain Django view rather than a ninja operation, so an NDJSON body
(``Content-Type: application/x-ndjson``) is parsed line by line as it arrives instead of
being loaded whole; a JSON array is read with its own size limit (Django's form upload limit
does not apply to it). The source of the records is the API key's name, so ids only need to
be unique per integration.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from esimdesk.accounts.api_auth import usage_key_auth
from esimdesk.core.boundary import reads_own_body
from esimdesk.core.errors import DomainError
from esimdesk.usage import services

MAX_RECORDS = 50_000
MAX_JSON_BYTES = 64 * 1024 * 1024


class _TooMany(Exception):
    pass


def _error(status: int, code: str, message: str, detail: Any = None) -> HttpResponse:
    return HttpResponse(orjson.dumps({"code": code, "message": message, "detail": detail}),
                        status=status, content_type="application/json")


def _ndjson(request: HttpRequest) -> Iterator[Any]:
    count = 0
    for line in request:
        if not line.strip():
            continue
        count += 1
        if count > MAX_RECORDS:
            raise _TooMany
        yield orjson.loads(line)


@reads_own_body  # streamed: its own size limit, and each record checked on its own
@csrf_exempt
@require_POST
def ingest_usage_events(request: HttpRequest) -> HttpResponse:
    try:
        key = usage_key_auth(request)
    except DomainError as refused:  # a key without the usage:write scope
        return _error(refused.status, refused.code, str(refused.message), refused.detail)
    if key is None:
        return _error(401, "unauthorized", _("A valid API key is required."))
    content_type = request.content_type or ""
    try:
        if content_type in ("application/x-ndjson", "application/jsonl"):
            records: list[Any] = list(_ndjson(request))
        else:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
            if length > MAX_JSON_BYTES:
                raise _TooMany
            records = orjson.loads(request.read())
            if not isinstance(records, list):
                return _error(400, "malformed_json", _("The body must be a JSON array."))
            if len(records) > MAX_RECORDS:
                raise _TooMany
    except orjson.JSONDecodeError:
        return _error(400, "malformed_json", _("The body is not valid JSON."))
    except _TooMany:
        return _error(413, "too_many_records",
                      _("At most %(n)s records per request.") % {"n": MAX_RECORDS},
                      {"max_records": MAX_RECORDS})
    result = services.ingest(source=key.name[:64], records=records)
    return HttpResponse(orjson.dumps({
        "accepted": result.accepted, "duplicates": result.duplicates,
        "rejected": [{"index": i, "code": c} for i, c in result.rejected]}),
        content_type="application/json")
