from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from esimdesk.core import clock, formats
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


# ---- dates, times and zones: the one formatter (core.formats), in the active language,
# region and time zone. Staff pages may keep ISO formats; everything a traveller reads uses
# these. Each takes an aware datetime (a date for the date filters too) or None ("").

@register.filter
def local_date(value: dt.date | dt.datetime | None, length: str = "medium") -> str:
    """'7 Dec 2026' / 'Dec 7, 2026' / '2026年12月7日'."""
    return formats.date(value, length)


@register.filter
def local_day_month(value: dt.date | dt.datetime | None) -> str:
    """'7 Dec' / 'Dec 7' / '12月7日' (a date this year, as cards show it)."""
    return formats.day_month(value)


@register.filter
def local_month(value: dt.date | dt.datetime | None) -> str:
    """'December 2026' / '2026年12月'."""
    return formats.month(value)


@register.filter
def local_datetime(value: dt.datetime | None) -> str:
    """'7 Dec 2026, 19:53' / 'Dec 7, 2026, 7:53 PM' / '2026年12月7日 19:53'."""
    return formats.datetime(value)


@register.filter
def local_datetime_zone(value: dt.datetime | None) -> str:
    """'7 Dec 2026, 19:53 (London time)' / '2026年12月7日 19:53 (伦敦时间)'."""
    return formats.datetime_zone(value)


@register.filter
def local_time(value: dt.datetime | None) -> str:
    """'19:53' / '7:53 PM'."""
    return formats.time(value)


@register.filter
def relative(value: dt.datetime | None) -> str:
    """'in 3 days' / '2 hours ago' / '3天后'."""
    return formats.relative(value)


@register.filter
def date_range(start: dt.date | dt.datetime | None, end: dt.date | dt.datetime | None) -> str:
    """``{{ start|date_range:end }}``: '7 Dec 2026 - 6 Jan 2027'."""
    return formats.date_range(start, end)


@register.filter
def datetime_range(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """``{{ start|datetime_range:end }}``: '7 Dec 2026, 19:53 - 6 Jan 2027, 19:53'."""
    return formats.datetime_range(start, end)


@register.filter
def zone_label(tz: object = None) -> str:
    """``{{ TIME_ZONE|zone_label }}``: 'London time' / '伦敦时间' (never 'Europe/London')."""
    return formats.zone_label(tz if isinstance(tz, (str, dt.tzinfo)) and tz else None)


@register.simple_tag
def intl_locale() -> str:
    """The active locale for JavaScript's Intl API (``data-locale``): 'en-GB', 'zh-Hans-CN'."""
    return formats.bcp47()


@register.filter
def iso(value: dt.datetime | None) -> str:
    """For ``<time datetime="...">`` and data- attributes: ISO 8601 in UTC."""
    return formats.iso(value)
