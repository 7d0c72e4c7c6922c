"""The confirmation e-mail sent once an order is fulfilled, with its PDF receipt."""

from __future__ import annotations

import base64
from typing import Any

from django.conf import settings
from django.urls import reverse

from esimdesk.accounts.set_password import set_password_url
from esimdesk.notifications import services as notifications
from esimdesk.orders.models import Order
from esimdesk.orders.receipts import receipt_filename, render_receipt_pdf


def queue_confirmation(order: Order, *, dedupe_key: str | None = None) -> Any:
    """Queue the confirmation (install links, receipt). Fulfilment sends it once under the
    order's fixed key, however often it is retried; a staff resend passes a fresh key."""
    user = order.user
    pdf = render_receipt_pdf(order)
    lines = list(order.lines.select_related("plan", "esim", "period"))
    return notifications.send_templated_email(
        user=user,
        kind="order_confirmation",
        template="order_confirmation",
        dedupe_key=dedupe_key or f"order-confirmation:{order.pk}",
        context={
            "order": order,
            "lines": lines,
            "order_url": settings.PUBLIC_URL + reverse("portal:order", args=[order.number]),
            "esim_urls": {line.pk: settings.PUBLIC_URL + reverse("portal:esim",
                                                                 args=[line.esim.iccid])
                          for line in lines if line.esim_id},
            "support_email": settings.ESIMDESK["SUPPORT_EMAIL"],
            # An account made at a guest checkout has no password yet: a one-time link.
            "set_password_url": set_password_url(user),
        },
        attachments=[{"filename": receipt_filename(order), "mimetype": "application/pdf",
                      "content_b64": base64.b64encode(pdf).decode()}],
    )
