from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from esimdesk.core.errors import NotFound
from esimdesk.orders.models import Order


def orders_of(user: Any) -> QuerySet[Order]:
    return (Order.objects.filter(user=user).select_related("receipt")
            .prefetch_related("lines__plan", "lines__esim", "lines__product", "lines__period",
                              "payments__refunds")
            .order_by("-created_at", "-id"))


def order_of(user: Any, number: str) -> Order:
    order = orders_of(user).filter(number=number).first()
    if order is None:
        raise NotFound(code="unknown_order", detail={"order": number})
    return order
