"""The business at a glance: ``figures(since, until)``, for the console and for machines.

Each figure is one aggregate query (or two), so the number of queries is the same for ten
orders as for ten million (``tests/figures/test_query_count.py``). The window is half-open,
``[since, until)``, in UTC. Figures of two kinds:

- **in the window**: events whose time falls in it (payments, refunds, sign-ups, settled
  renewals, first answers, supplier calls);
- **now**: what is waiting at the moment of the query (activations waiting or failed,
  renewals waiting, open conversations), the same whatever the window, since esimdesk keeps
  the present state of these and not its history. ``esims.active`` is counted at ``until``.

Money is integer minor units per currency; ``reporting`` adds the currencies up in one
currency (``ESIMDESK_REPORTING_CURRENCY``) with the staff exchange rates of the margins page
(``catalog.margins.Rates``), and names the currencies no rate converts instead of guessing.
What each figure counts, in the words of docs/staff-console.md, is in the docstrings below.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import (
    BooleanField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    Q,
    Sum,
)
from django.utils.translation import gettext_lazy as _

from esimdesk import config
from esimdesk.accounts.models import User
from esimdesk.catalog.margins import Rates
from esimdesk.catalog.models import SupplierBundle
from esimdesk.core import clock
from esimdesk.core.errors import ValidationFailed
from esimdesk.core.models import AuditEntry
from esimdesk.core.money import Money
from esimdesk.esims.models import Esim
from esimdesk.figures.ranks import median, percentiles
from esimdesk.orders.models import Order, OrderLine
from esimdesk.payments.models import Refund, RenewalAttempt
from esimdesk.provisioning import registry as suppliers
from esimdesk.provisioning.models import SupplierCall
from esimdesk.subscriptions.running import plan_running
from esimdesk.support.models import Conversation

#: The longest window one call may ask for.
MAX_WINDOW = dt.timedelta(days=366)
DEFAULT_WINDOW = dt.timedelta(hours=24)
#: Supplier calls that count as failures (``not_supported`` is an answer, not a fault).
FAILURES = (SupplierCall.Outcome.RETRYABLE, SupplierCall.Outcome.REFUSED,
            SupplierCall.Outcome.ERROR)
RENEWAL_WAITING = (RenewalAttempt.State.SCHEDULED, RenewalAttempt.State.CHARGING,
                   RenewalAttempt.State.RETRY_WAIT)


@dataclass(frozen=True)
class Window:
    """``[since, until)`` in UTC."""

    since: dt.datetime
    until: dt.datetime

    @classmethod
    def of(cls, since: dt.datetime | None = None, until: dt.datetime | None = None) -> Window:
        """The window asked for: ``until`` defaults to now, ``since`` to 24 hours before
        ``until``. Refuses (``ValidationFailed``, 422) an empty or reversed window
        (``invalid_window``) and one longer than ``MAX_WINDOW`` (``window_too_long``)."""
        end = (until or clock.now()).astimezone(dt.UTC)
        start = (since or end - DEFAULT_WINDOW).astimezone(dt.UTC)
        if start >= end:
            raise ValidationFailed(_("The start of the window must be before its end."),
                                   code="invalid_window",
                                   detail={"since": start.isoformat(),
                                           "until": end.isoformat()})
        if end - start > MAX_WINDOW:
            raise ValidationFailed(
                _("The window may be at most %(days)d days long.")
                % {"days": MAX_WINDOW.days}, code="window_too_long",
                detail={"max_days": MAX_WINDOW.days})
        return cls(start, end)

    @classmethod
    def last(cls, length: dt.timedelta, *, until: dt.datetime | None = None) -> Window:
        """The ``length`` before ``until`` (now): today's, the 7 days', the 30 days'."""
        end = until or clock.now()
        return cls.of(end - length, end)


@dataclass(frozen=True)
class Reported:
    """Amounts added up in the reporting currency. ``amount`` is None when nothing could
    be converted; ``unconverted`` names the currencies with no exchange rate to it (their
    amounts are left out)."""

    currency: str
    amount: Money | None
    unconverted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Orders:
    """``paid``: orders whose payment succeeded in the window (by ``paid_at``; orders that
    needed no payment, e.g. a plan change the credit covered, count too). ``refunded``:
    orders with at least one refund that succeeded in the window, in whole or part."""

    paid: int
    refunded: int


@dataclass(frozen=True)
class Revenue:
    """``per_currency``: the totals of the orders paid in the window, per currency (gross:
    refunds are apart); ``reporting``: the same in the reporting currency."""

    per_currency: list[Money]
    reporting: Reported


@dataclass(frozen=True)
class Refunds:
    """Refunds that succeeded in the window (by ``succeeded_at``), whoever asked for them
    (staff, the customer under the refund policy, the provider's dashboard, a double
    payment paid back): how many, and how much per currency and in the reporting one."""

    count: int
    per_currency: list[Money]
    reporting: Reported


@dataclass(frozen=True)
class Customers:
    """``new``: accounts created in the window, staff left out."""

    new: int


@dataclass(frozen=True)
class Esims:
    """``active``: eSIMs, not revoked, with a plan running at ``until``: a period of their
    own, or of the pool of a group they were a member of then. A plan waiting for first use
    is not running yet."""

    active: int


@dataclass(frozen=True)
class Activations:
    """Now: ``waiting`` orders paid and being prepared, ``failed`` paid orders whose
    fulfilment gave up (staff's activation screen), each with the payment time of the
    oldest. ``median_seconds``: of the orders fulfilled in the window, the median time from
    payment to fulfilled (the eSIM ready, the renewal or top-up applied); None without
    any."""

    waiting: int
    failed: int
    oldest_waiting: dt.datetime | None
    oldest_failed: dt.datetime | None
    median_seconds: float | None


@dataclass(frozen=True)
class Renewals:
    """Automatic renewals (``RenewalAttempt``). ``succeeded``: renewed, settled in the
    window. ``declined``: every saved method declined at least once and it has not
    succeeded since, last changed in the window (waiting to try again, or given up).
    ``waiting``: now, due or waiting to try again (scheduled, charging, retry)."""

    succeeded: int
    declined: int
    waiting: int


@dataclass(frozen=True)
class Support:
    """``open``: conversations not resolved now (waiting for an agent or for the
    customer). ``median_first_answer_seconds``: of the conversations an agent first
    answered in the window, the median time from the customer's opening to that answer."""

    open: int
    median_first_answer_seconds: float | None


@dataclass(frozen=True)
class SupplierHealth:
    """One supplier's calls made in the window (``provisioning.calls``): how many, how many
    failed (retryable, refused or an error; ``not supported`` is no failure), how many
    activations left it for the next supplier (failovers), and the 95th percentile of the
    calls' latency in milliseconds (None without calls). Every configured supplier is
    listed, with or without calls."""

    name: str
    label: str
    calls: int
    failures: int
    failovers: int
    p95_ms: int | None


@dataclass(frozen=True)
class Margin:
    """Of the order lines that bought a plan period (new eSIM, renewal, plan change) in the
    orders paid in the window: what the customers paid for them (charge plus credit used,
    less what was paid back) against what the supplier that issued the eSIM charged for
    the plan, both in the reporting currency. The cost is the one recorded on the line
    when its order was fulfilled, in the order's currency at that day's rate
    (``orders.costs``); a line fulfilled before costs were recorded falls back to its
    bundle's cost and rate of today. ``percent`` is of the revenue, one decimal.
    ``uncosted_lines``: lines left out of both sides, since no cost or rate says what they
    cost (no bundle, a pool's plan, a top-up, no exchange rate)."""

    revenue: Money
    cost: Money
    amount: Money
    percent: Decimal | None
    costed_lines: int
    uncosted_lines: int


@dataclass(frozen=True)
class Figures:
    window: Window
    reporting_currency: str
    orders: Orders
    revenue: Revenue
    refunds: Refunds
    customers: Customers
    esims: Esims
    activations: Activations
    renewals: Renewals
    support: Support
    suppliers: list[SupplierHealth]
    margin: Margin


def reporting_currency() -> str:
    return config.env("ESIMDESK_REPORTING_CURRENCY").strip().upper() or "USD"


def figures(window: Window) -> Figures:
    """Every figure for ``window``: a fixed number of queries, whatever the row counts."""
    currency = reporting_currency()
    rates = Rates.load()
    revenue, paid = revenue_in(window, currency, rates)
    refunds, refunded = refunds_in(window, currency, rates)
    return Figures(
        window=window, reporting_currency=currency,
        orders=Orders(paid=paid, refunded=refunded), revenue=revenue, refunds=refunds,
        customers=Customers(new=User.objects.filter(
            during(window, "date_joined"), is_staff=False).count()),
        esims=Esims(active=active_esims(window.until)),
        activations=activations(window), renewals=renewals(window),
        support=support(window), suppliers=supplier_health(window),
        margin=margin(window, currency, rates))


def during(window: Window, name: str) -> Q:
    """Rows whose ``name`` falls in ``window`` (half-open)."""
    return Q(**{f"{name}__gte": window.since, f"{name}__lt": window.until})


def report_in(amounts: list[Money], currency: str, rates: Rates) -> Reported:
    """``amounts`` (one per currency) added up in ``currency``, naming what no rate converts."""
    total, unconverted = 0, []
    for money in amounts:
        converted = rates.convert(money, currency)
        if converted is None:
            unconverted.append(money.currency)
        else:
            total += converted.amount
    converted_any = len(unconverted) < len(amounts) or not amounts
    return Reported(currency, Money(total, currency) if converted_any else None, unconverted)


def paid_by_currency(window: Window) -> list[tuple[Money, int]]:
    """Per currency, what the orders paid in ``window`` came to and how many they are (one
    query, currencies in order)."""
    return [(Money(int(row["total"] or 0), row["currency"]), row["n"]) for row in (
        Order.objects.filter(during(window, "paid_at")).values("currency")
        .annotate(n=Count("pk"), total=Sum("total")).order_by("currency"))]


def revenue_in(window: Window, currency: str, rates: Rates) -> tuple[Revenue, int]:
    """The revenue of the orders paid in ``window``, and how many they are: one query."""
    paid = paid_by_currency(window)
    amounts = [money for money, _count in paid]
    return (Revenue(amounts, report_in(amounts, currency, rates)),
            sum(count for _money, count in paid))


def refunds_in(window: Window, currency: str, rates: Rates) -> tuple[Refunds, int]:
    """The refunds that succeeded in ``window``, and how many orders they touched: one
    query."""
    rows = (Refund.objects.filter(during(window, "succeeded_at"),
                                  status=Refund.Status.SUCCEEDED)
            .values("currency")
            .annotate(n=Count("pk"), total=Sum("amount"),
                      orders=Count("payment__order", distinct=True))
            .order_by("currency"))
    amounts, count, orders = [], 0, 0
    for row in rows:
        count += row["n"]
        orders += row["orders"]  # an order has one currency: no order counted twice
        amounts.append(Money(int(row["total"] or 0), row["currency"]))
    return Refunds(count, amounts, report_in(amounts, currency, rates)), orders


def active_esims(at: dt.datetime) -> int:
    """eSIMs not revoked with a period running at ``at`` (their own, or their group's)."""
    return Esim.objects.filter(plan_running(at)).count()


def activations(window: Window) -> Activations:
    waiting: dict[str, tuple[int, dt.datetime | None]] = {
        Order.Status.PAID: (0, None), Order.Status.FULFILMENT_FAILED: (0, None)}
    for row in (Order.objects.filter(status__in=list(waiting)).values("status")
                .annotate(n=Count("pk"), oldest=Min("paid_at")).order_by("status")):
        waiting[row["status"]] = (row["n"], row["oldest"])
    took = ExpressionWrapper(F("fulfilled_at") - F("paid_at"), output_field=DurationField())
    middle = median(Order.objects.filter(during(window, "fulfilled_at"), paid_at__isnull=False),
                    took)
    return Activations(
        waiting=waiting[Order.Status.PAID][0], failed=waiting[Order.Status.FULFILMENT_FAILED][0],
        oldest_waiting=waiting[Order.Status.PAID][1],
        oldest_failed=waiting[Order.Status.FULFILMENT_FAILED][1],
        median_seconds=_seconds(middle))


def renewals(window: Window) -> Renewals:
    settled = during(window, "updated_at")
    counts = RenewalAttempt.objects.aggregate(
        succeeded=Count("pk", filter=settled & Q(state=RenewalAttempt.State.SUCCEEDED)),
        declined=Count("pk", filter=settled & Q(tries__gte=1) & Q(state__in=[
            RenewalAttempt.State.RETRY_WAIT, RenewalAttempt.State.FAILED])),
        waiting=Count("pk", filter=Q(state__in=RENEWAL_WAITING)))
    return Renewals(**counts)


def support(window: Window) -> Support:
    first_answer = ExpressionWrapper(F("first_reply_at") - F("created_at"),
                                     output_field=DurationField())
    middle = median(Conversation.objects.filter(during(window, "first_reply_at")), first_answer)
    return Support(
        open=Conversation.objects.exclude(status=Conversation.Status.RESOLVED).count(),
        median_first_answer_seconds=_seconds(middle))


def supplier_health(window: Window) -> list[SupplierHealth]:
    """Per supplier, configured ones first in their failover order, then any other that
    was called in the window: three queries."""
    calls = SupplierCall.objects.filter(during(window, "at"))
    counted: dict[str, tuple[int, int]] = {
        row["supplier"]: (row["calls"], row["failures"])
        for row in calls.values("supplier").annotate(
            calls=Count("pk"), failures=Count("pk", filter=Q(outcome__in=FAILURES)))
        .order_by("supplier")}
    p95 = percentiles(calls, "duration_ms", percent=95, by="supplier")
    failovers = {row["left"]: row["n"] for row in (
        AuditEntry.objects.filter(during(window, "at"), action="activation.failover")
        .values(left=F("before__supplier")).annotate(n=Count("pk")).order_by())}
    names = list(settings.ESIMDESK["UPSTREAM_PROVIDERS"])
    names += sorted((set(counted) | {n for n in failovers if n}) - set(names))
    return [SupplierHealth(
        name=name, label=str(suppliers.label(name)),
        calls=counted.get(name, (0, 0))[0], failures=counted.get(name, (0, 0))[1],
        failovers=failovers.get(name, 0),
        p95_ms=int(p95[name]) if p95.get(name) is not None else None) for name in names]


def margin(window: Window, currency: str, rates: Rates) -> Margin:
    lines = (OrderLine.objects.filter(during(window, "order__paid_at"))
             .values("plan_id", "order__currency",
                     supplier=F("esim__upstream"),
                     bought_period=ExpressionWrapper(Q(period__isnull=False),
                                                     output_field=BooleanField()),
                     recorded=ExpressionWrapper(Q(cost_converted__isnull=False),
                                                output_field=BooleanField()))
             .annotate(n=Count("pk"),
                       paid=Sum(F("amount") + F("credit") - F("refund_amount")),
                       recorded_cost=Sum("cost_converted"))
             .order_by())
    rows = list(lines)
    # Today's bundle costs, only for lines fulfilled before costs were recorded on them.
    costs: dict[tuple[int, str], Money] = {
        (b.plan_id, b.supplier): b.cost_money for b in SupplierBundle.objects.filter(
            plan_id__in={row["plan_id"] for row in rows
                         if row["bought_period"] and not row["recorded"]})}
    revenue = cost = costed = uncosted = 0
    for row in rows:
        sold_in = row["order__currency"]
        if row["recorded"]:
            # Recorded in the order's currency at fulfilment: both sides convert alike.
            spent = rates.convert(Money(int(row["recorded_cost"]), sold_in), currency)
        else:
            bundle_cost = costs.get((row["plan_id"], row["supplier"] or ""))
            each = rates.convert(bundle_cost, currency) if bundle_cost else None
            spent = Money(each.amount * row["n"], currency) if each is not None else None
        paid = rates.convert(Money(int(row["paid"] or 0), sold_in), currency)
        if not row["bought_period"] or paid is None or spent is None:
            uncosted += row["n"]
            continue
        costed += row["n"]
        revenue += paid.amount
        cost += spent.amount
    percent = (Decimal(revenue - cost) * 100 / Decimal(revenue)).quantize(
        Decimal("0.1"), ROUND_HALF_UP) if revenue else None
    return Margin(Money(revenue, currency), Money(cost, currency),
                  Money(revenue - cost, currency), percent, costed, uncosted)


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return round(value.total_seconds(), 3)
    return round(float(value), 3)
