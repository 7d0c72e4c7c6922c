"""API authentication for integrations: bearer API keys, each holding scopes
(``accounts.models.ApiScope``). Customers authenticate with session tokens
(``core.api.auth``).

An operation names the scope it needs: ``auth=ApiKeyAuth(ApiScope.OPS_READ)``. A key that
is missing, unknown or revoked is 401; a key without the scope is 403
``insufficient_scope`` with a translated message (``accounts.services``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from esimdesk.accounts import services as accounts
from esimdesk.accounts.models import ApiScope


class ApiKeyAuth(HttpBearer):
    """``Authorization: Bearer <key>`` of a key holding ``scope``."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return accounts.authenticate_api_key(token, scope=self.scope)


usage_key_auth = ApiKeyAuth(ApiScope.USAGE_WRITE)
ops_key_auth = ApiKeyAuth(ApiScope.OPS_READ)
