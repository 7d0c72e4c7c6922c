"""One error shape for every answer a view does not write itself.

A refusal at the input boundary (``core.boundary``) and Django's own error handlers
(``handler400``/``403``/``404``/``500`` in the root URLconf) answer JSON
``{"code", "message", "detail"}`` on JSON routes (the API, the headless sign-in API,
webhooks and callbacks, anything ending in ``.json`` or sent as JSON) and a page in the
reader's language everywhere else, with the same code. The message is translated and never
carries internals (exception text, paths, values).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _

from esimdesk.core.errors import MESSAGES


def wants_json(request: HttpRequest) -> bool:
    """Whether the client of this request reads JSON rather than pages: the path is under
    one of ``settings.BOUNDARY_JSON_PATHS`` or ends in ``.json``, the body is JSON, or the
    client accepts JSON and not HTML."""
    path = request.path_info
    prefixes = tuple(getattr(settings, "BOUNDARY_JSON_PATHS", ()))
    if path.startswith(prefixes) or path.endswith(".json"):
        return True
    content_type = request.META.get("CONTENT_TYPE", "")
    if "json" in content_type:
        return True
    accept = request.META.get("HTTP_ACCEPT", "")
    return "json" in accept and "html" not in accept


def error_body(code: str, message: Any = None, detail: Any = None) -> dict[str, Any]:
    if message is None:
        message = MESSAGES.get(code, MESSAGES["bad_request"])
    return {"code": code, "message": str(message), "detail": detail}


def _titles() -> dict[int, str]:
    return {400: _("The request is not valid"), 403: _("Not allowed"),
            404: _("Page not found"), 413: _("The request is too large"),
            500: _("Something went wrong")}


def error_response(request: HttpRequest, status: int, code: str, message: Any = None,
                   detail: Any = None) -> HttpResponse:
    """The answer to a request refused with ``code``: JSON or a page, as the client reads."""
    body = error_body(code, message, detail)
    if wants_json(request):
        return JsonResponse(body, status=status)
    return render(request, "core/error.html", {
        "title": _titles().get(status, _titles()[400]), "status": status, **body},
        status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 400, "bad_request")


def permission_denied(request: HttpRequest, exception: Exception | None = None,
                      ) -> HttpResponse:
    return error_response(request, 403, "forbidden")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 404, "not_found")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a form posted from elsewhere, or after its token expired."""
    return error_response(request, 403, "csrf_failed")


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without the request's context processors: whatever failed (the database,
    the session) must not be needed to say so."""
    body = error_body("server_error")
    if wants_json(request):
        return JsonResponse(body, status=500)
    page = loader.get_template("core/server_error.html").render(
        {"title": _titles()[500], **body})
    return HttpResponse(page, status=500)
