"""Property tests of the plan-change credit: exact, never negative, never more than paid,
rounded in the customer's favour, right in zero-decimal currencies."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esimdesk.core.money import Money
from esimdesk.orders import proration

BASE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CURRENCIES = st.sampled_from(["USD", "EUR", "CNY", "HKD", "JPY", "KRW"])
AMOUNTS = st.integers(min_value=0, max_value=10**12)
POLICIES = st.sampled_from(proration.POLICIES)


@st.composite
def windows(draw: st.DrawFn) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """(starts_at, ends_at, at): a period of up to ~2 years and an instant around it."""
    start = BASE + dt.timedelta(microseconds=draw(st.integers(0, 10**14)))
    length = dt.timedelta(microseconds=draw(st.integers(1, 2 * 366 * 86400 * 10**6)))
    at = start + dt.timedelta(microseconds=draw(st.integers(-10**12, 3 * 366 * 86400 * 10**6)))
    return start, start + length, at


@st.composite
def usage(draw: st.DrawFn) -> tuple[int, int]:
    total = draw(st.integers(0, 10**13))
    return total, draw(st.integers(0, total))


@given(CURRENCIES, AMOUNTS, AMOUNTS, POLICIES, windows(), usage())
def test_quote_is_exact_and_bounded(currency: str, paid: int, price: int, policy: str,
                                    window: tuple[dt.datetime, dt.datetime, dt.datetime],
                                    data: tuple[int, int]) -> None:
    starts_at, ends_at, at = window
    quote = proration.quote(price=Money(price, currency), paid=Money(paid, currency),
                            policy=policy, starts_at=starts_at, ends_at=ends_at, at=at,
                            data_total=data[0], data_used=data[1])
    credit, charge, refund = quote.credit.amount, quote.charge.amount, quote.refund.amount
    # Never negative, never more than was paid.
    assert 0 <= credit <= paid
    assert charge >= 0 and refund >= 0
    # Exact to the minor unit: what is charged and paid back settles price against credit.
    assert charge - refund == price - credit
    assert charge == 0 or refund == 0
    assert charge <= price
    assert refund <= credit
    # Same currency throughout, integers only.
    assert {quote.credit.currency, quote.charge.currency, quote.refund.currency} == {currency}
    assert all(isinstance(x, int) for x in (credit, charge, refund))
    # Rounded up, by less than one minor unit, never down (the customer's favour).
    exact = paid * quote.fraction
    assert credit >= exact
    assert credit - exact < 1
    assert 0 <= quote.fraction <= 1


@given(CURRENCIES, AMOUNTS, windows(), usage())
def test_min_is_the_smaller_of_time_and_data(currency: str, paid: int,
                                             window: tuple[dt.datetime, dt.datetime,
                                                           dt.datetime],
                                             data: tuple[int, int]) -> None:
    starts_at, ends_at, at = window
    credits = {policy: proration.quote(
        price=Money(0, currency), paid=Money(paid, currency), policy=policy,
        starts_at=starts_at, ends_at=ends_at, at=at, data_total=data[0],
        data_used=data[1]).credit.amount for policy in proration.POLICIES}
    assert credits["min"] == min(credits["time"], credits["data"])


@given(CURRENCIES, AMOUNTS, windows())
def test_credit_shrinks_as_time_passes(currency: str, paid: int,
                                       window: tuple[dt.datetime, dt.datetime,
                                                     dt.datetime]) -> None:
    starts_at, ends_at, at = window
    later = at + dt.timedelta(hours=1)
    money = Money(paid, currency)
    now_credit = proration.credit_for(money, proration.time_fraction(
        starts_at=starts_at, ends_at=ends_at, at=at))
    later_credit = proration.credit_for(money, proration.time_fraction(
        starts_at=starts_at, ends_at=ends_at, at=later))
    assert later_credit.amount <= now_credit.amount


def test_edges() -> None:
    start, end = BASE, BASE + dt.timedelta(days=30)
    paid = Money(1699, "USD")
    assert proration.time_fraction(starts_at=start, ends_at=end, at=start) == 1
    assert proration.time_fraction(starts_at=start, ends_at=end, at=start - dt.timedelta(1)) \
        == 1
    assert proration.time_fraction(starts_at=start, ends_at=end, at=end) == 0
    assert proration.time_fraction(starts_at=start, ends_at=end,
                                   at=start + dt.timedelta(days=10)) == Fraction(2, 3)
    assert proration.data_fraction(total=0, used=0) == 1  # no data: time decides
    assert proration.data_fraction(total=10, used=10) == 0
    # 1699 * 2/3 = 1132.67 -> 1133 (up, never down).
    assert proration.credit_for(paid, Fraction(2, 3)) == Money(1133, "USD")
    assert proration.credit_for(paid, Fraction(0)) == Money(0, "USD")
    assert proration.credit_for(paid, Fraction(1)) == paid


def test_zero_decimal_currencies_round_to_whole_yen_and_won() -> None:
    start, end = BASE, BASE + dt.timedelta(days=3)
    at = start + dt.timedelta(days=1)
    # ¥1,000 with 2/3 unused: ¥666.67 -> ¥667, in yen (the minor unit), not in hundredths.
    jpy = proration.quote(price=Money(500, "JPY"), paid=Money(1000, "JPY"), policy="time",
                          starts_at=start, ends_at=end, at=at, data_total=0, data_used=0)
    assert (jpy.credit, jpy.charge, jpy.refund) == (Money(667, "JPY"), Money(0, "JPY"),
                                                    Money(167, "JPY"))
    assert jpy.refund.format("en") == "¥167"
    krw = proration.quote(price=Money(20000, "KRW"), paid=Money(10001, "KRW"), policy="time",
                          starts_at=start, ends_at=end, at=at, data_total=0, data_used=0)
    assert (krw.credit.amount, krw.charge.amount, krw.refund.amount) == (6668, 13332, 0)


def test_data_policy_uses_the_unused_data_share() -> None:
    start, end = BASE, BASE + dt.timedelta(days=30)
    at = start + dt.timedelta(days=3)  # 90 % of the time unused
    kw = {"price": Money(0, "EUR"), "paid": Money(1000, "EUR"), "starts_at": start,
          "ends_at": end, "at": at, "data_total": 10, "data_used": 8}
    assert proration.quote(policy="data", **kw).credit.amount == 200
    assert proration.quote(policy="time", **kw).credit.amount == 900
    assert proration.quote(policy="min", **kw).credit.amount == 200


def test_refuses_mixed_currencies_and_unknown_policies() -> None:
    start, end = BASE, BASE + dt.timedelta(days=1)
    with pytest.raises(ValueError, match="currency"):
        proration.quote(price=Money(1, "USD"), paid=Money(1, "EUR"), policy="min",
                        starts_at=start, ends_at=end, at=start, data_total=0, data_used=0)
    with pytest.raises(ValueError, match="policy"):
        proration.quote(price=Money(1, "USD"), paid=Money(1, "USD"), policy="max",
                        starts_at=start, ends_at=end, at=start, data_total=0, data_used=0)
