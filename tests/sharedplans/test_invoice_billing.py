"""Organisations billed by monthly invoice: orders placed on account (never by a customer
who was not granted credit), automatic renewal on account, one invoice per month issued
after it ends and e-mailed with its PDF, and finance recording the transfer."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import Permission
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.core.models import AuditEntry
from esimdesk.groups import services as groups
from esimdesk.groups.models import Group
from esimdesk.notifications.models import Notification
from esimdesk.orders.models import Order
from esimdesk.payments import checkout
from esimdesk.payments.autorenew import renewals_sweep
from esimdesk.payments.models import RenewalAttempt
from esimdesk.sharedplans import invoicing
from esimdesk.sharedplans.models import MonthlyInvoice
from esimdesk.sharedplans.terms import GROUP_SEATS
from esimdesk.subscriptions.models import Period
from tests.builders import TEAM_PLAN, plan
from tests.conftest import Api, run_tasks
from tests.sharedplans.conftest import START, buy_seats, new_user


def _organisation(*, invoice: bool) -> tuple[User, Group]:
    clock.set_now(START)
    admin = new_user("cfo@corp.example", language="zh-hans")
    group = groups.create_group(owner=admin, kind=Group.Kind.ENTERPRISE, name="Corp")
    buy_seats(admin, group, 3, plan=TEAM_PLAN)  # the first order, by card
    if invoice:
        staff = new_user("credit@esimdesk.example")
        staff.is_staff = True
        groups.update_billing(by=staff, group=group, company_name="Corp Ltd",
                              tax_id="DE123456", billing="invoice")
    return admin, group


def _api_for(user: User) -> Api:
    client = Client()
    client.force_login(user)
    response = client.post("/_allauth/app/v1/auth/login", {"email": user.email,
                                                           "password": "correct-horse-battery-42"},
                           content_type="application/json")
    return Api(Client(), response.json()["meta"]["session_token"])


def test_on_account_needs_the_credit_staff_granted(group_plans: None) -> None:
    admin, group = _organisation(invoice=False)
    refused = _api_for(admin).post(f"/api/v1/groups/{group.pk}/seats",
                                   {"members": 2, "currency": "USD", "provider": "invoice"})
    assert refused.status_code == 403 and refused.json()["code"] == "invoice_needs_approval"
    assert not Order.objects.filter(paid_provider="invoice").exists()


def test_orders_go_on_account_and_the_month_is_invoiced_once(group_plans: None) -> None:
    admin, group = _organisation(invoice=True)
    member = new_user("staffer@corp.example")
    invitation = groups.invite(by=admin, group=group, email=member.email or "")
    from esimdesk.sharedplans import members as group_members

    group_members.accept_invitation(user=member, token=invitation.token, iccid="")
    assert _api_for(member).post(f"/api/v1/groups/{group.pk}/seats", {
        "members": 1, "currency": "USD", "provider": "invoice"}).status_code == 403
    clock.set_now(START + dt.timedelta(days=3))
    answer = _api_for(admin).post(f"/api/v1/groups/{group.pk}/seats",
                                  {"members": 2, "currency": "USD", "provider": "invoice"})
    assert answer.status_code == 201, answer.json()
    assert answer.json()["payment"] is None
    run_tasks()
    order = Order.objects.get(number=answer.json()["id"])
    assert (order.status, order.paid_provider) == ("fulfilled", "invoice")
    assert order.lines.get().type == GROUP_SEATS
    assert invoicing.issue_invoices()["issued"] == 0  # the month is not over
    clock.set_now(dt.datetime(2026, 4, 1, 0, 5, tzinfo=dt.UTC))
    assert invoicing.issue_invoices()["issued"] == 1
    assert invoicing.issue_invoices()["issued"] == 0  # once
    invoice = MonthlyInvoice.objects.get()
    assert (invoice.group, invoice.month, invoice.total) == (group, dt.date(2026, 3, 1),
                                                            order.total)
    assert invoice.due_at == clock.now() + dt.timedelta(days=30)
    mail = Notification.objects.get(kind="group_invoice")
    assert mail.to == "cfo@corp.example" and invoice.number in mail.subject
    assert "发票" in mail.subject  # the owner's language
    assert mail.attachments[0]["mimetype"] == "application/pdf"


def test_finance_records_the_transfer_and_agents_cannot(group_plans: None) -> None:
    admin, group = _organisation(invoice=True)
    checkout.place_order(user=admin, currency="USD", method=invoicing.ON_ACCOUNT, lines=[
        invoicing.LineRequest(type=GROUP_SEATS, group=group.pk, members=1)])
    clock.set_now(dt.datetime(2026, 4, 2, tzinfo=dt.UTC))
    invoicing.issue_invoices()
    invoice = MonthlyInvoice.objects.get()
    agent = User.objects.create_user("agent@esimdesk.example", "x-long-password-1",
                                     is_staff=True)
    agent_client = Client()
    agent_client.force_login(agent)
    assert agent_client.get("/staff/invoices/").status_code == 403
    assert agent_client.post(f"/staff/invoices/{invoice.pk}/paid",
                             {"reference": "x"}).status_code == 403
    finance = User.objects.create_user("finance@esimdesk.example", "x-long-password-1",
                                       is_staff=True)
    finance.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="sharedplans",
        codename__in=["view_monthlyinvoice", "change_monthlyinvoice"]))
    client = Client()
    client.force_login(finance)
    page = client.get("/staff/invoices/").content.decode()
    assert invoice.number in page and "Corp Ltd" in page
    assert client.get(f"/staff/invoices/{invoice.pk}.pdf")["Content-Type"] == "application/pdf"
    client.post(f"/staff/invoices/{invoice.pk}/paid", {"reference": ""})
    assert MonthlyInvoice.objects.get().status == "issued"  # a reference is required
    client.post(f"/staff/invoices/{invoice.pk}/paid", {"reference": "SEPA 2026-04-07"})
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_reference) == ("paid", "SEPA 2026-04-07")
    entry = AuditEntry.objects.get(action="invoice.paid")
    assert "finance@esimdesk.example" in entry.actor and entry.reason == "SEPA 2026-04-07"


def test_automatic_renewal_of_an_invoiced_pool_goes_on_account(group_plans: None) -> None:
    _admin, group = _organisation(invoice=True)
    subscription = group.subscription
    subscription.auto_renew = True
    subscription.save()
    first = Period.objects.get(subscription=subscription, sequence=1)
    clock.set_now(first.ends_at - dt.timedelta(hours=23))
    assert renewals_sweep()["recorded"] == 1
    run_tasks()
    attempt = RenewalAttempt.objects.get(subscription=subscription)
    assert attempt.state == "succeeded", attempt.last_error
    assert attempt.order.paid_provider == "invoice"  # no card was needed
    assert Period.objects.filter(subscription=subscription, sequence=2).exists()


def test_a_personal_order_cannot_go_on_an_invoice(api: Api) -> None:
    answer = api.post("/api/v1/orders", {"lines": [{"type": "new_esim", "plan": plan().code}],
                                         "currency": "USD", "provider": "invoice"})
    assert answer.status_code in (404, 422) and not Order.objects.filter(
        paid_provider="invoice").exists()
