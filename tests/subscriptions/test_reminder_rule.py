"""The one "which reminder is due" rule, as a pure function (no database, no clock)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from esimdesk.subscriptions.reminder_rule import (
    LATE_LIMIT,
    due_reminders,
    expiry_bands,
    level_reached,
    low_data_bands,
)

DAY = dt.timedelta(days=1)
THRESHOLDS = [("7d", 7 * DAY), ("3d", 3 * DAY), ("1d", DAY), ("0h", dt.timedelta(0))]
PERCENTS = [50, 75, 90, 100]
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
END = START + 30 * DAY


def due(now: dt.datetime, *, used: int = 0, total: int = 1000, sent: tuple[str, ...] = (),
        last: bool = True) -> tuple[str | None, str | None]:
    answer = due_reminders(starts_at=START, ends_at=END, now=now, total=total, used=used,
                           sent=sent, expiry=THRESHOLDS, low_data=PERCENTS, last=last)
    return (answer.expiry.kind if answer.expiry else None,
            answer.low_data.kind if answer.low_data else None)


def test_nearest_expiry_threshold_only() -> None:
    assert due(END - 10 * DAY) == (None, None)
    assert due(END - 7 * DAY) == ("expiry:7d", None)
    assert due(END - 2 * DAY) == ("expiry:3d", None)
    assert due(END - dt.timedelta(seconds=1)) == ("expiry:1d", None)
    assert due(END) == ("expiry:0h", None)
    assert due(END + LATE_LIMIT - dt.timedelta(seconds=1)) == ("expiry:0h", None)
    assert due(END + LATE_LIMIT) == (None, None)
    assert due(END - 2 * DAY, sent=("expiry:3d",)) == (None, None)
    assert due(END - 2 * DAY, last=False) == (None, None)
    assert due(START - DAY) == (None, None)  # not started


def test_highest_low_data_level_while_the_period_runs() -> None:
    assert due(START, used=499) == (None, None)
    assert due(START, used=500) == (None, "low_data:50")
    assert due(START, used=800) == (None, "low_data:75")
    assert due(START, used=1000) == (None, "low_data:100")
    assert due(START, used=800, sent=("low_data:75",)) == (None, None)
    assert due(START, used=1000, total=0) == (None, None)
    assert due(END, used=1000)[1] is None  # ended: no low-data reminder


def test_bands_do_not_overlap() -> None:
    bands = expiry_bands(THRESHOLDS)
    assert [(b.after, b.until) for b in bands] == [
        (3 * DAY, 7 * DAY), (DAY, 3 * DAY), (dt.timedelta(0), DAY), (-LATE_LIMIT, dt.timedelta(0))]
    assert [(b.percent, b.below) for b in low_data_bands([90, 50])][:1] == [(50, 90)]


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.integers(min_value=-3 * 24 * 60, max_value=40 * 24 * 60),
       st.integers(min_value=0, max_value=2000), st.integers(min_value=0, max_value=1000))
def test_property_due_is_the_nearest_threshold_reached(minutes: int, used: int,
                                                        total: int) -> None:
    now = END - dt.timedelta(minutes=minutes)
    expiry, low = due(now, used=used, total=total)
    left = END - now
    reached = [label for label, before in THRESHOLDS if left <= before]
    if now < START or left <= -LATE_LIMIT or not reached:
        assert expiry is None
    else:
        assert expiry == f"expiry:{reached[-1]}"
    levels = [p for p in PERCENTS if total and used * 100 >= total * p]
    running = START <= now < END
    assert low == (f"low_data:{levels[-1]}" if levels and running else None)
    level = level_reached(total=total, used=used, percents=PERCENTS)
    assert (level.percent if level else None) == (levels[-1] if levels else None)
