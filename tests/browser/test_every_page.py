"""Every traveller page in a real browser, on a phone (390x844) and a desktop (1366x900), in
English and in Chinese, signed in as a traveller with an eSIM bought through an order, a
family group, notifications and a chat. Each page is saved as a screenshot and must:

(a) on a Chinese page, show no English word (outside a small allow-list of product names,
    units and codes, below, each with its reason, and the data the test itself made: plan
    codes, e-mail addresses, order numbers, ICCIDs, the family's name);
(b) show no flag emoji (regional indicator symbols): flags are images;
(c) be built on the shared layout: its header (``header.top``) and ``main`` landmark;
(d) on the phone, not be wider than the screen (no sideways scrolling of the whole page).

A problem that belongs to a page another part of the portal owns is listed in ``KNOWN``
with its reason: the test then ends as an expected failure naming it, and fails on any
problem not listed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.catalog.models import Plan, Region
from esimdesk.esims.models import Esim
from esimdesk.orders.models import Order
from tests.browser.conftest import PHONE, shot
from tests.builders import DAY, Shop, bought_esim, make_group_plans, regional_plan, user
from tests.sharedplans.conftest import build_family

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE = {"width": 1366, "height": 900}

# Words that stay in Latin letters on a Chinese page, and why.
ALLOWED = {
    "esimdesk",            # the brand
    "esim", "esims",       # the product's name in Chinese too (我的 eSIM)
    "gb", "mb", "kb",      # data units
    "app",                 # "App 和网站" is how Chinese apps say it
    "iccid", "eid",        # identifiers named by the standard
    "pdf",                 # the file type of a receipt
    "usd", "eur", "gbp", "cny", "jpy", "hkd",  # currency codes
    "visa",                # a card brand on a saved payment method
    "english",             # the language switch names each language in itself
    "ios", "android", "iphone", "ipad", "pixel", "galaxy", "samsung", "google", "apple",
    # device and platform names on the device check and install steps
    "wi", "fi",            # Wi-Fi
    "apn",                 # the mobile network setting's name
    "lte",                 # 4G/LTE, the network generation's name in Chinese too
    "utc", "gmt",          # time zone names
    "us", "hk",            # currency symbols (US$, HK$)
    "sim", "lpa", "sm", "dp",  # SIM card; an eSIM's activation code names (LPA, SM-DP+)
    "csv", "png", "jpeg", "gif", "webp",  # file formats a form takes
    "se", "xs", "mini", "pro", "max", "plus", "ultra", "fold", "flip",  # phone model names
}

FLAG = re.compile("[\U0001F1E6-\U0001F1FF]")
WORD = re.compile(r"[A-Za-z][A-Za-z']+")

# The text a reader sees: codes to copy (an activation code, an error code) and machine
# values marked translate="no" left out; of a drop-down, only the chosen option. Run after
# the page's screenshot (it hides what it leaves out).
VISIBLE_TEXT = """() => {
  const chosen = [];
  document.querySelectorAll("select").forEach(function (s) {
    if (s.selectedOptions.length) { chosen.push(s.selectedOptions[0].text); }
  });
  document.querySelectorAll("code, kbd, samp, select, [translate=no]").forEach(function (e) {
    e.style.display = "none";
  });
  return document.body.innerText + " " + chosen.join(" ");
}"""

def _data_words(owner: User) -> set[str]:
    """Words in the data this test made: codes, e-mail addresses, numbers, names."""
    texts: list[str] = [p.code for p in Plan.objects.all()]
    texts += [r.name_zh_hans for r in Region.objects.all()]  # the builder names them by code
    texts += [u.email or "" for u in User.objects.all()]
    texts += [o.number for o in Order.objects.all()]
    texts += [e.iccid for e in Esim.objects.all()]
    texts += ["The Lins", "smdp.example.com", "example.com", settings.ESIMDESK["SUPPORT_EMAIL"]]
    return {w.lower() for t in texts for w in WORD.findall(t)}


def _pages(site: str, owner: User, esim: Esim, order: Order, group_pk: int) -> dict[str, str]:
    i = esim.iccid
    return {
        "home": "/", "destination": "/destinations/JP/", "region": "/regions/europe/",
        "plan": f"/plans/{DAY}/?currency=USD", "checkout": f"/checkout/?plan={DAY}&currency=USD",
        "dashboard": "/dashboard/", "esim": f"/esims/{i}/", "renew": f"/esims/{i}/renew/",
        "top-up": f"/esims/{i}/top-up/", "change-plan": f"/esims/{i}/change-plan/",
        "orders": "/orders/", "order": f"/orders/{order.number}/", "account": "/account/",
        "notifications": "/account/notifications/", "groups": "/groups/",
        "group": f"/groups/{group_pk}/", "device-check": "/devices/check/?model=iPhone+15",
        "help": "/help/", "contact": "/contact/", "chat": "/support/chat/",
        "not-found": "/no-such-page/",
    }


ANONYMOUS = {"sign-in": "/accounts/login/", "sign-up": "/accounts/signup/",
             "password-reset": "/accounts/password/reset/"}


def _problems(page: Any, name: str, language: str, viewport: dict[str, int],
              allowed: set[str]) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    text = str(page.evaluate(VISIBLE_TEXT)) + " " + page.title()
    if language != "en":
        english = sorted({w for w in WORD.findall(text) if w.lower() not in allowed})
        if english:
            found.append((name, "english", " ".join(english[:12])))
    if FLAG.search(text):
        found.append((name, "flag", "".join(sorted(set(FLAG.findall(text))))))
    if page.locator("header.top").count() != 1 or page.locator("main").count() != 1:
        found.append((name, "layout", "no header.top or main"))
    if viewport == PHONE:
        width = int(page.evaluate("document.scrollingElement.scrollWidth"))
        if width > viewport["width"]:
            found.append((name, "overflow", f"{width}px wide"))
    return found


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("viewport", [PHONE, WIDE], ids=["phone", "desktop"])
def test_every_page(browser: Any, site: str, shop: Shop, language: str,
                    viewport: dict[str, int]) -> None:
    make_group_plans()
    regional_plan("europe", usd=2799, data_gb=20)
    family = build_family(2, owner=user("traveller@example.com", language=language))
    owner = family.owner
    esim = bought_esim(owner, shop.month)
    order = Order.objects.filter(user=owner).exclude(lines__esim=None).latest("id")
    allowed = ALLOWED | _data_words(owner)
    size = "phone" if viewport == PHONE else "desktop"
    problems: list[tuple[str, str, str]] = []

    client = Client()
    client.force_login(owner)
    locale = "en-GB" if language == "en" else "zh-CN"  # the browser's own words too
    context = browser.new_context(viewport=viewport, locale=locale)
    context.add_cookies([
        {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site},
        {"name": "esimdesk_language", "value": language, "url": site}])
    page = context.new_page()
    for name, path in _pages(site, owner, esim, order, family.group.pk).items():
        page.goto(site + path)
        page.wait_for_load_state("load")
        shot(page, f"every-{language}-{size}-{name}")
        problems += _problems(page, name, language, viewport, allowed)
    context.close()

    anonymous = browser.new_context(viewport=viewport, locale=locale)
    anonymous.add_cookies([{"name": "esimdesk_language", "value": language, "url": site}])
    page = anonymous.new_page()
    for name, path in ANONYMOUS.items():
        page.goto(site + path)
        shot(page, f"every-{language}-{size}-{name}")
        problems += _problems(page, name, language, viewport, allowed)
    anonymous.close()

    assert not problems, "\n".join(f"{n}: {check}: {detail}" for n, check, detail in problems)
