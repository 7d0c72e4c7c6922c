"""A month of business for the demo: customers who bought eSIMs over the last 30 days (a few
today), in dollars and yuan, one of them refunded, so the console's figures, trends and
money page show a shop at work after ``make run`` instead of zeros.

Each order goes the real way (checkout, the sandbox's payment, fulfilment from the
simulator) with the clock moved back, like the demo travellers' (``demo``). The customers
cannot sign in (no password): they are there to be counted and looked up by staff."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.core.money import Money
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.orders.services import LineRequest
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.payments.models import Refund
from esimdesk.payments.refunds import request_refund

logger = logging.getLogger(__name__)

#: name, e-mail, language, time zone, currency
CUSTOMERS = [
    ("Emma Wilson", "emma.wilson@example.com", "en", "Europe/London", "USD"),
    ("王芳", "wang.fang@example.com", "zh-hans", "Asia/Shanghai", "CNY"),
    ("Lucas Martin", "lucas.martin@example.com", "en", "Europe/Paris", "USD"),
    ("张伟", "zhang.wei@example.com", "zh-hans", "Asia/Shanghai", "CNY"),
    ("Olivia Brown", "olivia.brown@example.com", "en", "America/New_York", "USD"),
    ("陈静", "chen.jing@example.com", "zh-hans", "Asia/Hong_Kong", "CNY"),
    ("Noah Schmidt", "noah.schmidt@example.com", "en", "Europe/Berlin", "USD"),
    ("刘洋", "liu.yang@example.com", "zh-hans", "Asia/Shanghai", "CNY"),
    ("Mia Rossi", "mia.rossi@example.com", "en", "Europe/Rome", "USD"),
    ("杨帆", "yang.fan@example.com", "zh-hans", "Asia/Taipei", "CNY"),
]
#: (days ago, customer index, plan): about one order a day, more of them lately
ORDERS = [
    (29, 0, "jp-10gb-month"), (27, 1, "th-10gb-month"), (25, 2, "kr-1gb-day"),
    (23, 3, "jp-30gb-month-calls"), (21, 4, "sg-10gb-month"), (19, 5, "kr-10gb-month"),
    (17, 6, "vn-10gb-month"), (15, 7, "jp-10gb-month"), (13, 8, "th-1gb-day"),
    (11, 9, "tw-10gb-month"), (9, 0, "kr-10gb-month"), (8, 1, "jp-100gb-year"),
    (6, 3, "hk-10gb-month"), (5, 4, "jp-1gb-day"), (4, 5, "sg-1gb-day"),
    (3, 6, "th-30gb-month-calls"), (2, 7, "my-10gb-month"), (1, 8, "jp-10gb-month"),
    (1, 9, "kr-30gb-month-calls"), (0, 2, "th-10gb-month"), (0, 1, "jp-10gb-month"),
]
#: the order (index in ORDERS) its customer had refunded: bought for the wrong trip
REFUNDED = 16


def load_business(from_the_simulator: Callable[[], AbstractContextManager[None]]) -> str:
    """Load the month once (nothing when its first customer exists). Never raises: the
    demo must not stop a start."""
    if User.objects.filter(email=CUSTOMERS[0][1]).exists():
        return "business: already loaded"
    now = clock.now()
    made = 0
    for n, (days_ago, who, plan) in enumerate(ORDERS):
        # Spread over the day, and never in the future for today's orders.
        at = now - dt.timedelta(days=days_ago, hours=1 + (n * 5) % 9, minutes=n * 7 % 60)
        try:
            order = _bought(_customer(*CUSTOMERS[who]), plan, at, from_the_simulator)
            if n == REFUNDED and order is not None:
                _refunded(order, at + dt.timedelta(hours=3))
            made += order is not None
        except Exception as error:  # a missing plan, a sandbox switched off: skip the order
            logger.warning("demo order %s not loaded: %s", plan, error)
    return f"business: {made} orders from {len(CUSTOMERS)} customers over 30 days"


def _customer(name: str, email: str, language: str, zone: str, currency: str) -> User:
    found = User.objects.filter(email=email).first()
    if found is not None:
        return found
    return User.objects.create_user(email, None, name=name, language=language,
                                    time_zone=zone, preferred_currency=currency)


def _bought(user: User, plan: str, at: dt.datetime,
            from_the_simulator: Callable[[], AbstractContextManager[None]]) -> Order | None:
    joined_before(user, at)
    with clock.frozen_at(at):
        payment = checkout.place_order(user=user, currency=user.preferred_currency,
                                       method="sandbox",
                                       lines=[LineRequest(type="new_esim", plan=plan)]).payment
        if payment is None:
            return None
        payments.complete_sandbox_payment(user=user, payment_id=payment.public_id,
                                          outcome="approve")
        with from_the_simulator():
            orders.fulfil_order(order_id=payment.order_id)
    return Order.objects.get(pk=payment.order_id)


def joined_before(user: User, at: dt.datetime) -> None:
    """The customer signed up just before their first order, so the console counts them as
    new in the week they first bought."""
    User.objects.filter(pk=user.pk, date_joined__gt=at).update(
        date_joined=at - dt.timedelta(minutes=12))


def _refunded(order: Order, at: dt.datetime) -> None:
    payment = order.payments.get()
    with clock.frozen_at(at):
        request_refund(payment=payment, amount=Money(payment.amount, payment.currency),
                       via=Refund.Via.STAFF, reason="Bought for the wrong trip", user=None)


def customers() -> Iterator[str]:
    """The demo customers' e-mail addresses (for tests and docs)."""
    return (email for _name, email, *_rest in CUSTOMERS)
