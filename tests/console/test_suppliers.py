"""The console's supplier page: each configured supplier in failover order with its health,
its settings (where each comes from; a secret's value never), links to its calls, and *Test
connection* (POST, CSRF, the admin role, audited, the outcome in one message)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from esimdesk.core import clock
from esimdesk.core.console_settings import encrypt
from esimdesk.core.models import AuditEntry, ConsoleSetting
from esimdesk.provisioning.models import SupplierCall
from esimdesk.provisioning.suppliers.base import FinalUpstreamError, RetryableUpstreamError
from tests.console.conftest import member
from tests.provisioning.probe_supplier import ProbeSupplier, probe  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def card(html: str, name: str) -> str:
    match = re.search(rf'data-supplier="{name}">(.*?)</section>', html, re.S)
    assert match, name
    return match.group(1)


def setting_row(html: str, option: str) -> str:
    match = re.search(rf"<tr class=\"setting-[a-z]+\"><td[^>]*><code>{option}</code>(.*?)</tr>",
                      html, re.S)
    assert match, option
    return text(match.group(0))


def test_each_supplier_in_failover_order_with_its_health_and_settings(
        probe: type[ProbeSupplier], console_settings_on: None) -> None:  # noqa: F811
    _user, boss = member("boss@example.com", "admin")
    now = clock.now()
    SupplierCall.objects.bulk_create([
        SupplierCall(at=now - dt.timedelta(minutes=5), supplier="probe",
                     operation="order_profile", outcome="ok", duration_ms=200),
        SupplierCall(at=now - dt.timedelta(hours=3), supplier="probe",
                     operation="order_profile", outcome="retryable", duration_ms=900)])
    ConsoleSetting.objects.create(name="ESIMDESK_PROBE_TOKEN", value_encrypted=encrypt("tok-9"))
    html = boss.get("/staff/suppliers/").content.decode()
    assert html.index("1. Upstream simulator") < html.index("2. Probe Networks")
    probe_card = card(html, "probe")
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", probe_card, re.S)
    assert [text(row) for row in rows] == ["Last hour 1 0 0 200 ms",
                                           "Last day 2 1 0 900 ms"]
    url = setting_row(probe_card, "ESIMDESK_PROBE_URL")
    assert "set in the environment" in url and url.endswith("https://probe.example.test")
    token = setting_row(probe_card, "ESIMDESK_PROBE_TOKEN")
    assert "set in the console" in token and "secret, not shown" in token
    assert "tok-9" not in html
    assert "not set" in setting_row(probe_card, "ESIMDESK_PROBE_CA")
    assert setting_row(probe_card, "ESIMDESK_PROBE_REGION").endswith("default eu")
    # Console-editable options link to the console's settings; the others do not.
    assert "/staff/core/consolesetting/add/?name=ESIMDESK_PROBE_CA" in probe_card
    stored = ConsoleSetting.objects.get().pk
    assert f"/staff/core/consolesetting/{stored}/change/" in probe_card
    assert "name=ESIMDESK_PROBE_REGION" not in probe_card
    assert "/staff/provisioning/suppliercall/?supplier=probe" in probe_card
    assert 'action="/staff/suppliers/probe/test"' in probe_card
    # The links to the calls open.
    for link in re.findall(r'href="(/staff/provisioning/[^"]+)"', probe_card):
        response = boss.get(link.replace("&amp;", "&"))
        assert response.status_code == 200 and "?e=1" not in response.get("Location", "")


def test_test_connection_says_how_it_went_in_one_message_and_is_audited(
        probe: type[ProbeSupplier]) -> None:  # noqa: F811
    _user, boss = member("boss@example.com", "admin")
    page = boss.post("/staff/suppliers/probe/test", follow=True)
    said = [str(m) for m in page.context["messages"]]
    assert len(said) == 1 and re.fullmatch(
        r"Probe Networks: the connection works \(\d+ ms\): reached https://probe\.example\.test",
        said[0]), said
    probe.fault = FinalUpstreamError("certificate verify failed: unable to get local issuer",
                                     code="tls_untrusted")
    page = boss.post("/staff/suppliers/probe/test", follow=True)
    assert [str(m) for m in page.context["messages"]] == [
        "Probe Networks: the connection failed: certificate verify failed: unable to get "
        "local issuer (tls_untrusted)"]
    probe.fault = RetryableUpstreamError("HTTP 503", code="unavailable")
    page = boss.post("/staff/suppliers/probe/test", follow=True)
    assert [str(m) for m in page.context["messages"]] == [
        "Probe Networks did not answer properly this time, try again later: HTTP 503 "
        "(unavailable)"]
    probe.fault = OSError(2, "No such file or directory")
    page = boss.post("/staff/suppliers/probe/test", follow=True)
    assert page.status_code == 200
    assert [str(m) for m in page.context["messages"]] == [
        "Probe Networks: the connection failed: FileNotFoundError: [Errno 2] No such file or "
        "directory (unexpected_error)"]
    entries = AuditEntry.objects.filter(action="supplier.connection_checked").order_by("pk")
    assert [(e.object_id, e.after["ok"], e.after["code"]) for e in entries] == [
        ("probe", True, ""), ("probe", False, "tls_untrusted"),
        ("probe", False, "unavailable"), ("probe", False, "unexpected_error")]
    assert all(e.actor_type == "staff" for e in entries)


def test_only_who_may_test_a_supplier_sees_the_button_and_may_press_it(
        probe: type[ProbeSupplier]) -> None:  # noqa: F811
    _user, finance = member("finance@example.com", "finance")
    _user, agent = member("agent@example.com", "agent")
    for client in (finance, agent):
        assert client.get("/staff/suppliers/").status_code == 403
        assert client.post("/staff/suppliers/probe/test").status_code == 403
    reader, watcher = member("ops@example.com")
    reader.user_permissions.add(Permission.objects.get(codename="view_suppliercall"))
    page = watcher.get("/staff/suppliers/").content.decode()
    assert "Probe Networks" in page and "/test\"" not in page
    assert "edit in the console" not in page  # no right to the console settings either
    assert watcher.post("/staff/suppliers/probe/test").status_code == 403
    assert not AuditEntry.objects.filter(action="supplier.connection_checked").exists()


def test_test_connection_needs_a_post_with_its_csrf_token_and_a_configured_supplier(
        probe: type[ProbeSupplier]) -> None:  # noqa: F811
    boss_user, boss = member("boss@example.com", "admin")
    assert boss.get("/staff/suppliers/probe/test").status_code == 405
    assert boss.post("/staff/suppliers/nosuch/test").status_code == 404
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(boss_user)
    assert strict.post("/staff/suppliers/probe/test").status_code == 403
    page = strict.get("/staff/suppliers/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    done = strict.post("/staff/suppliers/probe/test",
                       {"csrfmiddlewaretoken": token.group(1)})
    assert done.status_code == 302 and done["Location"] == "/staff/suppliers/"
    assert Client().get("/staff/suppliers/").status_code == 302  # sign in first


def test_a_name_no_adapter_has_is_shown_as_a_typing_error(settings: object) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK,  # type: ignore[attr-defined]
                         "UPSTREAM_PROVIDERS": ["simulator", "es2plsu"]}
    _user, boss = member("boss@example.com", "admin")
    html = boss.get("/staff/suppliers/").content.decode()
    assert "No supplier of this name is installed" in card(html, "es2plsu")
    assert "/staff/suppliers/es2plsu/test" not in html
    page = boss.post("/staff/suppliers/simulator/test", follow=True)
    assert next(str(m) for m in page.context["messages"]).startswith(
        "Upstream simulator: the connection works")


def test_the_navigation_and_the_home_pages_supplier_health_open_the_supplier_page() -> None:
    _user, boss = member("boss@example.com", "admin")
    assert 'href="/staff/suppliers/"' in boss.get("/staff/").content.decode()
    _user, finance = member("finance@example.com", "finance")  # the figures, not the page
    assert 'href="/staff/suppliers/"' not in finance.get("/staff/").content.decode()
    html = boss.get("/staff/suppliers/").content.decode()
    assert re.search(r'<a[^>]*href="/staff/suppliers/"[^>]*data-nav="suppliers"'
                     r'|<a[^>]*data-nav="suppliers"[^>]*href="/staff/suppliers/"', html)


def test_suppliers_installed_but_not_in_use_are_set_up_and_tested_before_going_live(
        console_settings_on: None) -> None:
    _user, boss = member("boss@example.com", "admin")
    html = boss.get("/staff/suppliers/").content.decode()
    idle = html[html.index('id="not-in-use"'):]
    es2plus = card(idle, "es2plus")
    assert "supplier-health" not in es2plus  # it takes no orders: no figures
    assert "/staff/core/consolesetting/add/?name=ESIMDESK_ES2PLUS_CA" in es2plus
    assert "not set" in setting_row(es2plus, "ESIMDESK_ES2PLUS_URL")
    assert 'action="/staff/suppliers/es2plus/test"' in es2plus
    assert "ESIMDESK_ESIMGO_API_KEY" in card(idle, "esimgo")
    page = boss.post("/staff/suppliers/esimgo/test", follow=True)
    said = [str(m) for m in page.context["messages"]]
    assert len(said) == 1 and said[0].startswith("eSIM Go")
    entry = AuditEntry.objects.get(action="supplier.connection_checked")
    assert entry.object_id == "esimgo"


def test_a_chinese_page_names_settings_and_calls_in_chinese(
        probe: type[ProbeSupplier]) -> None:  # noqa: F811
    """The settings' descriptions and the calls' operations and outcomes are read in the
    reader's language; the option names and codes stay as they are."""
    user, boss = member("boss@example.com", "admin")
    user.language = "zh-hans"
    user.save(update_fields=["language"])
    SupplierCall.objects.create(supplier="simulator", operation="order_profile",
                                outcome="retryable", duration_ms=900)
    html = boss.get("/staff/suppliers/").content.decode()
    latency = setting_row(card(html, "simulator"), "ESIMDESK_SIMULATOR_LATENCY_MS")
    assert "每次模拟器调用增加的延迟（毫秒）。" in latency
    listing = text(boss.get("/staff/provisioning/suppliercall/").content.decode())
    assert "订购配置文件" in listing and "暂时失败（可重试）" in listing
    assert "order_profile" not in listing and "retryable" not in listing
