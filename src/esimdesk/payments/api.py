"""Orders and payments over the API. Every order answer carries its latest payment, so the
order endpoints live here, above both apps."""


from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from esimdesk.core.api.auth import customer_auth
from esimdesk.core.api.errors import domain_error_body
from esimdesk.core.api.schemas import (
    Currency,
    ErrorOut,
    IdempotencyKey,
    ObjectId,
    OrderNumber,
    Pagination,
    PublicId,
)
from esimdesk.core.errors import NotFound
from esimdesk.core.http import client_ip
from esimdesk.core.idempotency import fingerprint, run_once
from esimdesk.core.money import check_currency
from esimdesk.orders import queries as order_queries
from esimdesk.orders.receipts import receipt_filename, render_receipt_pdf
from esimdesk.orders.services import LineRequest
from esimdesk.payments import checkout, refund_policy, registry, saved_methods, services
from esimdesk.payments.credit_notes import credit_note_filename, render_credit_note_pdf
from esimdesk.payments.models import Refund
from esimdesk.payments.schemas import (
    MethodOut,
    OrderIn,
    OrderOut,
    PayAgainIn,
    PaymentOut,
    SandboxCompleteIn,
    order_out,
    payment_out,
)

router = Router(tags=["orders"], auth=customer_auth)
# An operation that honours Idempotency-Key answers a refusal as a stored answer (replayed
# on a retry), so every refusal it can store is declared: 400, 404 (unknown plan, eSIM,
# order, payment), 409 (state), 422 (refused input) and what the payment provider may answer
# when a payment starts: 502 provider_refused, 503 provider_unavailable.
REPLAYED = {status: ErrorOut for status in (400, 404, 409, 422, 502, 503)}


def once(request: HttpRequest, scope: str,
         render: Callable[[checkout.Placed], tuple[int, Any]]) -> checkout.Once:
    """The request's Idempotency-Key for a ``checkout`` use case, answered with ``render``."""
    return checkout.Once(
        scope=f"user:{request.auth.pk}:{scope}",  # type: ignore[attr-defined]
        key=request.headers.get("Idempotency-Key"),
        fingerprint=fingerprint(request.method or "", request.path, request.body),
        render=render, refuse=lambda error: (error.status, domain_error_body(error)))


def _idempotent(request: HttpRequest, scope: str, produce: Any) -> Status[Any]:
    stored = run_once(
        scope=f"user:{request.auth.pk}:{scope}",  # type: ignore[attr-defined]
        key=request.headers.get("Idempotency-Key"),
        fingerprint_=fingerprint(request.method or "", request.path, request.body),
        produce=produce,
        on_error=lambda error: (error.status, domain_error_body(error)),
    )
    return Status(stored.status, stored.body)


def _device(request: HttpRequest) -> Any:
    return services.device_from_user_agent(request.headers.get("User-Agent", ""))


@router.get("/payments/methods", response={200: list[MethodOut]},
            auth=None, summary="Payment methods for a currency")
def payment_methods(request: HttpRequest, currency: Currency) -> list[dict[str, Any]]:
    """The enabled payment methods that accept ``currency``, in the order to offer them."""
    code = check_currency(currency)
    return [{"provider": p.name, "label": p.display_name,
             "saves_methods": p.supports_saved_methods} for p in registry.available_for(code)]


@router.post("/orders", response={201: OrderOut, **REPLAYED},
             summary="Place an order",
             openapi_extra={"responses": {"201": {"links": {
                 "GetOrder": {"operationId": "esimdesk_payments_api_get_order",
                              "parameters": {"number": "$response.body#/id"}},
                 "PayAgain": {"operationId": "esimdesk_payments_api_pay_again",
                              "parameters": {"number": "$response.body#/id"}},
                 "CompleteSandboxPayment": {
                     "operationId": "esimdesk_payments_api_complete_sandbox",
                     "parameters": {"payment_id": "$response.body#/payment/id"}}}}}})
def create_order(request: HttpRequest, body: OrderIn,
                 idempotency_key: IdempotencyKey = None) -> Status[Any]:
    """Create an order and start its payment. Lines: ``{"type":"new_esim","plan"}``,
    ``{"type":"renewal","iccid","plan"}``, ``{"type":"top_up","iccid","product"}`` (see
    ``GET /esims/{iccid}/top-ups``). A renewal for low data,
    ``{"type":"renewal","iccid","plan","starts":"when_data_runs_out"}``, starts the moment
    the current plan's data runs out (the rest of that plan's days end then), or when it
    ends if the data lasts. The answer's ``payment.next_action`` says what the
    payer does next (``redirect`` to a hosted page, ``qr`` to scan, or ``none``).

    One tap: with ``payment_method`` (a saved method's id) the order is charged off-session
    at once, and ``payment.status`` is ``succeeded``; when the provider wants the payer
    (3-D Secure, a declined card) ``payment`` is a new attempt for the same order whose
    ``next_action`` redirects to the provider's page (``payments`` lists the declined one).

    Send an ``Idempotency-Key`` header and reuse it when you retry: the same key always
    answers with the first response and never creates a second order."""
    user = request.auth  # type: ignore[attr-defined]

    def render(placed: checkout.Placed) -> tuple[int, Any]:
        return 201, order_out(order_queries.order_of(user, placed.order.number), placed.payment)

    stored = checkout.place_order_once(
        once=once(request, "orders.create", render), user=user, currency=body.currency,
        method=body.provider, device=body.device or _device(request),
        save_method=body.save_method, payer_ip=client_ip(request),
        saved_method=body.payment_method,
        lines=[LineRequest(type=line.type, plan=line.plan, iccid=line.iccid,
                           product=line.product, starts=line.starts) for line in body.lines])
    return Status(stored.status, stored.body)


@router.get("/orders", response={200: list[OrderOut]}, summary="Transaction history")
@paginate(Pagination, page_size=20)
def list_orders(request: HttpRequest) -> list[dict[str, Any]]:
    """Every order of the signed-in customer, newest first, with amount, currency, date,
    payment method and status."""
    return [order_out(o) for o in order_queries.orders_of(request.auth)]  # type: ignore[attr-defined]


@router.get("/orders/{number}", response={200: OrderOut, 404: ErrorOut}, summary="One order")
def get_order(request: HttpRequest, number: OrderNumber) -> dict[str, Any]:
    return order_out(order_queries.order_of(request.auth, number))  # type: ignore[attr-defined]


@router.get("/orders/{number}/receipt", url_name="order_receipt",
            response={200: None, 404: ErrorOut}, summary="Receipt (PDF)",
            openapi_extra={"responses": {"200": {"description": "the receipt", "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}})
def get_receipt(request: HttpRequest, number: OrderNumber) -> HttpResponse:
    """The PDF receipt of a paid order, in the customer's language."""
    order = order_queries.order_of(request.auth, number)  # type: ignore[attr-defined]
    if not hasattr(order, "receipt"):
        raise NotFound(code="no_receipt_yet")
    response = HttpResponse(render_receipt_pdf(order), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{receipt_filename(order)}"'
    return response


@router.post("/orders/{number}/payments",
             response={201: PaymentOut, **REPLAYED},
             summary="Pay again")
def pay_again(request: HttpRequest, number: OrderNumber, body: PayAgainIn,
              idempotency_key: IdempotencyKey = None) -> Status[Any]:
    """Start a new payment attempt for an order still awaiting payment (after a decline,
    or to switch method). Honours ``Idempotency-Key``."""
    user = request.auth  # type: ignore[attr-defined]

    def render(placed: checkout.Placed) -> tuple[int, Any]:
        assert placed.payment is not None  # paying again always starts a payment
        return 201, payment_out(placed.payment)

    stored = checkout.pay_order_once(
        once=once(request, f"orders.{number}.pay", render), user=user,
        order=order_queries.order_of(user, number), method=body.provider,
        device=body.device or _device(request), save_method=body.save_method,
        payer_ip=client_ip(request))
    return Status(stored.status, stored.body)


@router.post("/payments/sandbox/{payment_id}/complete",
             response={200: PaymentOut, **REPLAYED}, tags=["sandbox"],
             summary="Finish a sandbox payment")
def complete_sandbox(request: HttpRequest, payment_id: PublicId, body: SandboxCompleteIn,
                     idempotency_key: IdempotencyKey = None) -> Status[Any]:
    """Approve or decline a sandbox payment, as its hosted page would. Only when the sandbox
    provider is enabled. Completing the same payment again changes nothing. An approval keeps
    the card (listed under ``GET /payments/saved-methods``) when the order was placed with
    ``save_method``, unless ``save_card`` says otherwise."""
    user = request.auth  # type: ignore[attr-defined]

    def produce() -> tuple[int, Any]:
        payment = services.complete_sandbox_payment(user=user, payment_id=payment_id,
                                                    outcome=body.outcome,
                                                    decline_code=body.decline_code,
                                                    card=body.card, save_card=body.save_card)
        return 200, payment_out(payment)

    return _idempotent(request, f"sandbox.{payment_id}", produce)


@router.post("/orders/{number}/refund", response={200: OrderOut, **REPLAYED},
             summary="Refund an unused order")
def refund_order(request: HttpRequest, number: OrderNumber,
                 idempotency_key: IdempotencyKey = None) -> Status[Any]:
    """The customer's own refund under the refund policy: a plan never installed or started,
    within the refund window, is refunded in full (``refund_eligible`` says whether it
    applies). The money goes back to the method that paid; the answer lists the refund as
    ``pending`` until the provider confirms. Honours ``Idempotency-Key``."""
    user = request.auth  # type: ignore[attr-defined]

    def produce() -> tuple[int, Any]:
        order = order_queries.order_of(user, number)
        refund_policy.request_customer_refund(user=user, order=order)
        return 200, order_out(order_queries.order_of(user, number))

    return _idempotent(request, f"orders.{number}.refund", produce)


@router.get("/orders/{number}/credit-notes/{refund_id}", url_name="credit_note",
            response={200: None, 404: ErrorOut}, summary="Credit note (PDF)",
            openapi_extra={"responses": {"200": {"description": "the credit note", "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}})
def get_credit_note(request: HttpRequest, number: OrderNumber,
                    refund_id: PublicId) -> HttpResponse:
    order = order_queries.order_of(request.auth, number)  # type: ignore[attr-defined]
    refund = Refund.objects.filter(payment__order=order, public_id=refund_id,
                                   status=Refund.Status.SUCCEEDED).first()
    if refund is None:
        raise NotFound(code="unknown_refund")
    response = HttpResponse(render_credit_note_pdf(refund), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{credit_note_filename(refund)}"'
    return response


class SavedMethodOut(Schema):
    id: int
    provider: str
    label: str
    is_default: bool
    created_at: str


def _saved_out(method: Any) -> dict[str, Any]:
    return {"id": method.pk, "provider": method.provider, "label": method.label,
            "is_default": method.is_default, "created_at": method.created_at.isoformat()}


@router.get("/payments/saved-methods", response={200: list[SavedMethodOut]},
            summary="Saved payment methods")
def list_saved_methods(request: HttpRequest) -> list[dict[str, Any]]:
    """Methods kept for automatic renewals (never card data: a label such as
    "Visa •••• 4242"). Auto-renew tries the default first, then the others."""
    return [_saved_out(m) for m in saved_methods.methods_of(request.auth)]  # type: ignore[attr-defined]


@router.post("/payments/saved-methods/{method_id}/default",
             response={200: SavedMethodOut, 404: ErrorOut},
             summary="Make a saved method the default")
def default_saved_method(request: HttpRequest, method_id: ObjectId) -> dict[str, Any]:
    return _saved_out(saved_methods.make_default(user=request.auth,  # type: ignore[attr-defined]
                                                 method_id=method_id))


@router.delete("/payments/saved-methods/{method_id}", response={204: None, 404: ErrorOut},
               summary="Remove a saved method")
def remove_saved_method(request: HttpRequest, method_id: ObjectId) -> Status[None]:
    saved_methods.remove(user=request.auth, method_id=method_id)  # type: ignore[attr-defined]
    return Status(204, None)
