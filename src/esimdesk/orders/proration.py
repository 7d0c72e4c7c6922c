"""Credit for the unused part of a period when the plan changes now. Pure: no database.

All arithmetic is on integer minor units and exact fractions (``fractions.Fraction``), so
zero-decimal currencies (JPY, KRW) and two-decimal ones are handled the same way and nothing
is ever lost to floating point.

- ``unused_fraction``: by policy ``time`` (unused share of the validity window), ``data``
  (unused share of the plan's own data allowance) or ``min`` (the smaller of the two).
- ``credit = ceil(paid * fraction)``: rounded up to the next minor unit, in the customer's
  favour, and never more than ``paid`` (the fraction is at most 1).
- ``charge = max(0, price - credit)`` and ``refund = max(0, credit - price)``, so
  ``charge - refund == price - credit`` exactly and at most one of them is non-zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from esimdesk.core.money import Money

POLICIES = ("time", "data", "min")
_MICRO = dt.timedelta(microseconds=1)


def time_fraction(*, starts_at: dt.datetime, ends_at: dt.datetime,
                  at: dt.datetime) -> Fraction:
    """Unused share of ``[starts_at, ends_at)`` at instant ``at``, between 0 and 1."""
    total = (ends_at - starts_at) // _MICRO
    if total <= 0:
        return Fraction(0)
    left = (ends_at - at) // _MICRO
    return Fraction(min(max(left, 0), total), total)


def data_fraction(*, total: int, used: int) -> Fraction:
    """Unused share of a data allowance, between 0 and 1. A period without a data allowance
    says nothing about use: 1 (so ``min`` falls back to time)."""
    if total <= 0:
        return Fraction(1)
    return Fraction(min(max(total - used, 0), total), total)


def unused_fraction(*, policy: str, starts_at: dt.datetime, ends_at: dt.datetime,
                    at: dt.datetime, data_total: int, data_used: int) -> Fraction:
    if policy not in POLICIES:
        raise ValueError(f"unknown plan change policy {policy!r} (time, data or min)")
    by_time = time_fraction(starts_at=starts_at, ends_at=ends_at, at=at)
    by_data = data_fraction(total=data_total, used=data_used)
    if policy == "time":
        return by_time
    if policy == "data":
        return by_data
    return min(by_time, by_data)


def credit_for(paid: Money, fraction: Fraction) -> Money:
    """``paid * fraction`` rounded up to a whole minor unit (customer's favour)."""
    if paid.amount < 0:
        raise ValueError("paid cannot be negative")
    share = min(max(fraction, Fraction(0)), Fraction(1))
    return Money(-(-paid.amount * share.numerator // share.denominator), paid.currency)


@dataclass(frozen=True)
class Quote:
    """The breakdown of a plan change that starts now."""

    price: Money  # the new plan's price
    paid: Money  # what was paid for the period being replaced
    fraction: Fraction  # unused share of it, by the policy
    credit: Money
    charge: Money  # to pay now
    refund: Money  # paid back to the original payment

    def as_dict(self) -> dict[str, object]:
        return {"price": self.price.amount, "paid": self.paid.amount,
                "credit": self.credit.amount, "charge": self.charge.amount,
                "refund": self.refund.amount, "currency": self.price.currency,
                "fraction": f"{self.fraction.numerator}/{self.fraction.denominator}"}


def settle(price: Money, credit: Money) -> tuple[Money, Money]:
    """(charge, refund) of a new price against a credit in the same currency."""
    if price.currency != credit.currency:
        raise ValueError("price and credit must be in the same currency")
    difference = price.amount - credit.amount
    return (Money(max(difference, 0), price.currency),
            Money(max(-difference, 0), price.currency))


def quote(*, price: Money, paid: Money, policy: str, starts_at: dt.datetime,
          ends_at: dt.datetime, at: dt.datetime, data_total: int, data_used: int) -> Quote:
    if price.currency != paid.currency:
        raise ValueError("price and paid must be in the same currency")
    fraction = unused_fraction(policy=policy, starts_at=starts_at, ends_at=ends_at, at=at,
                               data_total=data_total, data_used=data_used)
    credit = credit_for(paid, fraction)
    charge, refund = settle(price, credit)
    return Quote(price=price, paid=paid, fraction=fraction, credit=credit, charge=charge,
                 refund=refund)
