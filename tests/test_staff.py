"""The staff console: every model in the admin, searchable; audit read-only; the outbox."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from esimdesk.accounts.models import User
from esimdesk.core.models import AuditEntry
from esimdesk.notifications.models import OutboxMessage
from tests.builders import DAY, Shop
from tests.conftest import Api
from tests.e2e.helpers import buy_and_pay


@pytest.fixture
def staff(shop: Shop) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("boss@example.com", "x-long-password-1"))
    return client


def test_every_model_has_a_working_admin_list(staff: Client) -> None:
    from django.apps import apps

    # Usage events have a composite primary key, which the admin cannot list: their own
    # page (/staff/usage/, tested in tests/staff/test_usage_records.py) stands in for it.
    ours = [m for m in apps.get_models() if m.__module__.startswith("esimdesk.")
            and m._meta.pk.name != "pk"]
    assert {m.__name__ for m in apps.get_models() if m._meta.pk.name == "pk"} == {"UsageEvent"}
    registered = set(admin.site._registry)
    assert [m.__name__ for m in ours if m not in registered] == []
    for model in ours:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert staff.get(url + "?q=89").status_code == 200, url


def test_search_by_iccid_email_phone_and_order_number(shop: Shop, staff: Client) -> None:
    api = Api.signup("findme@example.com")
    order = buy_and_pay(api, DAY)
    iccid = order["lines"][0]["iccid"]
    User.objects.filter(email="findme@example.com").update(phone="+8613912345678")
    assert iccid in staff.get(f"/staff/esims/esim/?q={iccid}").content.decode()
    assert iccid in staff.get("/staff/esims/esim/?q=findme@example.com").content.decode()
    assert order["id"] in staff.get(f"/staff/orders/order/?q={iccid}").content.decode()
    assert order["id"] in staff.get(f"/staff/orders/order/?q={order['id']}").content.decode()
    assert "findme" in staff.get("/staff/accounts/user/?q=%2B8613912345678").content.decode()


def test_audit_trail_is_read_only(shop: Shop, staff: Client) -> None:
    Api.signup("audit@example.com")
    buy_and_pay(Api.signup("audit2@example.com"), DAY)
    entry = AuditEntry.objects.first()
    assert entry is not None
    change = reverse("admin:core_auditentry_change", args=[entry.pk])
    page = staff.get(change)
    assert page.status_code == 200
    assert 'type="submit"' not in page.content.decode().split('id="content-main"')[1]
    assert staff.post(change, {"action": "hacked"}).status_code == 403
    assert staff.post(reverse("admin:core_auditentry_delete", args=[entry.pk])).status_code \
        == 403


def test_outbox_shows_every_mail_and_sms(shop: Shop, staff: Client) -> None:
    order = buy_and_pay(Api.signup("outbox@example.com"), DAY)
    mail = OutboxMessage.objects.get(subject__contains=order["id"])
    listing = staff.get("/staff/outbox/?channel=email&q=outbox@").content.decode()
    assert order["id"] in listing
    detail = staff.get(f"/staff/outbox/{mail.pk}/").content.decode()
    assert f'src="/staff/outbox/{mail.pk}/html"' in detail and "receipt" in detail
    preview = staff.get(f"/staff/outbox/{mail.pk}/html")
    assert preview.content.decode() == mail.body_html
    attachment = staff.get(f"/staff/outbox/{mail.pk}/attachments/0")
    assert attachment["Content-Type"] == "application/pdf"
    assert staff.get(f"/staff/outbox/{mail.pk}/attachments/5").status_code == 404


def test_outbox_is_for_staff_only(shop: Shop) -> None:
    client = Client()
    client.force_login(User.objects.create_user("cust@example.com", "x-long-password-1"))
    assert client.get("/staff/outbox/").status_code == 302


def test_esim_status_moves_only_through_audited_actions(shop: Shop, staff: Client) -> None:
    from esimdesk.esims.models import Esim

    iccid = buy_and_pay(Api.signup("act@example.com"), DAY)["lines"][0]["iccid"]
    esim = Esim.objects.get(iccid=iccid)
    changelist = "/staff/esims/esim/"
    staff.post(changelist, {"action": "suspend", "_selected_action": [esim.pk]})
    esim.refresh_from_db()
    assert esim.status == "ready"  # ready -> suspended is not allowed
    staff.post(changelist, {"action": "mark_installed", "_selected_action": [esim.pk]})
    staff.post(changelist, {"action": "suspend", "_selected_action": [esim.pk]})
    esim.refresh_from_db()
    assert esim.status == "suspended"
    moves = AuditEntry.objects.filter(object_type="esim", action="esim.status",
                                      object_id=str(esim.pk))
    assert [m.after["status"] for m in moves.order_by("id")] == ["installed", "suspended"]
    assert all(m.actor_type == "staff" for m in moves)


def test_staff_edits_are_audited(shop: Shop, staff: Client) -> None:
    from esimdesk.catalog.models import Plan

    plan = Plan.objects.get(code=DAY)
    url = reverse("admin:catalog_plan_change", args=[plan.pk])
    form = staff.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update({"name_en": "Japan 1 GB a day", "countries": [c.pk for c in
                                                               plan.countries.all()],
                 "prices-TOTAL_FORMS": "0", "prices-INITIAL_FORMS": "0",
                 "bundles-TOTAL_FORMS": "0", "bundles-INITIAL_FORMS": "0"})
    response = staff.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = AuditEntry.objects.get(action="admin.change", object_type="plan")
    assert entry.actor_type == "staff"
    assert entry.after == {"name_en": "Japan 1 GB a day"}


def test_provider_settings_from_the_console_win_and_stay_secret(
        staff: Client, console_settings_on: None) -> None:
    from esimdesk import config
    from esimdesk.core.models import ConsoleSetting
    from esimdesk.payments import registry

    response = staff.post("/staff/core/consolesetting/add/",
                          {"name": "ESIMDESK_STRIPE_SECRET_KEY", "value": "sk_test_console"})
    assert response.status_code == 302
    stored = ConsoleSetting.objects.get()
    assert "sk_test_console" not in stored.value_encrypted
    assert config.env("ESIMDESK_STRIPE_SECRET_KEY") == "sk_test_console"
    listing = staff.get("/staff/core/consolesetting/").content.decode()
    assert "sk_test_console" not in listing and "•••• (set)" in listing
    entry = AuditEntry.objects.get(action="console_setting.set")
    assert "sk_test_console" not in str(entry.after)
    staff.post("/staff/core/consolesetting/add/",
               {"name": "ESIMDESK_PAYMENT_PROVIDERS", "value": "sandbox"})
    assert registry.enabled_names() == ["sandbox"]
    bad = staff.post("/staff/core/consolesetting/add/",
                     {"name": "ESIMDESK_SECRET_KEY", "value": "x"})
    assert bad.status_code == 200  # not a console setting: refused with a form error
