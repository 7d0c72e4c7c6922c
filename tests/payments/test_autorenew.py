"""Automatic renewal with saved cards: success, fallback, dunning, giving up, pay links, and
never two charges for the same period."""

from __future__ import annotations

import datetime as dt

import pytest

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.notifications.models import Notification
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.payments.autorenew import renewals_sweep
from esimdesk.payments.models import Payment, RenewalAttempt, SavedMethod
from esimdesk.sandbox.models import SandboxRecord, SimulatedProfile
from esimdesk.subscriptions.expiry import expiry_sweep
from esimdesk.subscriptions.models import Period, Subscription
from tests.builders import MONTH, Shop
from tests.conftest import run_tasks

START = dt.datetime(2026, 8, 1, 9, 0, tzinfo=dt.UTC)


def buy_with_card(user: User, card: str = "4242", plan: str = MONTH) -> Subscription:
    clock.set_now(START)
    payment = checkout.place_order(
        user=user, currency="USD", method="sandbox", save_method=True,
        lines=[orders.LineRequest(type="new_esim", plan=plan)]).payment
    payments.complete_sandbox_payment(user=user, payment_id=payment.public_id,
                                      outcome="approve", card=card, save_card=True)
    run_tasks()
    subscription = Subscription.objects.get(esim__owner=user)
    subscription.auto_renew = True
    subscription.save()
    return subscription


def charges() -> int:
    return SandboxRecord.objects.filter(kind="charge").count()


@pytest.fixture
def user(shop: Shop) -> User:
    return User.objects.create_user("auto@example.com", "x-long-password-1", phone="+8613900001111",
                                    phone_verified=True)


def test_renews_a_day_before_the_end_and_the_period_follows_back_to_back(user: User) -> None:
    subscription = buy_with_card(user)
    first = Period.objects.get(subscription=subscription)
    clock.set_now(first.ends_at - dt.timedelta(hours=25))
    assert renewals_sweep() == {"recorded": 0, "charging": 0}
    clock.advance(dt.timedelta(hours=2))
    assert renewals_sweep() == {"recorded": 1, "charging": 1}
    run_tasks()
    second = Period.objects.get(subscription=subscription, sequence=2)
    assert second.starts_at == first.ends_at
    attempt = RenewalAttempt.objects.get()
    assert attempt.state == "succeeded"
    assert attempt.order.status == "fulfilled"
    assert Payment.objects.filter(order=attempt.order, off_session=True,
                                  status="succeeded").count() == 1
    assert charges() == 2
    assert renewals_sweep() == {"recorded": 0, "charging": 0}  # renewed: nothing more to do
    run_tasks()
    assert charges() == 2


def test_renews_early_when_data_runs_low(user: User) -> None:
    from esimdesk.subscriptions.models import Allowance

    subscription = buy_with_card(user)
    data = Allowance.objects.get(period__subscription=subscription, kind="data")
    Allowance.objects.filter(pk=data.pk).update(used=data.total * 91 // 100)
    clock.advance(dt.timedelta(days=3))
    assert renewals_sweep()["recorded"] == 1
    run_tasks()
    assert Period.objects.filter(subscription=subscription).count() == 2


def test_a_declined_card_falls_back_to_the_next_saved_method(user: User) -> None:
    subscription = buy_with_card(user, card="0341")
    SavedMethod.objects.create(user=user, provider="sandbox", token="sbxpm_4242_backup",
                               label="Visa •••• 4242")
    SavedMethod.objects.filter(token__startswith="sbxpm_0341").update(is_default=True)
    clock.set_now(Period.objects.get().ends_at - dt.timedelta(hours=1))
    renewals_sweep()
    run_tasks()
    assert RenewalAttempt.objects.get().state == "succeeded"
    assert Payment.objects.filter(off_session=True).order_by("id").values_list(
        "status", "method")[::1] == [("declined", "Visa •••• 0341"),
                                     ("succeeded", "Visa •••• 4242")]
    assert Period.objects.filter(subscription=subscription).count() == 2


def test_declined_then_succeeds_on_a_retry(user: User) -> None:
    subscription = buy_with_card(user, card="0341")
    end = Period.objects.get().ends_at
    clock.set_now(end - dt.timedelta(hours=20))
    renewals_sweep()
    run_tasks()
    attempt = RenewalAttempt.objects.get()
    assert (attempt.state, attempt.tries) == ("retry_wait", 1)
    assert attempt.next_try_at == clock.now() + dt.timedelta(hours=1)
    declined = Notification.objects.filter(kind="renewal_declined")
    assert {"email", "sms"} <= set(declined.values_list("channel", flat=True))
    # The customer fixes their card at the bank (the sandbox now accepts it).
    SavedMethod.objects.filter(user=user).update(token="sbxpm_4242_fixed")
    clock.advance(dt.timedelta(minutes=59))
    assert renewals_sweep()["charging"] == 0
    clock.advance(dt.timedelta(minutes=1))
    assert renewals_sweep()["charging"] == 1
    run_tasks()
    attempt.refresh_from_db()
    assert attempt.state == "succeeded"
    assert Period.objects.get(subscription=subscription, sequence=2).starts_at == end
    assert Order.objects.filter(pk=attempt.order_id, status="fulfilled").exists()


def test_all_retries_fail_the_customer_is_told_and_the_esim_expires_cleanly(user: User) -> None:
    buy_with_card(user, card="0341")
    end = Period.objects.get().ends_at
    clock.set_now(end - dt.timedelta(hours=23))
    for step in (dt.timedelta(0), dt.timedelta(hours=1), dt.timedelta(hours=6),
                 dt.timedelta(hours=24)):
        clock.advance(step)
        renewals_sweep()
        run_tasks()
    attempt = RenewalAttempt.objects.get()
    assert (attempt.state, attempt.tries) == ("failed", 4)
    assert Notification.objects.filter(kind="renewal_failed", channel="email").count() == 1
    assert Notification.objects.filter(kind="renewal_declined", channel="email").count() == 1
    assert attempt.order.status == "awaiting_payment"  # still payable with one tap
    assert Payment.objects.filter(off_session=True, status="succeeded").count() == 0
    assert expiry_sweep() == {"lapsed": 1, "ending_upstream": 1}
    run_tasks()
    assert SimulatedProfile.objects.get().status == "plan_ended"
    assert expiry_sweep() == {"lapsed": 0, "ending_upstream": 0}
    # Paying the renewal later brings it back at once (after expiry, the period starts now).
    from esimdesk.sandbox.payment import SandboxProvider

    clock.advance(dt.timedelta(hours=2))
    paid_at = clock.now()
    payment = checkout.pay_order(user=user, order=attempt.order, method="sandbox")
    payments.complete_sandbox_reference(reference=payment.provider_reference, outcome="approve")
    run_tasks()
    assert Period.objects.get(sequence=2).starts_at == paid_at
    assert SimulatedProfile.objects.get().status == "released"
    assert SandboxProvider.name == "sandbox"


def test_without_a_chargeable_method_a_pay_link_is_sent_once(user: User) -> None:
    buy_with_card(user)
    SavedMethod.objects.all().delete()
    clock.set_now(Period.objects.get().ends_at - dt.timedelta(hours=2))
    renewals_sweep()
    run_tasks()
    renewals_sweep()
    run_tasks()
    attempt = RenewalAttempt.objects.get()
    assert attempt.state == "pay_link_sent"
    mails = Notification.objects.filter(kind="renewal_pay_link", channel="email")
    assert mails.count() == 1
    assert f"/orders/{attempt.order.number}/" in mails.get().body_text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_charge_once(shop: Shop) -> None:
    from tests.e2e.test_concurrency import in_parallel

    user = User.objects.create_user("race@example.com", "x-long-password-1")
    buy_with_card(user)
    clock.set_now(Period.objects.get().ends_at - dt.timedelta(hours=2))
    in_parallel(renewals_sweep, renewals_sweep, renewals_sweep)
    from esimdesk.payments.autorenew import charge_renewal

    attempt = RenewalAttempt.objects.get()
    in_parallel(*(lambda: charge_renewal(attempt_id=attempt.pk) for _ in range(3)))
    run_tasks()
    assert RenewalAttempt.objects.count() == 1
    assert charges() == 2  # the first purchase and one renewal
    assert Payment.objects.filter(off_session=True).count() == 1
    assert Period.objects.count() == 2


def test_portal_and_api_manage_auto_renew_and_saved_methods(user: User) -> None:
    import json

    from django.test import Client

    subscription = buy_with_card(user)
    subscription.auto_renew = False
    subscription.save()
    iccid = subscription.esim.iccid
    client = Client()
    client.force_login(user)
    page = client.get(f"/esims/{iccid}/").content.decode()
    assert "Automatic renewal" in page
    client.post(f"/esims/{iccid}/auto-renew/", {"auto_renew": "on"})
    assert Subscription.objects.get().auto_renew is True
    assert "Visa •••• 4242" in client.get(f"/esims/{iccid}/").content.decode()

    login = Client().post("/_allauth/app/v1/auth/login", data=json.dumps(
        {"email": user.email, "password": "x-long-password-1"}), content_type="application/json")
    token = {"HTTP_X_SESSION_TOKEN": login.json()["meta"]["session_token"]}
    esim = Client().get(f"/api/v1/esims/{iccid}", **token).json()
    assert "auto_renew" in esim, (login.json(), esim)
    assert (esim["auto_renew"], esim["auto_renew_by"], esim["renewal"]) == (
        True, "saved_method", None)
    [method] = Client().get("/api/v1/payments/saved-methods", **token).json()
    assert method["label"] == "Visa •••• 4242"
    assert Client().delete(f"/api/v1/payments/saved-methods/{method['id']}",
                           **token).status_code == 204
    assert Client().get("/api/v1/payments/saved-methods", **token).json() == []
    esim = Client().get(f"/api/v1/esims/{iccid}", **token).json()
    assert esim["auto_renew_by"] == "pay_link"
    assert "link to pay" in client.get(f"/esims/{iccid}/").content.decode()
    missing = Client().delete(f"/api/v1/payments/saved-methods/{method['id']}", **token)
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_saved_method"
    client.post(f"/esims/{iccid}/auto-renew/", {})
    assert Subscription.objects.get().auto_renew is False
