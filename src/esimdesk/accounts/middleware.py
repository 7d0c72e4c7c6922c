"""Per-request account handling: the signed-in user's language and time zone; the staff
console's second factor; where a visitor signing in was going (``next_url``)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from esimdesk.accounts import next_url
from esimdesk.accounts.second_factor import staff_needs_second_factor
from esimdesk.core import formats
from esimdesk.core.money import SHOP_CURRENCIES

# The session key holding the time zone a visitor's browser reported.
SESSION_TIME_ZONE = "time_zone"


def visitor_defaults(request: HttpRequest) -> tuple[str, str]:
    """(time zone, currency) a new account starts with: the zone the browser reported this
    session (else UTC) and the currency its country or language suggests."""
    session = getattr(request, "session", None)
    zone = formats.valid_zone(session.get(SESSION_TIME_ZONE) if session is not None else None)
    currency = formats.guess_currency(
        accept_language=request.META.get("HTTP_ACCEPT_LANGUAGE"), time_zone=zone,
        language=translation.get_language(), sold=SHOP_CURRENCIES)
    return zone or "UTC", currency


class UserPreferencesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        # Dates follow the region of the user's time zone, else the browser's language
        # region ("en-GB"): core.formats.
        formats.activate_region(
            formats.accept_language_region(request.META.get("HTTP_ACCEPT_LANGUAGE"))[1])
        if user is not None and user.is_authenticated:
            # The portal's language switcher saves the choice on the user, so the stored
            # preference wins over the browser's Accept-Language.
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
            timezone.activate(user.tz)
        else:
            # A visitor: the time zone their browser reported (portal's time_zone.js).
            reported = formats.zone(request.session.get(SESSION_TIME_ZONE)
                                    if hasattr(request, "session") else None)
            if reported is not None:
                timezone.activate(reported)
            else:
                timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            formats.deactivate_region()


class KeepNextMiddleware:
    """A visitor on a sign-in page (sign-in, sign-up, codes, confirmation, reset) that names a
    ``next`` on this site has it kept in the session, so the steps after it end there too."""

    PATHS = ("/accounts/", "/account/reset/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: object, args: object,
                     kwargs: object) -> None:
        # In process_view, after the input boundary has read and checked the body.
        if request.path.startswith(self.PATHS) and not request.user.is_authenticated:
            target = next_url.from_request(request)
            if target:
                next_url.keep(request, target)


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
