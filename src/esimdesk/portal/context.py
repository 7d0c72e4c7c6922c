from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from esimdesk.accounts import next_url
from esimdesk.portal.kept_plan import chosen_plan


def site(request: HttpRequest) -> dict[str, Any]:
    # Where a visitor who is not signed in was going (a chosen plan's checkout): the sign-in
    # pages' links carry it on and show the plan (accounts.next_url, portal.kept_plan).
    user = getattr(request, "user", None)
    keep_next = "" if user is None or user.is_authenticated else next_url.current(request)
    return {
        "support_email": settings.ESIMDESK["SUPPORT_EMAIL"],
        "support_phone": settings.ESIMDESK["SUPPORT_PHONE"],
        "portal_languages": settings.LANGUAGES,
        "keep_next": keep_next,
        "kept_plan": SimpleLazyObject(lambda: chosen_plan(keep_next) or ""),
    }
