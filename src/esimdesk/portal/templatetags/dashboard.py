"""Template helpers of the dashboard and eSIM pages: their short dates, written by the one
formatter (core.formats) like every other date on the portal."""

from __future__ import annotations

import datetime as dt

from django import template

from esimdesk.core import formats

register = template.Library()


@register.filter
def day_month(value: dt.datetime | None) -> str:
    """"21 Dec" / "12月21日" in the user's time zone and locale ("" for no date)."""
    return formats.day_month(value)


@register.filter
def date_time(value: dt.datetime | None) -> str:
    """Date and time in the user's time zone and locale ("" for no date)."""
    return formats.datetime(value)
