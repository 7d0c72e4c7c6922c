"""One tap: an order paid with a saved method, charged off-session through the place-order use
case; when the provider wants the payer, the same order goes to its hosted page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core.errors import DomainError
from esimdesk.core.idempotency import StoredResponse
from esimdesk.orders.models import Order
from esimdesk.orders.services import LineRequest
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.payments.models import Payment, SavedMethod
from esimdesk.payments.providers.base import RetryableProviderError
from esimdesk.sandbox.models import SandboxRecord
from esimdesk.sandbox.payment import SandboxProvider
from esimdesk.subscriptions.models import Period
from tests import builders
from tests.builders import MONTH, TOPUP_1GB, Shop
from tests.conftest import run_tasks
from tests.payments.fakes.stripe import FakeStripe, stripe_fake  # noqa: F401


def card_holder(email: str = "tap@example.com", card: str = "4242") -> tuple[User, Any]:
    """A traveller who bought an eSIM and kept the sandbox card ``card``."""
    user = builders.user(email)
    placed = checkout.place_order(user=user, currency="USD", method="sandbox", save_method=True,
                                  lines=[LineRequest(type="new_esim", plan=MONTH)])
    assert placed.payment is not None
    payments.complete_sandbox_payment(user=user, payment_id=placed.payment.public_id,
                                      outcome="approve", card=card)
    run_tasks()
    esim = placed.order.lines.get().esim
    assert esim is not None
    return user, esim


def renewal(esim: Any) -> list[LineRequest]:
    return [LineRequest(type="renewal", plan=MONTH, iccid=esim.iccid)]


def charges() -> int:
    return SandboxRecord.objects.filter(kind="charge").count()


def test_the_api_completion_keeps_the_card_the_order_asked_to_keep(shop: Shop) -> None:
    user, _esim = card_holder()
    [method] = SavedMethod.objects.filter(user=user)
    assert (method.provider, method.label) == ("sandbox", "Visa •••• 4242")
    other = builders.user("nosave@example.com")
    placed = checkout.place_order(user=other, currency="USD", method="sandbox",
                                  lines=[LineRequest(type="new_esim", plan=MONTH)])
    assert placed.payment is not None
    payments.complete_sandbox_payment(user=other, payment_id=placed.payment.public_id,
                                      outcome="approve")
    assert not SavedMethod.objects.filter(user=other).exists()


def test_renewal_in_one_tap_is_charged_off_session_and_fulfilled(shop: Shop) -> None:
    user, esim = card_holder()
    method = SavedMethod.objects.get(user=user)
    before = charges()

    placed = checkout.place_order(user=user, currency="USD", method="", lines=renewal(esim),
                                  saved_method=method.pk)

    assert placed.payment is not None
    assert placed.payment.status == "succeeded" and placed.payment.off_session
    assert placed.payment.method == "Visa •••• 4242"
    assert placed.order.status == "paid"
    assert charges() == before + 1
    run_tasks()
    placed.order.refresh_from_db()
    assert placed.order.status == "fulfilled"
    assert Period.objects.filter(subscription__esim=esim).count() == 2


def test_top_up_in_one_tap(shop: Shop) -> None:
    user, esim = card_holder()
    method = SavedMethod.objects.get(user=user)
    placed = checkout.place_order(
        user=user, currency="USD", method="", saved_method=method.pk,
        lines=[LineRequest(type="top_up", iccid=esim.iccid, product=TOPUP_1GB)])
    assert placed.payment is not None and placed.payment.status == "succeeded"
    run_tasks()
    placed.order.refresh_from_db()
    assert placed.order.status == "fulfilled"


@pytest.mark.parametrize(("card", "code"), [("3155", "authentication_required"),
                                            ("0341", "card_declined")])
def test_when_the_bank_wants_the_payer_the_same_order_goes_to_the_hosted_page(
        shop: Shop, card: str, code: str) -> None:
    user, esim = card_holder(card=card)
    method = SavedMethod.objects.get(user=user)
    orders_before = Order.objects.count()

    placed = checkout.place_order(user=user, currency="USD", method="", lines=renewal(esim),
                                  saved_method=method.pk)

    assert Order.objects.count() == orders_before + 1
    assert placed.order.status == "awaiting_payment"
    declined, hosted = sorted(placed.order.payments.all(), key=lambda p: p.pk)
    assert (declined.status, declined.off_session, declined.failure_code) == (
        "declined", True, code)
    assert placed.payment == hosted
    assert hosted.status == "pending" and not hosted.off_session
    assert hosted.next_action["type"] == "redirect"
    assert "/pay/sandbox/" in hosted.next_action["url"]
    # The payer confirms on the hosted page: the same order is paid, once.
    payments.complete_sandbox_payment(user=user, payment_id=hosted.public_id, outcome="approve")
    run_tasks()
    placed.order.refresh_from_db()
    assert placed.order.status == "fulfilled"
    assert Payment.objects.filter(order=placed.order, status="succeeded").count() == 1


def test_another_users_method_is_not_found_and_nothing_is_made(shop: Shop) -> None:
    _owner, _esim = card_holder()
    thief, esim = card_holder("thief@example.com")
    theirs = SavedMethod.objects.get(user__email="tap@example.com")
    orders_before = Order.objects.count()
    with pytest.raises(DomainError) as refused:
        checkout.place_order(user=thief, currency="USD", method="", lines=renewal(esim),
                             saved_method=theirs.pk)
    assert (refused.value.status, refused.value.code) == (404, "unknown_saved_method")
    assert Order.objects.count() == orders_before


def test_a_method_whose_provider_cannot_charge_saved_methods_is_refused(
        shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    user, esim = card_holder()
    method = SavedMethod.objects.get(user=user)
    monkeypatch.setattr(SandboxProvider, "supports_saved_methods", False)
    with pytest.raises(DomainError) as refused:
        checkout.place_order(user=user, currency="USD", method="", lines=renewal(esim),
                             saved_method=method.pk)
    assert (refused.value.status, refused.value.code) == (422, "saved_method_not_chargeable")
    removed = SavedMethod.objects.create(user=user, provider="sandbox", token="sbxpm_x_1",
                                         label="Visa •••• 1111")
    removed.removed_at = removed.created_at
    removed.save()
    with pytest.raises(DomainError) as gone:
        checkout.place_order(user=user, currency="USD", method="", lines=renewal(esim),
                             saved_method=removed.pk)
    assert gone.value.code == "unknown_saved_method"


def test_an_unknown_outcome_keeps_the_order_and_the_retry_charges_the_same_payment(
        shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    user, esim = card_holder()
    method = SavedMethod.objects.get(user=user)
    real = SandboxProvider.charge_saved
    calls: list[str] = []

    def flaky(self: SandboxProvider, **kw: Any) -> Any:
        calls.append(kw["payment_id"])
        event = real(self, **kw)  # the charge happens, but its answer is lost
        if len(calls) == 1:
            raise RetryableProviderError("timeout")
        return event

    monkeypatch.setattr(SandboxProvider, "charge_saved", flaky)
    once = checkout.Once(scope=f"user:{user.pk}:test", key="tap-1", fingerprint="f",
                         render=lambda placed: (201, {"order": placed.order.number,
                                                      "payment": placed.payment.public_id
                                                      if placed.payment else None}),
                         refuse=lambda error: (error.status, {"code": error.code}))
    before = charges()

    first = checkout.place_order_once(once=once, user=user, currency="USD", method="",
                                      lines=renewal(esim), saved_method=method.pk)
    assert first.status == 503
    order = Order.objects.get(lines__type="renewal")
    [starting] = order.payments.all()
    assert starting.status == "starting"

    again = checkout.place_order_once(once=once, user=user, currency="USD", method="",
                                      lines=renewal(esim), saved_method=method.pk)
    assert isinstance(again, StoredResponse) and again.status == 201
    assert again.body == {"order": order.number, "payment": starting.public_id}
    assert calls == [starting.public_id, starting.public_id]
    assert charges() == before + 1  # the same charge, asked twice
    order.refresh_from_db()
    assert order.status == "paid"
    replay = checkout.place_order_once(once=once, user=user, currency="USD", method="",
                                       lines=renewal(esim), saved_method=method.pk)
    assert replay.replayed and replay.body == again.body


# --- Stripe ---------------------------------------------------------------------------------

@pytest.fixture
def stripe_user(stripe_fake: FakeStripe, shop: Shop, settings: Any,  # noqa: F811
                request: pytest.FixtureRequest) -> tuple[User, Any, FakeStripe]:
    settings.ESIMDESK = {**settings.ESIMDESK, "PAYMENT_PROVIDERS": ["sandbox", "stripe"]}
    settings.PUBLIC_URL = "https://esim.example.com"
    card = getattr(request, "param", "4242424242424242")
    user = builders.user("stripe@example.com")
    placed = checkout.place_order(user=user, currency="USD", method="stripe", save_method=True,
                                  lines=[LineRequest(type="new_esim", plan=MONTH)])
    assert placed.payment is not None
    stripe_fake.pay(placed.payment.provider_reference, card=card)
    body, headers = stripe_fake.signed(stripe_fake.event("checkout.session.completed"))
    payments.handle_webhook(provider="stripe", body=body, headers=headers)
    run_tasks()
    esim = placed.order.lines.get().esim
    return user, esim, stripe_fake


def test_stripe_one_tap_success(stripe_user: tuple[User, Any, FakeStripe]) -> None:
    user, esim, fake = stripe_user
    method = SavedMethod.objects.get(user=user, provider="stripe")
    placed = checkout.place_order(user=user, currency="USD", method="", lines=renewal(esim),
                                  saved_method=method.pk)
    assert placed.payment is not None and placed.payment.status == "succeeded"
    assert placed.payment.provider_reference.startswith("pi_")
    [intent] = fake.requests_to("POST", "/v1/payment_intents")
    assert intent.headers["idempotency-key"] == placed.payment.public_id
    assert intent.params["off_session"] == "true"
    # Stripe's own webhook about the same charge changes nothing more.
    body, headers = fake.signed(fake.event("payment_intent.succeeded"))
    payments.handle_webhook(provider="stripe", body=body, headers=headers)
    run_tasks()
    placed.order.refresh_from_db()
    assert placed.order.status == "fulfilled"
    assert Payment.objects.filter(order=placed.order).count() == 1


@pytest.mark.parametrize("stripe_user", ["4000002500003155", "4000000000000341"],
                         indirect=True)
def test_stripe_requires_action_or_decline_goes_to_checkout_with_the_same_order(
        stripe_user: tuple[User, Any, FakeStripe]) -> None:
    user, esim, fake = stripe_user
    method = SavedMethod.objects.get(user=user, provider="stripe")
    placed = checkout.place_order(user=user, currency="USD", method="", lines=renewal(esim),
                                  saved_method=method.pk)
    declined, hosted = sorted(placed.order.payments.all(), key=lambda p: p.pk)
    assert declined.status == "declined" and declined.provider_reference.startswith("pi_")
    assert hosted == placed.payment and hosted.provider_reference.startswith("cs_")
    assert hosted.next_action["url"] == f"{fake.url}/pay/{hosted.provider_reference}"
    fake.pay(hosted.provider_reference)  # the payer authenticates on Checkout
    body, headers = fake.signed(fake.event("checkout.session.completed"))
    payments.handle_webhook(provider="stripe", body=body, headers=headers)
    run_tasks()
    placed.order.refresh_from_db()
    assert placed.order.status == "fulfilled"
    assert Order.objects.filter(user=user).count() == 2  # the first eSIM, and this renewal


def test_sandbox_hosted_page_still_decides_itself(shop: Shop) -> None:
    """The hosted page's box, unticked, keeps no card even when the order asked."""
    user = builders.user("page@example.com")
    placed = checkout.place_order(user=user, currency="USD", method="sandbox", save_method=True,
                                  lines=[LineRequest(type="new_esim", plan=MONTH)])
    assert placed.payment is not None
    client = Client()
    client.force_login(user)
    response = client.post(f"/pay/sandbox/{placed.payment.provider_reference}/",
                           {"outcome": "approve", "card": "4242"})
    assert response.status_code == 302
    assert not SavedMethod.objects.filter(user=user).exists()
