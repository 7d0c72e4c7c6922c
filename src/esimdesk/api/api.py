"""The public API v1: OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.parser import Parser
from ninja.renderers import BaseRenderer

from esimdesk import __version__
from esimdesk.api.esim_changes import router as esim_changes_router
from esimdesk.api.esims import router as esims_router
from esimdesk.api.ops import router as ops_router
from esimdesk.api.ops_metrics import router as ops_metrics_router
from esimdesk.api.usage import router as usage_router
from esimdesk.catalog.api import router as catalog_router
from esimdesk.core.api import errors
from esimdesk.core.boundary import NUMBER_HINT, number_out_of_range
from esimdesk.core.errors import ValidationFailed
from esimdesk.notifications.api import router as notifications_router
from esimdesk.payments.api import router as payments_router
from esimdesk.sharedplans.api import router as groups_router


class OrjsonParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        body = request.body
        data = orjson.loads(body)
        # Only a body with a long digit run or an exponent can hold a number no column
        # takes (orjson reads integers beyond 64 bits as floats): only then is it walked.
        if NUMBER_HINT.search(body) and number_out_of_range(data):
            raise ValidationFailed(code="number_out_of_range", status=400)
        return data


# Routers that moved into their feature app keep the operation ids clients were generated
# from: moving code does not change the OpenAPI document.
_OPERATION_MODULES = {"esimdesk.sharedplans.api": "esimdesk.api.groups"}


class Api(NinjaAPI):
    def get_openapi_operation_id(self, operation: Any) -> str:
        module = operation.view_func.__module__
        name = f"{_OPERATION_MODULES.get(module, module)}_{operation.view_func.__name__}"
        return name.replace(".", "_")

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        return errors.document(super().get_openapi_schema(**kwargs))


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return orjson.dumps(data)


DESCRIPTION = """
Customers sign in through the allauth headless app flow
(`POST /_allauth/app/v1/auth/signup` or `.../auth/login`), take `meta.session_token` from the
answer and send it as `X-Session-Token`. Integrations send `Authorization: Bearer <key>`.

Errors are `{"code", "message", "detail"}`; `message` is in the language of the request.
Money is integer minor units plus an ISO 4217 currency (`amount` 1299 `USD` is 12.99 USD).
Data is in bytes, voice in seconds, SMS in messages. Money-moving POSTs accept an
`Idempotency-Key` header: reuse the same key when you retry, and the first answer is replayed.
"""

api = Api(
    title="esimdesk API",
    version=f"1 ({__version__})",
    description=DESCRIPTION,
    urls_namespace="api_v1",
    parser=OrjsonParser(),
    renderer=OrjsonRenderer(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
errors.install(api)
api.add_router("", catalog_router)
api.add_router("", payments_router)
api.add_router("", esims_router)
api.add_router("", usage_router)
api.add_router("", esim_changes_router)
api.add_router("", notifications_router)
api.add_router("", groups_router)
api.add_router("", ops_router)
api.add_router("", ops_metrics_router)
api.add_router("", "esimdesk.esims.api.router")  # device compatibility, no auth
api.add_router("", "esimdesk.support.api.router")  # help-centre articles, no auth
api.add_router("", "esimdesk.support.chat_api.router")  # the customer's support chat
