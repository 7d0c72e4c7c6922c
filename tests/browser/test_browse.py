"""Finding a destination on a phone: the search box suggests destinations as one types,
in English, in pinyin and in Chinese characters, each with its flag and "from" price; the
suggestion is chosen with the keyboard or a tap; escape closes the list. The A-Z filter
narrows the list in the page. Screenshots in English and Chinese, phone and desktop."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, shot
from tests.builders import CountryFactory, plan, regional_plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COUNTRIES = {"JP": True, "TH": True, "GB": True, "US": True, "KR": True, "FR": True,
             "IT": False, "NL": False, "NZ": False, "IE": False, "IN": False, "ID": False}


@pytest.fixture
def destinations(db: None) -> None:
    for index, (code, popular) in enumerate(COUNTRIES.items()):
        CountryFactory(code=code, popular=popular)
        plan(code=f"{code.lower()}-day", countries=[code], data_gb=1, usd=299 + index * 50)
        plan(code=f"{code.lower()}-month", countries=[code], unit="month", data_gb=10,
             usd=1699, network_5g=code in ("JP", "KR"), hotspot=True)
        plan(code=f"{code.lower()}-year", countries=[code], unit="year", data_gb=100,
             usd=11900, hotspot=True)
    regional_plan("asia", countries=("JP", "TH", "KR", "IN", "ID"), data_gb=20, usd=2999,
                  code="asia-month", hotspot=True)
    regional_plan("europe", countries=("GB", "FR", "IT", "NL", "IE"), data_gb=20, usd=2799,
                  code="europe-month", hotspot=True)


def page_in(browser: Any, site: str, language: str, viewport: dict[str, int]) -> Any:
    context = browser.new_context(viewport=viewport, locale="en-US")
    context.add_cookies([{"name": "esimdesk_language", "value": language, "url": site}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def suggestions(page: Any) -> Any:
    return page.locator("#q-options [role=option]")


def test_typing_suggests_destinations_and_picking_one_opens_it(
        browser: Any, site: str, destinations: None) -> None:
    page = page_in(browser, site, "en", PHONE)
    page.goto(f"{site}/?currency=USD")
    box = page.locator("#q[role=combobox]")
    expect(box).to_have_attribute("aria-expanded", "false")
    box.fill("ri")
    expect(suggestions(page).first).to_contain_text("Japan")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(suggestions(page).first).to_contain_text("from $2.99")
    expect(suggestions(page).first.locator("img.flag")).to_have_attribute(
        "src", "/static/flags/jp.gif")
    shot(page, "browse-suggest-en-phone")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "q-option-0")
    expect(suggestions(page).first).to_have_attribute("aria-selected", "true")
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    box.fill("riben")
    expect(suggestions(page)).to_have_count(1)
    box.press("ArrowDown")
    box.press("Enter")
    page.wait_for_url(f"{site}/destinations/JP/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Japan")
    expect(page.locator(".plan-card.is-best")).to_contain_text("Best value")
    shot(page, "browse-destination-en-phone")
    page.get_by_role("link", name="Test jp-month").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Test jp-month")
    shot(page, "browse-plan-en-phone")


def test_chinese_characters_and_a_tap(browser: Any, site: str, destinations: None) -> None:
    page = page_in(browser, site, "zh-hans", PHONE)
    page.goto(f"{site}/?currency=CNY")
    box = page.locator("#q[role=combobox]")
    box.fill("日")
    expect(suggestions(page).first).to_contain_text("日本")
    expect(suggestions(page).first).to_contain_text("¥")
    shot(page, "browse-suggest-zh-phone")
    suggestions(page).first.click()
    page.wait_for_url(f"{site}/destinations/JP/")
    expect(page.get_by_role("heading", level=1)).to_have_text("日本")
    shot(page, "browse-destination-zh-phone")


def test_the_a_to_z_filter_and_the_pages_without_javascript(
        browser: Any, site: str, destinations: None) -> None:
    for language in ("en", "zh-hans"):
        for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            page = page_in(browser, site, language, viewport)
            page.goto(f"{site}/")
            expect(page.locator("img.flag").first).to_be_visible()
            shot(page, f"browse-home-{language}-{name}")
            page.goto(f"{site}/regions/europe/")
            shot(page, f"browse-region-{language}-{name}")
    page = page_in(browser, site, "en", DESKTOP)
    page.goto(f"{site}/")
    page.locator("#dest-filter").fill("holland")
    expect(page.locator("#dest-az li:visible")).to_have_count(1)
    expect(page.locator("#dest-az li:visible")).to_contain_text("Netherlands")
    page.locator("#dest-filter").fill("taiguo")
    expect(page.locator("#dest-az li:visible")).to_contain_text("Thailand")
    page.locator("#dest-filter").fill("zzz")
    expect(page.locator("#dest-filter-none")).to_be_visible()
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    plain = context.new_page()
    plain.goto(f"{site}/")
    plain.locator("#q").fill("taiguo")
    plain.locator("#q").press("Enter")
    plain.wait_for_url(f"{site}/destinations/TH/")
