"""Margins per plan and supplier: what a period costs us at a supplier against what it
sells for in each currency. Display only; nothing is charged from these numbers.

A cost in another currency than the price is converted with a staff-set ``ExchangeRate``:
exact Decimal arithmetic, rounded once, half up, to the price currency's minor units (JPY and
KRW have none). With no rate for the pair (nor its inverse) the margin is ``no_rate``, never
guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from django.db.models import Q

from esimdesk.catalog.checks import configured_suppliers
from esimdesk.catalog.models import ExchangeRate, Plan, SupplierBundle
from esimdesk.core.money import Money, exponent

THIN_PERCENT = Decimal("15")  # default line under which a margin is flagged as thin
_EXACT = Context(prec=60)  # wide enough that no product or quotient of ours is rounded early

OK, THIN, NEGATIVE, NO_RATE = "ok", "thin", "negative", "no_rate"


class Rates:
    """The staff-set exchange rates, read once per page."""

    def __init__(self, rows: Iterable[ExchangeRate]) -> None:
        self.direct = {(r.from_currency, r.to_currency): r for r in rows}

    @classmethod
    def load(cls) -> Rates:
        return cls(ExchangeRate.objects.all())

    def rate(self, from_currency: str, to_currency: str) -> Decimal | None:
        """Units of ``to_currency`` per unit of ``from_currency`` (a rate set for the pair,
        or the inverse of the reverse pair's), or None when no rate says how."""
        if from_currency == to_currency:
            return Decimal(1)
        direct = self.direct.get((from_currency, to_currency))
        if direct is not None:
            return direct.rate
        inverse = self.direct.get((to_currency, from_currency))
        if inverse is None:
            return None
        with localcontext(_EXACT):
            return Decimal(1) / inverse.rate

    def convert(self, money: Money, currency: str) -> Money | None:
        """``money`` in ``currency``, or None when no rate says how."""
        if money.currency == currency:
            return money
        with localcontext(_EXACT):
            direct = self.direct.get((money.currency, currency))
            inverse = self.direct.get((currency, money.currency))
            if direct is not None:
                value = money.decimal() * direct.rate
            elif inverse is not None:
                value = money.decimal() / inverse.rate
            else:
                return None
            minor = value.scaleb(exponent(currency)).quantize(Decimal(1), ROUND_HALF_UP)
        return Money(int(minor), currency)


@dataclass(frozen=True)
class Margin:
    price: Money
    cost: Money | None  # the cost in the price's currency; None: no rate
    amount: Money | None  # price - cost
    percent: Decimal | None  # of the price, one decimal
    flag: str  # ok, thin, negative, no_rate


def margin(*, price: Money, cost: Money, rates: Rates,
           thin: Decimal = THIN_PERCENT) -> Margin:
    converted = rates.convert(cost, price.currency)
    if converted is None:
        return Margin(price, None, None, None, NO_RATE)
    amount = price - converted
    with localcontext(_EXACT):
        percent = (Decimal(amount.amount) * 100 / Decimal(price.amount)).quantize(
            Decimal("0.1"), ROUND_HALF_UP)
    flag = NEGATIVE if amount.amount < 0 else THIN if percent < thin else OK
    return Margin(price, converted, amount, percent, flag)


@dataclass
class Row:
    plan: Plan
    bundle: SupplierBundle | None  # None: the plan maps no bundle (cost unknown)
    configured: bool  # the bundle's supplier is in ESIMDESK_UPSTREAM_PROVIDERS
    margins: dict[str, Margin | None] = field(default_factory=dict)  # currency -> margin

    @property
    def worst(self) -> str:
        flags = {m.flag for m in self.margins.values() if m is not None}
        for flag in (NEGATIVE, THIN, NO_RATE):
            if flag in flags:
                return flag
        return OK if self.bundle is not None else "unmapped"


@dataclass
class Report:
    currencies: list[str]
    rows: list[Row]
    rates: Rates


def report(*, coverage: str = "", kind: str = "", supplier: str = "", query: str = "",
           thin: Decimal = THIN_PERCENT) -> Report:
    """One row per (plan, bundle), and one per plan without any bundle unless ``supplier``
    is given; a margin per currency the plan is priced in. ``query``: part of a plan or
    bundle code. Four queries whatever the size."""
    plans = Plan.objects.prefetch_related("prices", "bundles")
    if query:
        plans = plans.filter(Q(code__icontains=query) | Q(bundles__code__icontains=query))
    if coverage:
        plans = plans.filter(coverage=coverage)
    if kind:
        plans = plans.filter(kind=kind)
    if supplier:
        plans = plans.filter(bundles__supplier=supplier)
    if query or supplier:
        plans = plans.distinct()  # the joins above repeat a plan per matching bundle
    rates = Rates.load()
    order = {name: index for index, name in enumerate(configured_suppliers())}
    configured = set(order)
    rows: list[Row] = []
    currencies: set[str] = set()
    for plan in plans:
        prices = {p.currency: p.money for p in plan.prices.all()}
        currencies.update(prices)
        bundles = [b for b in plan.bundles.all() if not supplier or b.supplier == supplier]
        if not bundles:
            rows.append(Row(plan, None, False, {c: None for c in prices}))
            continue
        # The order fulfilment tries them in; suppliers not configured last.
        for bundle in sorted(bundles, key=lambda b: (b.supplier not in configured, b.priority,
                                                     order.get(b.supplier, 0), b.supplier)):
            rows.append(Row(plan, bundle, bundle.supplier in configured,
                            {c: margin(price=p, cost=bundle.cost_money, rates=rates,
                                       thin=thin) for c, p in prices.items()}))
    return Report(sorted(currencies, key=_currency_order), rows, rates)


def _currency_order(code: str) -> tuple[int, str]:
    # The catalog's own order first (the demo prices in these), then the rest alphabetically.
    preferred = ["CNY", "USD", "EUR", "HKD"]
    return (preferred.index(code), "") if code in preferred else (len(preferred), code)
