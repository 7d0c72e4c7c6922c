"""Plans as a traveller compares them: each with its price in one currency and its price per
GB, in a sensible order, and the one that is the best value marked."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from esimdesk.catalog.models import Plan
from esimdesk.core.money import Money

COVERAGE_ORDER: dict[str, int] = {Plan.Coverage.COUNTRY: 0, Plan.Coverage.REGION: 1,
                                  Plan.Coverage.GLOBAL: 2}


@dataclass
class Offer:
    plan: Plan
    price: Money | None
    per_gb: Money | None
    best_value: bool = False


def _sort_key(offer: Offer) -> tuple[int, int, int, int, str]:
    # Cheapest first, unpriced last; equal prices: more data first, the destination's own
    # plan before a region's or the world's.
    price = offer.price.amount if offer.price is not None else 2**62
    return (offer.price is None, price, -offer.plan.data_bytes,
            COVERAGE_ORDER.get(offer.plan.coverage, 3), offer.plan.code)


def offers(plans: Iterable[Plan], currency: str) -> list[Offer]:
    """Each plan with its price in ``currency`` (prices prefetched), cheapest first, the
    best value marked (``best_value``)."""
    made = [Offer(plan=p, price=(price := p.price_in(currency)), per_gb=p.price_per_gb(price))
            for p in plans]
    made.sort(key=_sort_key)
    best = best_value(made)
    if best is not None:
        best.best_value = True
    return made


def best_value(candidates: list[Offer]) -> Offer | None:
    """The offer with the lowest price per GB among those with a price and a finite data
    allowance, compared exactly (price times the other's data, no rounding). A tie goes to the
    lower price (less to pay up front), then to the one listed first. None when fewer than
    two offers can be compared: one plan is no "best" of anything."""
    priced = [o for o in candidates if o.price is not None and o.plan.data_bytes > 0]
    if len(priced) < 2:
        return None
    best = priced[0]
    for offer in priced[1:]:
        assert offer.price is not None and best.price is not None
        mine = offer.price.amount * best.plan.data_bytes
        theirs = best.price.amount * offer.plan.data_bytes
        if mine < theirs or (mine == theirs and offer.price.amount < best.price.amount):
            best = offer
    return best
