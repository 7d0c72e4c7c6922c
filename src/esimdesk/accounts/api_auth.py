"""API authentication for integrations: bearer API keys (``esimdesk apikey create NAME``).
Customers authenticate with session tokens (``core.api.auth``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from esimdesk.accounts import services as accounts


class ApiKeyAuth(HttpBearer):
    """``Authorization: Bearer <key>`` made with ``esimdesk apikey create NAME``."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return accounts.authenticate_api_key(token)


api_key_auth = ApiKeyAuth()
