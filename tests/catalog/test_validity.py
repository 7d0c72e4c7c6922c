"""Validity windows in UTC instants; month ends land on the last day of shorter months."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from esimdesk.catalog.validity import add_months, period_end

instants = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1),
                        timezones=st.just(dt.UTC))


def test_month_from_the_31st() -> None:
    start = dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC)
    assert add_months(start, 1) == dt.datetime(2026, 2, 28, 23, 30, tzinfo=dt.UTC)
    assert add_months(start, 2) == dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC)
    assert add_months(dt.datetime(2028, 1, 31, tzinfo=dt.UTC), 1).day == 29
    assert period_end(dt.datetime(2028, 2, 29, tzinfo=dt.UTC), "year", 1) == dt.datetime(
        2029, 2, 28, tzinfo=dt.UTC)


def test_time_zone_of_the_input_does_not_change_the_instant() -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    local = dt.datetime(2026, 3, 1, 0, 30, tzinfo=shanghai)  # 28 Feb 16:30 UTC
    assert period_end(local, "month", 1) == dt.datetime(2026, 3, 28, 16, 30, tzinfo=dt.UTC)


@given(instants, st.integers(min_value=1, max_value=36))
def test_months_always_move_forward_and_keep_the_time(start: dt.datetime, months: int) -> None:
    end = add_months(start, months)
    assert end > start
    assert end.time() == start.time()
    assert (end.year - start.year) * 12 + end.month - start.month == months
    assert end.day == start.day or end.day < start.day


@given(instants, st.integers(min_value=1, max_value=400))
def test_days_are_24_hours(start: dt.datetime, days: int) -> None:
    assert period_end(start, "day", days) - start == dt.timedelta(days=days)
