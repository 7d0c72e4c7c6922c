"""Top up an eSIM, change its plan: the choice pages. Paying goes through the checkout
page, which prices with the same function as the API (``orders.services.price_lines``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from esimdesk.catalog import queries as catalog
from esimdesk.core import clock
from esimdesk.core.errors import DomainError, NotFound
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.orders import plan_change
from esimdesk.orders import services as orders
from esimdesk.orders.lines import LineRequest
from esimdesk.portal.views.common import current_currency, to_the_pool
from esimdesk.portal.views.esims import renewal_options
from esimdesk.subscriptions import changes
from esimdesk.subscriptions.queries import service_for


def _own(request: HttpRequest, iccid: str) -> Esim:
    try:
        return esims.get_for_owner(user=request.user, iccid=iccid)
    except NotFound as error:
        raise Http404(str(error.message)) from error


@login_required
def esim_top_up(request: HttpRequest, iccid: str) -> HttpResponse:
    esim = _own(request, iccid)
    if (pooled := to_the_pool(request, esim)) is not None:
        return pooled
    service = service_for([esim])[esim.pk]
    currency = current_currency(request)
    period = (changes.topped_up_period(service.subscription)
              if service.subscription is not None and esim.status != Esim.Status.REVOKED
              else None)
    offers = []
    if period is not None:
        offers = [(product, product.price_in(currency),
                   period.ends_at + dt.timedelta(days=product.extends_validity_days)
                   if period.ends_at is not None else None)
                  for product in catalog.top_ups_for(period.plan)]
    return render(request, "portal/top_up.html", {
        "esim": esim, "service": service, "period": period, "offers": offers,
        "currency": currency, "now": clock.now(),
    })


@login_required
def esim_change_plan(request: HttpRequest, iccid: str) -> HttpResponse:
    esim = _own(request, iccid)
    if (pooled := to_the_pool(request, esim)) is not None:
        return pooled
    service = service_for([esim])[esim.pk]
    if service.subscription is None or esim.status == Esim.Status.REVOKED:
        messages.error(request, _("This eSIM can no longer be renewed."))
        return redirect("portal:esim", iccid=esim.iccid)
    currency = current_currency(request)
    period = changes.running_period(service.subscription)
    paid = plan_change.paid_for(period) if period is not None else None
    paid_in = paid.currency if paid is not None and paid.currency != currency else ""
    if paid_in:
        currency = paid_in  # a change now is priced in the currency the plan was paid in
    rows: list[dict[str, Any]] = []
    # the plan running now is no change: offer only the others
    current_plan_id = period.plan_id if period is not None else service.subscription.plan_id
    for plan in renewal_options(service.subscription.plan):
        if plan.pk == current_plan_id:
            continue
        row: dict[str, Any] = {"plan": plan, "price": plan.price_in(currency), "now": None,
                               "now_error": ""}
        if row["price"] is not None and period is not None:
            try:
                [row["now"]] = orders.price_lines(user=request.user, currency=currency, lines=[
                    LineRequest(type="plan_change", plan=plan.code, iccid=esim.iccid,
                                when="now")])
            except DomainError as error:
                row["now_error"] = error.message
        rows.append(row)
    return render(request, "portal/change_plan.html", {
        "esim": esim, "service": service, "period": period, "rows": rows,
        "currency": currency, "paid_in": paid_in, "now": clock.now(),
        "policy": plan_change.policy(),
    })
