from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.core.units import format_quantity, kind_label

register = template.Library()


@register.filter
def money(value: Money | None) -> str:
    if value is None:
        return ""
    return value.format(translation.get_language())


@register.filter
def minor(amount: int, currency: str) -> str:
    return Money(int(amount), currency).format(translation.get_language())


@register.filter
def quantity(value: int, kind: str) -> str:
    return format_quantity(kind, int(value))


@register.filter
def allowance_kind(kind: str) -> str:
    return kind_label(kind)


@register.simple_tag
def time_left(until: dt.datetime, now: dt.datetime | None = None) -> str:
    """'2 days 5 hours left', '40 minutes left' or 'ended'."""
    seconds = int((until - (now or clock.now())).total_seconds())
    if seconds <= 0:
        return _("ended")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts: list[Any] = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours and days < 7:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if not days and not hours:
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes})
    return _("%(time)s left") % {"time": " ".join(parts)}


@register.simple_tag
def urgency(until: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if until is None:
        return "expired"
    left = until - (now or clock.now())
    if left <= dt.timedelta(0):
        return "expired"
    if left < dt.timedelta(days=3):
        return "soon"
    return "ok"
