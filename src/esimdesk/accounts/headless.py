"""The headless API's sign-up, password-reset and sign-in-code requests as the portal's pages
have them: the sign-in policy's limits, and a sign-up that does not tell whether an address
is taken (allauth builds these inputs on its own forms, not on ``ACCOUNT_FORMS``); and the
phone-number view without a crash on a visitor who is not signed in.

Mounted in ``urls.py`` before allauth's headless URLs, on the same paths, for both clients.
"""

from __future__ import annotations

from typing import Any

from allauth.headless.account import inputs, views
from allauth.headless.base.response import AuthenticationResponse
from allauth.headless.constants import Client
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path

from esimdesk.accounts.forms import LoginCodeLimit, ResetLimit
from esimdesk.accounts.signup_base import NeutralEmail


class SignupInput(NeutralEmail, inputs.SignupInput):
    pass


class RequestPasswordResetInput(ResetLimit, inputs.RequestPasswordResetInput):
    pass


class RequestLoginCodeInput(LoginCodeLimit, inputs.RequestLoginCodeInput):
    pass


class SignupView(views.SignupView):
    input_class = {"POST": SignupInput}


class RequestPasswordResetView(views.RequestPasswordResetView):
    input_class = RequestPasswordResetInput


class RequestLoginCodeView(views.RequestLoginCodeView):
    input_class = RequestLoginCodeInput


class ManagePhoneView(views.ManagePhoneView):
    """allauth's view reads the user it only sets for a signed-in visitor, a GET or a POST:
    any other method from a visitor who is not signed in is answered as not signed in."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated and request.method not in ("GET", "POST"):
            return AuthenticationResponse(request)
        return super().dispatch(request, *args, **kwargs)


def urlpatterns() -> list[URLPattern]:
    patterns = []
    for client in (Client.APP, Client.BROWSER):
        base = f"_allauth/{client.value}/v1/auth/"
        patterns += [
            path(base + "signup", SignupView.as_api_view(client=client)),
            path(base + "password/request",
                 RequestPasswordResetView.as_api_view(client=client)),
            path(base + "code/request", RequestLoginCodeView.as_api_view(client=client)),
            path(f"_allauth/{client.value}/v1/account/phone",
                 ManagePhoneView.as_api_view(client=client)),
        ]
    return patterns
