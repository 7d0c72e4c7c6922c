"""Per-request account handling: the signed-in user's language and time zone; the staff
console's second factor."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from esimdesk.accounts.second_factor import staff_needs_second_factor


class UserPreferencesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # The portal's language switcher saves the choice on the user, so the stored
            # preference wins over the browser's Accept-Language.
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
            timezone.activate(user.tz)
        else:
            timezone.deactivate()
        return self.get_response(request)


class StaffSecondFactorMiddleware:
    """With ``STAFF_MFA_REQUIRED`` (production), a staff member without an authenticator app
    is sent to set one up before any /staff/ page opens."""

    OPEN = ("/staff/login/", "/staff/logout/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (request.path.startswith("/staff/") and not request.path.startswith(self.OPEN)
                and staff_needs_second_factor(request.user)):
            messages.warning(request, _("The staff console needs two-factor sign-in. "
                                        "Set up an authenticator app to continue."))
            return redirect("mfa_activate_totp")
        return self.get_response(request)
