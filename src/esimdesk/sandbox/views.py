"""The sandbox provider's hosted payment page (what Stripe Checkout would be)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from esimdesk.core.errors import DomainError, NotFound
from esimdesk.payments import services as payments
from esimdesk.payments.models import Payment
from esimdesk.sandbox.models import SandboxRecord
from esimdesk.sandbox.payment import DECLINE_REASONS, TEST_CARDS


def sandbox_pay(request: HttpRequest, reference: str) -> HttpResponse:
    """The sandbox provider's hosted payment page (what Stripe Checkout would be)."""
    try:
        payment = payments.sandbox_payment_by_reference(reference)
    except NotFound as error:
        raise Http404(str(error.message)) from error
    if request.method == "POST":
        decline_code = request.POST.get("decline_code", "card_declined")
        card = request.POST.get("card", "4242")
        try:
            payments.complete_sandbox_reference(
                reference=reference, outcome=request.POST.get("outcome", ""),
                decline_code=decline_code if decline_code in DECLINE_REASONS
                else "card_declined",
                card=card if card in TEST_CARDS else "4242",
                save_card=request.POST.get("save_card") == "on")
        except DomainError as error:
            messages.error(request, str(error.message))
            return redirect("sandbox_pay", reference=reference)
        return redirect("portal:payment_return", payment_id=payment.public_id)
    record = SandboxRecord.objects.filter(reference=reference).first()
    return render(request, "sandbox/pay.html", {
        "payment": payment, "order": payment.order, "reasons": DECLINE_REASONS.items(),
        "cards": TEST_CARDS.items(), "wants_saved": bool(record and record.wants_saved),
        "open": payment.status == Payment.Status.PENDING and record is not None
        and record.status == "open",
    })
