"""Plans as travellers compare them: price per GB, the best value, the order of the cards."""

from __future__ import annotations

import pytest

from esimdesk.catalog.models import GB, MB
from esimdesk.catalog.offers import offers
from esimdesk.core.money import Money
from tests.builders import plan, regional_plan

pytestmark = pytest.mark.django_db


def test_price_per_gb_rounds_to_the_nearest_minor_unit_and_knows_no_data() -> None:
    ten = plan(data_gb=10, usd=1699)
    assert ten.price_per_gb(Money(1699, "USD")) == Money(170, "USD")  # 169.9 -> 170
    assert ten.price_per_gb(Money(1694, "USD")) == Money(169, "USD")  # 169.4 -> 169
    assert ten.price_per_gb(Money(3000, "JPY")) == Money(300, "JPY")
    half = plan(data_bytes=512 * MB, usd=300)
    assert half.price_per_gb(Money(300, "USD")) == Money(600, "USD")
    calls_only = plan(data_bytes=0, voice_min=100)
    assert calls_only.price_per_gb(Money(500, "USD")) is None
    assert ten.price_per_gb(None) is None


def test_the_lowest_price_per_gb_is_the_best_value() -> None:
    day = plan(data_gb=1, usd=299)            # 2.99 / GB
    month = plan(unit="month", data_gb=10, usd=1699)   # 1.70 / GB
    big = plan(unit="month", data_gb=30, usd=2999)     # 1.00 / GB
    listed = offers([day, month, big], "USD")
    assert [o.plan for o in listed if o.best_value] == [big]
    assert [o.per_gb for o in listed] == [Money(299, "USD"), Money(170, "USD"),
                                          Money(100, "USD")]


def test_a_tie_in_price_per_gb_goes_to_the_lower_price() -> None:
    small = plan(unit="month", data_gb=5, usd=1000)    # 2.00 / GB
    large = plan(unit="month", data_gb=10, usd=2000)   # 2.00 / GB, more to pay
    assert [o.plan for o in offers([large, small], "USD") if o.best_value] == [small]


def test_exact_comparison_without_rounding() -> None:
    # 1.666.. / GB against 1.67 / GB: equal once rounded, not in fact
    cheaper = plan(unit="month", data_gb=3, usd=500)
    dearer = plan(unit="month", data_gb=1, usd=167)
    assert [o.plan for o in offers([dearer, cheaper], "USD") if o.best_value] == [cheaper]


def test_no_best_value_among_fewer_than_two_comparable_plans() -> None:
    only = plan(data_gb=1, usd=299)
    unpriced = plan(data_gb=50, prices={"CNY": 1000})
    no_data = plan(data_bytes=0, voice_min=60, usd=100)
    assert not any(o.best_value for o in offers([only, unpriced, no_data], "USD"))


def test_cards_are_cheapest_first_unpriced_last_and_the_destination_before_its_region() -> None:
    regional = regional_plan("asia", countries=("JP", "TH"), unit="day", data_gb=1, usd=299,
                             code="asia-day")
    own = plan(data_gb=1, usd=299, code="jp-day")
    dear = plan(unit="month", data_gb=10, usd=1699, code="jp-month")
    unpriced = plan(data_gb=1 * GB // GB, prices={"CNY": 100}, code="jp-cny")
    assert [o.plan.code for o in offers([unpriced, dear, regional, own], "USD")] == [
        "jp-day", "asia-day", "jp-month", "jp-cny"]
