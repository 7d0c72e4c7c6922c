"""The managers' forms on the group page, the staff console pages, and a dashboard whose
query count does not grow with the number of members."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from esimdesk.catalog.models import GB
from esimdesk.core import clock
from esimdesk.groups import services as groups
from esimdesk.groups.models import CostCentre, Group, Invitation, Membership
from esimdesk.sharedplans.pools import PoolCharge, charge_pool
from esimdesk.subscriptions.models import Subscription
from tests.builders import FAMILY_PLAN, TEAM_PLAN
from tests.sharedplans.conftest import START, at, build_family, buy_seats, new_user

pytestmark = pytest.mark.django_db


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_manager_forms(group_plans: None) -> None:
    fam = build_family(3, seats=4)
    client = logged_in(fam.owner)
    base = f"/groups/{fam.group.pk}"
    assert client.post(f"{base}/invite/", {"email": "new@example.com",
                                           "language": "zh-hans"}).status_code == 302
    invitation = Invitation.objects.get(email="new@example.com")
    assert invitation.language == "zh-hans"
    client.post(f"{base}/invitations/{invitation.pk}/revoke/")
    assert Invitation.objects.get(pk=invitation.pk).state == "revoked"
    member = fam.members[1]
    client.post(f"{base}/members/{member.pk}/", {"action": "cap", "cap_gb": "3",
                                                 "cap_percent": ""})
    member.refresh_from_db()
    assert (member.data_cap_bytes, member.data_cap_percent) == (3 * GB, None)
    client.post(f"{base}/members/{member.pk}/", {"action": "role", "role": "admin"})
    assert Membership.objects.get(pk=member.pk).role == "admin"
    client.post(f"{base}/settings/", {"action": "auto_renew", "enabled": "1"})
    assert Subscription.objects.get(group=fam.group).auto_renew
    client.post(f"{base}/members/{fam.members[2].pk}/", {"action": "remove"})
    assert Membership.objects.get(pk=fam.members[2].pk).left_at is not None
    # A refused change is a message on the page, not an error page.
    response = client.post(f"{base}/members/{member.pk}/", {"action": "cap",
                                                            "cap_percent": "150"}, follow=True)
    assert response.status_code == 200
    assert "0 to 100" in response.content.decode()


def test_organisation_settings_and_import_through_the_page(group_plans: None) -> None:
    clock.set_now(START)
    admin = new_user("it@corp.example")
    group = groups.create_group(owner=admin, kind=Group.Kind.ENTERPRISE, name="Corp")
    buy_seats(admin, group, 5, plan=TEAM_PLAN)
    client = logged_in(admin)
    base = f"/groups/{group.pk}"
    client.post(f"{base}/settings/", {"action": "cost_centre", "code": "OPS", "name": "Ops"})
    client.post(f"{base}/settings/", {"action": "policy", "countries": "jp, us",
                                      "default_cap_percent": "25"})
    client.post(f"{base}/settings/", {"action": "billing", "company_name": "Corp Ltd",
                                      "tax_id": "DE123", "billing": "invoice"})
    group.refresh_from_db()
    assert (group.allowed_countries, group.default_cap_percent) == (["JP", "US"], 25)
    # paying later is credit: only staff switch an organisation to invoices (refused whole)
    assert (group.company_name, group.billing) == ("", "payment")
    client.post(f"{base}/settings/", {"action": "billing", "company_name": "Corp Ltd",
                                      "tax_id": "DE123", "billing": "payment"})
    group.refresh_from_db()
    assert group.tax_id == "DE123"
    staff = new_user("ops@example.com")
    staff.is_staff = True
    groups.update_billing(by=staff, group=group, company_name="Corp Ltd", tax_id="DE123",
                          billing="invoice")
    group.refresh_from_db()
    assert group.billing == "invoice"
    assert CostCentre.objects.filter(group=group, code="OPS").exists()
    upload = SimpleUploadedFile("staff.csv", b"email,cost_centre\na@corp.example,OPS\n"
                                             b"b@corp.example,NOPE\n", content_type="text/csv")
    page = client.post(f"{base}/import/", {"file": upload})
    assert page.status_code == 200
    html = page.content.decode()
    assert "NOPE" not in html and "unknown_cost_centre" in html
    joined = Membership.active.get(group=group, user__email="a@corp.example")
    assert joined.data_cap_percent == 25 and joined.cost_centre is not None


def test_staff_console_lists_group_records(group_plans: None) -> None:
    fam = build_family(2)
    staff = new_user("staff@example.com")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client = logged_in(staff)
    for app, model in [("sharedplans", "groupplanterms"), ("groups", "invitation"),
                       ("sharedplans", "memberusage"), ("sharedplans", "groupline"),
                       ("groups", "costcentre")]:
        response = client.get(f"/staff/{app}/{model}/")
        assert response.status_code == 200, model
    assert fam.group.name


def test_dashboard_queries_do_not_grow_with_members(group_plans: None) -> None:
    def queries(size: int) -> int:
        fam = build_family(size)
        clock.set_now(at(60))
        charge_pool(charges=[PoolCharge(e, "data", 1000, at(5)) for e in fam.esim_ids()])
        client = logged_in(fam.owner)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/groups/{fam.group.pk}/").status_code == 200
        return len(captured)

    assert queries(2) == queries(5)


def test_group_orders_show_in_the_payers_history(group_plans: None) -> None:
    from esimdesk.orders import services as orders
    from esimdesk.payments import checkout
    from esimdesk.payments import services as payments
    from tests.conftest import run_tasks

    clock.set_now(START)
    owner = new_user("payer@example.com")
    group = groups.create_group(owner=owner, kind=Group.Kind.FAMILY, name="Payers")
    payment = checkout.place_order(user=owner, currency="USD", method="sandbox", lines=[
        orders.LineRequest(type="group_plan", plan=FAMILY_PLAN, group=group.pk,
                           members=2)]).payment
    payments.complete_sandbox_payment(user=owner, payment_id=payment.public_id,
                                      outcome="approve")
    run_tasks()
    number = payment.order.number
    client = logged_in(owner)
    for url in ["/orders/", f"/orders/{number}/", f"/orders/{number}/receipt.pdf"]:
        assert client.get(url).status_code == 200, url
    member = logged_in(new_user("kid@example.com"))
    assert member.get(f"/orders/{number}/").status_code == 404  # never anyone else's


def test_inviting_by_a_national_number(group_plans: None) -> None:
    fam = build_family(3, seats=4)
    client = logged_in(fam.owner)
    base = f"/groups/{fam.group.pk}"
    page = client.get(f"{base}/").content.decode()
    assert 'name="phone_0"' in page and 'name="phone_1"' in page
    client.post(f"{base}/invite/", {"phone_0": "CN", "phone_1": "139 1234 5678",
                                    "language": "zh-hans"})
    assert Invitation.objects.filter(phone="+8613912345678").exists()
    refused = client.post(f"{base}/invite/", {"phone_0": "CN", "phone_1": "139"}, follow=True)
    assert "check the country and the number" in refused.content.decode()
