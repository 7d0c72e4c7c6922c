from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esimdesk.core.errors import ValidationFailed
from esimdesk.core.money import Money, check_currency


def test_minor_units_per_currency() -> None:
    assert Money(1299, "USD").decimal_string() == "12.99"
    assert Money(1299, "JPY").decimal_string() == "1299"
    assert Money(5000, "KRW").format("en") == "₩5,000"
    assert Money(1299, "CNY").format("zh-hans") == "¥12.99"
    assert Money(1299, "EUR").format("en") == "€12.99"
    assert Money(10000, "HKD").format("en") == "HK$100.00"


def test_money_refuses_floats_and_mixed_currencies() -> None:
    with pytest.raises(TypeError):
        Money(12.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(1, "USD") + Money(1, "EUR")


@given(st.lists(st.integers(min_value=0, max_value=10**9), max_size=20))
def test_sums_are_exact(amounts: list[int]) -> None:
    total = Money.zero("USD")
    for amount in amounts:
        total = total + Money(amount, "USD")
    assert total.amount == sum(amounts)


def test_check_currency() -> None:
    assert check_currency("usd") == "USD"
    with pytest.raises(ValidationFailed) as error:
        check_currency("XXX")
    assert error.value.code == "unsupported_currency"
