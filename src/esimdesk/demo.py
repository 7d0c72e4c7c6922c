"""Demo data for ``make run``: the catalog, a staff user and two travellers whose eSIMs were
bought through the real order, payment and fulfilment path with the clock moved back, so
the first traveller's plan expires in two days and the renewal path can be tried at once;
and a month of other customers' orders (``demo_business``) for the console's figures.

The travellers pay through the sandbox and their eSIMs come from the sandbox's simulator,
whatever suppliers are configured: demo data never depends on a live supplier, so a
misconfigured or unreachable one cannot stop ``esimdesk run`` on an empty database. Without
the sandbox (``ESIMDESK_SANDBOX=0``) there are no demo travellers. Nothing here raises for a
traveller that could not be made: the line says so and the rest is loaded."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.db import transaction

from esimdesk.accounts.models import User
from esimdesk.catalog.demo import load_catalog
from esimdesk.catalog.models import GB, Plan
from esimdesk.catalog.validity import add_months
from esimdesk.core import clock
from esimdesk.demo_business import joined_before, load_business
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.orders.services import LineRequest
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.sharedplans.demo import load_group_plans
from esimdesk.subscriptions import validity
from esimdesk.subscriptions.models import Allowance
from esimdesk.support.demo import load_canned_replies

logger = logging.getLogger(__name__)

#: The supplier the demo's eSIMs come from (registered by the sandbox).
DEMO_SUPPLIER = "simulator"
STAFF = ("admin@esimdesk.localhost", "esimdesk-admin")
TRAVELLERS = [
    # e-mail, password, name, language, time zone, currency, plan, expires in, data used
    ("traveller@esimdesk.localhost", "esimdesk-demo", "Alex Traveller", "en",
     "Europe/London", "USD", "jp-10gb-month", dt.timedelta(days=2), 7 * GB + 300 * 1024**2,
     "+447911123400"),
    ("lvke@esimdesk.localhost", "esimdesk-demo", "李旅客", "zh-hans", "Asia/Shanghai", "CNY",
     "europe-20gb-month", dt.timedelta(days=12), 6 * GB, "+8613800138000"),
]


#: a little more than the days README promises, so the dashboard reads "2 days 5 hours left"
#: (not "1 day 23 hours") for the first hours after ``make run``
MARGIN = dt.timedelta(hours=6)


def start_for(plan: Plan, ends_at: dt.datetime) -> dt.datetime:
    """When a plan must start to end at ``ends_at``. Months differ in length, so this is the
    same day of the month before (``ends_at`` minus the plan's length *from now* was a day
    off: a month from 7 December is 31 days, from 8 November 30). Where no start ends then
    (the 29th-31st after a shorter month), the nearest later end: the 1st of the next
    month."""
    if plan.validity_unit == Plan.Unit.DAY:
        return ends_at - dt.timedelta(days=plan.validity_count)
    months = plan.validity_count * (12 if plan.validity_unit == Plan.Unit.YEAR else 1)
    start = add_months(ends_at, -months)
    if plan.ends_at(start) < ends_at:
        start = (start + dt.timedelta(days=1)).replace(day=1, hour=0, minute=0, second=0,
                                                        microsecond=0)
    return start


def load_demo() -> list[str]:
    lines = [f"catalog: {load_catalog()} plans"]

    lines.append(f"support: {load_canned_replies()} canned replies")

    lines.append(f"groups: {load_group_plans()} family and organisation plans")
    if not User.objects.filter(email=STAFF[0]).exists():
        staff = User.objects.create_superuser(STAFF[0], STAFF[1], name="esimdesk staff")
        _verified_email(staff)  # signs in at once, even with ESIMDESK_EMAIL_VERIFICATION=mandatory
        lines.append(f"staff: {STAFF[0]} / {STAFF[1]}")
    if not apps.is_installed("esimdesk.sandbox"):
        lines.append("travellers: none (they pay and get their eSIMs through the sandbox, "
                     "which is off)")
        return lines
    for email, password, name, language, zone, currency, plan_code, left, used, phone in TRAVELLERS:
        if User.objects.filter(email=email).exists():
            continue
        try:
            lines.append(_traveller(email, password, name, language, zone, currency,
                                    plan_code, left, used, phone))
        except Exception as error:  # the demo must never stop a start
            logger.exception("demo traveller %s not loaded", email)
            lines.append(f"traveller: {email} not loaded: {type(error).__name__}: {error}")
    lines.append(load_business(_from_the_simulator))
    return lines


def _traveller(email: str, password: str, name: str, language: str, zone: str,
               currency: str, plan_code: str, left: dt.timedelta, used: int,
               phone: str) -> str:
    user = User.objects.create_user(email, password, name=name, language=language,
                                    time_zone=zone, preferred_currency=currency,
                                    phone=phone, phone_verified=True)
    _verified_email(user)
    plan = Plan.objects.get(code=plan_code)
    bought_at = start_for(plan, clock.now() + left + MARGIN)
    joined_before(user, bought_at)
    with clock.frozen_at(bought_at):
        payment = checkout.place_order(
            user=user, currency=currency, method="sandbox",
            lines=[LineRequest(type="new_esim", plan=plan_code)]).payment
        assert payment is not None
        # The card is kept, so switching automatic renewal on can be tried at once.
        payments.complete_sandbox_payment(user=user, payment_id=payment.public_id,
                                          outcome="approve", save_card=True)
        with _from_the_simulator():
            outcome = orders.fulfil_order(order_id=payment.order_id)
        if outcome != Order.Status.FULFILLED:
            return f"traveller: {email} / {password} (order {outcome}, no eSIM yet)"
        _started_on_arrival(payment.order_id)
    _seed_usage(payment.order_id, used)
    _mark_in_use(payment.order_id)
    return f"traveller: {email} / {password} ({plan_code}, ends in {left.days} days)"


@contextmanager
def _from_the_simulator() -> Iterator[None]:
    """Fulfil with the simulator as the only supplier, whatever is configured (only while
    the demo loads, in the command that loads it)."""
    configured = settings.ESIMDESK["UPSTREAM_PROVIDERS"]
    settings.ESIMDESK["UPSTREAM_PROVIDERS"] = [DEMO_SUPPLIER]
    try:
        yield
    finally:
        settings.ESIMDESK["UPSTREAM_PROVIDERS"] = configured


def _verified_email(user: User) -> None:
    from allauth.account.models import EmailAddress

    EmailAddress.objects.get_or_create(user=user, email=user.email,
                                       defaults={"verified": True, "primary": True})


def _started_on_arrival(order_id: int) -> None:
    """The demo travellers bought on arrival: their plan started at once (first use)."""
    line = Order.objects.get(pk=order_id).lines.get()
    assert line.period is not None
    validity.start(subscription_id=line.period.subscription_id, at=clock.now(),
                   actor_type="system", actor="demo", reason="demo data: first use")


def _mark_in_use(order_id: int) -> None:
    """The demo travellers installed their eSIM long ago and are using it."""

    esim = Order.objects.get(pk=order_id).lines.get().esim
    assert esim is not None
    esims.transition(esim=esim, to=Esim.Status.IN_USE, actor_type="system", actor="demo",
                     reason="demo data")


@transaction.atomic
def _seed_usage(order_id: int, used: int) -> None:
    """Demo usage on the new period, so the dashboard shows a realistic balance."""

    line = Order.objects.get(pk=order_id).lines.get()
    data = Allowance.objects.select_for_update().get(period=line.period, kind="data")
    data.used = min(used, data.total)
    data.save(update_fields=["used"])
