from __future__ import annotations

import io
from typing import Any

import segno
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from esimdesk.core import clock, formats
from esimdesk.core.errors import DomainError
from esimdesk.core.money import SHOP_CURRENCIES
from esimdesk.esims.models import Esim
from esimdesk.portal.pool_cards import pool_shares


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


def to_the_pool(request: HttpRequest, esim: Esim) -> HttpResponse | None:
    """For an eSIM that draws on a group's pool: the group's page, where its owner renews
    and tops up the pool (None for an eSIM on its own plans)."""
    share = pool_shares([esim], clock.now()).get(esim.pk)
    if share is None:
        return None
    messages.info(request, _("This eSIM uses the shared plan of %(group)s: its owner renews "
                             "it and adds data for everyone.") % {"group": share.group_name})
    return redirect("portal:group", group_id=share.group_id)
