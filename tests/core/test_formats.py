"""core.formats: one formatter for dates, times, zones and money, in the user's language,
region and time zone (Babel / CLDR conventions)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from esimdesk.core import formats
from esimdesk.core.money import SHOP_CURRENCIES, Money
from esimdesk.core.zone_choices import choice_values, zone_choices

AT = dt.datetime(2026, 12, 7, 19, 53, tzinfo=dt.UTC)


@contextmanager
def reader(language: str, zone: str, region: str | None = None) -> Iterator[None]:
    formats.activate_region(region)
    try:
        with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
            yield
    finally:
        formats.deactivate_region()


@pytest.mark.parametrize(("language", "zone", "expected"), [
    ("en", "Europe/London", "7 Dec 2026, 19:53"),
    ("en", "America/New_York", "Dec 7, 2026, 2:53 PM"),
    ("zh-hans", "Asia/Shanghai", "2026年12月8日 03:53"),
    ("zh-hans", "Europe/London", "2026年12月7日 19:53"),
])
def test_date_and_time_follow_language_region_and_zone(language: str, zone: str,
                                                       expected: str) -> None:
    with reader(language, zone):
        assert formats.datetime(AT) == expected


def test_the_region_comes_from_the_zone_else_from_accept_language() -> None:
    with reader("en", "UTC", region="GB"):
        assert formats.locale_name() == "en_GB"
        assert formats.datetime(AT) == "7 Dec 2026, 19:53"
    with reader("en", "UTC"):
        assert formats.locale_name() == "en_US"
    with reader("en", "Europe/London", region="US"):  # the zone's country wins
        assert formats.locale_name() == "en_GB"
    with reader("zh-hans", "America/New_York", region="US"):
        assert formats.locale_name() == "zh_Hans_CN"


def test_dates_times_ranges_and_relative() -> None:
    with reader("en", "Europe/London"):
        assert formats.date(AT) == "7 Dec 2026"
        assert formats.time(AT) == "19:53"
        assert formats.month(AT.date()) == "December 2026"
        assert formats.day_month(AT) == "7 Dec"
        assert formats.date_range(AT, AT + dt.timedelta(days=30)) == "7 Dec 2026 – 6 Jan 2027"
        assert formats.datetime_range(AT, AT + dt.timedelta(hours=1)) == \
            "7 Dec 2026, 19:53 – 20:53"
        assert formats.relative(AT + dt.timedelta(days=3), now=AT) == "in 3 days"
        assert formats.relative(AT - dt.timedelta(hours=2), now=AT) == "2 hours ago"
        assert formats.datetime_zone(AT) == "7 Dec 2026, 19:53 (London time)"
        assert formats.date(None) == formats.datetime(None) == ""
    with reader("zh-hans", "Asia/Shanghai"):
        assert formats.relative(AT + dt.timedelta(days=3), now=AT) == "3天后"
        assert formats.month(AT.date()) == "2026年12月"
        assert formats.datetime_zone(AT) == "2026年12月8日 03:53（上海时间）"


def test_zone_names_are_for_people() -> None:
    with reader("en", "Europe/London"):
        assert formats.zone_label() == "London time"
        assert formats.zone_label("UTC") == "Coordinated Universal Time"
        assert formats.zone_choice_label("Europe/London", AT) == \
            "United Kingdom — London time (GMT+0)"
        assert formats.gmt_offset("Asia/Kolkata", AT) == "GMT+5:30"
        assert formats.gmt_offset("America/New_York", AT) == "GMT\u22125"
    with reader("zh-hans", "Europe/London"):
        assert formats.zone_label() == "伦敦时间"
        assert formats.zone_choice_label("Europe/London", AT) == "英国 — 伦敦时间（GMT+0）"


def test_money_is_formatted_per_locale_in_one_place() -> None:
    with reader("en", "America/New_York"):
        assert Money(500, "USD").format() == "$5.00"
    with reader("en", "Europe/London"):
        assert Money(500, "USD").format() == "US$5.00"
        assert Money(500, "GBP").format() == "£5.00"
    with reader("zh-hans", "Asia/Shanghai"):
        assert Money(3500, "CNY").format() == "¥35.00"
        assert Money(500, "USD").format() == "US$5.00"
        assert formats.money(Decimal("1234"), "JPY") == "JP¥1,234"


def test_accept_language_region() -> None:
    assert formats.accept_language_region("en-GB,en;q=0.8") == ("en", "GB")
    assert formats.accept_language_region("zh-Hans-CN,zh;q=0.9") == ("zh", "CN")
    assert formats.accept_language_region("zh-Hans") == ("zh", "CN")
    assert formats.accept_language_region("de") == ("de", None)
    assert formats.accept_language_region("") == ("", None)
    assert formats.accept_language_region("<script>") == ("", None)


@pytest.mark.parametrize(("header", "zone", "expected"), [
    ("zh-CN,zh;q=0.9", None, "CNY"),
    ("zh-Hans", None, "CNY"),
    ("zh-HK", None, "HKD"),
    ("en-GB", None, "USD"),  # GBP is not sold
    ("de-DE", None, "EUR"),
    ("fr", None, "EUR"),
    ("it-CH", None, "EUR"),  # CHF is not sold: by language
    ("en-US", None, "USD"),
    ("", None, "USD"),
    ("en-US", "Europe/Paris", "EUR"),  # the browser's zone names the country
])
def test_a_new_visitors_currency(header: str, zone: str | None, expected: str) -> None:
    assert formats.guess_currency(accept_language=header, time_zone=zone, language="en",
                                  sold=SHOP_CURRENCIES) == expected


def test_gbp_for_britain_when_it_is_sold() -> None:
    assert formats.guess_currency(accept_language="en-GB", time_zone=None, language="en",
                                  sold=(*SHOP_CURRENCIES, "GBP")) == "GBP"


def test_only_real_zones_are_valid() -> None:
    assert formats.valid_zone("Europe/London") == "Europe/London"
    assert formats.valid_zone("UTC") == "UTC"
    for bad in ("Mars/Base", "../../etc/passwd", "", None, 5, "Europe/London\x00", "x" * 200):
        assert formats.valid_zone(bad) is None


def test_the_picker_groups_by_country_likely_ones_first() -> None:
    with reader("en", "Europe/London"):
        groups = zone_choices(current="Europe/Berlin", sold_countries=["JP", "CN"], at=AT)
    labels = [label for label, _options in groups]
    assert labels[0] == "Your time zone"
    assert groups[0][1][0] == ("Europe/Berlin", "Germany — Berlin time (GMT+1)")
    assert labels[1] == "Where our plans work"
    assert ("Asia/Tokyo", "Japan — Tokyo time (GMT+9)") in groups[1][1]
    assert "United Kingdom" in labels and labels[-1] == "Other"
    uk = dict(groups)["United Kingdom"]
    assert uk == [("Europe/London", "London time (GMT+0)")]
    values = choice_values(groups)
    assert {"UTC", "Europe/London", "America/New_York"} <= values
    # every zone once, none of the tz database's aliases
    flat = [v for _label, options in groups for v, _text in options]
    assert len(flat) == len(set(flat)) and "US/Eastern" not in values
    assert not any("/" in label for label in labels)
    with reader("zh-hans", "Asia/Shanghai"):
        zh = zone_choices(current="Asia/Shanghai", at=AT)
    assert zh[0] == ("您的时区", [("Asia/Shanghai", "中国 — 上海时间（GMT+8）"),
                               ("Asia/Urumqi", "中国 — 乌鲁木齐时间（GMT+6）")])
