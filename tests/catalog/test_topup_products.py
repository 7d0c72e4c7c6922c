"""Top-up products: prices in every currency, which plans they fit, refusals with codes."""

from __future__ import annotations

import pytest

from esimdesk.catalog import queries
from esimdesk.catalog.models import GB, TopUpProduct
from esimdesk.core.errors import NotFound, ValidationFailed
from tests.builders import (
    TOPUP_1GB,
    TOPUP_3GB,
    TOPUP_5GB,
    TOPUP_7DAYS,
    TOPUP_CALLS,
    Shop,
)


def test_top_ups_are_priced_in_every_catalog_currency(shop: Shop) -> None:
    for product in TopUpProduct.objects.prefetch_related("prices"):
        assert {p.currency for p in product.prices.all()} == {"CNY", "USD", "EUR", "HKD"}
        assert all(p.amount > 0 and isinstance(p.amount, int) for p in product.prices.all())
    three = queries.get_top_up(TOPUP_3GB)
    assert three.allowances() == [("data", 3 * GB)]
    assert queries.top_up_price(three, "usd").amount == 1199


def test_which_plans_a_top_up_fits(shop: Shop) -> None:
    assert [p.code for p in queries.top_ups_for(shop.month)] == [
        TOPUP_1GB, TOPUP_3GB, TOPUP_5GB, TOPUP_7DAYS]
    assert TOPUP_CALLS in [p.code for p in queries.top_ups_for(shop.calls)]
    assert TOPUP_7DAYS not in [p.code for p in queries.top_ups_for(shop.day)]
    TopUpProduct.objects.filter(code=TOPUP_1GB).update(is_active=False)
    assert TOPUP_1GB not in [p.code for p in queries.top_ups_for(shop.day)]
    with pytest.raises(NotFound):
        queries.get_top_up(TOPUP_1GB)


def test_refusals_have_codes(shop: Shop) -> None:
    with pytest.raises(NotFound) as missing:
        queries.get_top_up("nope")
    assert missing.value.code == "unknown_product"
    with pytest.raises(ValidationFailed) as currency:
        queries.top_up_price(TopUpProduct.objects.get(code=TOPUP_1GB), "JPY")
    assert currency.value.code == "currency_not_available"
