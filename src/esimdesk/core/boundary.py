"""The one input boundary: what no endpoint can handle is refused here, before any view runs,
with a 4xx and a code (JSON or a page, see ``core.error_pages``).

Checked for every request whose URL resolves (``InputBoundary.process_view``, placed before
the CSRF middleware so that nothing reads the body first):

- a NUL character in the path, the query string, a header, a form field or file name, or a
  JSON string (raw or escaped ``\\u0000``), and an unpaired UTF-16 surrogate escape in JSON:
  ``400 invalid_characters``. PostgreSQL text cannot hold either, and nothing esimdesk
  stores needs them;
- a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (multipart uploads:
  ``ESIMDESK_MAX_UPLOAD_BYTES``): ``413 body_too_large``, logged with the route;
- a JSON body nested deeper than ``MAX_JSON_DEPTH`` or holding more than
  ``MAX_JSON_CONTAINERS`` objects and arrays: ``400 json_too_deep`` / ``json_too_complex``,
  so no JSON parser (allauth's ``json.loads`` recurses) ever goes that deep; one whose
  brackets cannot match is ``400 malformed_json``.

A view that reads its own body as a stream (usage ingestion's NDJSON) is marked with
``reads_own_body`` and checks its records itself; the request line is still checked.

What a view still meets after the boundary is typed where it is read (``core.inputs``: ids,
pages, times). As a last line, a value the database or a date calculation refuses
(``DataError``, ``OverflowError``) is answered ``400 invalid_request`` and logged as an error
with the route: it means some input found no check before it, which is a bug to fix.

Cost: the common request (no body, or a small JSON body) pays a handful of ``in`` tests on
strings and bytes, all in C; only bodies with more than ``MAX_JSON_DEPTH`` brackets get the
structural scan.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DataError
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError

from esimdesk import config
from esimdesk.core.error_pages import error_response

logger = logging.getLogger(__name__)

MAX_JSON_DEPTH = 64
MAX_JSON_CONTAINERS = 10_000

F = TypeVar("F", bound=Callable[..., Any])


def reads_own_body(view: F) -> F:
    """Mark a view that reads (and checks) its request body itself, as a stream: the
    boundary then leaves the body alone. The view owns its size limit and record checks."""
    view.reads_own_body = True  # type: ignore[attr-defined]
    return view


# -- the checks, on plain values -------------------------------------------------------------

_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_LOOKS_LIKE_JSON = re.compile(rb"\s*[\[{\"]")
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE_PAIR = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def text_has_nul(*values: str) -> bool:
    return any("\x00" in value for value in values)


def _without_escaped_backslashes(body: bytes) -> bytes:
    """The body with every ``\\\\`` pair removed, left to right: every backslash left
    starts a real escape (``\\\\u0000`` is the text ``\\u0000``, not a NUL)."""
    return body.replace(b"\\\\", b"") if b"\\\\" in body else body


def json_problem(body: bytes) -> str | None:
    """The code to refuse a JSON body with, or None. Parses nothing."""
    if b"\x00" in body:
        return "invalid_characters"
    if b"\\u" in body:
        escapes = _without_escaped_backslashes(body)
        if b"\\u0000" in escapes:
            return "invalid_characters"
        if _SURROGATE.search(escapes) and _SURROGATE.search(_SURROGATE_PAIR.sub(b"", escapes)):
            return "invalid_characters"  # a lone surrogate cannot be stored as UTF-8
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return None  # cannot be deeper than that: the usual case ends here
    return _structure_problem(body)


def _structure_problem(body: bytes) -> str | None:
    # Brackets outside strings: with escaped backslashes and quotes gone, a string is what
    # lies between two quotes.
    plain = _without_escaped_backslashes(body).replace(b'\\"', b"")
    brackets = b"".join(plain.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets[:2 * MAX_JSON_CONTAINERS]:  # a bounded number of steps
        if byte in b"[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return "json_too_deep"
        else:
            depth -= 1
            if depth < 0:
                return "malformed_json"  # closes what was never opened
    openers = brackets.count(b"[") + brackets.count(b"{")
    if openers > MAX_JSON_CONTAINERS:
        return "json_too_complex"
    if openers * 2 != len(brackets):
        return "malformed_json"  # left open, or closed twice: not JSON
    return None


def number_out_of_range(value: Any, bound: int = 2**63 - 1) -> bool:
    """Whether parsed JSON holds an integer outside the signed 64-bit range, or a float that
    large (``1e30`` for a count would become an integer no column can hold)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, int):
            if not -bound - 1 <= item <= bound:
                return True
        elif isinstance(item, float):
            if not -bound - 1 < item < bound:  # also NaN and the infinities
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


#: Digit runs no signed 64-bit integer fits in, and exponents: only then is parsed JSON
#: walked for numbers out of range.
NUMBER_HINT = re.compile(rb"[0-9]{19}|[0-9][eE]")


# -- the middleware --------------------------------------------------------------------------

def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return str(match.route) if match is not None else request.path_info


def _too_large(request: HttpRequest, length: int, limit: int) -> HttpResponse:
    logger.warning("request body too large: route=%s method=%s bytes=%d limit=%d",
                   _route(request), request.method, length, limit)
    return error_response(request, 413, "body_too_large", detail={"max_bytes": limit})


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


class InputBoundary:
    """Middleware; see the module docstring."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable[..., Any], args: Any,
                     kwargs: Any) -> HttpResponse | None:
        if self._request_line_has_nul(request):
            return error_response(request, 400, "invalid_characters")
        if getattr(view, "reads_own_body", False):
            return None
        length = _content_length(request)
        if not length:
            return None
        try:
            return self._check_body(request, length)
        except RequestDataTooBig:
            return _too_large(request, length, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)
        except (TooManyFieldsSent, TooManyFilesSent):
            return error_response(request, 400, "too_many_fields")
        except (MultiPartParserError, OSError):
            return error_response(request, 400, "malformed_body")

    @staticmethod
    def _request_line_has_nul(request: HttpRequest) -> bool:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            return True
        headers = [value for key, value in request.META.items()
                   if key.startswith("HTTP_") and isinstance(value, str)]
        return "\x00" in "".join(headers)  # one search instead of one per header

    def _check_body(self, request: HttpRequest, length: int) -> HttpResponse | None:
        content_type = request.content_type or ""
        if content_type == "multipart/form-data":
            limit = int(config.env("ESIMDESK_MAX_UPLOAD_BYTES"))
            if length > limit:
                return _too_large(request, length, limit)
            small = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if small is None or length <= small:
                # Kept, so a view that reads the raw body after the fields are parsed here
                # still can; a larger upload is parsed as a stream, as Django does.
                request.body  # noqa: B018
            fields = [*request.POST.keys(), *(v for _, vs in request.POST.lists() for v in vs),
                      *request.FILES.keys(),
                      *(f.name or "" for _, fs in request.FILES.lists() for f in fs)]
            return (error_response(request, 400, "invalid_characters")
                    if text_has_nul(*fields) else None)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return _too_large(request, length, limit)
        body = request.body
        if content_type == "application/x-www-form-urlencoded":
            if b"%00" in body or b"\x00" in body:
                return error_response(request, 400, "invalid_characters")
            request.POST  # noqa: B018 - parsed here so a field-count refusal is a 400 with a code
            return None
        if b"\x00" in body and "json" not in content_type:
            return error_response(request, 400, "invalid_characters")
        if "json" in content_type or _LOOKS_LIKE_JSON.match(body):
            code = json_problem(body)
            if code is not None:
                detail = ({"max_depth": MAX_JSON_DEPTH} if code == "json_too_deep" else
                          {"max_containers": MAX_JSON_CONTAINERS}
                          if code == "json_too_complex" else None)
                return error_response(request, 400, code, detail=detail)
        return None

    def process_exception(self, request: HttpRequest,
                          exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return _too_large(request, _content_length(request),
                              settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)
        if isinstance(exception, (TooManyFieldsSent, TooManyFilesSent)):
            return error_response(request, 400, "too_many_fields")
        if isinstance(exception, (DataError, OverflowError)):
            # Some input reached the database or a date calculation without a check: answer
            # as the bad input it is, and log it loudly as the missing check it shows.
            logger.error("unchecked input refused late: route=%s method=%s error=%s",
                         _route(request), request.method, type(exception).__name__,
                         exc_info=exception)
            return error_response(request, 400, "invalid_request")
        return None
