"""The dashboard in a real browser, at phone and desktop size, in English and Chinese: an
active eSIM with usage and a queued renewal, one waiting for first use, one not installed
yet and one expired; then the eSIM page with its gauge, chart and folded install block."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from esimdesk.catalog.models import MB, Plan, Region
from esimdesk.core import clock
from esimdesk.groups import services as groups
from esimdesk.groups.models import Group
from esimdesk.sharedplans import members as group_members
from tests import builders
from tests.browser.conftest import PHONE, shot
from tests.builders import (
    in_use,
    make_esim,
    make_group_plans,
    plan,
    regional_plan,
    renewal_queued,
    used_data,
)
from tests.conftest import run_tasks
from tests.sharedplans.conftest import buy_seats

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1366, "height": 900}
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


def travellers_esims(language: str) -> tuple[Any, Any, Any]:
    owner = builders.user(f"dash-{language}@example.com", language=language)
    names = {"name_zh_hans": "日本 5 GB · 7 天"}
    japan = plan(unit="day", count=7, data_gb=5, countries=("JP",), usd=999,
                 name_en="Japan 5 GB · 7 days", **names)
    japan_more = plan(unit="day", count=15, data_gb=10, countries=("JP",), usd=1699,
                      name_en="Japan 10 GB · 15 days", name_zh_hans="日本 10 GB · 15 天")
    thailand = plan(unit="day", count=10, data_gb=3, countries=("TH",), usd=799,
                    name_en="Thailand 3 GB · 10 days", name_zh_hans="泰国 3 GB · 10 天",
                    validity_starts=Plan.ValidityStarts.FIRST_USE)
    europe = regional_plan("europe", countries=("FR", "DE", "IT", "ES"), data_gb=20,
                           unit="day", count=30, usd=2999, name_en="Europe 20 GB · 30 days",
                           name_zh_hans="欧洲 20 GB · 30 天")
    Region.objects.filter(code="europe").update(name_en="Europe", name_zh_hans="欧洲")
    usa = plan(unit="day", count=7, data_gb=3, countries=("US",), usd=899,
               name_en="USA 3 GB · 7 days", name_zh_hans="美国 3 GB · 7 天")

    expired = in_use(make_esim(owner, plan=usa, starts=T0 - dt.timedelta(days=40)))
    fresh = make_esim(owner, plan=europe, starts=T0 - H)
    waiting = in_use(make_esim(owner, plan=thailand, starts=T0 - 2 * H))
    active = in_use(make_esim(owner, plan=japan, starts=T0 - dt.timedelta(days=6)))
    builders_label(active, {"en": "My phone", "zh-hans": "我的手机"}[language])
    used_data(active, *[(T0 - dt.timedelta(hours=h), (40 + (h * 37) % 160) * MB)
                        for h in range(1, 44, 2)])
    clock.set_now(T0)
    renewal_queued(active, japan_more)
    assert expired and waiting
    return owner, active, fresh


def builders_label(esim: Any, label: str) -> None:
    esim.label = label
    esim.save(update_fields=["label"])


@pytest.mark.parametrize(("language", "locale", "words"), [
    ("en", "en-GB", {"active": "Active", "left": "left of 5 GB", "then": "Then:",
                     "arrive": "Starts when you arrive", "expired": "Expired",
                     "install": "Not installed yet", "covered": "Covered until",
                     "copied": "Copied"}),
    ("zh-hans", "zh-CN", {"active": "生效中", "left": "共 5 GB", "then": "接下来：",
                          "arrive": "抵达后开始计时", "expired": "已过期",
                          "install": "尚未安装", "covered": "有效至", "copied": "已复制"}),
])
def test_the_dashboard_says_am_i_ok(browser: Any, site: str, language: str, locale: str,
                                    words: dict[str, str]) -> None:
    owner, active, fresh = travellers_esims(language)
    client = Client()
    client.force_login(owner)
    context = browser.new_context(locale=locale, viewport=PHONE)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": site},
                         {"name": "esimdesk_language", "value": language, "url": site}])
    page = context.new_page()
    page.goto(f"{site}/dashboard/")
    cards = page.locator("article.esim-card")
    assert cards.count() == 4
    text = page.locator("main").inner_text()
    for key, word in words.items():
        assert key == "copied" or word in text, word
    # the active card counts its plan and the queued renewal back to back
    card = page.locator(f'article[aria-labelledby="esim-{active.iccid}"]')
    assert words["covered"] in card.inner_text() and "15" in card.inner_text()
    for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page.set_viewport_size(size)
        shot(page, f"dashboard-{language}-{name}")
    # nothing overflows sideways on a phone
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.goto(f"{site}/esims/{active.iccid}/")
    assert page.locator("details.install").get_attribute("open") is None
    assert page.locator("svg.usage-chart").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page.set_viewport_size(size)
        shot(page, f"esim-{language}-{name}")

    # the eSIM not installed yet: install block open, a copy button per manual field
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page.goto(f"{site}/esims/{fresh.iccid}/")
    assert page.locator("details.install").get_attribute("open") is not None
    page.locator("[data-copy]").first.click()
    page.locator("[data-copy-status]", has_text=words["copied"]).wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == "smdp.example.com"
    for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page.set_viewport_size(size)
        shot(page, f"esim-install-{language}-{name}")
    context.close()


@pytest.mark.parametrize(("language", "locale"), [("en", "en-GB"), ("zh-hans", "zh-CN")])
def test_a_family_group_page(browser: Any, site: str, language: str, locale: str) -> None:
    make_group_plans()
    owner = builders.user(f"fam-{language}@example.com", language=language)
    group = groups.create_group(owner=owner, kind=Group.Kind.FAMILY, name="The Lins")
    buy_seats(owner, group, 3)
    kid = builders.user(f"kid-{language}@example.com", language=language)
    invitation = groups.invite(by=owner, group=group, email=kid.email or "")
    group_members.accept_invitation(user=kid, token=invitation.token)
    run_tasks()
    for who, name in ((owner, "owner"), (kid, "member")):
        client = Client()
        client.force_login(who)
        context = browser.new_context(locale=locale, viewport=PHONE)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": site},
                             {"name": "esimdesk_language", "value": language, "url": site}])
        page = context.new_page()
        page.goto(f"{site}/groups/{group.pk}/")
        html = page.content()
        assert "invoice.pdf" not in html and "cost_centre" not in html
        if who == kid:
            assert page.locator('a[href$="#install"]').count() == 1
        for size, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
            page.set_viewport_size(size)
            shot(page, f"group-{language}-{name}-{label}")
        context.close()
