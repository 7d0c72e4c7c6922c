"""The money of a window, for finance: ``finance(window)``, read by the console's Money page.

What a finance person checks first, as revenue dashboards put it (gross, what went back,
net; payments by outcome; what waits for them): per currency, the orders paid, their
gross, the refunds and the net; the same in the reporting currency; the refunds that need
someone (pending now, failed in the window); the payments tried in the window per provider
and outcome, with the success rate; the margin; the organisations' invoices issued, paid
and overdue. A fixed number of queries whatever the number of orders
(``tests/console/test_money.py``). Money is integer minor units per currency, as in
``figures.figures``, whose rules (window, reporting currency, exchange rates) hold here too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Min, Q, Sum

from esimdesk.catalog.margins import Rates
from esimdesk.core.money import Money
from esimdesk.figures.figures import (
    Margin,
    Reported,
    Window,
    during,
    margin,
    paid_by_currency,
    refunds_in,
    report_in,
    reporting_currency,
)
from esimdesk.orders.models import PROVIDER_LABELS
from esimdesk.payments.models import Payment, Refund
from esimdesk.sharedplans.models import MonthlyInvoice

#: Payment outcomes in the order the page shows them; ``succeeded`` first.
OUTCOMES = (Payment.Status.SUCCEEDED, Payment.Status.DECLINED, Payment.Status.FAILED,
            Payment.Status.PENDING, Payment.Status.STARTING, Payment.Status.CANCELLED,
            Payment.Status.DUPLICATE)
#: Outcomes that end a payment attempt without money: they count against the success rate.
UNSUCCESSFUL = (Payment.Status.DECLINED, Payment.Status.FAILED)


@dataclass(frozen=True)
class CurrencyLine:
    """One currency: ``orders`` paid in the window, their ``gross`` total, the refunds
    that succeeded in the window (``refunded``, whenever the order was paid) and
    ``net`` = gross - refunded."""

    currency: str
    orders: int
    gross: Money
    refunded: Money
    net: Money


@dataclass(frozen=True)
class RefundsToAct:
    """Refunds that need someone. ``pending``: now, sent to the provider and not
    answered (how many, how much per currency, since when the oldest). ``failed``: those
    the provider refused in the window (by ``created_at``): the money has not gone back."""

    pending: int
    pending_amounts: list[Money]
    oldest_pending: dt.datetime | None
    failed: int
    failed_amounts: list[Money]


@dataclass(frozen=True)
class ProviderLine:
    """One payment provider's payments started in the window (by ``created_at``):
    how many ended in each outcome, what succeeded per currency, and the success rate:
    succeeded of (succeeded + declined + failed), in %, one decimal; None without any
    settled payment. Payments still waiting or cancelled by the customer are shown but do
    not count in the rate."""

    provider: str
    label: str
    outcomes: dict[str, int]
    succeeded_amounts: list[Money]
    success_percent: Decimal | None


@dataclass(frozen=True)
class Invoices:
    """Organisations' monthly invoices. ``issued``: issued in the window, with their
    totals per currency. ``paid``: recorded as paid in the window. ``overdue``: now,
    issued, unpaid and past their due date, with their totals per currency."""

    issued: int
    issued_amounts: list[Money]
    paid: int
    overdue: int
    overdue_amounts: list[Money]


@dataclass(frozen=True)
class Finance:
    window: Window
    reporting_currency: str
    paid_orders: int
    currencies: list[CurrencyLine]
    gross: Reported
    refunded: Reported
    #: gross - refunded in the reporting currency (None when either could not be converted).
    net: Reported
    refunds_succeeded: int
    refunds_to_act: RefundsToAct
    providers: list[ProviderLine]
    margin: Margin
    invoices: Invoices


def finance(window: Window) -> Finance:
    """The money of ``window``: ten queries, whatever the number of rows."""
    currency = reporting_currency()
    rates = Rates.load()
    paid = paid_by_currency(window)
    gross = [money for money, _count in paid]
    refunds, _orders = refunds_in(window, currency, rates)
    gross_reported = report_in(gross, currency, rates)
    return Finance(
        window=window, reporting_currency=currency,
        paid_orders=sum(count for _money, count in paid),
        currencies=_currencies({money.currency: count for money, count in paid}, gross,
                               refunds.per_currency),
        gross=gross_reported, refunded=refunds.reporting,
        net=_net(gross_reported, refunds.reporting),
        refunds_succeeded=refunds.count, refunds_to_act=refunds_to_act(window),
        providers=providers(window), margin=margin(window, currency, rates),
        invoices=invoices(window))


def _currencies(orders: dict[str, int], gross: list[Money], refunded: list[Money]
                ) -> list[CurrencyLine]:
    sold = {m.currency: m for m in gross}
    paid_back = {m.currency: m for m in refunded}
    lines = []
    for code in sorted(set(sold) | set(paid_back)):
        got, back = sold.get(code, Money(0, code)), paid_back.get(code, Money(0, code))
        lines.append(CurrencyLine(code, orders.get(code, 0), got, back, got - back))
    return lines


def _net(gross: Reported, refunded: Reported) -> Reported:
    unconverted = sorted(set(gross.unconverted) | set(refunded.unconverted))
    if gross.amount is None or refunded.amount is None:
        return Reported(gross.currency, None, unconverted)
    return Reported(gross.currency, gross.amount - refunded.amount, unconverted)


def refunds_to_act(window: Window) -> RefundsToAct:
    """One query: pending now, failed in the window, per currency."""
    pending = Q(status=Refund.Status.PENDING)
    failed = Q(status=Refund.Status.FAILED) & during(window, "created_at")
    rows = (Refund.objects.filter(pending | failed).values("status", "currency")
            .annotate(n=Count("pk"), total=Sum("amount"), oldest=Min("created_at"))
            .order_by("status", "currency"))
    counts: dict[str, int] = {Refund.Status.PENDING: 0, Refund.Status.FAILED: 0}
    amounts: dict[str, list[Money]] = {Refund.Status.PENDING: [], Refund.Status.FAILED: []}
    oldest: dt.datetime | None = None
    for row in rows:
        counts[row["status"]] += row["n"]
        amounts[row["status"]].append(Money(int(row["total"] or 0), row["currency"]))
        if row["status"] == Refund.Status.PENDING:
            oldest = min(filter(None, (oldest, row["oldest"])), default=None)
    return RefundsToAct(counts[Refund.Status.PENDING], amounts[Refund.Status.PENDING], oldest,
                        counts[Refund.Status.FAILED], amounts[Refund.Status.FAILED])


def providers(window: Window) -> list[ProviderLine]:
    """One query: the payments started in the window per provider, outcome and currency."""
    rows = (Payment.objects.filter(during(window, "created_at"))
            .values("provider", "status", "currency")
            .annotate(n=Count("pk"), total=Sum("amount")).order_by("provider", "currency"))
    outcomes: dict[str, dict[str, int]] = {}
    succeeded: dict[str, list[Money]] = {}
    for row in rows:
        counted = outcomes.setdefault(row["provider"], dict.fromkeys(OUTCOMES, 0))
        counted[row["status"]] = counted.get(row["status"], 0) + row["n"]
        if row["status"] == Payment.Status.SUCCEEDED:
            succeeded.setdefault(row["provider"], []).append(
                Money(int(row["total"] or 0), row["currency"]))
    lines = []
    for provider, counted in sorted(outcomes.items()):
        settled = counted[Payment.Status.SUCCEEDED] + sum(counted[s] for s in UNSUCCESSFUL)
        rate = (Decimal(counted[Payment.Status.SUCCEEDED] * 100) / settled).quantize(
            Decimal("0.1"), ROUND_HALF_UP) if settled else None
        lines.append(ProviderLine(provider, str(PROVIDER_LABELS.get(provider, provider)),
                                  counted, succeeded.get(provider, []), rate))
    return lines


def invoices(window: Window) -> Invoices:
    """Three queries: issued and paid in the window, overdue now."""
    issued = list(MonthlyInvoice.objects.filter(during(window, "issued_at"))
                  .values("currency").annotate(n=Count("pk"), total=Sum("total"))
                  .order_by("currency"))
    paid = MonthlyInvoice.objects.filter(during(window, "paid_at")).count()
    overdue_rows = list(MonthlyInvoice.objects.filter(
        status=MonthlyInvoice.Status.ISSUED, due_at__lt=window.until).values("currency")
        .annotate(n=Count("pk"), total=Sum("total")).order_by("currency"))
    return Invoices(sum(row["n"] for row in issued),
                    [Money(int(row["total"] or 0), row["currency"]) for row in issued], paid,
                    sum(row["n"] for row in overdue_rows),
                    [Money(int(row["total"] or 0), row["currency"]) for row in overdue_rows])
