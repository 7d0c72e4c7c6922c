"""Plan -> supplier bundles: which suppliers a plan is ordered from, in which order, under
which code; the fallback for plans that map none; failover and renewals through them."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.catalog import services as catalog_services
from esimdesk.catalog.bundles import code_for, suppliers_for
from esimdesk.catalog.models import ExchangeRate, Plan, SupplierBundle
from esimdesk.core.errors import ValidationFailed
from esimdesk.core.models import AuditEntry
from esimdesk.esims.models import Esim
from esimdesk.orders import services as orders
from esimdesk.orders.models import OrderLine
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.provisioning.models import Es2Order
from esimdesk.sandbox.models import SimulatedPlanApplication, SimulatedProfile
from tests import builders

ALL = ["simulator", "es2plus", "esimgo"]


def configure(settings: Any, names: list[str]) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": names}


def bundle(plan: Plan, supplier: str, code: str, *, priority: int = 1, cost: int = 500,
           currency: str = "USD", active: bool = True) -> SupplierBundle:
    return SupplierBundle.objects.create(plan=plan, supplier=supplier, code=code,
                                         priority=priority, cost=cost,
                                         cost_currency=currency, is_active=active)


@pytest.fixture
def plan(db: None) -> Plan:
    """A Thai 10 GB month mapping no bundle yet, so each test says what it maps."""
    return builders.plan(countries=("TH",), unit="month", data_gb=10, usd=1299)


def picked(plan: Plan) -> list[tuple[str, str]]:
    return [(c.supplier, c.code) for c in suppliers_for(Plan.objects.get(pk=plan.pk))]


def test_active_bundles_on_configured_suppliers_in_priority_order(plan: Plan,
                                                                  settings: Any) -> None:
    configure(settings, ALL)
    bundle(plan, "simulator", "SIM-TH-10", priority=2)
    bundle(plan, "esimgo", "esim_10GB_30D_TH_V2", priority=1)
    bundle(plan, "es2plus", "OWN-TH-10", priority=2)
    assert picked(plan) == [("esimgo", "esim_10GB_30D_TH_V2"), ("simulator", "SIM-TH-10"),
                            ("es2plus", "OWN-TH-10")]  # equal priority: configured order
    configure(settings, ["es2plus", "esimgo", "simulator"])
    assert picked(plan) == [("esimgo", "esim_10GB_30D_TH_V2"), ("es2plus", "OWN-TH-10"),
                            ("simulator", "SIM-TH-10")]


def test_switched_off_and_unconfigured_suppliers_are_left_out(plan: Plan,
                                                              settings: Any) -> None:
    configure(settings, ["simulator", "es2plus"])
    bundle(plan, "simulator", "SIM-TH-10", active=False)
    bundle(plan, "es2plus", "OWN-TH-10", priority=5)
    bundle(plan, "esimgo", "esim_10GB_30D_TH_V2", priority=1)  # not configured
    assert picked(plan) == [("es2plus", "OWN-TH-10")]
    SupplierBundle.objects.filter(plan=plan, supplier="es2plus").update(is_active=False)
    assert picked(plan) == []  # staff switched every one off: nothing is ordered


def test_a_plan_without_bundles_keeps_the_configured_order_and_its_own_code(
        plan: Plan, settings: Any) -> None:
    configure(settings, ["es2plus", "simulator"])
    assert picked(plan) == [("es2plus", plan.code), ("simulator", plan.code)]
    # Bundles only on suppliers not configured now count as none.
    bundle(plan, "esimgo", "esim_10GB_30D_TH_V2")
    assert picked(plan) == [("es2plus", plan.code), ("simulator", plan.code)]


def test_code_for_the_issuing_supplier(plan: Plan) -> None:
    bundle(plan, "simulator", "SIM-TH-10", active=False)
    plan = Plan.objects.get(pk=plan.pk)
    assert code_for(plan, "simulator") == "SIM-TH-10"  # switched off: its eSIMs renew there
    assert code_for(plan, "es2plus") == plan.code


@pytest.mark.parametrize(("field", "value", "error"), [
    ("supplier", "acme", "supplier"),
    ("cost", -1, "cost"),
    ("cost_currency", "XYZ", "cost_currency"),
    ("code", "  ", "code"),
])
def test_bad_bundles_are_refused_next_to_the_field(plan: Plan, field: str, value: Any,
                                                   error: str) -> None:
    fields = {"plan": plan, "supplier": "simulator", "code": "SIM-TH-10", "cost": 500,
              "cost_currency": "USD", field: value}
    with pytest.raises(ValidationError) as raised:
        SupplierBundle(**fields).full_clean()
    assert list(raised.value.message_dict) == [error]


def test_currency_is_stored_in_iso_form_and_the_database_guards_the_rest(plan: Plan) -> None:
    row = SupplierBundle(plan=plan, supplier="simulator", code=" SIM-TH-10 ", cost=0,
                         cost_currency="jpy")
    row.full_clean()
    row.save()
    assert (row.code, row.cost_currency) == ("SIM-TH-10", "JPY")
    with pytest.raises(IntegrityError), transaction.atomic():
        bundle(plan, "simulator", "again")  # one bundle per plan and supplier
    with pytest.raises(IntegrityError), transaction.atomic():
        bundle(plan, "es2plus", "neg", cost=-5)


def test_exchange_rates_are_checked(db: None) -> None:
    for source, target, rate, code in [("USD", "USD", "1", "same_currency"),
                                       ("USD", "EUR", "0", "invalid_exchange_rate"),
                                       ("USD", "XXX", "2", "unsupported_currency")]:
        with pytest.raises(ValidationFailed) as raised:
            catalog_services.set_exchange_rate(from_currency=source, to_currency=target,
                                               rate=Decimal(rate))
        assert raised.value.code == code
    with pytest.raises(ValidationError) as invalid:
        ExchangeRate(from_currency="EUR", to_currency="eur", rate=Decimal("-1")).full_clean()
    assert set(invalid.value.message_dict) == {"to_currency", "rate", "set_at"}


@pytest.fixture
def user(db: None) -> User:
    return User.objects.create_user("bundles@example.com", "x-long-password-1")


def paid_order(user: User, plan: str, **line: str) -> int:
    payment = checkout.place_order(user=user, currency="USD", method="sandbox",
                                   lines=[orders.LineRequest(plan=plan, **line)]).payment
    payments.complete_sandbox_payment(user=user, payment_id=payment.public_id,
                                      outcome="approve")
    return payment.order_id


def test_failover_moves_to_the_next_mapped_supplier_with_its_own_code(
        plan: Plan, user: User, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Configured order says simulator first; the plan's priorities say its own SM-DP+.
    configure(settings, ["simulator", "es2plus"])
    monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("ESIMDESK_ACTIVATION_ATTEMPTS", "2")
    bundle(plan, "es2plus", "OWN-TH-10", priority=1)
    bundle(plan, "simulator", "SIM-TH-10", priority=2)
    order_id = paid_order(user, plan.code, type="new_esim")
    assert orders.fulfil_order(order_id=order_id) == "retrying"
    assert Es2Order.objects.get().plan_code == "OWN-TH-10"
    assert orders.fulfil_order(order_id=order_id, attempt=2) == "fulfilled"
    line = OrderLine.objects.get(order_id=order_id)
    profile = SimulatedProfile.objects.get()
    assert (profile.plan_code, profile.reference) == ("SIM-TH-10", line.supplier_reference)
    assert line.supplier_index == 1
    failover = AuditEntry.objects.get(action="activation.failover")
    assert failover.after == {"supplier": "simulator", "bundle": "SIM-TH-10"}
    assert "es2plus" in failover.reason
    # A renewal goes to the issuing supplier under that supplier's code, whatever the order.
    esim = Esim.objects.get()
    assert esim.upstream == "simulator"
    SupplierBundle.objects.filter(plan=plan, supplier="simulator").update(code="SIM-TH-10-V2")
    renewal = paid_order(user, plan.code, type="renewal", iccid=esim.iccid)
    assert orders.fulfil_order(order_id=renewal) == "fulfilled"
    assert SimulatedPlanApplication.objects.get().plan_code == "SIM-TH-10-V2"


def test_every_bundle_switched_off_fails_the_order_for_staff(plan: Plan, user: User) -> None:
    bundle(plan, "simulator", "SIM-TH-10", active=False)
    order_id = paid_order(user, plan.code, type="new_esim")
    assert orders.fulfil_order(order_id=order_id) == "failed"
    entry = AuditEntry.objects.get(action="order.fulfilment_failed")
    assert "switched off" in entry.reason
    assert not SimulatedProfile.objects.exists()


class _FormFields(HTMLParser):
    """The values a browser would submit from an admin change form (no JavaScript)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.data.setdefault(name, []).append(a.get("value", "on"))
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.data.setdefault(self._select, []).append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea][-1] += data.lstrip("\n")


def test_bundles_are_edited_inline_on_the_plan_and_every_row_is_audited(plan: Plan) -> None:
    staff = Client()
    staff.force_login(User.objects.create_superuser("cat@example.com", "x-long-password-1"))
    url = f"/staff/catalog/plan/{plan.pk}/change/"
    bundle(plan, "simulator", "SIM-TH-10", cost=700)

    def form() -> dict[str, list[str]]:
        parser = _FormFields()
        parser.feed(staff.get(url).content.decode())
        return {k: v for k, v in parser.data.items() if "__prefix__" not in k}

    data = form()
    assert data["bundles-0-code"] == ["SIM-TH-10"]
    data.update({"bundles-0-cost": ["650"], "bundles-TOTAL_FORMS": ["2"],
                 "bundles-1-supplier": ["esimgo"], "bundles-1-code": ["esim_10GB_30D_TH_V2"],
                 "bundles-1-cost": ["5"], "bundles-1-cost_currency": ["GBP"],
                 "bundles-1-priority": ["2"], "bundles-1-is_active": ["on"],
                 "bundles-1-plan": [str(plan.pk)]})
    response = staff.post(url, data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert SupplierBundle.objects.get(plan=plan, supplier="simulator").cost == 650
    assert SupplierBundle.objects.get(plan=plan, supplier="esimgo").cost_currency == "GBP"
    rows = AuditEntry.objects.filter(object_type="supplierbundle").order_by("pk")
    assert [(e.action, e.after) for e in rows] == [
        ("admin.change", {"cost": "650"}),
        ("admin.add", {"supplier": "esimgo", "code": "esim_10GB_30D_TH_V2", "cost": "5",
                       "cost_currency": "GBP", "priority": "2"})]
    assert rows[0].before == {"cost": "700"} and rows[0].actor_type == "staff"
    # A bad row is refused next to its field and nothing is saved.
    data = form()
    data.update({"bundles-1-cost": ["-3"], "bundles-0-supplier": ["acme"]})
    refused = staff.post(url, data)
    assert refused.status_code == 200
    assert "A cost cannot be negative." in refused.content.decode()
    assert "acme is not one of the available choices" in refused.content.decode()
    assert SupplierBundle.objects.get(plan=plan, supplier="esimgo").cost == 5
    # Deleting a row is audited too.
    data = form()
    data["bundles-1-DELETE"] = ["on"]
    assert staff.post(url, data).status_code == 302
    assert not SupplierBundle.objects.filter(plan=plan, supplier="esimgo").exists()
    assert AuditEntry.objects.filter(object_type="supplierbundle",
                                     action="admin.delete").count() == 1


def test_staff_say_in_the_console_whether_a_plan_has_5g_and_a_hotspot(plan: Plan) -> None:
    staff = Client()
    staff.force_login(User.objects.create_superuser("fast@example.com", "x-long-password-1"))
    url = f"/staff/catalog/plan/{plan.pk}/change/"
    parser = _FormFields()
    parser.feed(staff.get(url).content.decode())
    data = {k: v for k, v in parser.data.items() if "__prefix__" not in k}
    assert "network_5g" not in data and "hotspot" not in data  # unticked boxes
    data.update({"network_5g": ["on"], "hotspot": ["on"]})
    response = staff.post(url, data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    plan.refresh_from_db()
    assert plan.network_5g and plan.hotspot
