from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from esimdesk.core.errors import NotFound
from esimdesk.esims.models import Reissue
from esimdesk.orders.kinds import registry as kinds
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


# What the traveller sees while a new eSIM is made: one step after another, in this order.
ACTIVATION_STEPS = ("preparing", "ready", "installed", "active")
_STEP_OF_ESIM = {"ready": "ready", "installed": "installed", "in_use": "active"}


def activation_of(order: Order) -> list[dict[str, Any]]:
    """Per new-eSIM line: the step reached (``preparing`` → ``ready`` to install →
    ``installed`` → ``active``; ``attention`` when activation failed; ``suspended``,
    ``revoked``), and the eSIM once there is one (following reissues). Read by the order
    page, its live JSON and the API."""
    steps = []
    for line in order.lines.all():
        if not kinds.kind_for(line.type).makes_esim:
            continue
        esim = line.esim
        while esim is not None and esim.status == "revoked":  # follow reissues
            reissue = (Reissue.objects.filter(old_esim=esim, new_esim__isnull=False)
                       .select_related("new_esim").order_by("-pk").first())
            if reissue is None:
                break
            esim = reissue.new_esim
        if esim is not None:
            step = _STEP_OF_ESIM.get(esim.status, esim.status)  # suspended, revoked
        elif order.status == Order.Status.FULFILMENT_FAILED:
            step = "attention"
        else:
            step = "preparing"
        steps.append({"line": line.pk, "step": step,
                      "iccid": esim.iccid if esim is not None else None})
    return steps
