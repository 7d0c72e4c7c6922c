"""Where payers come back from a provider."""

from __future__ import annotations

import contextlib

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from esimdesk.payments import services as payments
from esimdesk.payments.models import Payment
from esimdesk.payments.providers.base import ProviderError
from esimdesk.portal.views.guest import guest_orders


def payment_return(request: HttpRequest, payment_id: str) -> HttpResponse:
    """The provider sends the payer's browser here. Nothing in the URL is trusted: esimdesk
    asks the provider how the payment stands, then shows the order."""
    payment = Payment.objects.select_related("order").filter(public_id=payment_id).first()
    if payment is None:
        raise Http404
    # If the provider cannot be asked now, its webhook or the reconciliation sweep will tell;
    # the order page says it is waiting meanwhile.
    with contextlib.suppress(ProviderError):
        payments.reconcile(payment=payment)
    order = payment.order
    if order.number in guest_orders(request) and request.user.pk != order.user_id:
        return redirect("portal:guest_order", number=order.number)
    return redirect("portal:order", number=order.number)
