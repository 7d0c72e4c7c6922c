"""API authentication: allauth headless session tokens for customers, bearer API keys for
integrations."""

from __future__ import annotations

from typing import Any

from allauth.headless.contrib.ninja.security import XSessionTokenAuth
from django.http import HttpRequest
from django.utils import timezone, translation
from ninja.security import HttpBearer

from esimdesk.accounts import services as accounts


class CustomerAuth(XSessionTokenAuth):
    """``X-Session-Token`` from ``POST /_allauth/app/v1/auth/login`` (or signup)."""

    def __call__(self, request: HttpRequest) -> Any:
        user = super().__call__(request)
        if user is not None and user.is_active:
            request.user = user
            # An app states the phone's language in Accept-Language; without it, answer in
            # the language the traveller chose in their settings.
            if "Accept-Language" not in request.headers:
                translation.activate(user.language)
            timezone.activate(user.tz)
            return user
        return None


class ApiKeyAuth(HttpBearer):
    """``Authorization: Bearer <key>`` made with ``esimdesk apikey create NAME``."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return accounts.authenticate_api_key(token)


customer_auth = CustomerAuth()
api_key_auth = ApiKeyAuth()
