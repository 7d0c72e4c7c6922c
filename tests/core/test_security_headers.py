"""Security headers: a Content-Security-Policy with a fresh nonce on every response (pages,
API, static files, errors), a Permissions-Policy, the referrer and framing policies; every
page the platform renders (portal, help, chat, sign-in, staff console, admin, API docs) is
checked for what the policy would block; production turns on HSTS and secure cookies."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from esimdesk.accounts.models import User
from esimdesk.core import security_headers
from esimdesk.notifications.models import OutboxMessage
from tests.builders import DAY, Shop
from tests.conftest import Api, run_tasks
from tests.core.page_audit import audit, nonce_of
from tests.e2e.helpers import buy_and_pay, post_order

# A page that needs no data: the policy of documents is checked on it.
PAGE = "/accounts/login/"
SRC = Path(__file__).resolve().parents[2] / "src" / "esimdesk"


def _directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def _assert_headers(response: Any) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    d = _directives(policy)
    if not security_headers._is_document(response):
        # JSON, files and redirects run nothing: the strictest policy.
        assert d == {"default-src": ["'none'"], "frame-ancestors": ["'none'"],
                     "base-uri": ["'none'"]}
        _assert_other_headers(response)
        return d
    assert d["default-src"] == ["'self'"]
    assert d["script-src"][0] == "'self'" and len(d["script-src"]) == 2
    assert d["script-src"][1].startswith("'nonce-")
    assert d["style-src"] == ["'self'"]
    assert d["img-src"] == ["'self'", "data:"]
    assert d["frame-ancestors"] == ["'none'"]
    assert d["object-src"] == ["'none'"]
    assert d["base-uri"] == ["'self'"]
    assert d["form-action"][0] == "'self'"
    assert d["connect-src"][0] == "'self'"
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    _assert_other_headers(response)
    return d


def _assert_other_headers(response: Any) -> None:
    assert "camera=()" in response["Permissions-Policy"]
    assert "microphone=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    assert "payment=()" in response["Permissions-Policy"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", f"/plans/{DAY}/", "/help/", "/accounts/login/",
                                  "/staff/login/", "/api/v1/plans", "/api/v1/openapi.json",
                                  "/api/v1/docs", "/healthz", "/static/portal/site.css",
                                  "/static/admin/css/base.css", "/no-such-page/",
                                  "/api/v1/no-such-call"])
def test_headers_on_pages_api_static_and_errors(shop: Shop, path: str) -> None:
    response = Client().get(path)
    assert response.status_code in (200, 302, 404), (path, response.status_code)
    _assert_headers(response)
    if response.status_code == 200 and "html" in response["Content-Type"]:
        assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_nonce_is_new_for_every_request_and_reaches_templates(shop: Shop,
                                                              settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.core.csp_urls"
    client = Client()
    seen = set()
    for _ in range(5):
        response = client.get("/csp-test/inline")
        nonce = nonce_of(response["Content-Security-Policy"])
        assert len(nonce) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", nonce)
        html = response.content.decode()
        assert f'<script nonce="{nonce}">' in html  # {{ csp_nonce }}
        assert f'data-nonce="{nonce}"' in html  # {{ request.csp_nonce }}
        problems, scripts = audit(html, nonce)
        assert problems == [] and scripts == 3
        assert audit(html, "another")[0]  # a stale nonce would not do
        seen.add(nonce)
    assert len(seen) == 5


def _customer_pages(client: Client, api: Api) -> list[str]:
    order = buy_and_pay(api, DAY)
    esim = api.get("/api/v1/esims").json()["items"][0]["iccid"]
    unpaid = post_order(api, DAY)
    sandbox_page = urlsplit(unpaid["payment"]["next_action"]["url"]).path
    from esimdesk.support.conversations import post_customer_message

    customer = User.objects.get(email="alex@example.com")
    post_customer_message(customer=customer, body="Hello <b>there</b>")
    client.force_login(customer)
    return ["/", f"/plans/{DAY}/", "/destinations/JP/", "/devices/check/?model=iPhone+15",
            f"/checkout/?plan={DAY}", sandbox_page, "/dashboard/", f"/esims/{esim}/",
            f"/esims/{esim}/renew/", f"/esims/{esim}/top-up/", f"/esims/{esim}/change-plan/",
            "/orders/", f"/orders/{order['id']}/", f"/orders/{unpaid['id']}/", "/groups/",
            "/account/", "/account/notifications/", "/support/chat/", "/help/", "/contact/",
            "/help/search/?q=esim", "/accounts/email/", "/accounts/password/change/",
            "/accounts/phone/change/", "/accounts/2fa/", "/accounts/reauthenticate/",
            "/account/reset/sms/"]


def _anonymous_pages() -> list[str]:
    return ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/",
            "/account/reset/sms/", "/help/", "/contact/", "/api/v1/docs",
            "/no-such-page/"]


def _staff_pages(client: Client) -> list[str]:
    staff = User.objects.create_superuser("boss@example.com", "x-long-password-1")
    client.force_login(staff)
    from esimdesk.support.models import Conversation

    conversation = Conversation.objects.first()
    customer = User.objects.get(email="alex@example.com")
    mail = OutboxMessage.objects.exclude(body_html="").first()
    assert conversation is not None and mail is not None
    pages = ["/staff/", "/staff/outbox/", f"/staff/outbox/{mail.pk}/", "/staff/customers/",
             "/staff/customers/?q=nobody", f"/staff/customers/{customer.pk}/",
             "/staff/activations/", "/staff/margins/", "/staff/usage/", "/staff/invoices/",
             "/staff/simulator/", "/staff/support/", f"/staff/support/{conversation.pk}/",
             "/api/v1/docs"]
    for model in admin.site._registry:
        meta = model._meta
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        first = model._default_manager.first()
        if first is not None:
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change",
                                 args=[first.pk]))
    return pages


@pytest.mark.django_db
def test_no_page_has_what_the_policy_blocks(shop: Shop) -> None:
    """Every page renders with its scripts from the site (inline ones only with the
    response's nonce), no inline handlers and no inline styles."""
    api = Api.signup("alex@example.com")
    run_tasks()
    customer, anonymous, staff = Client(), Client(), Client()
    visits = [(anonymous, p) for p in _anonymous_pages()]
    visits += [(customer, p) for p in _customer_pages(customer, api)]
    run_tasks()
    visits += [(staff, p) for p in _staff_pages(staff)]
    failures: dict[str, list[str]] = {}
    statuses: dict[str, int] = {}
    for client, path in visits:
        response = client.get(path)
        statuses[path] = response.status_code
        if "html" not in response.get("Content-Type", ""):
            continue
        problems, _scripts = audit(response.content.decode(),
                                   nonce_of(response["Content-Security-Policy"]))
        if problems:
            failures[path] = problems
    assert failures == {}
    unexpected = {p: s for p, s in statuses.items() if s not in (200, 404)}
    assert unexpected == {}
    assert [p for p, s in statuses.items() if s == 404] == ["/no-such-page/"]
    assert len(statuses) >= 60


def test_no_template_has_inline_styles_handlers_or_scripts() -> None:
    """The templates themselves (e-mails excepted: mail programs need inline styles and no
    policy applies there)."""
    offenders = []
    for path in SRC.rglob("templates/**/*.html"):
        if "notifications/email" in path.as_posix():
            continue
        text = path.read_text()
        for pattern in (r"\sstyle=", r"<style", r"\son[a-z]+=", r"javascript:",
                        r"<script(?![^>]*\ssrc=)(?![^>]*type=\"application/json\")[^>]*>"):
            for match in re.finditer(pattern, text):
                tag = text[match.start():text.find(">", match.start()) + 1]
                if "nonce=\"{{ csp_nonce }}\"" not in tag:
                    offenders.append(f"{path.relative_to(SRC)}: {tag[:80]}")
    assert offenders == []


@pytest.mark.django_db
def test_websocket_origin_is_allowed(settings: Any) -> None:
    settings.REALTIME_URL = "wss://rt.example.com/base/"
    d = _directives(Client().get(PAGE)["Content-Security-Policy"])
    assert d["connect-src"] == ["'self'", "wss://rt.example.com"]
    settings.REALTIME_URL = "http://127.0.0.1:8001"
    d = _directives(Client().get(PAGE)["Content-Security-Policy"])
    assert d["connect-src"] == ["'self'", "ws://127.0.0.1:8001"]
    settings.REALTIME_URL = ""
    d = _directives(Client().get(PAGE)["Content-Security-Policy"])
    assert d["connect-src"] == ["'self'", "ws://testserver"]
    d = _directives(Client().get(PAGE, secure=True)["Content-Security-Policy"])
    assert d["connect-src"] == ["'self'", "wss://testserver"]


@pytest.mark.django_db
def test_forms_may_go_to_the_enabled_providers_hosted_pages(settings: Any,
                                                            monkeypatch: Any) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "PAYMENT_PROVIDERS": ["sandbox"]}
    assert _directives(Client().get(PAGE)["Content-Security-Policy"])[
        "form-action"] == ["'self'"]
    settings.ESIMDESK = {**settings.ESIMDESK,
                         "PAYMENT_PROVIDERS": ["sandbox", "stripe", "paypal", "alipay"]}
    monkeypatch.setenv("ESIMDESK_ALIPAY_GATEWAY",
                       "https://openapi-sandbox.dl.alipaydev.com/gateway.do")
    monkeypatch.setenv("ESIMDESK_PAYPAL_API_BASE", "https://user:secret@paypal-proxy.internal")
    monkeypatch.setenv("ESIMDESK_CSP_FORM_ACTION",
                       "https://pay.example.com/x not-a-url 'unsafe-inline' *")
    form_action = _directives(Client().get(PAGE)["Content-Security-Policy"])[
        "form-action"]
    assert form_action == [
        "'self'", "https://pay.example.com", "https://checkout.stripe.com",
        "https://api.stripe.com", "https://www.paypal.com", "https://www.sandbox.paypal.com",
        "https://paypal-proxy.internal", "https://*.alipay.com", "https://*.alipaydev.com",
        "https://openapi-sandbox.dl.alipaydev.com"]


@pytest.mark.django_db
def test_mail_preview_has_its_own_sandboxed_policy() -> None:
    OutboxMessage.objects.create(channel="email", to="a@example.com", subject="Hi",
                                 body_text="Hi", body_html='<p style="color:red">Hi</p>'
                                 '<script>alert(1)</script>')
    mail = OutboxMessage.objects.get()
    staff = Client()
    staff.force_login(User.objects.create_superuser("boss@example.com", "x-long-password-1"))
    page = staff.get(f"/staff/outbox/{mail.pk}/")
    assert f'src="/staff/outbox/{mail.pk}/html"' in page.content.decode()
    assert "srcdoc" not in page.content.decode()
    preview = staff.get(f"/staff/outbox/{mail.pk}/html")
    assert preview.status_code == 200
    assert preview["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox")
    assert preview["X-Frame-Options"] == "SAMEORIGIN"
    customer = Client()
    customer.force_login(User.objects.create_user("c@example.com", "x-long-password-1"))
    assert customer.get(f"/staff/outbox/{mail.pk}/html").status_code == 302
    no_html = OutboxMessage.objects.create(channel="sms", to="+8613800138000", body_text="x")
    assert staff.get(f"/staff/outbox/{no_html.pk}/html").status_code == 404


@pytest.mark.django_db
def test_debug_pages_keep_their_inline_code(settings: Any) -> None:
    settings.DEBUG = True
    response = Client().get("/no-such-page/")
    assert response.status_code == 404 and "Content-Security-Policy" not in response
    assert "Content-Security-Policy" in Client().get("/healthz")


@pytest.mark.django_db
def test_language_cookie_is_http_only_and_lax(settings: Any) -> None:
    response = Client().post("/account/language/", {"language": "zh-hans", "next": "/"})
    cookie = response.cookies["esimdesk_language"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    settings.LANGUAGE_COOKIE_SECURE = True
    response = Client().post("/account/language/", {"language": "en", "next": "/"})
    assert response.cookies["esimdesk_language"]["secure"]


def _production(tmp_path: Path, **extra: str) -> dict[str, Any]:
    """Settings and headers of a production process (a subprocess: settings are read once)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESIMDESK_")}
    env.update({"ESIMDESK_DATA_DIR": str(tmp_path), "ESIMDESK_PRODUCTION": "1",
                "ESIMDESK_SECRET_KEY": "k" * 20 + "production-secret-key-0123456789",
                "ESIMDESK_PUBLIC_URL": "https://esim.example.com",
                "DJANGO_SETTINGS_MODULE": "esimdesk.settings", **extra})
    script = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
names = ["SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SESSION_COOKIE_SECURE",
         "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SECURE",
         "CSRF_COOKIE_SAMESITE", "LANGUAGE_COOKIE_SECURE", "LANGUAGE_COOKIE_HTTPONLY",
         "LANGUAGE_COOKIE_SAMESITE", "SECURE_PROXY_SSL_HEADER", "DEBUG"]
out = {name: getattr(settings, name, None) for name in names}
client = Client(HTTP_HOST="esim.example.com")
https = client.get("/healthz", secure=True)
out["hsts"] = https.get("Strict-Transport-Security")
out["hsts_plain_http"] = client.get("/healthz").get("Strict-Transport-Security")
proxied = client.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
out["hsts_via_proxy_header"] = proxied.get("Strict-Transport-Security")
page = client.get("/accounts/login/", secure=True)
out["csrf_cookie"] = page.cookies["csrftoken"].output()
language = client.post("/account/language/", {"language": "en", "next": "/"}, secure=True)
out["language_cookie"] = language.cookies["esimdesk_language"].output()
print(json.dumps(out))
"""
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_production_turns_on_hsts_and_secure_cookies(tmp_path: Path) -> None:
    found = _production(tmp_path)
    assert found["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert found["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert found["DEBUG"] is False
    for name in ("SESSION", "CSRF", "LANGUAGE"):
        assert found[f"{name}_COOKIE_SECURE"] is True
        assert found[f"{name}_COOKIE_SAMESITE"] == "Lax"
    assert found["SESSION_COOKIE_HTTPONLY"] and found["LANGUAGE_COOKIE_HTTPONLY"]
    assert found["hsts"] == "max-age=31536000; includeSubDomains"
    assert found["hsts_plain_http"] is None
    # Without a configured proxy header, a client cannot claim HTTPS by itself.
    assert found["hsts_via_proxy_header"] is None and found["SECURE_PROXY_SSL_HEADER"] is None
    assert "Secure" in found["csrf_cookie"] and "SameSite=Lax" in found["csrf_cookie"]
    assert all(flag in found["language_cookie"] for flag in ("Secure", "HttpOnly", "Lax"))


def test_the_proxy_header_is_trusted_only_when_configured(tmp_path: Path) -> None:
    found = _production(tmp_path, ESIMDESK_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert found["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert found["hsts_via_proxy_header"] == "max-age=31536000; includeSubDomains"


def test_the_embedded_default_sends_no_hsts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESIMDESK_")}
    env.update({"ESIMDESK_DATA_DIR": str(tmp_path),
                "DJANGO_SETTINGS_MODULE": "esimdesk.settings"})
    script = ("import django; django.setup(); from django.conf import settings; "
              "print(settings.SECURE_HSTS_SECONDS, settings.SESSION_COOKIE_SECURE)")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.stdout.split() == ["0", "False"], result.stderr


def test_a_bad_proxy_header_setting_stops_start_up() -> None:
    from esimdesk import config

    os.environ["ESIMDESK_PROXY_SSL_HEADER"] = "X-Forwarded-Proto: https"
    try:
        with pytest.raises(config.ConfigurationError, match="ESIMDESK_PROXY_SSL_HEADER"):
            config.proxy_ssl_header()
        os.environ["ESIMDESK_PROXY_SSL_HEADER"] = "X-Forwarded-Ssl=on"
        assert config.proxy_ssl_header() == ("HTTP_X_FORWARDED_SSL", "on")
    finally:
        del os.environ["ESIMDESK_PROXY_SSL_HEADER"]


def test_origin_of_never_leaks_credentials_or_breaks_the_header() -> None:
    origin = security_headers.origin_of
    assert origin("https://user:pw@API.example.com:8443/v1") == "https://api.example.com:8443"
    assert origin("http://127.0.0.1:8001", websocket=True) == "ws://127.0.0.1:8001"
    assert origin("https://x.example", websocket=True) == "wss://x.example"
    for bad in ("", "nonsense", "javascript:alert(1)", "https://a b", "https://x:99999",
                "https://x;script-src *"):
        assert origin(bad) == "", bad


def _check(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESIMDESK_")}
    env.update({"ESIMDESK_DATA_DIR": str(tmp_path), "ESIMDESK_PRODUCTION": "1",
                "ESIMDESK_SECRET_KEY": "production-secret-key-" + "x1y2z3" * 8,
                "DJANGO_SETTINGS_MODULE": "esimdesk.settings", **extra})
    return subprocess.run([sys.executable, "-m", "esimdesk.cli", "check"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_check_warns_about_unsafe_production_settings(tmp_path: Path) -> None:
    result = _check(tmp_path, ESIMDESK_PUBLIC_URL="http://esim.example.com",
                    ESIMDESK_REALTIME_URL="ws://esim.example.com", ESIMDESK_DEBUG="1",
                    ESIMDESK_ALLOWED_HOSTS="*")
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = [line for line in result.stdout.splitlines() if line.startswith("WARNING:")]
    assert [w.split(":")[1].strip() for w in warnings] == [
        "esimdesk.W001", "esimdesk.W002", "esimdesk.W003", "esimdesk.W004", "esimdesk.W005"]


def test_check_is_quiet_about_a_safe_production_configuration(tmp_path: Path) -> None:
    result = _check(tmp_path, ESIMDESK_PUBLIC_URL="https://esim.example.com",
                    ESIMDESK_REALTIME_URL="wss://esim.example.com",
                    ESIMDESK_DATABASE_URL="postgresql://esimdesk@127.0.0.1:9/esimdesk")
    assert "PROBLEM: database unreachable" in result.stdout  # nothing listens there
    assert [line for line in result.stdout.splitlines() if line.startswith("WARNING")] == []
