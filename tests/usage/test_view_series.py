"""Usage series, forecast and chart: the pure parts and the queries behind them."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from esimdesk.core.units import kind_label
from esimdesk.esims.models import Esim
from esimdesk.subscriptions.models import Allowance
from esimdesk.subscriptions.queries import service_for
from esimdesk.usage.charts import bar_chart
from esimdesk.usage.forecast import Forecast, forecast
from esimdesk.usage.queries import Point, forecasts_for, usage_series
from tests.usage.conftest import MB, NOW, add_usage

H = dt.timedelta(hours=1)


@pytest.mark.django_db
def test_hourly_series_is_zero_filled_and_crosses_the_utc_day(esim: Esim) -> None:
    add_usage(esim, dt.datetime(2026, 6, 9, 23, 59, tzinfo=dt.UTC), 3 * MB)
    add_usage(esim, dt.datetime(2026, 6, 10, 0, 0, tzinfo=dt.UTC), 5 * MB)
    add_usage(esim, dt.datetime(2026, 6, 10, 0, 40, tzinfo=dt.UTC), 1 * MB)
    add_usage(esim, NOW, 7)  # the running hour counts
    add_usage(esim, NOW - 48 * H, 99)  # just outside the window
    add_usage(esim, dt.datetime(2026, 6, 10, 0, 10, tzinfo=dt.UTC), 11, kind="sms")
    with CaptureQueriesContext(connection) as queries:
        points = usage_series(esim, "data", "hour", now=NOW)
    assert len(queries) == 1
    assert len(points) == 48
    assert points[-1] == Point(dt.datetime(2026, 6, 10, 22, tzinfo=dt.UTC), 7)
    assert points[0].start == dt.datetime(2026, 6, 8, 23, tzinfo=dt.UTC)
    by_start = {p.start: p.quantity for p in points}
    assert by_start[dt.datetime(2026, 6, 9, 23, tzinfo=dt.UTC)] == 3 * MB
    assert by_start[dt.datetime(2026, 6, 10, 0, tzinfo=dt.UTC)] == 6 * MB
    assert sum(by_start.values()) == 9 * MB + 7
    starts = [p.start for p in points]
    assert all(b - a == H for a, b in itertools.pairwise(starts))


@pytest.mark.django_db
def test_daily_series_uses_utc_days_even_in_another_zone(esim: Esim) -> None:
    add_usage(esim, dt.datetime(2026, 6, 9, 23, 59, tzinfo=dt.UTC), 3 * MB)
    add_usage(esim, dt.datetime(2026, 6, 10, 0, 1, tzinfo=dt.UTC), 5 * MB)
    with timezone.override(zoneinfo.ZoneInfo("Asia/Shanghai")):
        points = usage_series(esim, "data", "day", now=NOW)
        assert len(points) == 30
        assert points[-1] == Point(dt.datetime(2026, 6, 10, tzinfo=dt.UTC), 5 * MB)
        assert points[-2] == Point(dt.datetime(2026, 6, 9, tzinfo=dt.UTC), 3 * MB)
        assert points[0].start == dt.datetime(2026, 5, 12, tzinfo=dt.UTC)
        # labels are local: the 22:00 UTC bucket is 06:00 next day in Shanghai
        svg = bar_chart(usage_series(esim, "data", "hour", now=NOW), granularity="hour")
        assert "Shanghai time" in svg and "Asia/Shanghai" not in svg


def test_unknown_granularity_is_refused() -> None:
    with pytest.raises(ValueError, match="granularity"):
        usage_series(Esim(pk=1), "data", "week", now=NOW)


ENDS = NOW + dt.timedelta(days=10)


@pytest.mark.parametrize(("remaining", "used", "window", "expected"), [
    (0, 0, 24 * H, None),                                   # no recent use: no forecast
    (10 * MB, 0, 24 * H, None),
    (24 * MB, 24 * MB, 24 * H, Forecast(NOW + 24 * H, False)),
    (12 * MB, 24 * MB, 24 * H, Forecast(NOW + 12 * H, False)),
    (6 * MB, 3 * MB, 3 * H, Forecast(NOW + 6 * H, False)),   # young period: its own window
    (2 * MB, 1 * MB, dt.timedelta(minutes=5), Forecast(NOW + 2 * H, False)),  # >= 1 hour
    (0, 5 * MB, 24 * H, Forecast(NOW, False)),              # already out
    (1000 * MB, 1 * MB, 24 * H, Forecast(ENDS, True)),      # outlasts the plan
])
def test_forecast(remaining: int, used: int, window: dt.timedelta,
                  expected: Forecast | None) -> None:
    assert forecast(remaining=remaining, used_recently=used, window=window, now=NOW,
                    period_ends_at=ENDS) == expected


@pytest.mark.django_db
def test_forecasts_for_reads_the_last_24_hours_of_the_running_period(esim: Esim) -> None:
    Allowance.objects.filter(period__subscription__esim=esim, kind="data").update(
        total=100 * MB, used=52 * MB)
    add_usage(esim, NOW - 2 * H, 24 * MB)
    add_usage(esim, NOW - 30 * H, 28 * MB)  # older than 24 hours: not in the rate
    services = service_for([esim], now=NOW)
    with CaptureQueriesContext(connection) as queries:
        result = forecasts_for(services, now=NOW)
    assert len(queries) == 1
    assert result[esim.pk] == Forecast(NOW + 48 * H, False)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_chart_is_accessible_svg_in_both_languages(language: str) -> None:
    points = [Point(NOW - (47 - i) * H, i * MB) for i in range(48)]
    with translation.override(language):
        svg = str(bar_chart(points, granularity="hour"))
        label = kind_label("data")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
    assert label in svg
    assert svg.count('<rect class="bar"') == 48
    assert "<script" not in svg


def test_chart_escapes_and_handles_no_usage() -> None:
    svg = str(bar_chart([Point(NOW, 0)], granularity="day"))
    assert 'height="0.0"' in svg
