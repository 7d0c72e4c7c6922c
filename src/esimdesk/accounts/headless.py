"""The headless API's sign-up, password-reset and sign-in-code requests as the portal's pages
have them: the sign-in policy's limits, and a sign-up that does not tell whether an address
is taken (allauth builds these inputs on its own forms, not on ``ACCOUNT_FORMS``).

Mounted in ``urls.py`` before allauth's headless URLs, on the same paths, for both clients.
"""

from __future__ import annotations

from allauth.headless.account import inputs, views
from allauth.headless.constants import Client
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


def urlpatterns() -> list[URLPattern]:
    patterns = []
    for client in (Client.APP, Client.BROWSER):
        base = f"_allauth/{client.value}/v1/auth/"
        patterns += [
            path(base + "signup", SignupView.as_api_view(client=client)),
            path(base + "password/request",
                 RequestPasswordResetView.as_api_view(client=client)),
            path(base + "code/request", RequestLoginCodeView.as_api_view(client=client)),
        ]
    return patterns
