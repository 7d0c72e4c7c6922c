"""One error shape everywhere: ``{"code", "message", "detail"}``, message translated (the
same body as the input boundary's and Django's error handlers, ``core.error_pages``)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from esimdesk.core.error_pages import error_body
from esimdesk.core.errors import MESSAGES, DomainError

__all__ = ["domain_error_body", "error_body", "install"]


def domain_error_body(error: DomainError) -> dict[str, Any]:
    return error_body(error.code, error.message, error.detail)


def install(api: NinjaAPI) -> None:
    def respond(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
        return api.create_response(request, body, status=status)

    @api.exception_handler(DomainError)
    def domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return respond(request, exc.status, domain_error_body(exc))

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        detail = [{"loc": list(e.get("loc", [])), "msg": e.get("msg"), "type": e.get("type")}
                  for e in exc.errors]
        if detail and all(d["loc"][:1] == ["path"] for d in detail):
            # A path that cannot name anything (an id beyond bigint, letters for a number)
            # is answered as an unknown one, as Django's URL converters do.
            return respond(request, 404, error_body("not_found", MESSAGES["not_found"]))
        return respond(request, 422, error_body("invalid_request", MESSAGES["invalid_request"],
                                                detail))

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return respond(request, 401, error_body("unauthenticated", MESSAGES["unauthenticated"]))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc.__cause__, DomainError):  # refused by the parser with a code
            return domain(request, exc.__cause__)
        if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
            return respond(request, 400, error_body("malformed_json", MESSAGES["malformed_json"]))
        return respond(request, exc.status_code, error_body("http_error", str(exc)))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, 404, error_body("not_found", MESSAGES["not_found"]))
