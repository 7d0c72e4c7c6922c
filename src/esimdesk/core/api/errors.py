"""One error shape everywhere: ``{"code", "message", "detail"}``, message translated (the
same body as the input boundary's and Django's error handlers, ``core.error_pages``)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from esimdesk.core.api.schemas import ErrorOut
from esimdesk.core.error_pages import error_body
from esimdesk.core.errors import MESSAGES, DomainError, RateLimited

__all__ = ["domain_error_body", "error_body", "install"]


def domain_error_body(error: DomainError) -> dict[str, Any]:
    return error_body(error.code, error.message, error.detail)


def _refusal(errors: list[dict[str, Any]]) -> tuple[str, Any]:
    """The code of a refusal: a field typed with ``schemas.refused_as`` keeps its own code
    when it is the only thing wrong; anything else is ``invalid_request``."""
    codes = {str(e.get("type")) for e in errors}
    if len(codes) == 1:
        [code] = codes
        ctx = errors[0].get("ctx") or {}
        if ctx.get("refused_as") == code and (ctx.get("message") or code in MESSAGES):
            return code, ctx.get("message") or MESSAGES[code]
    return "invalid_request", MESSAGES["invalid_request"]


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
        detail: list[dict[str, Any]] = [
            {"loc": list(e.get("loc", [])), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors]
        if detail and all(d["loc"][:1] == ["path"] for d in detail):
            # A path that cannot name anything (an id beyond bigint, letters for a number)
            # is answered as an unknown one, as Django's URL converters do.
            return respond(request, 404, error_body("not_found", MESSAGES["not_found"]))
        code, message = _refusal(exc.errors)
        return respond(request, 422, error_body(code, message, detail))

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


# Answers that do not depend on what an operation does, only on how it is called. They are
# added to every operation of the OpenAPI document where they apply, so no route can leave
# one out; the routes declare the refusals of their own (403, 404, 409, 502, 503).
_ANSWERED_BY_EVERY_OPERATION = {
    "400": "`malformed_json` (the body is not JSON), or characters the API does not take "
           "(such as NUL) in the path, the query or the body",
}
_ANSWERED_WITH_CREDENTIALS = {
    "401": "the credentials (session token or API key) are missing or not valid",
}
_ANSWERED_WITH_INPUT = {
    "422": "`invalid_request` (what is wrong, by field, in `detail`) or a refusal with a code "
           "of its own",
}
_ANSWERED_WITH_A_BODY = {
    "413": "the body is larger than the API takes",
}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the answers above, with the error shape, to every operation they apply to, and
    describe parameters as they travel (see ``_parameter``)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ErrorOut", ErrorOut.json_schema())
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                _parameter(parameter)
            answers = dict(_ANSWERED_BY_EVERY_OPERATION)
            if operation.get("security"):
                answers.update(_ANSWERED_WITH_CREDENTIALS)
            if operation.get("parameters") or operation.get("requestBody"):
                answers.update(_ANSWERED_WITH_INPUT)
            if operation.get("requestBody"):
                answers.update(_ANSWERED_WITH_A_BODY)
            responses = operation["responses"] = _by_status(operation.get("responses", {}))
            if any(p.get("in") == "path" for p in operation.get("parameters", [])):
                # A path value outside what it can name (an id beyond 64 bits) is an unknown
                # one; a route's own 404 description, where it has one, is kept.
                responses.setdefault("404", {
                    "description": "`not_found`: nothing has what the path names",
                    "content": {"application/json": {"schema": _ERROR_REF}}})
            for status, description in answers.items():
                responses.setdefault(status, {"content": {
                    "application/json": {"schema": _ERROR_REF}}})["description"] = description
    return schema


def _parameter(parameter: dict[str, Any]) -> None:
    """A path, query or header parameter is a string on the wire: it is absent rather than
    ``null`` (pydantic describes ``T | None`` as "T or null"), and OpenAPI wants its
    examples as a map, where pydantic gives a list."""
    schema = parameter.get("schema", {})
    options = schema.get("anyOf")
    if options and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del schema["anyOf"]
        if len(rest) == 1:
            schema.update(rest[0])
        else:
            schema["anyOf"] = rest
    examples = parameter.get("examples")
    if isinstance(examples, list):
        parameter["examples"] = {f"example{n}": {"value": value}
                                 for n, value in enumerate(examples, 1)}


def _by_status(responses: dict[Any, Any]) -> dict[str, Any]:
    """Responses keyed by status as text. Ninja keys a route's ``response`` by number and a
    route's ``openapi_extra`` (links, content) is keyed as in JSON, by text: one entry each."""
    merged: dict[str, Any] = {}
    for status, response in responses.items():
        entry = merged.setdefault(str(status), {})
        for key, value in response.items():
            if isinstance(value, dict) and isinstance(entry.get(key), dict):
                entry[key] = {**entry[key], **value}
            else:
                entry[key] = value
    return merged
