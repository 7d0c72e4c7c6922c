"""Template helpers of the dashboard and eSIM pages. Dates these pages show go through
``day_month`` and ``date_time`` only, so a shared formatter can replace them in one place."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.formats import date_format

register = template.Library()


@register.filter
def day_month(value: dt.datetime | None) -> str:
    """"21 December" / "12月21日" in the user's time zone ("" for no date)."""
    if value is None:
        return ""
    return date_format(timezone.localtime(value), "MONTH_DAY_FORMAT")


@register.filter
def date_time(value: dt.datetime | None) -> str:
    """Date and time in the user's time zone ("" for no date)."""
    if value is None:
        return ""
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")
