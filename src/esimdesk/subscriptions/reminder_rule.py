"""The one rule of which reminder is due for a period, personal or pool.

A period gets two kinds of reminder, each at most once (``ReminderLog`` is unique on
(period, kind)):

- *expiry*: while the period has started and is the last of its subscription (not
  renewed), the reminder of the nearest threshold whose time has come: with thresholds
  7d, 3d, 1d, 0h and two days left, ``expiry:3d`` (not a late ``expiry:7d`` as well). The
  threshold 0h ("at expiry") is due from the end until ``LATE_LIMIT`` after it; the others
  from ``ends_at - before`` until the next nearer threshold takes over.
- *low data*: while the period runs (``starts_at <= now < ends_at``) and its data buckets
  (plan and top-ups together) hold something, the highest threshold reached: at 80 % used
  with thresholds 50, 75, 90, 100, ``low_data:75``.

``due_reminders`` answers for one period from its figures and the reminders already sent;
the pool reminders call it (pools are few). The personal sweep and the ingestion
transaction decide for millions of periods in set-based SQL: they take their bounds from
``expiry_bands`` and ``low_data_bands``, the same definition, so the two never drift
apart. Pure functions: no database, no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final

#: an "at expiry" reminder later than this after the end is not sent
LATE_LIMIT: Final = dt.timedelta(days=1)
#: above every threshold (a percentage can not reach it)
NO_CEILING: Final = 10**9
_ZERO: Final = dt.timedelta(0)


@dataclass(frozen=True)
class ExpiryBand:
    """``kind`` is due while the time left before the end is in ``(after, until]``."""

    kind: str
    label: str
    after: dt.timedelta
    until: dt.timedelta


@dataclass(frozen=True)
class LowDataBand:
    """``kind`` is due while ``used * 100`` is in ``[total * percent, total * below)``."""

    kind: str
    percent: int
    below: int


def expiry_bands(thresholds: Sequence[tuple[str, dt.timedelta]]) -> list[ExpiryBand]:
    """One band per threshold (``(label, time before the end)``, farthest first, as
    ``reminders.expiry_thresholds`` gives them); the bands do not overlap."""
    bands = []
    for index, (label, before) in enumerate(thresholds):
        if before == _ZERO:
            bands.append(ExpiryBand(f"expiry:{label}", label, -LATE_LIMIT, _ZERO))
        else:
            nearer = thresholds[index + 1][1] if index + 1 < len(thresholds) else _ZERO
            bands.append(ExpiryBand(f"expiry:{label}", label, nearer, before))
    return bands


def low_data_bands(percents: Sequence[int]) -> list[LowDataBand]:
    """One band per threshold (percent of the data used), lowest first; the bands do not
    overlap, the last has no ceiling."""
    ordered = sorted(percents)
    return [LowDataBand(f"low_data:{percent}", percent,
                        ordered[index + 1] if index + 1 < len(ordered) else NO_CEILING)
            for index, percent in enumerate(ordered)]


def expiry_due(*, starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime,
               thresholds: Sequence[tuple[str, dt.timedelta]]) -> ExpiryBand | None:
    """The expiry reminder due now for the last period of a subscription, if any."""
    if starts_at > now:
        return None
    left = ends_at - now
    return next((band for band in expiry_bands(thresholds) if band.after < left <= band.until),
                None)


def level_reached(*, total: int, used: int, percents: Sequence[int]) -> LowDataBand | None:
    """The highest threshold ``used`` reached of ``total`` (None when ``total`` is 0)."""
    if total <= 0:
        return None
    return next((band for band in low_data_bands(percents)
                 if total * band.percent <= used * 100 < total * band.below), None)


@dataclass(frozen=True)
class Due:
    """The reminders due for one period and not sent yet (None: nothing of that kind)."""

    expiry: ExpiryBand | None
    low_data: LowDataBand | None


def due_reminders(*, starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime,
                  total: int, used: int, sent: Collection[str],
                  expiry: Sequence[tuple[str, dt.timedelta]], low_data: Sequence[int],
                  last: bool = True) -> Due:
    """Which reminders are due for a period with window ``[starts_at, ends_at)`` and data
    ``used`` of ``total`` (its buckets together), given the kinds already ``sent`` and the
    configured thresholds; ``last``: no later period is queued (else no expiry reminder).
    See the module docstring for the rule."""
    band = expiry_due(starts_at=starts_at, ends_at=ends_at, now=now, thresholds=expiry) \
        if last else None
    level = level_reached(total=total, used=used, percents=low_data) \
        if starts_at <= now < ends_at else None
    return Due(band if band is not None and band.kind not in sent else None,
               level if level is not None and level.kind not in sent else None)
