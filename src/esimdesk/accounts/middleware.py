"""Per-request account handling: the signed-in user's language and time zone; the staff
console's second factor."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation


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
        from django.conf import settings

        if (settings.STAFF_MFA_REQUIRED and request.path.startswith("/staff/")
                and not request.path.startswith(self.OPEN)):
            user = request.user
            if user.is_authenticated and user.is_staff and not _has_totp(user):
                from django.contrib import messages
                from django.shortcuts import redirect
                from django.utils.translation import gettext as _

                messages.warning(request, _("The staff console needs two-factor sign-in. "
                                            "Set up an authenticator app to continue."))
                return redirect("mfa_activate_totp")
        return self.get_response(request)


def _has_totp(user: object) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
