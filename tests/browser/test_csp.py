"""The pages under their Content-Security-Policy in a real browser: Chromium reports every
blocked script, style, connection, frame or form as a console error (and a
``securitypolicyviolation`` event); none may occur on the portal (home, destination, plan,
checkout, the sandbox payment page, order, dashboard, the eSIM page and its usage refresh,
a group page's role picker), the staff console (admin pages, the calendar widget, the outbox
with its framed e-mail preview, margins, the support inbox) and the API docs. With the
realtime app running, live chat still reaches the agent's inbox over the WebSocket."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from playwright.sync_api import expect

from esimdesk.accounts import services as accounts
from esimdesk.accounts.models import User
from esimdesk.groups.models import Membership
from esimdesk.notifications.models import OutboxMessage
from tests.browser.conftest import DESKTOP, base_url
from tests.builders import DAY, Shop
from tests.conftest import run_tasks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Recorded from inside the page too (Playwright's init scripts are not subject to the
# policy): violation events, and WebSockets that opened, so a test waits for a live socket
# instead of for time.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
window.__openSockets = 0;
(function (Native) {
  function Counted(url, protocols) {
    var socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    socket.addEventListener("open", function () { window.__openSockets += 1; });
    return socket;
  }
  Counted.prototype = Native.prototype;
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (k) { Counted[k] = Native[k]; });
  window.WebSocket = Counted;
})(window.WebSocket);
"""


class Watch:
    """Console messages about the Content-Security-Policy, and violation events, per page."""

    def __init__(self, context: Any) -> None:
        self.messages: list[str] = []
        context.add_init_script(RECORD_VIOLATIONS)
        context.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in (
                message.text):
            self.messages.append(message.text)

    def check(self, page: Any, what: str) -> None:
        page.wait_for_load_state("load")
        events = page.evaluate("window.__violations || []")
        assert (self.messages, events) == ([], []), what


def _logged_in(browser: Any, base: str, user: User) -> Any:
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport=DESKTOP)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": base}])
    return context


def test_portal_pages_under_the_policy(browser: Any, site: str, shop: Shop) -> None:
    from tests.builders import make_group_plans
    from tests.sharedplans.conftest import build_family

    make_group_plans()
    family = build_family(2)
    owner = family.owner
    context = _logged_in(browser, site, owner)
    watch = Watch(context)
    page = context.new_page()

    for path in ("/", "/destinations/JP/", f"/plans/{DAY}/?currency=USD",
                 "/devices/check/?model=iPhone+15", "/help/", "/contact/", "/account/"):
        page.goto(site + path)
        watch.check(page, path)

    page.goto(f"{site}/plans/{DAY}/?currency=USD")
    page.locator('a.button[href*="/checkout/"]').first.click()
    page.wait_for_url(re.compile(r"/checkout/"))
    watch.check(page, "checkout")
    page.locator('input[name="provider"][value="sandbox"]').check()
    page.locator('form[action="/checkout/"] button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/pay/sandbox/"))
    watch.check(page, "sandbox payment page")
    page.locator('button[name="outcome"][value="approve"]').click()
    page.wait_for_url(re.compile(r"/orders/"))
    run_tasks()
    install = page.locator('a[href^="/esims/"]').first
    install.wait_for(timeout=10_000)  # the order page's own script moved on
    watch.check(page, "order page")

    page.goto(f"{site}/dashboard/")
    watch.check(page, "dashboard")
    install_href = page.locator('a[href^="/esims/"]').first.get_attribute("href")
    page.goto(site + str(install_href))
    # The usage refresh: fetch live.json and update the meters in place.
    with page.expect_response(re.compile(r"/live\.json")) as refreshed:
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    assert refreshed.value.ok
    page.wait_for_timeout(200)
    # the data gauge: its arc is an SVG attribute, never an inline style
    arc = page.locator("[data-gauge-arc]").first
    assert re.fullmatch(r"\d+\.\d \d+\.\d", str(arc.get_attribute("stroke-dasharray")))
    assert page.evaluate("document.querySelector('[data-gauge-arc]').getAttribute('style')") \
        is None
    watch.check(page, "eSIM page")

    # A group's role picker sends its form from a static script (no inline handler).
    member = family.members[1]
    page.goto(f"{site}/groups/{family.group.pk}/")
    with page.expect_navigation():
        page.locator(f'form[action$="/members/{member.pk}/"] select[name="role"]').select_option(
            "admin")
    assert Membership.objects.get(pk=member.pk).role == "admin"
    watch.check(page, "group page")
    context.close()


def test_staff_console_and_api_docs_under_the_policy(browser: Any, site: str,
                                                     shop: Shop) -> None:
    from tests.conftest import Api
    from tests.e2e.helpers import buy_and_pay

    buy_and_pay(Api.signup("alex@example.com"), DAY)
    run_tasks()
    staff = User.objects.create_superuser("boss@example.com", "x-long-password-1")
    context = _logged_in(browser, site, staff)
    watch = Watch(context)
    page = context.new_page()
    mail = OutboxMessage.objects.exclude(body_html="").first()
    assert mail is not None
    api_key, _plain = accounts.create_api_key(name="monitoring", scopes=["ops:read"])
    for path in ("/staff/", "/staff/money/", "/staff/customers/", "/staff/activations/",
                 "/staff/margins/", "/staff/usage/", "/staff/invoices/", "/staff/simulator/",
                 "/staff/support/", "/staff/catalog/plan/", "/staff/catalog/plan/add/"):
        page.goto(site + path)
        watch.check(page, path)

    page.goto(f"{site}/staff/outbox/{mail.pk}/")
    frame = page.frame_locator("iframe.mail-preview")
    expect(frame.locator("body")).to_contain_text("Hello")
    # The e-mail's own inline styles apply inside its preview.
    assert frame.locator("body").evaluate("b => getComputedStyle(b).margin") == "0px"
    watch.check(page, "outbox message")

    page.goto(f"{site}/staff/accounts/user/{staff.pk}/change/")
    watch.check(page, "admin change form")
    # The admin's date widgets, all from static files: "Today" and the calendar pop-up.
    page.goto(f"{site}/staff/accounts/apikey/{api_key.pk}/change/")
    shortcuts = page.locator(".datetimeshortcuts").first
    shortcuts.get_by_role("link").first.click()
    assert page.locator("input.vDateField").first.input_value()
    shortcuts.locator("a[id^=calendarlink]").click()
    expect(page.locator(".calendarbox").first).to_be_visible()
    watch.check(page, "admin date widget")

    page.goto(f"{site}/api/v1/docs")
    page.locator(".opblock").first.wait_for(timeout=10_000)
    page.locator(".opblock-summary").first.click()
    page.get_by_role("button", name="Try it out").first.click()
    page.get_by_role("button", name="Execute").first.click()
    page.locator(".live-responses-table").first.wait_for(timeout=10_000)
    watch.check(page, "API docs")
    context.close()


@pytest.mark.postgres
def test_live_chat_under_the_policy(browser: Any, live_server: Any, realtime: str) -> None:
    base = base_url(live_server)
    customer = User.objects.create_user("chat@example.com", "x-long-password-1")
    agent = User.objects.create_user("agent@example.com", "x-long-password-1", is_staff=True)
    agent.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="support",
        codename__in=["view_conversation", "reply_conversation"]))
    desk_context = _logged_in(browser, base, agent)
    desk_watch = Watch(desk_context)
    desk = desk_context.new_page()
    desk.goto(f"{base}/staff/support/")
    me_context = _logged_in(browser, base, customer)
    me_watch = Watch(me_context)
    me = me_context.new_page()
    me.goto(f"{base}/support/chat/")
    # Both sockets are open (to the realtime origin, which connect-src names).
    desk.wait_for_function("window.__openSockets >= 1", timeout=5000)
    me.wait_for_function("window.__openSockets >= 1", timeout=5000)
    me.fill("textarea", "Is my eSIM ready?")
    me.locator("form[data-send] button[type=submit]").click()
    expect(desk.get_by_text("Is my eSIM ready?")).to_be_visible(timeout=5000)
    me_watch.check(me, "customer chat")
    desk_watch.check(desk, "support inbox")
