"""Activation after payment: backoff up to a deadline, then the order needs attention (staff
alerted, customer told); the live steps the traveller sees; staff retry, reissue and refund
from the activation screen, each permission-checked and audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.core.models import AuditEntry
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim, Reissue
from esimdesk.notifications.models import Notification
from esimdesk.orders import activation
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.sandbox.models import SimulatedProfile
from tests.builders import DAY, Shop
from tests.conftest import Api, run_tasks
from tests.e2e.helpers import buy_and_pay
from tests.provisioning.test_activation import paid_orders


@pytest.fixture
def user(shop: Shop) -> User:
    return User.objects.create_user("late@example.com", "x-long-password-1", language="zh-hans")


def _staff(*perms: str) -> Client:
    member = User.objects.create_user(f"agent{len(perms)}@example.com", "x-long-password-1",
                                      is_staff=True)
    for perm in ("orders.view_order", *perms):  # the screen itself needs to see orders
        app, codename = perm.split(".")
        member.user_permissions.add(Permission.objects.get(content_type__app_label=app,
                                                           codename=codename))
    client = Client()
    client.force_login(member)
    return client


def test_backoff_doubles_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ACTIVATION_BACKOFF_SECONDS", "2")
    monkeypatch.setenv("ESIMDESK_ACTIVATION_BACKOFF_MAX_SECONDS", "60")
    for attempt, full in ((1, 2), (2, 4), (3, 8), (6, 60), (30, 60)):
        delay = activation.retry_delay(attempt).total_seconds()
        assert full / 2 <= delay <= full, (attempt, delay)


def test_the_retry_is_queued_after_the_backoff(user: User, settings,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from django_tasks_db.models import DBTaskResult

    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus"]}
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", "http://127.0.0.1:9")
    [order_id] = paid_orders(user, 1)
    DBTaskResult.objects.all().delete()
    clock.set_now(clock.now())
    assert orders.fulfil_order(order_id=order_id, attempt=3) == "retrying"
    retry = DBTaskResult.objects.get()
    assert retry.args_kwargs["args"][:2] == [order_id, 4]
    wait = (retry.run_after - clock.now()).total_seconds()
    assert 2 <= wait <= 4  # 1 s doubled twice, with jitter between half and all of it


def test_past_the_deadline_staff_and_customer_hear_once(user: User, settings,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus"]}
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ESIMDESK_OPS_EMAIL", "ops@example.com")
    [order_id] = paid_orders(user, 1)
    assert orders.fulfil_order(order_id=order_id) == "retrying"
    clock.advance(dt.timedelta(minutes=29))
    assert orders.fulfil_order(order_id=order_id, attempt=2) == "retrying"
    clock.advance(dt.timedelta(minutes=2))
    assert orders.fulfil_order(order_id=order_id, attempt=3) == "failed"
    assert orders.fulfil_order(order_id=order_id, attempt=4) == "failed"  # a stray retry
    order = Order.objects.get(pk=order_id)
    assert order.status == "fulfilment_failed"
    ops = Notification.objects.get(to="ops@example.com")
    assert order.number in ops.subject and "/staff/activations/" in ops.body_text
    told = Notification.objects.get(kind="activation_delayed", channel="email")
    assert told.to == "late@example.com"
    assert order.number in told.subject and "订单" in told.subject  # the customer's language


def test_the_order_page_and_api_show_the_steps_live(api: Api) -> None:
    order = buy_and_pay(api, DAY)
    assert order["lines"][0]["activation"] == "ready"
    ready_mail = Notification.objects.get(kind="order_confirmation", channel="email")
    esim = Esim.objects.get(iccid=order["lines"][0]["iccid"])
    assert esim.matching_id in ready_mail.body_text and esim.smdp_address in ready_mail.body_html
    api.client.force_login(User.objects.get(email="alex@example.com"))
    live = api.client.get(f"/orders/{order['id']}/activation.json").json()
    assert live["status"] == "fulfilled"
    [line] = live["lines"]
    assert line["step"] == "ready" and line["install_url"].startswith("/esims/")
    assert [s["done"] for s in line["steps"]] == [True, True, False, False]
    page = api.client.get(f"/orders/{order['id']}/").content.decode()
    assert 'data-activation=' in page and "activation.js" in page
    esim = Esim.objects.get(iccid=line["iccid"])
    esims.transition(esim=esim, to="in_use", actor_type="provider", actor="simulator")
    live = api.client.get(f"/orders/{order['id']}/activation.json").json()
    assert live["lines"][0]["step"] == "active"
    assert api.get(f"/api/v1/orders/{order['id']}").json()["lines"][0]["activation"] == "active"
    # Someone else's order is not found, not shown.
    other = Client()
    other.force_login(User.objects.create_user("nosy@example.com", "x-long-password-1"))
    assert other.get(f"/orders/{order['id']}/activation.json").status_code == 404


def test_activation_screen_lists_what_needs_attention_in_both_languages(
        user: User, settings, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus"]}
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", "http://127.0.0.1:9")
    [order_id] = paid_orders(user, 1)
    clock.advance(dt.timedelta(hours=1))
    orders.fulfil_order(order_id=order_id)
    number = Order.objects.get(pk=order_id).number
    staff = _staff()
    page = staff.get("/staff/activations/").content.decode()
    assert number in page and "Needs attention" in page
    detail = staff.get(f"/staff/activations/order/{number}/").content.decode()
    assert "Order fulfilment failed" in detail and "deadline passed" in detail
    assert "You do not have permission to retry" in detail
    zh = staff.get("/staff/activations/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert zh.status_code == 200
    assert staff.get(f"/staff/activations/?q={number}").status_code == 302


def test_retry_needs_the_permission_and_a_reason(user: User, settings,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus"]}
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", "http://127.0.0.1:9")
    [order_id] = paid_orders(user, 1)
    clock.advance(dt.timedelta(hours=1))
    orders.fulfil_order(order_id=order_id)
    number = Order.objects.get(pk=order_id).number
    url = f"/staff/activations/order/{number}/retry"
    assert _staff().post(url, {"reason": "supplier back"}).status_code == 403
    allowed = _staff("orders.change_order")
    allowed.post(url, {"reason": ""})
    assert not AuditEntry.objects.filter(action="order.retry_fulfilment").exists()
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["simulator"]}
    assert allowed.post(url, {"reason": "supplier back"}).status_code == 302
    run_tasks()  # the fresh deadline counts from the retry, not from the payment
    assert Order.objects.get(pk=order_id).status == "fulfilled"
    entry = AuditEntry.objects.get(action="order.retry_fulfilment")
    assert (entry.actor, entry.reason) == ("agent1@example.com", "supplier back")


def test_reissue_moves_the_plan_to_a_new_profile_and_revokes_the_old(api: Api) -> None:
    order = buy_and_pay(api, DAY)
    old = Esim.objects.get(iccid=order["lines"][0]["iccid"])
    subscription_id = old.subscription.pk
    url = f"/staff/activations/esim/{old.iccid}/reissue"
    assert _staff().post(url, {"reason": "QR will not scan"}).status_code == 403
    agent = _staff("esims.reissue_esim")
    agent.post(url, {"reason": "  ", "order": order["id"]})
    assert not Reissue.objects.exists()  # no reason, nothing done
    assert agent.post(url, {"reason": "QR will not scan",
                            "order": order["id"]}).status_code == 302
    agent.post(url, {"reason": "clicked twice", "order": order["id"]})
    assert Reissue.objects.count() == 1  # one under way at a time
    run_tasks()
    reissue = Reissue.objects.get()
    old.refresh_from_db()
    new = reissue.new_esim
    assert reissue.status == "done" and old.status == "revoked"
    assert new is not None and new.iccid != old.iccid and new.owner == old.owner
    assert new.subscription.pk == subscription_id  # the periods and data left moved over
    assert reissue.revoked_upstream_at is not None
    assert SimulatedProfile.objects.get(iccid=old.iccid).status in ("revoked", "deleted",
                                                                    "cancelled")
    mail = Notification.objects.get(kind="esim_reissued", channel="email")
    assert new.iccid in mail.body_text and old.iccid in mail.body_text
    # The order page follows the reissue to the profile to install now.
    api.client.force_login(old.owner)
    live = api.client.get(f"/orders/{order['id']}/activation.json").json()
    assert live["lines"][0]["iccid"] == new.iccid and live["lines"][0]["step"] == "ready"
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"esim.reissue_requested", "esim.reissued", "esim.revoked_upstream"} <= actions


def test_an_esim_in_use_is_not_reissued(api: Api) -> None:
    from esimdesk.core.errors import Conflict
    from esimdesk.orders import reissue

    order = buy_and_pay(api, DAY)
    esim = Esim.objects.get(iccid=order["lines"][0]["iccid"])
    esims.transition(esim=esim, to="in_use", actor_type="provider", actor="simulator")
    with pytest.raises(Conflict) as refused:
        reissue.request_reissue(esim_id=esim.pk, actor="agent", reason="asked")
    assert refused.value.code == "esim_not_reissuable"


def test_refund_link_only_for_finance(api: Api) -> None:
    order = buy_and_pay(api, DAY)
    page = _staff().get(f"/staff/activations/order/{order['id']}/").content.decode()
    assert "/refund/" not in page
    finance = _staff("payments.add_refund")
    assert "/refund/" in finance.get(f"/staff/activations/order/{order['id']}/").content.decode()
