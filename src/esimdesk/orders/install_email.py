"""Staff resend an order's install e-mail (the order confirmation with the install links and
the receipt), e.g. after correcting the customer's address or when it went to spam.

The first confirmation is sent once under ``order-confirmation:<order id>``; a resend is a
new message under a fresh key, rendered now (current address, language and eSIM data),
and audited with who asked and why.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from esimdesk.core import audit
from esimdesk.core.errors import Conflict, ValidationFailed
from esimdesk.orders.confirmation import queue_confirmation
from esimdesk.orders.models import Order


def resend_install_email(*, order_id: int, actor: str, reason: str) -> Any:
    """Queue the order's confirmation again; answers the new Notification.

    Refused without a reason, for an order not fulfilled yet (its e-mail has not been sent:
    retry the activation), for an order that made no eSIM (a renewal, a top-up: nothing to
    install) and for a customer without an e-mail address."""
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationFailed(code="reason_required")
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("user").get(pk=order_id)
        if order.status != Order.Status.FULFILLED:
            raise Conflict(code="order_not_fulfilled", detail={"status": order.status})
        if not order.makes_esim:  # a renewal or top-up: no install links to send
            raise Conflict(code="order_makes_no_esim")
        if not order.user.email:
            raise Conflict(code="no_email_address")
        key = f"order-confirmation:{order.pk}:resend:{uuid.uuid4().hex[:16]}"
        notification = queue_confirmation(order, dedupe_key=key)
        audit.record(action="order.install_email_resent", obj=order, actor_type="staff",
                     actor=actor, after={"to": order.user.email, "dedupe_key": key},
                     reason=text)
    return notification


