"""Placing an order and starting its payment: the one use case behind the portal's checkout,
the API's orders and plan changes, a group's orders, seats and top-ups, paying an order
again, and every future caller. Callers parse their input and render the answer; all the
rest, the Idempotency-Key included, is here.

A payment starts in three steps, so that no provider call runs inside a transaction or while
a row is locked (on SQLite, while the whole database is locked for writing):

1. one transaction records the order (or, paying again, checks it under its row lock) and a
   ``starting`` payment, together with the claim of the Idempotency-Key;
2. the provider's ``start`` runs with no transaction open;
3. a second transaction records the answer: the payment becomes ``pending`` with the
   provider's reference and next action, and older attempts still pending are cancelled
   (superseded); or, when the provider refused or did not answer, the payment ``failed``.

An order that needs no provider is settled in step 1: a total of zero (a plan change the
credit covers), or a settling method such as an organisation's invoice (``methods``).

One tap: an order paid with a *saved method* (``saved_method``, the id of one of the user's
``SavedMethod`` rows) takes the same three steps, with the provider's ``charge_saved`` (the
off-session charge auto-renew makes) in step 2 instead of ``start``, under the payment's own
id, which providers treat as the charge's idempotency key. Step 3 records the charge's
reference and applies its outcome through ``services.apply_event``, the exactly-once path of
every provider message. When the provider wants the payer (3-D Secure, a declined card), the
same order gets a new attempt on the provider's hosted page (``pay_order``'s path), and the
answer is that attempt, with its redirect: never a second order. An outcome the provider did
not give (timeout) keeps the order and its ``starting`` payment and answers 503; a retry with
the Idempotency-Key charges that same payment again (same id: never a second charge).

Crashes and duplicates:

- a retry with the same Idempotency-Key while the first request is between steps waits (up
  to ``WAIT_SECONDS``) for the first answer and replays it, as it did when the whole checkout
  was one transaction;
- a refused start of an order this request created withdraws that order (it is deleted with
  its failed payment): nothing is left behind, and a retry with the key places it afresh;
  a refused start of an order paid again leaves it awaiting payment, the attempt failed;
- a process killed between the steps leaves a ``starting`` payment: the reconciliation
  sweep fails it after ``STARTING_TIMEOUT``, and a retry with the key after that long takes
  the work over with a new attempt for the same order.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from esimdesk.core import audit, clock, idempotency, metrics
from esimdesk.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from esimdesk.core.idempotency import StoredResponse
from esimdesk.core.money import check_currency
from esimdesk.orders import services as orders
from esimdesk.orders.lines import LineRequest
from esimdesk.orders.models import NO_PAYMENT, Order
from esimdesk.payments import methods, registry, saved_methods
from esimdesk.payments import services as payments
from esimdesk.payments.models import PAYMENT_STATES, Payment, SavedMethod, new_payment_id
from esimdesk.payments.providers.base import (
    Device,
    PaymentProvider,
    ProviderError,
    RetryableProviderError,
    StartRequest,
    StartResult,
)
from esimdesk.payments.providers.base import SavedMethod as ProviderSavedMethod
from esimdesk.payments.services import latest_payment

logger = logging.getLogger(__name__)
# Longer than any provider's call may take: a payment starting for longer was abandoned.
STARTING_TIMEOUT = dt.timedelta(minutes=10)
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Placed:
    """The order, and the payment started for it (None when settled without one)."""

    order: Order
    payment: Payment | None


@dataclass(frozen=True)
class Once:
    """A request's Idempotency-Key (``key`` None: none sent) and how the caller answers:
    ``render`` a result, ``refuse`` a ``DomainError``, each as ``(status, json body)``."""

    scope: str
    key: str | None
    fingerprint: str
    render: Callable[[Placed], tuple[int, Any]]
    refuse: Callable[[DomainError], tuple[int, Any]]


@dataclass(frozen=True)
class _Attempt:
    """What step 1 made, and the provider call still to make (none when settled)."""

    placed: Placed
    adapter: PaymentProvider | None = None
    request: StartRequest | None = None
    new_order: bool = False
    #: one tap: the saved method step 2 charges off-session (instead of ``start``)
    saved: SavedMethod | None = None
    device: Device = "desktop"
    payer_ip: str = ""


Begin = Callable[[dict[str, Any]], _Attempt]


# -- the use case ---------------------------------------------------------------------------


def place_order(*, user: Any, lines: list[LineRequest], currency: str, method: str,
                device: Device = "desktop", save_method: bool = False, payer_ip: str = "",
                expected_total: int | None = None, expected_refund: int | None = None,
                saved_method: int | None = None) -> Placed:
    """Create the order and start paying it with ``method`` (a provider's name, or a
    settling method such as ``invoice``). An order whose total is zero is settled without a
    payment (``method`` may then be ``""``). ``expected_total`` / ``expected_refund``: the
    amounts the payer saw (``orders.services.create_order``). ``saved_method``: charge that
    saved method of the user off-session instead (``method`` is then not used; see "One
    tap" above). Refusals raise ``DomainError``: the provider's as 503
    ``provider_unavailable`` or 502 ``provider_refused``."""
    return _place(_new_order(user=user, lines=lines, currency=currency, method=method,
                             device=device, save_method=save_method, payer_ip=payer_ip,
                             expected_total=expected_total, expected_refund=expected_refund,
                             saved_method=saved_method))


def place_order_once(*, once: Once, user: Any, lines: list[LineRequest], currency: str,
                     method: str, device: Device = "desktop", save_method: bool = False,
                     payer_ip: str = "", expected_total: int | None = None,
                     expected_refund: int | None = None,
                     saved_method: int | None = None) -> StoredResponse:
    """``place_order`` once per Idempotency-Key: the first answer (refusals included, but
    not a provider's passing failure) is replayed for the same key."""
    return _once(once, _new_order(user=user, lines=lines, currency=currency, method=method,
                                  device=device, save_method=save_method, payer_ip=payer_ip,
                                  expected_total=expected_total,
                                  expected_refund=expected_refund, saved_method=saved_method))


def pay_order(*, user: Any, order: Order, method: str, device: Device = "desktop",
              save_method: bool = False, payer_ip: str = "") -> Payment:
    """Start a new payment attempt for ``user``'s order still awaiting payment (after a
    decline, or to switch method). Older attempts still pending are cancelled once the new
    one has started; should the payer complete one anyway, the first success pays the order
    and a later one is refunded."""
    placed = _place(_again(user=user, order=order, method=method, device=device,
                           save_method=save_method, payer_ip=payer_ip))
    assert placed.payment is not None
    return placed.payment


def pay_order_once(*, once: Once, user: Any, order: Order, method: str,
                   device: Device = "desktop", save_method: bool = False,
                   payer_ip: str = "") -> StoredResponse:
    """``pay_order`` once per Idempotency-Key."""
    return _once(once, _again(user=user, order=order, method=method, device=device,
                              save_method=save_method, payer_ip=payer_ip))


def settle_without_payment(*, user: Any, order: Order) -> Order:
    """Mark a zero-total order paid with no payment at all, and queue its fulfilment: no
    ``Payment`` row, ``paid_provider`` ``none``, and an ``order.settled_without_payment``
    audit row saying who placed it."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.total != 0:
            raise Conflict(_("This order needs paying."), code="order_not_free",
                           detail={"total": locked.total})
        if locked.status == Order.Status.AWAITING_PAYMENT:
            audit.record_by_user(user=user, action="order.settled_without_payment", obj=locked,
                                 after={"total": 0, "currency": locked.currency,
                                        "credit": sum(line.credit
                                                      for line in locked.lines.all())},
                                 reason="the credit covers the whole price")
        return orders.mark_paid(order_id=locked.pk, provider=NO_PAYMENT, method="",
                                actor="esimdesk")


# -- step 1: record the order and a starting payment ----------------------------------------


def _new_order(*, user: Any, lines: list[LineRequest], currency: str, method: str,
               device: Device, save_method: bool, payer_ip: str, expected_total: int | None,
               expected_refund: int | None, saved_method: int | None = None) -> Begin:
    def begin(left: dict[str, Any]) -> _Attempt:
        taken_over = Order.objects.filter(pk=left.get("order"), user_id=user.pk).first()
        if taken_over is not None:  # an earlier run of this request made it, then stopped
            return _again(user=user, order=taken_over, method=method, device=device,
                          save_method=save_method, payer_ip=payer_ip, resuming=True,
                          saved_method=saved_method)(left)
        code = check_currency(currency)
        if saved_method is not None:
            return _new_one_tap(user=user, lines=lines, currency=code, method_id=saved_method,
                                device=device, payer_ip=payer_ip,
                                expected_total=expected_total, expected_refund=expected_refund)
        settling = methods.settling(method)
        if settling is not None:
            settling.check(user=user, lines=lines)
            order = orders.create_order(user=user, lines=lines, currency=code,
                                        expected_total=expected_total,
                                        expected_refund=expected_refund)
            return _Attempt(Placed(settling.settle(user=user, order=order, lines=lines), None))
        # A method named is checked even if the order turns out free; "" chooses none.
        adapter = registry.get(method) if method else None
        order = orders.create_order(user=user, lines=lines, currency=code,
                                    expected_total=expected_total,
                                    expected_refund=expected_refund)
        if order.total == 0:
            return _Attempt(Placed(settle_without_payment(user=user, order=order), None))
        if adapter is None:
            adapter = registry.get(method)  # refused: a paid order needs a method
        _check_currency(adapter, code, detail={
            "available": [p.name for p in registry.available_for(code)]})
        return _record_start(user=user, order=order, adapter=adapter, device=device,
                             save_method=save_method, payer_ip=payer_ip, new_order=True)

    return begin


def _new_one_tap(*, user: Any, lines: list[LineRequest], currency: str, method_id: int,
                 device: Device, payer_ip: str, expected_total: int | None,
                 expected_refund: int | None) -> _Attempt:
    """Step 1 of a one-tap order: the method is checked before anything is made."""
    saved, adapter = saved_methods.chargeable(user=user, method_id=method_id,
                                              currency=currency)
    order = orders.create_order(user=user, lines=lines, currency=currency,
                                expected_total=expected_total, expected_refund=expected_refund)
    if order.total == 0:
        return _Attempt(Placed(settle_without_payment(user=user, order=order), None))
    return _record_charge(order=order, adapter=adapter, saved=saved, device=device,
                          payer_ip=payer_ip, new_order=True)


def _again(*, user: Any, order: Order, method: str, device: Device, save_method: bool,
           payer_ip: str, resuming: bool = False, saved_method: int | None = None) -> Begin:
    def begin(left: dict[str, Any]) -> _Attempt:
        saved = None
        if saved_method is not None:
            saved, adapter = saved_methods.chargeable(user=user, method_id=saved_method,
                                                      currency=order.currency)
        else:
            adapter = registry.get(method)
        _check_currency(adapter, order.currency, detail={})
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.user_id != user.pk:
            raise NotFound(code="unknown_order")
        unanswered = None
        if resuming:
            if saved is not None:
                # A charge whose answer never came is asked again under its own id, which
                # the provider treats as the same charge: never a second one.
                unanswered = (Payment.objects.select_for_update()
                              .filter(order=locked, status=Payment.Status.STARTING,
                                      off_session=True, provider=adapter.name)
                              .order_by("-pk").first())
            _fail_abandoned(locked, keep=unanswered)
            if locked.status != Order.Status.AWAITING_PAYMENT:  # paid meanwhile
                return _Attempt(Placed(locked, latest_payment(locked)))
        if locked.status != Order.Status.AWAITING_PAYMENT:
            raise Conflict(_("This order does not need paying."), code="order_not_payable",
                           detail={"status": locked.status})
        if saved is not None:
            return _record_charge(order=locked, adapter=adapter, saved=saved, device=device,
                                  payer_ip=payer_ip, new_order=False, payment=unanswered)
        return _record_start(user=user, order=locked, adapter=adapter, device=device,
                             save_method=save_method, payer_ip=payer_ip, new_order=False)

    return begin


def _check_currency(adapter: PaymentProvider, currency: str, *, detail: dict[str, Any]) -> None:
    if not adapter.supports(currency):
        raise ValidationFailed(_("That payment method does not accept this currency."),
                               code="currency_not_supported_by_provider",
                               detail={"provider": adapter.name, "currency": currency, **detail})


def _record_start(*, user: Any, order: Order, adapter: PaymentProvider, device: Device,
                  save_method: bool, payer_ip: str, new_order: bool) -> _Attempt:
    public_id = new_payment_id()
    # The reference is the provider's once it answers; until then the payment's own id holds
    # its place (unique, and never another payment's reference).
    payment = Payment.objects.create(
        public_id=public_id, order=order, provider=adapter.name, provider_reference=public_id,
        amount=order.total, currency=order.currency, device=device,
        status=Payment.Status.STARTING)
    request = StartRequest(
        payment_id=public_id, amount=order.total_money, description=order.number,
        return_url=_url("portal:payment_return", public_id),
        cancel_url=_url("portal:order", order.number),
        notify_url=_url("payment_webhook", adapter.name), device=device,
        customer_email=user.email or "", customer_ref=f"user-{user.pk}", payer_ip=payer_ip,
        save_method=save_method and adapter.supports_saved_methods, language=user.language)
    return _Attempt(Placed(order, payment), adapter, request, new_order)


def _record_charge(*, order: Order, adapter: PaymentProvider, saved: SavedMethod,
                   device: Device, payer_ip: str, new_order: bool,
                   payment: Payment | None = None) -> _Attempt:
    """Step 1 of a one-tap payment: a ``starting`` off-session payment (or the one an
    earlier run left unanswered, charged again under the same id)."""
    if payment is None:
        public_id = new_payment_id()
        payment = Payment.objects.create(
            public_id=public_id, order=order, provider=adapter.name,
            provider_reference=public_id, amount=order.total, currency=order.currency,
            device=device, off_session=True, method=saved.label[:100],
            status=Payment.Status.STARTING)
    return _Attempt(Placed(order, payment), adapter, None, new_order, saved=saved,
                    device=device, payer_ip=payer_ip)


def _fail_abandoned(order: Order, *, keep: Payment | None = None) -> None:
    """Fail the starting payments of ``order`` an earlier, stopped run left behind (but
    ``keep``, which this run charges again)."""
    for payment in Payment.objects.select_for_update().filter(
            order=order, status=Payment.Status.STARTING).exclude(
            pk=keep.pk if keep is not None else None).order_by("pk"):
        fail_starting(payment=payment, code="start_interrupted",
                      message="the request starting it stopped before the provider answered",
                      actor_type="system", actor="esimdesk")


def fail_starting(*, payment: Payment, code: str, message: str, actor_type: str,
                  actor: str) -> None:
    """Mark a starting payment failed (the caller holds its row lock)."""
    payment.failure_code = code[:60]
    payment.failure_message = message[:255]
    _move(payment, Payment.Status.FAILED, actor_type=actor_type, actor=actor,
          reason=message[:500])


# -- steps 2 and 3: call the provider, record its answer ------------------------------------


def _place(begin: Begin) -> Placed:
    with transaction.atomic():
        attempt = begin({})
    return _finish(attempt)


def _finish(attempt: _Attempt) -> Placed:
    """Steps 2 and 3. Raises the provider's refusal as a ``DomainError`` once recorded."""
    if attempt.saved is not None:
        return _charge_saved(attempt)
    if attempt.adapter is None or attempt.request is None:
        return attempt.placed
    payment = attempt.placed.payment
    assert payment is not None
    try:
        started = attempt.adapter.start(attempt.request)
    except ProviderError as error:
        refusal = _refusal(attempt.adapter, error)
        _record_failure(attempt, refusal)
        raise refusal from error
    return _record_started(attempt, started)


def _refusal(adapter: PaymentProvider, error: ProviderError) -> DomainError:
    """The provider's refusal as a clear answer: the payer can try again or choose another
    method."""
    if isinstance(error, RetryableProviderError):
        logger.warning("%s unavailable at start: %s", adapter.name, error)
        return DomainError(_("The payment service is not answering. Please try again in a "
                             "minute, or choose another way to pay."),
                           code="provider_unavailable", status=503,
                           detail={"provider": adapter.name})
    logger.warning("%s refused to start a payment: %s (%s)", adapter.name, error, error.code)
    return DomainError(_("The payment service refused this payment. Please choose another "
                         "way to pay."), code="provider_refused", status=502,
                       detail={"provider": adapter.name, "reason": error.code})


def _record_started(attempt: _Attempt, started: StartResult) -> Placed:
    user = attempt.placed.order.user
    assert attempt.placed.payment is not None and attempt.adapter is not None
    with transaction.atomic():
        # Payment, then order, then its other payments: the order webhooks lock them in.
        payment = Payment.objects.select_for_update().get(pk=attempt.placed.payment.pk)
        payment.provider_reference = started.provider_reference
        payment.next_action = started.next_action.as_dict()
        too_late = payment.status != Payment.Status.STARTING
        if too_late:
            # Swept as abandoned while the provider took its time: keep what it said, so
            # its later messages are recognised, but the payer must start again.
            payment.save(update_fields=["provider_reference", "next_action"])
        else:
            order = Order.objects.select_for_update().get(pk=payment.order_id)
            for previous in Payment.objects.select_for_update().filter(
                    order=order, status=Payment.Status.PENDING).order_by("pk"):
                _move(previous, Payment.Status.CANCELLED, actor_type="provider",
                      actor="esimdesk", reason="superseded by a new payment attempt")
            PAYMENT_STATES.check(payment.status, Payment.Status.PENDING)
            payment.status = Payment.Status.PENDING
            payment.updated_at = clock.now()
            payment.save()
            audit.record_by_user(user=user, action="payment.start", obj=payment,
                                 after={"order": order.number, "provider": payment.provider,
                                        "amount": payment.amount, "currency": payment.currency})
    if too_late:
        raise _refusal(attempt.adapter, RetryableProviderError("answered too late"))
    return Placed(order, payment)


def _move(payment: Payment, to: str, *, actor_type: str, actor: str, reason: str) -> None:
    """One audited step of the payment state machine (the caller holds the row lock)."""
    PAYMENT_STATES.check(payment.status, to)
    before = payment.status
    payment.status = to
    payment.updated_at = clock.now()
    payment.save()
    audit.record(action="payment.status", obj=payment, actor_type=actor_type, actor=actor,
                 before={"status": before}, after={"status": to}, reason=reason)


def _record_failure(attempt: _Attempt, refusal: DomainError) -> None:
    assert attempt.placed.payment is not None
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=attempt.placed.payment.pk)
        if payment.status != Payment.Status.STARTING:
            return
        metrics.count_on_commit(metrics.PAYMENTS.labels(payment.provider, "failed_to_start").inc)
        if attempt.new_order:
            # Nothing to pay yet and nobody told: withdraw the order, as if never placed.
            order = Order.objects.select_for_update().get(pk=payment.order_id)
            audit.record(action="order.withdrawn", obj=order, actor_type="provider",
                         actor=payment.provider, before={"number": order.number},
                         reason=f"the payment could not be started: {refusal.code}")
            payment.delete()
            order.delete()
            return
        fail_starting(payment=payment, code=refusal.code, message=str(refusal.message),
                      actor_type="provider", actor=payment.provider)


def _charge_saved(attempt: _Attempt) -> Placed:
    """Steps 2 and 3 of a one-tap payment: charge off-session, record the charge and apply
    its outcome; when the provider wants the payer, a hosted-page attempt for the same
    order."""
    adapter, saved, payment = attempt.adapter, attempt.saved, attempt.placed.payment
    assert adapter is not None and saved is not None and payment is not None
    order = attempt.placed.order
    try:
        event = adapter.charge_saved(
            payment_id=payment.public_id, amount=order.total_money, description=order.number,
            customer_ref=f"user-{order.user_id}",
            method=ProviderSavedMethod(token=saved.token, label=saved.label,
                                       customer_token=saved.customer_token))
    except RetryableProviderError as error:
        # The charge may have happened: keep the order and the starting payment, so the
        # retry asks for the same charge again. Nothing is withdrawn.
        raise _refusal(adapter, error) from error
    except ProviderError as error:  # refused before charging (e.g. a token it forgot)
        logger.warning("%s refused an off-session charge: %s (%s)", adapter.name, error,
                       error.code)
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            if locked.status == Payment.Status.STARTING:
                fail_starting(payment=locked, code=error.code, message=str(error),
                              actor_type="provider", actor=adapter.name)
        return _hosted_instead(attempt, order)
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        locked.provider_reference = event.provider_reference  # its messages are known by it
        if locked.status != Payment.Status.STARTING:  # swept as abandoned meanwhile
            logger.error("one-tap charge %s answered after it was given up: %s",
                         locked.public_id, event.type)
            locked.save(update_fields=["provider_reference"])
        else:
            PAYMENT_STATES.check(locked.status, Payment.Status.PENDING)
            locked.status = Payment.Status.PENDING
            locked.updated_at = clock.now()
            locked.save()
            audit.record_by_user(user=order.user, action="payment.start", obj=locked,
                                 after={"order": order.number, "provider": locked.provider,
                                        "amount": locked.amount, "currency": locked.currency,
                                        "off_session": True, "method": locked.method})
    outcome = payments.apply_event(provider=adapter.name, event=event)
    logger.info("one-tap charge %s: %s", payment.public_id, outcome)
    payment.refresh_from_db()
    order.refresh_from_db()
    if payment.status == Payment.Status.SUCCEEDED:
        return Placed(order, payment)
    if order.status != Order.Status.AWAITING_PAYMENT:
        return Placed(order, latest_payment(order))
    return _hosted_instead(attempt, order, declined=payment)


def _hosted_instead(attempt: _Attempt, order: Order,
                    declined: Payment | None = None) -> Placed:
    """The provider wants the payer: a new attempt on its hosted page, same order. If that
    cannot start either, the answer is the declined attempt (the order awaits payment)."""
    assert attempt.adapter is not None
    try:
        return _place(_again(user=order.user, order=order, method=attempt.adapter.name,
                             device=attempt.device, save_method=False,
                             payer_ip=attempt.payer_ip))
    except DomainError as error:
        if declined is None:
            raise
        logger.warning("no hosted page after a declined one-tap charge: %s", error.code)
        return Placed(order, declined)


# -- once per Idempotency-Key ---------------------------------------------------------------


def _once(once: Once, begin: Begin) -> StoredResponse:
    if not once.key:
        try:
            return StoredResponse(*once.render(_place(begin)), replayed=False)
        except DomainError as error:
            return StoredResponse(*once.refuse(error), replayed=False)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            return _place_once(once, once.key, begin)
        except idempotency.Busy:
            # The first request with this key is talking to the provider: wait for its answer.
            if time.monotonic() >= deadline:
                raise Conflict(_("This request is still being processed. Please try again "
                                 "in a moment."), code="request_in_progress") from None
            time.sleep(POLL_SECONDS)


def _place_once(once: Once, key: str, begin: Begin) -> StoredResponse:
    with transaction.atomic():
        claimed = idempotency.claim(scope=once.scope, key=key, fingerprint_=once.fingerprint,
                                    lease=STARTING_TIMEOUT)
        if isinstance(claimed, StoredResponse):
            return claimed
        try:
            with transaction.atomic():
                attempt = begin(claimed.left)
        except DomainError as error:  # refused before anything was made: keep the refusal
            return idempotency.answer(claimed, *once.refuse(error))
        if attempt.adapter is None:  # settled: the answer is known now
            return idempotency.answer(claimed, *once.render(attempt.placed))
        idempotency.note(claimed, {"order": attempt.placed.order.pk})
    try:
        placed = _finish(attempt)
    except DomainError as error:
        status, body = once.refuse(error)
        with transaction.atomic():
            if attempt.new_order and attempt.saved is None:
                idempotency.forget(claimed)  # the order was withdrawn: a retry starts afresh
                return StoredResponse(status, body, replayed=False)
            return idempotency.answer(claimed, status, body)
    with transaction.atomic():
        return idempotency.answer(claimed, *once.render(placed))


def _url(name: str, *args: str) -> str:
    return settings.PUBLIC_URL + reverse(name, args=args)
