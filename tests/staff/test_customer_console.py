"""The customer console: search, the customer's context in a fixed number of queries, and
the actions — each permission-checked, each needing a reason, each audited with who and why."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.core.models import AuditEntry
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim, Reissue
from esimdesk.notifications.models import Notification
from esimdesk.orders.models import Order
from esimdesk.sandbox.models import SimulatedProfile, SimulatedTopUp
from esimdesk.staff.customers import customer_context
from esimdesk.subscriptions.models import Period
from tests.builders import DAY, Shop
from tests.conftest import Api, run_tasks
from tests.e2e.helpers import buy_and_pay
from tests.staff.conftest import member

pytestmark = pytest.mark.django_db


def _act(client: Client, customer: User, action: str, **data: str) -> Any:
    return client.post(f"/staff/customers/{customer.pk}/actions/{action}", data)


def _staff_entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, actor_type="staff").order_by("id"))


def test_search_by_email_phone_iccid_and_order_number(agent: Client, bought: dict,
                                                      customer: User) -> None:
    User.objects.filter(pk=customer.pk).update(phone="+8613912345678")
    page = f"/staff/customers/{customer.pk}/"
    for query in ("traveller@example", "+86 139 1234 5678", bought["lines"][0]["iccid"],
                  bought["id"]):
        response = agent.get("/staff/customers/", {"q": query})
        assert response.status_code == 302 and response["Location"] == page, query
    assert "Nobody matches" in agent.get("/staff/customers/", {"q": "nobody@"}).content.decode()


def test_before_a_search_the_page_lists_the_newest_customers(agent: Client, bought: dict,
                                                              customer: User) -> None:
    newer = User.objects.create_user("newer@example.com", "x-long-password-1")
    page = agent.get("/staff/customers/").content.decode()
    page = page[page.index("Newest customers"):]
    assert page.index(newer.email) < page.index(customer.email)
    assert "agent@" not in page  # staff are not customers
    row = page[page.index(customer.email):].split("</tr>")[0]
    assert '<td data-label="Orders">1</td>' in row


def test_the_page_shows_the_customers_context_in_both_languages(shop: Shop,
        agent: Client, customer_api: Api, bought: dict, customer: User) -> None:
    renewal = buy_and_pay(customer_api, DAY, iccid=bought["lines"][0]["iccid"])
    page = agent.get(f"/staff/customers/{customer.pk}/").content.decode()
    iccid = bought["lines"][0]["iccid"]
    assert iccid in page and bought["id"] in page and renewal["id"] in page
    assert "Japan" in page and "1 GB" in page  # plan and what is left of it
    assert "Order confirmation" in page  # messages sent, by their kind's name
    assert "eSIM created" in page  # the activation history, by the action's name
    assert "Not locked" in page
    chinese = member("zh-agent@example.com", "agent", language="zh-hans")[1]
    zh = chinese.get(f"/staff/customers/{customer.pk}/")
    assert zh.status_code == 200
    assert 'lang="zh-hans"' in zh.content.decode() and iccid in zh.content.decode()


def test_the_query_count_does_not_grow_with_the_esims(customer_api: Api,
                                                      customer: User) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            customer_context(customer=customer)
        return len(queries)

    one = count()
    for _ in range(2):
        bought = buy_and_pay(customer_api, DAY)
        buy_and_pay(customer_api, DAY, iccid=bought["lines"][0]["iccid"])
    assert Esim.objects.filter(owner=customer).count() == 3
    assert count() == one <= 8


def test_the_page_itself_runs_a_fixed_number_of_queries(shop: Shop,
        agent: Client, customer_api: Api, customer: User,
        django_assert_max_num_queries: Any) -> None:
    for _ in range(2):
        buy_and_pay(customer_api, DAY)
    with django_assert_max_num_queries(16):
        assert agent.get(f"/staff/customers/{customer.pk}/").status_code == 200


def test_buttons_follow_the_role(agent: Client, finance: Client, nobody: Client,
                                 customer: User) -> None:
    esim = Esim.objects.get(owner=customer)
    esims.transition(esim=esim, to="in_use", actor_type="provider", actor="simulator")
    as_agent = agent.get(f"/staff/customers/{customer.pk}/").content.decode()
    for form in ("action-extend", "action-suspend", "action-resend_email", "action-unlock"):
        assert form in as_agent, form
    assert "action-refund" not in as_agent
    as_finance = finance.get(f"/staff/customers/{customer.pk}/").content.decode()
    assert "action-refund" in as_finance
    for form in ("action-extend", "action-suspend", "action-resend_email", "action-unlock",
                 "action-reissue", "action-retry"):
        assert form not in as_finance, form
    for action in ("extend", "suspend", "resend_email", "unlock", "reissue", "retry"):
        assert _act(finance, customer, action, reason="asked").status_code == 403, action


def test_a_reason_is_required_for_every_action(agent: Client, customer: User) -> None:
    esim = Esim.objects.get(owner=customer)
    order = Order.objects.get(user=customer)
    before = AuditEntry.objects.count()
    for action, data in (("resend_email", {"order": order.number}),
                         ("retry", {"order": order.number}),
                         ("reissue", {"iccid": esim.iccid}),
                         ("extend", {"iccid": esim.iccid, "days": "2"}),
                         ("suspend", {"iccid": esim.iccid}),
                         ("resume", {"iccid": esim.iccid}),
                         ("unlock", {})):
        response = _act(agent, customer, action, reason="   ", **data)
        assert response.status_code == 422, action
        assert 'data-code="reason_required"' in response.content.decode(), action
    assert AuditEntry.objects.count() == before


def test_resend_install_email_queues_a_new_message(agent: Client, bought: dict,
                                                   customer: User) -> None:
    assert _act(agent, customer, "resend_email", order=bought["id"],
                reason="went to spam").status_code == 302
    mails = Notification.objects.filter(kind="order_confirmation", channel="email")
    assert mails.count() == 2
    assert bought["id"] in mails.order_by("-id")[0].subject
    [entry] = _staff_entries("order.install_email_resent")
    assert entry.actor.endswith(":agent@example.com") and entry.reason == "went to spam"
    Order.objects.filter(number=bought["id"]).update(status="paid")
    refused = _act(agent, customer, "resend_email", order=bought["id"], reason="again")
    assert refused.status_code == 409 and 'data-code="order_not_fulfilled"' in \
        refused.content.decode()


def test_retry_activation_through_the_console(agent: Client, bought: dict,
                                              customer: User) -> None:
    refused = _act(agent, customer, "retry", order=bought["id"], reason="supplier back")
    assert refused.status_code == 409  # fulfilled: nothing to retry
    Order.objects.filter(number=bought["id"]).update(status="fulfilment_failed")
    assert _act(agent, customer, "retry", order=bought["id"],
                reason="supplier back").status_code == 302
    [entry] = _staff_entries("order.retry_fulfilment")
    assert entry.actor.endswith(":agent@example.com") and entry.reason == "supplier back"


def test_reissue_through_the_console(agent: Client, customer: User) -> None:
    esim = Esim.objects.get(owner=customer)
    assert _act(agent, customer, "reissue", iccid=esim.iccid,
                reason="QR will not scan").status_code == 302
    assert Reissue.objects.get().old_esim == esim
    [entry] = _staff_entries("esim.reissue_requested")
    assert entry.actor.endswith(":agent@example.com") and entry.reason == "QR will not scan"


def test_an_action_on_another_customers_esim_is_not_found(agent: Client, customer: User,
                                                          shop: Shop) -> None:
    other = Api.signup("other@example.com")
    theirs = buy_and_pay(other, DAY)["lines"][0]["iccid"]
    assert _act(agent, customer, "suspend", iccid=theirs, reason="x").status_code == 404


def test_goodwill_extension_moves_queued_periods_and_tells_the_supplier(shop: Shop,
        agent: Client, boss: Client, customer_api: Api, bought: dict, customer: User) -> None:
    iccid = bought["lines"][0]["iccid"]
    buy_and_pay(customer_api, DAY, iccid=iccid)
    current, queued = Period.objects.filter(subscription__esim__iccid=iccid).order_by("sequence")
    assert queued.starts_at == current.ends_at
    assert _act(agent, customer, "extend", iccid=iccid, days="3",
                reason="network outage in Osaka").status_code == 302
    current.refresh_from_db()
    queued.refresh_from_db()
    assert queued.starts_at == current.ends_at  # still back to back
    [entry] = _staff_entries("period.goodwill_extension")
    assert entry.actor.endswith(":agent@example.com")
    assert entry.reason == "network outage in Osaka" and entry.after["days"] == 3
    assert AuditEntry.objects.filter(action="period.moved", object_id=str(queued.pk)).exists()
    run_tasks()
    top_up = SimulatedTopUp.objects.get(extend_days=3)
    assert top_up.profile.iccid == iccid and top_up.data_bytes == 0
    assert AuditEntry.objects.filter(action="esim.goodwill_upstream").exists()
    # An agent may give up to 7 days at a time; an admin more.
    over = _act(agent, customer, "extend", iccid=iccid, days="8", reason="long outage")
    assert over.status_code == 403 and 'data-code="goodwill_over_limit"' in over.content.decode()
    assert _act(agent, customer, "extend", iccid=iccid, days="0",
                reason="x").status_code == 422
    assert _act(boss, customer, "extend", iccid=iccid, days="8",
                reason="long outage").status_code == 302
    assert len(_staff_entries("period.goodwill_extension")) == 2


def test_goodwill_needs_a_running_plan(agent: Client, bought: dict, customer: User) -> None:
    clock.advance(dt.timedelta(days=3))  # the one-day plan has ended
    refused = _act(agent, customer, "extend", iccid=bought["lines"][0]["iccid"], days="1",
                   reason="late")
    assert refused.status_code == 409
    assert 'data-code="no_running_period"' in refused.content.decode()


def test_suspend_and_resume_move_the_state_and_the_supplier(agent: Client,
                                                            customer: User) -> None:
    esim = Esim.objects.get(owner=customer)
    refused = _act(agent, customer, "suspend", iccid=esim.iccid, reason="lost phone")
    assert refused.status_code == 409  # not installed yet
    esims.transition(esim=esim, to="in_use", actor_type="provider", actor="simulator")
    assert _act(agent, customer, "suspend", iccid=esim.iccid,
                reason="lost phone").status_code == 302
    esim.refresh_from_db()
    assert esim.status == "suspended"
    run_tasks()
    assert SimulatedProfile.objects.get(iccid=esim.iccid).suspended
    page = agent.get(f"/staff/customers/{customer.pk}/").content.decode()
    assert "action-resume" in page and "action-suspend" not in page
    assert _act(agent, customer, "resume", iccid=esim.iccid,
                reason="phone found").status_code == 302
    esim.refresh_from_db()
    assert esim.status == "in_use"
    run_tasks()
    assert not SimulatedProfile.objects.get(iccid=esim.iccid).suspended
    moves = AuditEntry.objects.filter(action="esim.status", actor_type="staff",
                                      object_id=str(esim.pk)).order_by("id")
    assert [(m.after["status"], m.reason) for m in moves] == [("suspended", "lost phone"),
                                                              ("in_use", "phone found")]
    assert all(m.actor.endswith(":agent@example.com") for m in moves)
    assert {"esim.suspend_upstream", "esim.resume_upstream"} <= set(
        AuditEntry.objects.values_list("action", flat=True))


def _login(email: str, password: str) -> int:
    response = Client().post("/_allauth/app/v1/auth/login",
                             data=json.dumps({"email": email, "password": password}),
                             content_type="application/json")
    return response.status_code


def test_unlock_clears_failed_sign_ins_and_reactivates(agent: Client, customer: User,
                                                       settings: Any) -> None:
    settings.SIGNIN_LIMITS = "failed_signin=2/5m/account,100/5m/address"
    password = "correct-horse-battery-42"  # Api.signup's
    assert _login(customer.email, "wrong-one") == 400
    assert _login(customer.email, "wrong-two") == 400
    assert _login(customer.email, password) == 429  # locked, even with the right password
    page = agent.get(f"/staff/customers/{customer.pk}/").content.decode()
    assert 'data-lock="failed_signin"' in page
    assert _act(agent, customer, "unlock", reason="verified by phone").status_code == 302
    assert _login(customer.email, password) == 200
    User.objects.filter(pk=customer.pk).update(is_active=False)
    assert 'data-lock="inactive"' in agent.get(f"/staff/customers/{customer.pk}/").content.decode()
    assert _act(agent, customer, "unlock", reason="deactivated by mistake").status_code == 302
    assert User.objects.get(pk=customer.pk).is_active
    entries = _staff_entries("account.unlock")
    assert [(e.before["locks"], e.reason) for e in entries] == [
        (["failed_signin"], "verified by phone"), (["inactive"], "deactivated by mistake")]
    assert all(e.actor.endswith(":agent@example.com") for e in entries)


def test_customers_cannot_open_the_console(customer: User) -> None:
    client = Client()
    client.force_login(customer)
    assert client.get("/staff/customers/").status_code == 302
    assert client.post(f"/staff/customers/{customer.pk}/actions/unlock",
                       {"reason": "me"}).status_code == 302


def test_an_admin_on_the_customer_page(customer: User) -> None:
    boss = member("root@example.com", "admin", language="zh-hans")[1]
    page = boss.get(f"/staff/customers/{customer.pk}/").content.decode()
    for form in ("action-extend", "action-resend_email", "action-unlock", "action-refund"):
        assert form in page, form
    assert 'lang="zh-hans"' in page


def test_a_plan_waiting_for_first_use_reads_as_such_and_goodwill_lengthens_it(
        agent: Client, customer_api: Api) -> None:
    from esimdesk.catalog.models import Plan
    from tests.builders import plan

    waiting = plan(code="wait-30-days", unit="day", count=30,
                   validity_starts=Plan.ValidityStarts.FIRST_USE)
    order = buy_and_pay(customer_api, waiting.code)
    iccid = order["lines"][0]["iccid"]
    customer = User.objects.get(email="traveller@example.com")
    page = agent.get(f"/staff/customers/{customer.pk}/").content.decode()
    assert "Waiting for first use" in page and "starts by itself" in page
    response = _act(agent, customer, "extend", iccid=iccid, days="3", reason="late parcel")
    assert response.status_code in (200, 302)
    period = Period.objects.get(subscription__esim__iccid=iccid)
    assert (period.state, period.ends_at, period.extra_days) == ("pending", None, 3)
    shown = agent.get(f"/staff/customers/{customer.pk}/").content.decode()
    assert "3 days longer once it starts" in shown


def test_the_install_email_is_offered_only_for_an_order_that_made_an_esim(
        agent: Client, bought: dict, customer: User) -> None:
    esim = Esim.objects.get(owner=customer)
    first = Order.objects.get(number=bought["id"])
    top_up = Order.objects.create(number="ED-TOPUP001", user=customer, currency="USD",
                                  total=500, status=Order.Status.FULFILLED,
                                  paid_at=clock.now(), fulfilled_at=clock.now())
    top_up.lines.create(type="top_up", plan=first.lines.get().plan, esim=esim, amount=500)
    page = agent.get(f"/staff/customers/{customer.pk}/").content.decode()
    forms = page.split('class="action-resend_email"')
    assert len(forms) == 2 and f'value="{first.number}"' in forms[1].split("</form>")[0]
    refused = _act(agent, customer, "resend_email", order=top_up.number, reason="lost it")
    assert refused.status_code == 409
    assert 'data-code="order_makes_no_esim"' in refused.content.decode()


def test_cancel_an_uninstalled_esim_here_and_at_the_supplier(agent: Client, finance: Client,
                                                             customer: User) -> None:
    esim = Esim.objects.get(owner=customer)
    page = agent.get(f"/staff/customers/{customer.pk}/").content.decode()
    assert "action-cancel" in page
    assert _act(finance, customer, "cancel", iccid=esim.iccid, reason="x").status_code == 403
    assert _act(agent, customer, "cancel", iccid=esim.iccid, reason=" ").status_code == 422
    assert _act(agent, customer, "cancel", iccid=esim.iccid,
                reason="stolen card").status_code == 302
    esim.refresh_from_db()
    assert esim.status == "revoked"
    run_tasks()
    assert SimulatedProfile.objects.get(iccid=esim.iccid).revoked_at is not None
    assert esim.upstream_revoke.status == "revoked"
    page = agent.get(f"/staff/customers/{customer.pk}/").content.decode()
    assert "Cancelled at the supplier" in page and "action-cancel" not in page
    assert [e.reason for e in _staff_entries("esim.status")] == ["stolen card"]
    assert "esim.revoked_upstream" in set(AuditEntry.objects.values_list("action", flat=True))
    # Once revoked (or installed) there is nothing to cancel.
    refused = _act(agent, customer, "cancel", iccid=esim.iccid, reason="again")
    assert refused.status_code == 409
    assert 'data-code="esim_not_cancellable"' in refused.content.decode()
