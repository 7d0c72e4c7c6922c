"""How much a staff member may refund of one payment (docs/staff-console.md).

The finance role refunds up to ``ESIMDESK_REFUND_LIMIT_FINANCE`` per payment, counting the
refunds staff already requested on it (so a large refund cannot be split into small ones);
whoever holds ``staff.refund_beyond_limit`` (the admin role) refunds up to
``ESIMDESK_REFUND_LIMIT_ADMIN``, which by default is no limit. A limit is a list of
``CUR amount`` in major units; a currency missing from the finance list needs an admin.
Permissions are read by name: payments sits below the staff app and never imports it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Sum

from esimdesk import config
from esimdesk.core.errors import PermissionDenied
from esimdesk.core.money import Money, exponent
from esimdesk.payments.models import Refund


def parse_limits(text: str) -> dict[str, int]:
    """``"USD 200, JPY 30000"`` -> ``{"USD": 20000, "JPY": 30000}`` (minor units)."""
    limits: dict[str, int] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        try:
            currency, amount = item.split()
            value = Decimal(amount).scaleb(exponent(currency.upper()))
        except (ValueError, InvalidOperation) as error:
            raise ValueError(f"refund limit {item.strip()!r} is not 'CUR amount'") from error
        limits[currency.upper()] = int(value)
    return limits


def limit_for(user: Any, currency: str) -> int | None:
    """The most ``user`` may refund of one payment in ``currency``; None is no limit."""
    if user.has_perm("staff.refund_beyond_limit"):
        text = config.env("ESIMDESK_REFUND_LIMIT_ADMIN")
        if not text.strip():
            return None
        return parse_limits(text).get(currency, 0)
    return parse_limits(config.env("ESIMDESK_REFUND_LIMIT_FINANCE")).get(currency, 0)


def check_staff_refund(*, user: Any, payment: Any, amount: Money) -> None:
    """Refuse (403 ``refund_over_limit``) a staff refund above the user's limit. Call with
    the payment row locked, inside the refund's transaction."""
    if not user.has_perm("payments.add_refund"):
        raise PermissionDenied()
    limit = limit_for(user, amount.currency)
    if limit is None:
        return
    earlier = (Refund.objects.filter(payment=payment, via=Refund.Via.STAFF)
               .exclude(status=Refund.Status.FAILED)
               .aggregate(total=Sum("amount"))["total"] or 0)
    if earlier + amount.amount > limit:
        raise PermissionDenied(code="refund_over_limit",
                               detail={"limit": limit, "currency": amount.currency,
                                       "already_refunded_by_staff": earlier})
