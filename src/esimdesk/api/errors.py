"""One error shape everywhere: ``{"code", "message", "detail"}``, message translated."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from esimdesk.core.errors import MESSAGES, DomainError, RateLimited


def error_body(code: str, message: Any, detail: Any = None) -> dict[str, Any]:
    return {"code": code, "message": str(message), "detail": detail}


def domain_error_body(error: DomainError) -> dict[str, Any]:
    return error_body(error.code, error.message, error.detail)


def install(api: NinjaAPI) -> None:
    def respond(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
        return api.create_response(request, body, status=status)

    @api.exception_handler(DomainError)
    def domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
        response = respond(request, exc.status, domain_error_body(exc))
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        detail = [{"loc": list(e.get("loc", [])), "msg": e.get("msg"), "type": e.get("type")}
                  for e in exc.errors]
        return respond(request, 422, error_body("invalid_request", MESSAGES["invalid_request"],
                                                detail))

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return respond(request, 401, error_body("unauthenticated", MESSAGES["unauthenticated"]))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
            return respond(request, 400, error_body("malformed_json", MESSAGES["malformed_json"]))
        return respond(request, exc.status_code, error_body("http_error", str(exc)))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, 404, error_body("not_found", _("Not found.")))
