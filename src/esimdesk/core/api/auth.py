"""Customer authentication for every app's API router: allauth headless session tokens
(``X-Session-Token``). Integration keys are ``accounts.api_auth``."""

from __future__ import annotations

from typing import Any

from allauth.core.internal.sessionkit import get_session_user
from allauth.headless import app_settings
from allauth.headless.contrib.ninja.security import XSessionTokenAuth
from allauth.headless.internal import sessionkit
from allauth.headless.tokens.strategies.sessions import SessionTokenStrategy
from django.http import HttpRequest
from django.utils import timezone, translation


class CustomerAuth(XSessionTokenAuth):  # type: ignore[misc]  # allauth ships no types
    """``X-Session-Token`` from ``POST /_allauth/app/v1/auth/login`` (or signup)."""

    # Where the token travels, for the OpenAPI security scheme: an ``apiKey`` scheme without
    # ``in`` and ``name`` is invalid, and clients generated from the document cannot call.
    openapi_in = "header"
    openapi_name = "X-Session-Token"
    openapi_description = ("`meta.session_token` from `POST /_allauth/app/v1/auth/login` "
                           "(or `.../auth/signup`)")

    def __call__(self, request: HttpRequest) -> Any:
        user = self._user(request)
        if user is not None and user.is_active:
            request.user = user
            # An app states the phone's language in Accept-Language; without it, answer in
            # the language the traveller chose in their settings.
            if "Accept-Language" not in request.headers:
                translation.activate(user.language)
            timezone.activate(user.tz)
            return user
        return None

    def _user(self, request: HttpRequest) -> Any:
        if type(app_settings.TOKEN_STRATEGY) is not SessionTokenStrategy:
            return super().__call__(request)
        # The session token strategy asks the session store whether the session exists,
        # then loads it: two cache round trips on every API call. Loading it once tells
        # the same (a missing or expired session comes back without a key).
        token = self.get_session_token(request)
        if not token:
            return None
        session = sessionkit.lookup_session(token)
        return get_session_user(session) if session is not None else None


customer_auth = CustomerAuth()
