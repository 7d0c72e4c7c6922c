"""Depletion forecast: how long the data left lasts at the recent rate.

A pure function so every edge (no usage, already out, plan ends first) is tested without a
database; ``usage.queries`` supplies the numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# The rate is measured over at most this window, and never over less than an hour: a plan
# that started five minutes ago with one burst would otherwise forecast nonsense.
WINDOW = dt.timedelta(hours=24)
MIN_WINDOW = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Forecast:
    until: dt.datetime
    #: True when the data outlasts the plan: it lasts until the plan ends
    plan_end: bool


def forecast(*, remaining: int, used_recently: int, window: dt.timedelta, now: dt.datetime,
             period_ends_at: dt.datetime) -> Forecast | None:
    """When ``remaining`` runs out if use goes on at ``used_recently`` per ``window``.

    None when there was no recent use (no rate, no honest forecast). Never later than the
    period's end: then the answer is "until the plan ends"."""
    if used_recently <= 0:
        return None
    if remaining <= 0:
        return Forecast(until=now, plan_end=False)
    seconds = max(window, MIN_WINDOW).total_seconds()
    # integer arithmetic: bytes are exact, only the final seconds are rounded
    lasts = dt.timedelta(seconds=remaining * seconds / used_recently)
    if now + lasts >= period_ends_at:
        return Forecast(until=period_ends_at, plan_end=True)
    return Forecast(until=now + lasts, plan_end=False)
