"""A family member's dashboard in a real browser, at phone and desktop size, in English and
Chinese: the pooled eSIM's card shows the shared pool and the member's limit beside a
personal eSIM's card; nothing overflows sideways on a phone."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from esimdesk.catalog.models import Region
from tests.browser.conftest import PHONE, shot
from tests.builders import in_use, make_esim, make_group_plans, plan
from tests.sharedplans.conftest import build_family
from tests.sharedplans.test_pooled_cards import in_the_pool

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1366, "height": 900}


@pytest.mark.parametrize(("language", "locale", "words"), [
    ("en", "en-GB", ["Shared: 12.4 GB left of 20 GB · The Lins",
                     "Your limit: 3 GB, 1.2 GB used", "View family plan"]),
    ("zh-hans", "zh-CN", ["共享：剩余 12.4 GB，共 20 GB · The Lins",
                          "您的上限：3 GB，已用 1.2 GB", "查看家庭套餐"]),
])
def test_a_family_members_dashboard(browser: Any, site: str, language: str, locale: str,
                                    words: list[str]) -> None:
    make_group_plans()
    Region.objects.filter(code="europe").update(name_en="Europe", name_zh_hans="欧洲")
    fam = in_the_pool(build_family(languages=(language,)))
    member = fam.members[1]
    assert member.esim is not None
    in_use(make_esim(member.user, plan=plan(unit="day", count=7, data_gb=5, countries=("JP",),
                                            name_en="Japan 5 GB · 7 days",
                                            name_zh_hans="日本 5 GB · 7 天")))
    client = Client()
    client.force_login(member.user)
    context = browser.new_context(locale=locale, viewport=PHONE)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": site},
                         {"name": "esimdesk_language", "value": language, "url": site}])
    page = context.new_page()
    page.goto(f"{site}/dashboard/")
    card = page.locator(f'article[aria-labelledby="esim-{member.esim.iccid}"]')
    text = card.inner_text()
    for word in words:
        assert word in text, word
    assert page.locator("article.esim-card").count() == 2
    for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page.set_viewport_size(size)
        shot(page, f"pooled-dashboard-{language}-{name}")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.goto(f"{site}/esims/{member.esim.iccid}/")
    for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page.set_viewport_size(size)
        shot(page, f"pooled-esim-{language}-{name}")
    context.close()
