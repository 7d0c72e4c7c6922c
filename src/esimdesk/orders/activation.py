"""How long activation keeps trying, and who hears when it gives up.

A paid order's fulfilment task retries passing upstream failures with exponential backoff
(``ESIMDESK_ACTIVATION_BACKOFF_SECONDS`` doubling up to ``..._BACKOFF_MAX_SECONDS``, with
jitter so a recovering supplier is not hit by every waiting order in the same second) until
``ESIMDESK_ACTIVATION_DEADLINE_MINUTES`` after the attempts began (payment, or a staff
retry). Past the deadline the order needs attention: staff are alerted and the customer is
told, in their language, that we are on it.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from esimdesk import config
from esimdesk.notifications import services as notifications
from esimdesk.orders.models import Order

_jitter = random.Random()  # spreads retries only; nothing secret depends on it


def retry_delay(attempt: int) -> dt.timedelta:
    """Delay before try ``attempt + 1``: base * 2**(attempt-1), capped, times 0.5 to 1."""
    base = Decimal(config.env("ESIMDESK_ACTIVATION_BACKOFF_SECONDS"))
    cap = Decimal(config.env("ESIMDESK_ACTIVATION_BACKOFF_MAX_SECONDS"))
    delay = min(base * (2 ** max(attempt - 1, 0)), cap)
    spread = Decimal(str(round(_jitter.uniform(0.5, 1.0), 3)))
    return dt.timedelta(seconds=float(delay * spread))


def deadline_after(started: dt.datetime) -> dt.datetime:
    minutes = int(config.env("ESIMDESK_ACTIVATION_DEADLINE_MINUTES"))
    return started + dt.timedelta(minutes=minutes)


def announce_needs_attention(order: Order, reason: str, *, since: str | None = None) -> None:
    """Inside the transaction that marks the order failed: tell the operations mailbox (if
    configured) once per run of attempts — the one from payment, or the staff retry that
    began at ``since`` (ISO time) — and the customer once per order (a staff retry that
    fails again is staff's to handle, not a second "delayed" message)."""
    order_url = settings.PUBLIC_URL + reverse("portal:order", args=[order.number])
    ops = config.env("ESIMDESK_OPS_EMAIL")
    if ops:
        staff_url = settings.PUBLIC_URL + reverse("staff_activations")
        run = f"retry-{since}" if since else f"{order.paid_at:%s}"
        again = " again, after a staff retry" if since else ""
        notifications.send_email(
            to=ops, kind="ops_activation_failed",
            subject=f"Order {order.number} needs attention: activation failed{again}",
            body_text=(f"Order {order.number} is paid but its eSIM could not be "
                       f"activated{again}.\n"
                       f"Reason: {reason}\n\nRetry, reissue or refund it: {staff_url}\n"),
            dedupe_key=f"ops-activation-failed:{order.pk}:{run}"[:200])
    notifications.notify(user=order.user, kind="activation_delayed",
                         template="activation_delayed",
                         context={"order": order, "order_url": order_url,
                                  "support_email": settings.ESIMDESK["SUPPORT_EMAIL"]},
                         dedupe_key=f"activation-delayed:{order.pk}", transactional=True)
