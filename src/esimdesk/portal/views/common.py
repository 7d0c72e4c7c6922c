from __future__ import annotations

import io
from typing import Any

import segno
from django.contrib import messages
from django.http import HttpRequest
from django.utils import timezone, translation

from esimdesk.core import formats
from esimdesk.core.errors import DomainError
from esimdesk.core.money import SHOP_CURRENCIES


def current_currency(request: HttpRequest) -> str:
    """The currency to show prices in: ?currency=, then the user's, then by language."""
    chosen = (request.GET.get("currency") or "").upper()
    if chosen in SHOP_CURRENCIES:
        request.session["currency"] = chosen
        return chosen
    if request.session.get("currency"):
        return str(request.session["currency"])
    user: Any = request.user
    if user.is_authenticated:
        return str(user.preferred_currency)
    return formats.guess_currency(
        accept_language=request.META.get("HTTP_ACCEPT_LANGUAGE"),
        time_zone=timezone.get_current_timezone_name(), language=translation.get_language(),
        sold=SHOP_CURRENCIES)


def flash_error(request: HttpRequest, error: DomainError) -> None:
    messages.error(request, str(error.message))


def qr_svg_of(text: str) -> str:
    """An inline SVG QR code (for a provider's pay-by-scan code)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=5, xmldecl=False,
                                     omitsize=True, nl=False)
    return buffer.getvalue().decode()
