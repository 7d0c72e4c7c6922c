"""Top-up products in the demo catalog: prices in every currency, which plans they fit,
loading twice changes nothing."""

from __future__ import annotations

import pytest

from esimdesk.catalog import queries
from esimdesk.catalog.demo import load_catalog
from esimdesk.catalog.models import GB, Plan, TopUpPrice, TopUpProduct
from esimdesk.core.errors import NotFound, ValidationFailed


def test_demo_top_ups_are_priced_in_every_catalog_currency(catalog: None) -> None:
    codes = set(TopUpProduct.objects.values_list("code", flat=True))
    assert codes == {"topup-1gb", "topup-3gb", "topup-5gb", "topup-100min-50sms",
                     "topup-2gb-7days"}
    for product in TopUpProduct.objects.prefetch_related("prices"):
        assert {p.currency for p in product.prices.all()} == {"CNY", "USD", "EUR", "HKD"}
        assert all(p.amount > 0 and isinstance(p.amount, int) for p in product.prices.all())
    three = TopUpProduct.objects.get(code="topup-3gb")
    assert three.allowances() == [("data", 3 * GB)]
    assert queries.top_up_price(three, "usd").amount == 1199


def test_which_plans_a_top_up_fits(catalog: None) -> None:
    data_month = Plan.objects.get(code="jp-10gb-month")
    calls_month = Plan.objects.get(code="jp-30gb-month-calls")
    day = Plan.objects.get(code="jp-1gb-day")
    assert [p.code for p in queries.top_ups_for(data_month)] == [
        "topup-1gb", "topup-3gb", "topup-5gb", "topup-2gb-7days"]
    assert "topup-100min-50sms" in [p.code for p in queries.top_ups_for(calls_month)]
    assert "topup-2gb-7days" not in [p.code for p in queries.top_ups_for(day)]
    TopUpProduct.objects.filter(code="topup-1gb").update(is_active=False)
    assert "topup-1gb" not in [p.code for p in queries.top_ups_for(day)]
    with pytest.raises(NotFound):
        queries.get_top_up("topup-1gb")


def test_loading_twice_changes_nothing_and_refusals_have_codes(catalog: None) -> None:
    before = (TopUpProduct.objects.count(), TopUpPrice.objects.count())
    load_catalog()
    load_catalog()
    assert (TopUpProduct.objects.count(), TopUpPrice.objects.count()) == before == (5, 20)
    with pytest.raises(NotFound) as missing:
        queries.get_top_up("nope")
    assert missing.value.code == "unknown_product"
    with pytest.raises(ValidationFailed) as currency:
        queries.top_up_price(TopUpProduct.objects.get(code="topup-1gb"), "JPY")
    assert currency.value.code == "currency_not_available"
