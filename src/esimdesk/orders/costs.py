"""What an order's lines cost at the supplier, recorded when the order is fulfilled.

A line that bought a plan period was served by one supplier (the one that issued its eSIM),
which charges the cost of its bundle for the plan. That cost, and the staff exchange rate
that turns it into the order's currency, change over time; the margins of past orders must
not. So ``record_costs`` keeps on each line the cost, its currency, the rate used and the
cost in the order's currency, once, inside the transaction that completes the order. A line
that no bundle prices keeps nothing, and the margins count it as they count any line
without a cost.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from esimdesk.catalog.margins import Rates
from esimdesk.catalog.models import SupplierBundle
from esimdesk.orders.models import Order, OrderLine

#: ``OrderLine.cost_rate`` keeps ten decimals.
RATE_PLACES = Decimal("1e-10")


def record_costs(order: Order) -> int:
    """Record the supplier cost of each of ``order``'s lines that bought a period and has
    none recorded yet; answers how many lines got one. Three queries whatever the lines.
    Call inside the transaction that marks the order fulfilled."""
    lines = list(order.lines.filter(period__isnull=False, cost__isnull=True,
                                    esim__isnull=False).select_related("esim"))
    if not lines:
        return 0
    bundles = {(b.plan_id, b.supplier): b for b in SupplierBundle.objects.filter(
        plan_id__in={line.plan_id for line in lines})}
    rates = Rates.load()
    recorded = 0
    for line in lines:
        assert line.esim is not None
        bundle = bundles.get((line.plan_id, line.esim.upstream))
        if bundle is None:
            continue
        rate = rates.rate(bundle.cost_currency, order.currency)
        converted = rates.convert(bundle.cost_money, order.currency)
        line.cost = bundle.cost
        line.cost_currency = bundle.cost_currency
        line.cost_rate = rate.quantize(RATE_PLACES, ROUND_HALF_UP) if rate is not None else None
        line.cost_converted = converted.amount if converted is not None else None
        recorded += 1
    OrderLine.objects.bulk_update(
        [line for line in lines if line.cost is not None],
        ["cost", "cost_currency", "cost_rate", "cost_converted"])
    return recorded

