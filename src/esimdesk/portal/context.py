from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    return {
        "support_email": settings.ESIMDESK["SUPPORT_EMAIL"],
        "support_phone": settings.ESIMDESK["SUPPORT_PHONE"],
        "portal_languages": settings.LANGUAGES,
    }
