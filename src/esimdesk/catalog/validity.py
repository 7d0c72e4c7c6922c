"""Validity arithmetic, in UTC instants.

A day is 24 hours. A month is a calendar month in UTC; when the start day does not exist in
the target month (the 31st in April) the period ends on that month's last day, at the same
time of day. A year is twelve such months (29 February lands on 28 February).
"""

from __future__ import annotations

import calendar
import datetime as dt


def add_months(start: dt.datetime, months: int) -> dt.datetime:
    if start.tzinfo is None:
        raise ValueError("aware datetime required")
    start = start.astimezone(dt.UTC)
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def period_end(start: dt.datetime, unit: str, count: int) -> dt.datetime:
    if count < 1:
        raise ValueError("validity count must be positive")
    if unit == "day":
        return start.astimezone(dt.UTC) + dt.timedelta(days=count)
    if unit == "month":
        return add_months(start, count)
    if unit == "year":
        return add_months(start, 12 * count)
    raise ValueError(f"unknown validity unit {unit!r}")
