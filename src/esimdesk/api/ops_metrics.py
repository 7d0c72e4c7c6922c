"""``GET /api/v1/ops/metrics``: the console's business figures for machines (``figures``).

A ninja schema module, so no ``from __future__ import annotations`` (ninja reads the
annotations at import time)."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from esimdesk.accounts.api_auth import ops_key_auth
from esimdesk.core.api.schemas import ErrorOut
from esimdesk.core.inputs import parse_instant
from esimdesk.core.money import Money
from esimdesk.figures.figures import MAX_WINDOW, Figures, Reported, Window, figures

router = Router(tags=["operations"])

_TIME = ("ISO 8601 with its offset, e.g. `2026-03-01T00:00:00Z` (a `+` in the offset is "
         "written `%2B` in a URL)")


class AmountOut(Schema):
    currency: str
    amount: int = Field(..., description="minor units")


class ReportedOut(Schema):
    currency: str = Field(..., description="the reporting currency "
                                           "(`ESIMDESK_REPORTING_CURRENCY`)")
    amount: int | None = Field(..., description="minor units; null when no currency could "
                                                "be converted")
    unconverted: list[str] = Field(..., description="currencies with no staff exchange rate "
                                                    "to the reporting one: left out")


class OrdersOut(Schema):
    paid: int = Field(..., description="orders whose payment succeeded in the window")
    refunded: int = Field(..., description="orders with a refund that succeeded in the "
                                           "window, in whole or part")


class RefundsOut(Schema):
    count: int = Field(..., description="refunds that succeeded in the window")
    amounts: list[AmountOut]
    reporting: ReportedOut


class CustomersOut(Schema):
    new: int = Field(..., description="accounts created in the window (staff left out)")


class EsimsOut(Schema):
    active: int = Field(..., description="eSIMs not revoked with a plan running at `until`")


class ActivationsOut(Schema):
    waiting: int = Field(..., description="now: orders paid and being prepared")
    failed: int = Field(..., description="now: paid orders whose fulfilment gave up")
    oldest_waiting: str | None = Field(..., description="payment time of the oldest waiting")
    oldest_failed: str | None = Field(..., description="payment time of the oldest failed")
    median_seconds: float | None = Field(..., description="orders fulfilled in the window: "
                                         "median seconds from payment to fulfilled")


class RenewalsOut(Schema):
    succeeded: int = Field(..., description="automatic renewals settled as renewed in the "
                                            "window")
    declined: int = Field(..., description="declined by every saved method, not renewed "
                                           "since, last changed in the window")
    waiting: int = Field(..., description="now: due, charging or waiting to try again")


class SupportOut(Schema):
    open: int = Field(..., description="now: conversations not resolved")
    median_first_answer_seconds: float | None = Field(
        ..., description="conversations first answered in the window: median seconds from "
                         "opening to the first answer")


class SupplierOut(Schema):
    name: str
    label: str
    calls: int = Field(..., description="calls made in the window")
    failures: int = Field(..., description="retryable, refused or failed calls")
    failovers: int = Field(..., description="activations that left this supplier for the "
                                            "next")
    p95_ms: int | None = Field(..., description="95th percentile latency, milliseconds")


class MarginOut(Schema):
    currency: str
    revenue: int = Field(..., description="paid for the plan periods costed, minor units")
    cost: int = Field(..., description="the suppliers' bundle costs of those, minor units")
    amount: int
    percent: str | None = Field(..., description="of the revenue, one decimal")
    costed_lines: int
    uncosted_lines: int = Field(..., description="order lines no cost or rate prices: left "
                                                 "out")


class MetricsOut(Schema):
    since: str
    until: str
    orders: OrdersOut
    revenue: list[AmountOut] = Field(..., description="totals of the orders paid in the "
                                                      "window, per currency")
    revenue_reporting: ReportedOut
    refunds: RefundsOut
    customers: CustomersOut
    esims: EsimsOut
    activations: ActivationsOut
    renewals: RenewalsOut
    support: SupportOut
    suppliers: list[SupplierOut]
    margin: MarginOut


@router.get(
    "/ops/metrics", auth=ops_key_auth,
    response={200: MetricsOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="Business figures for a window",
    description=(
        "The figures of the staff console for `[since, until)`: orders paid and refunded, "
        "revenue per currency and in the reporting currency, refunds, new customers, "
        "active eSIMs at `until`, activations, automatic renewals, support, the health of "
        "each supplier and the margin. Figures marked *now* are what waits at the moment "
        "of the call, whatever the window. Money is in minor units. `since` and `until` "
        f"are {_TIME}; `until` defaults to now and `since` to 24 hours before `until`. "
        "Needs an API key holding the `ops:read` scope. "
        "Errors: `401 unauthenticated`, `403 insufficient_scope` (the key does not hold "
        "`ops:read`: a key made for a usage feed cannot read the business), "
        "`422 invalid_time`, `422 invalid_window` (`since` "
        f"not before `until`), `422 window_too_long` (more than {MAX_WINDOW.days} days). "
        "docs/staff-console.md, *What each figure counts*, defines each figure."),
)
def get_ops_metrics(request: HttpRequest, since: str | None = None,
                    until: str | None = None) -> dict[str, Any]:
    window = Window.of(parse_instant(since) if since is not None else None,
                       parse_instant(until) if until is not None else None)
    return as_json(figures(window))


def as_json(got: Figures) -> dict[str, Any]:
    """The figures as ``MetricsOut`` reads them."""
    return {
        "since": got.window.since.isoformat(), "until": got.window.until.isoformat(),
        "orders": {"paid": got.orders.paid, "refunded": got.orders.refunded},
        "revenue": _amounts(got.revenue.per_currency),
        "revenue_reporting": _reported(got.revenue.reporting),
        "refunds": {"count": got.refunds.count, "amounts": _amounts(got.refunds.per_currency),
                    "reporting": _reported(got.refunds.reporting)},
        "customers": {"new": got.customers.new},
        "esims": {"active": got.esims.active},
        "activations": {"waiting": got.activations.waiting, "failed": got.activations.failed,
                        "oldest_waiting": _iso(got.activations.oldest_waiting),
                        "oldest_failed": _iso(got.activations.oldest_failed),
                        "median_seconds": got.activations.median_seconds},
        "renewals": {"succeeded": got.renewals.succeeded, "declined": got.renewals.declined,
                     "waiting": got.renewals.waiting},
        "support": {"open": got.support.open,
                    "median_first_answer_seconds": got.support.median_first_answer_seconds},
        "suppliers": [{"name": s.name, "label": s.label, "calls": s.calls,
                       "failures": s.failures, "failovers": s.failovers, "p95_ms": s.p95_ms}
                      for s in got.suppliers],
        "margin": {"currency": got.margin.revenue.currency,
                   "revenue": got.margin.revenue.amount, "cost": got.margin.cost.amount,
                   "amount": got.margin.amount.amount,
                   "percent": str(got.margin.percent) if got.margin.percent is not None
                   else None,
                   "costed_lines": got.margin.costed_lines,
                   "uncosted_lines": got.margin.uncosted_lines},
    }


def _amounts(amounts: list[Money]) -> list[dict[str, Any]]:
    return [{"currency": m.currency, "amount": m.amount} for m in amounts]


def _reported(reported: Reported) -> dict[str, Any]:
    return {"currency": reported.currency,
            "amount": reported.amount.amount if reported.amount is not None else None,
            "unconverted": reported.unconverted}


def _iso(instant: dt.datetime | None) -> str | None:
    return instant.astimezone(dt.UTC).isoformat() if instant is not None else None
