"""Roles: agent, finance and admin hold exactly their permissions, every staff page and
action checks its own, and refunds stay within the role's limit."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core.models import AuditEntry
from esimdesk.payments.models import Payment, Refund
from esimdesk.staff import roles
from tests.staff.conftest import member

pytestmark = pytest.mark.django_db


def test_roles_exist_after_migrate_with_real_permissions_and_sync_is_idempotent() -> None:
    assert set(Group.objects.filter(name__in=roles.ROLES).values_list("name", flat=True)) \
        == {"agent", "finance", "admin"}
    assert roles.missing_permissions() == {}
    first = roles.sync_roles()
    assert roles.sync_roles() == first
    assert first["admin"] == Permission.objects.count()
    assert first["agent"] == len(roles.AGENT_PERMISSIONS)
    # A right added to a role by hand is taken away again: roles are defined in code.
    agent = Group.objects.get(name="agent")
    agent.permissions.add(Permission.objects.get(codename="add_refund"))
    roles.sync_roles()
    assert not agent.permissions.filter(codename="add_refund").exists()


@pytest.mark.parametrize(("role", "allowed", "refused"), [
    ("agent", ["staff.view_customer_console", "staff.extend_validity", "staff.suspend_esim",
               "staff.unlock_account", "staff.resend_install_email", "esims.reissue_esim",
               "orders.change_order", "payments.view_payment", "support.view_conversation"],
     ["payments.add_refund", "staff.refund_beyond_limit", "staff.extend_validity_beyond_limit",
      "catalog.change_plan", "accounts.change_user"]),
    ("finance", ["staff.view_customer_console", "payments.add_refund", "payments.view_payment",
                 "payments.view_paymentevent", "console.view_money"],
     ["staff.refund_beyond_limit", "staff.extend_validity", "staff.suspend_esim",
      "esims.reissue_esim", "orders.change_order", "staff.unlock_account",
      "console.view_figures"]),
    ("admin", ["payments.add_refund", "staff.refund_beyond_limit", "staff.extend_validity",
               "staff.extend_validity_beyond_limit", "catalog.change_plan",
               "accounts.change_user", "staff.unlock_account"], []),
])
def test_each_role_holds_exactly_its_rights(role: str, allowed: list[str],
                                            refused: list[str]) -> None:
    user, _client = member(f"{role}@example.com", role)
    user = User.objects.get(pk=user.pk)  # a fresh permission cache
    assert [p for p in allowed if not user.has_perm(p)] == []
    assert [p for p in refused if user.has_perm(p)] == []
    assert roles.roles_of(user) == [role]


def test_staff_without_a_role_sees_no_console_page(nobody: Client, customer: User) -> None:
    for url in ("/staff/customers/", f"/staff/customers/{customer.pk}/", "/staff/outbox/",
                "/staff/activations/"):
        assert nobody.get(url).status_code == 403, url
    for action in ("resend_email", "retry", "reissue", "extend", "suspend", "resume", "unlock"):
        response = nobody.post(f"/staff/customers/{customer.pk}/actions/{action}",
                               {"reason": "asked"})
        assert response.status_code == 403, action
    assert not AuditEntry.objects.filter(actor_type="staff").exists()


def test_each_role_reaches_its_pages(agent: Client, finance: Client, customer: User) -> None:
    for url in ("/staff/customers/", f"/staff/customers/{customer.pk}/", "/staff/outbox/",
                "/staff/activations/"):
        assert agent.get(url).status_code == 200, url
    assert finance.get(f"/staff/customers/{customer.pk}/").status_code == 200
    assert finance.get("/staff/outbox/").status_code == 403
    # The Django admin follows the groups' model permissions.
    assert agent.get("/staff/payments/payment/").status_code == 200
    assert agent.get("/staff/catalog/plan/").status_code == 403
    assert finance.get("/staff/esims/esim/").status_code == 200
    assert finance.get("/staff/support/conversation/").status_code in (403, 404)


def test_an_agent_cannot_refund(agent: Client, customer: User) -> None:
    payment = Payment.objects.get()
    page = agent.get(f"/staff/customers/{customer.pk}/").content.decode()
    assert payment.public_id in page
    assert f"/staff/payments/{payment.public_id}/refund/" not in page
    assert "action-refund" not in page
    url = f"/staff/payments/{payment.public_id}/refund/"
    assert agent.get(url).status_code == 403
    assert agent.post(url, {"amount": "1.00", "reason": "goodwill"}).status_code == 403
    assert not Refund.objects.exists()


def _refund(client: Client, payment: Payment, amount: str) -> Any:
    return client.post(f"/staff/payments/{payment.public_id}/refund/",
                       {"amount": amount, "reason": "outage in Tokyo"})


def test_finance_refunds_within_its_limit_and_admin_beyond(
        finance: Client, boss: Client, customer: User, monkeypatch: pytest.MonkeyPatch) -> None:
    payment = Payment.objects.get()
    assert payment.currency == "USD" and payment.amount >= 250
    monkeypatch.setenv("ESIMDESK_REFUND_LIMIT_FINANCE", "USD 2, EUR 2")
    page = finance.get(f"/staff/customers/{customer.pk}/").content.decode()
    assert f"/staff/payments/{payment.public_id}/refund/" in page
    refused = _refund(finance, payment, "2.01")
    assert refused.status_code == 200 and "above your limit" in refused.content.decode()
    assert not Refund.objects.exists()
    assert _refund(finance, payment, "1.50").status_code == 302
    # Splitting does not get round the limit: it counts what staff refunded already.
    assert "above your limit" in _refund(finance, payment, "1.00").content.decode()
    assert Refund.objects.count() == 1
    assert _refund(boss, payment, "1.00").status_code == 302  # admin: no limit by default
    refund = Refund.objects.get(amount=150)
    entry = AuditEntry.objects.get(action="refund.request", object_id=str(refund.pk))
    assert entry.actor.endswith(":finance@example.com") and entry.reason == "outage in Tokyo"


def test_a_currency_missing_from_the_finance_limit_needs_an_admin(
        finance: Client, customer: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_REFUND_LIMIT_FINANCE", "EUR 100")
    payment = Payment.objects.get()
    assert "above your limit" in _refund(finance, payment, "0.10").content.decode()
    monkeypatch.setenv("ESIMDESK_REFUND_LIMIT_ADMIN", "USD 0.50")
    boss = member("limited-admin@example.com", "admin")[1]
    assert "above your limit" in _refund(boss, payment, "0.60").content.decode()
    assert not Refund.objects.exists()


def test_sync_roles_command_grants_a_role(db: None) -> None:
    user = User.objects.create_user("new-agent@example.com", "x-long-password-1")
    out = StringIO()
    call_command("sync_roles", "--grant", "new-agent@example.com", "agent", stdout=out)
    user = User.objects.get(pk=user.pk)
    assert user.is_staff and roles.roles_of(user) == ["agent"]
    assert "agent" in out.getvalue()
    assert AuditEntry.objects.filter(action="staff.role_granted", object_id=str(user.pk)).exists()


def test_the_roles_are_listed_read_only_in_the_admin(boss: Client, agent: Client) -> None:
    page = boss.get("/staff/staff/role/")
    assert page.status_code == 200
    assert all(name in page.content.decode() for name in ("agent", "finance", "admin"))
    role = Group.objects.get(name="agent")
    detail = boss.get(f"/staff/staff/role/{role.pk}/change/").content.decode()
    assert "staff.extend_validity" in detail and "payments.add_refund" not in detail
    assert boss.post(f"/staff/staff/role/{role.pk}/change/", {"name": "x"}).status_code == 403
    assert agent.get("/staff/staff/role/").status_code == 403
