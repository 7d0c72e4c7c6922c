"""The help centre: articles in both languages, search, pages, contact, links, API."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import Resolver404, resolve

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.support import help, hours
from tests.builders import MONTH, Shop
from tests.conftest import Api
from tests.e2e.helpers import buy_and_pay

REQUIRED = {"install-iphone", "install-android", "data-roaming", "renew", "top-up",
            "auto-renew", "refunds", "device-check", "change-plan", "data-not-working"}
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- the articles ----------------------------------------------------------------------


def test_every_article_exists_in_both_languages_with_the_same_structure() -> None:
    english, chinese = help.articles("en"), help.articles("zh-hans")
    assert help.problems("en") == () and help.problems("zh-hans") == ()
    assert set(english) == set(chinese)
    assert set(english) >= REQUIRED
    for slug, en in english.items():
        zh = chinese[slug]
        assert (en.language, zh.language) == ("en", "zh_Hans")
        assert en.title and zh.title and en.summary and zh.summary
        assert CJK.search(zh.title) and CJK.search(zh.text), slug
        assert not CJK.search(en.title + en.summary), slug
        assert (en.topic, en.order, en.related, en.see_also) == (
            zh.topic, zh.order, zh.related, zh.see_also), slug
        assert "<h2>" in en.html and "<h2>" in zh.html, slug
        assert len(en.text) > 800 and len(zh.text) > 300, slug
        for rendered in (en.html, zh.html):
            assert "**" not in rendered and "{{" not in rendered and "](" not in rendered


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_link_in_an_article_leads_somewhere(language: str) -> None:
    slugs = set(help.articles(language))
    for article in help.articles(language).values():
        assert set(article.see_also) <= slugs, article.slug
        for href in re.findall(r'href="([^"]+)"', article.html):
            if href.startswith(("mailto:", "tel:")):
                continue
            assert href.startswith("/"), (article.slug, href)
            path = href.split("#")[0]
            try:
                match = resolve(path)
            except Resolver404:
                pytest.fail(f"{article.slug}: {href} leads nowhere")
            if match.view_name == "help:article":
                assert match.kwargs["slug"] in slugs, (article.slug, href)


def test_articles_quote_the_configured_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_REFUND_WINDOW_DAYS", "30")
    monkeypatch.setenv("ESIMDESK_AUTO_RENEW_BEFORE", "36h")
    monkeypatch.setenv("ESIMDESK_AUTO_RENEW_DATA_LEFT", "15")
    refunds_en, refunds_zh = help.get("refunds", "en"), help.get("refunds", "zh-hans")
    assert refunds_en and refunds_zh
    assert "within 30 days" in refunds_en.summary and "less than 30 days" in refunds_en.text
    assert "30 天内" in refunds_zh.summary and "不足 30 天" in refunds_zh.text
    auto_en, auto_zh = help.get("auto-renew", "en"), help.get("auto-renew", "zh-hans")
    assert auto_en and auto_zh
    assert "15 %" in auto_en.text and "36 hours" in auto_en.text
    assert "15%" in auto_zh.text and "36小时" in auto_zh.text
    monkeypatch.setenv("ESIMDESK_AUTO_RENEW_BEFORE", "2d")
    assert "2 days" in help.get("auto-renew", "en").text  # type: ignore[union-attr]


def _write(root: Path, language: str, slug: str, front: str, body: str) -> Path:
    path = root / language / f"{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{front.strip()}\n---\n{body}", encoding="utf-8")
    return path


@pytest.fixture
def own_articles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ESIMDESK_HELP_DIR", str(tmp_path))
    (tmp_path / "en").mkdir()
    (tmp_path / "zh_Hans").mkdir()
    return tmp_path


def test_content_files_cannot_inject_html(own_articles: Path) -> None:
    _write(own_articles, "en", "evil", "title: Evil\nsummary: s\ntopic: start",
           '<script>alert(1)</script>\n\n<div onclick="x()">hi</div>\n\n'
           "[click](javascript:alert(1)) [proto](//evil.example/) ![img](https://x/y.png)\n\n"
           "[ok](/help/) [mail](mailto:help@example.com) [web](https://example.com)\n")
    article = help.get("evil", "en")
    assert article is not None
    page = str(article.html)
    assert "<script" not in page and "<div" not in page and "<img" not in page
    assert "&lt;script&gt;" in page
    assert "javascript:" not in page and "//evil.example" not in page
    assert "<span>click</span>" in page and "<span>proto</span>" in page
    assert '<a href="/help/">ok</a>' in page and '<a href="https://example.com">web</a>' in page
    assert 'href="mailto:' in page


@pytest.mark.parametrize(("name", "front", "body", "error"), [
    ("bad", "title: T\nsummary: S\ntopic: start\ncolour: red", "x", "unknown field"),
    ("bad", "summary: S\ntopic: start", "x", "missing title"),
    ("bad", "title: T\nsummary: S\ntopic: nowhere", "x", "unknown topic"),
    ("bad", "title: T\nsummary: S\ntopic: start\nrelated: portal:nowhere", "x",
     "unknown related page"),
    ("bad", "title: T\nsummary: S\ntopic: start\norder: first", "x", "order must be"),
    ("bad", "title: T\nsummary: S\ntopic: start", "{{ secret_key }}", "unknown placeholder"),
    ("search", "title: T\nsummary: S\ntopic: start", "x", "slug other than"),
    ("Bad_Name", "title: T\nsummary: S\ntopic: start", "x", "lower-case slug"),
])
def test_a_malformed_article_is_left_out_and_reported(own_articles: Path, name: str, front: str,
                                               body: str, error: str) -> None:
    _write(own_articles, "en", name, front, body)
    _write(own_articles, "en", "fine", "title: Fine\nsummary: s\ntopic: start", "Well formed.")
    assert list(help.articles("en")) == ["fine"]  # the rest of the help centre still works
    [problem] = help.problems("en")
    assert problem.startswith(f"en/{name}.md") and error in problem


def test_an_edited_article_is_shown_without_a_restart(own_articles: Path) -> None:
    path = _write(own_articles, "en", "hello", "title: Hello\nsummary: s\ntopic: start", "One")
    assert help.get("hello", "en").title == "Hello"  # type: ignore[union-attr]
    _write(own_articles, "en", "hello", "title: Hello again\nsummary: s\ntopic: start", "Two")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert help.get("hello", "en").title == "Hello again"  # type: ignore[union-attr]


# --- search ----------------------------------------------------------------------------


def _slugs(query: str, language: str) -> list[str]:
    return [a.slug for a in help.search(query, language)]


@pytest.mark.parametrize(("query", "language", "first"), [
    ("roaming", "en", "data-roaming"),
    ("Refund", "en", "refunds"),
    ("install iphone", "en", "install-iphone"),
    ("galaxy", "en", "install-android"),
    ("EID", "en", "device-check"),
    ("漫游", "zh-hans", "data-roaming"),
    ("退款", "zh-hans", "refunds"),
    ("加油包", "zh-hans", "top-up"),
    ("自动续订", "zh-hans", "auto-renew"),
    ("三星", "zh-hans", "install-android"),
])
def test_search_finds_by_english_and_chinese_terms(query: str, language: str,
                                                   first: str) -> None:
    assert _slugs(query, language)[0] == first


def test_search_is_in_the_readers_language_and_needs_every_term() -> None:
    assert _slugs("漫游", "en") == []
    assert _slugs("roaming refund", "en") == [
        s for s in _slugs("roaming", "en") if s in _slugs("refund", "en")]
    assert _slugs("xyzzy", "en") == [] and _slugs("   ", "en") == []


def test_search_ranks_title_above_keywords_above_body(own_articles: Path) -> None:
    _write(own_articles, "en", "in-body", "title: Alpha\nsummary: s\ntopic: start\norder: 1",
           "Something about sunflowers, sunflowers and sunflowers.")
    _write(own_articles, "en", "in-keywords", "title: Beta\nsummary: s\ntopic: start\n"
           "order: 2\nkeywords: sunflowers", "Nothing here.")
    _write(own_articles, "en", "in-title", "title: Sunflowers\nsummary: s\ntopic: start\n"
           "order: 3", "Nothing here.")
    _write(own_articles, "en", "unrelated", "title: Gamma\nsummary: s\ntopic: start", "No.")
    assert _slugs("SUNFLOWERS", "en") == ["in-title", "in-keywords", "in-body"]


# --- pages -----------------------------------------------------------------------------


def _get(client: Client, url: str, language: str = "en") -> Any:
    client.cookies["esimdesk_language"] = language
    return client.get(url)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_help_pages_render_in_the_readers_language(client: Client, language: str) -> None:
    index = _get(client, "/help/", language)
    assert index.status_code == 200
    page = index.content.decode()
    assert ('lang="zh-Hans"' in page) == (language == "zh-hans")
    for article in help.articles(language).values():
        assert f'href="/help/{article.slug}/"' in page
        assert article.title in page
    detail = _get(client, "/help/install-iphone/", language)
    assert detail.status_code == 200
    assert help.get("install-iphone", language).title in detail.content.decode()  # type: ignore[union-attr]
    assert 'href="/dashboard/"' in detail.content.decode()


@pytest.mark.django_db
def test_unknown_article_is_404(client: Client) -> None:
    assert client.get("/help/no-such-article/").status_code == 404


@pytest.mark.django_db
def test_search_page_lists_results_or_suggests_contact(client: Client,
                                                       settings: Any) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "SUPPORT_PHONE": "+44 20 7946 0000",
                         "SUPPORT_EMAIL": "help@travel.example"}
    found = _get(client, "/help/search/?q=roaming").content.decode()
    assert 'href="/help/data-roaming/"' in found and "No article matches" not in found
    chinese = _get(client, "/help/search/?q=%E9%80%80%E6%AC%BE", "zh-hans").content.decode()
    assert 'href="/help/refunds/"' in chinese
    nothing = _get(client, "/help/search/?q=xyzzy").content.decode()
    assert "No article matches “xyzzy”" in nothing
    assert 'href="mailto:help@travel.example"' in nothing and 'href="tel:+442079460000"' in nothing
    assert nothing.count('href="/contact/"') >= 2  # the suggestion, besides the footer
    assert client.get("/help/search?q=roaming").status_code == 301  # APPEND_SLASH


@pytest.mark.django_db
def test_contact_shows_the_configured_values(client: Client, settings: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "SUPPORT_PHONE": "+44 20 7946 0000",
                         "SUPPORT_EMAIL": "help@travel.example"}
    monkeypatch.setenv("ESIMDESK_SUPPORT_HOURS", "Mon-Fri 09:00-18:00, Sat 10:00-14:00; "
                                                 "Europe/London")
    clock.set_now(dt.datetime(2026, 7, 6, 9, 30, tzinfo=dt.UTC))  # Monday 10:30 in London
    page = _get(client, "/contact/").content.decode()
    assert 'href="tel:+442079460000"' in page and "+44 20 7946 0000" in page
    assert 'href="mailto:help@travel.example"' in page
    assert "Monday–Friday 09:00–18:00" in page and "Saturday 10:00–14:00" in page
    assert "British Summer Time" in page and "Open now" in page
    assert 'href="/help/install-iphone/"' in page and 'href="/help/"' in page
    clock.set_now(dt.datetime(2026, 7, 5, 9, 30, tzinfo=dt.UTC))  # Sunday
    assert "Closed now" in _get(client, "/contact/").content.decode()
    chinese = _get(client, "/contact/", "zh-hans").content.decode()
    assert "星期一–星期五 09:00–18:00" in chinese and "星期六 10:00–14:00" in chinese
    assert "英国夏令时间" in chinese


@pytest.mark.django_db
def test_contact_shows_unreadable_hours_as_written(client: Client,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_SUPPORT_HOURS", "weekdays, office hours")
    page = _get(client, "/contact/").content.decode()
    assert "weekdays, office hours" in page
    assert "Open now" not in page and "Closed now" not in page


# --- opening hours ---------------------------------------------------------------------


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_hours_parse_and_decide_open_in_their_own_time_zone() -> None:
    shanghai = hours.parse("Mon-Sun 08:00-22:00; Asia/Shanghai")
    assert shanghai.is_open(_at("2026-03-02T00:00:00+00:00"))  # 08:00 in Shanghai
    assert not shanghai.is_open(_at("2026-03-01T23:59:00+00:00"))  # 07:59
    assert not shanghai.is_open(_at("2026-03-02T14:00:00+00:00"))  # 22:00: closed (half-open)
    night = hours.parse("Fri 22:00-02:00")  # UTC, past midnight
    assert night.is_open(_at("2026-03-06T23:00:00+00:00"))  # Friday 23:00
    assert night.is_open(_at("2026-03-07T01:59:00+00:00"))  # Saturday 01:59
    assert not night.is_open(_at("2026-03-07T02:00:00+00:00"))
    assert not night.is_open(_at("2026-03-05T23:00:00+00:00"))  # Thursday
    weekend = hours.parse("sat-mon 00:00-24:00")  # wraps over the week end
    assert weekend.spans[0].days == (5, 6, 0)
    assert weekend.is_open(_at("2026-03-02T23:59:00+00:00"))  # Monday
    assert not weekend.is_open(_at("2026-03-03T00:00:00+00:00"))  # Tuesday
    assert hours.parse(" 24/7 ").always


@pytest.mark.parametrize("spec", ["Mon-Fri", "Mon-Fri 9-18", "Mo-Fr 09:00-18:00",
                                  "Mon 25:00-26:00", "Mon 09:00-09:00", "Mon 24:00-10:00",
                                  "Mon 09:00-18:00; Mars/Olympus", "Mon 09:60-18:00"])
def test_malformed_hours_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        hours.parse(spec)


def test_hours_are_described_in_the_readers_language() -> None:
    at = _at("2026-01-05T03:00:00+00:00")
    every_day = hours.describe(hours.parse("Mon-Sun 08:00-22:00; Asia/Shanghai"), "en", at=at)
    assert every_day["lines"] == ["Every day 08:00–22:00"]
    assert every_day["zone"] == "China Standard Time (GMT+08:00)" and every_day["open"] is True
    chinese = hours.describe(hours.parse("Tue 09:00-17:30; Asia/Shanghai"), "zh-hans", at=at)
    assert chinese["lines"] == ["星期二 09:00–17:30"] and chinese["zone"].startswith("中国标准时间")
    assert chinese["open"] is False
    assert hours.describe(hours.parse("24/7"), "en")["open"] is True


# --- links from the portal -------------------------------------------------------------


@pytest.fixture
def traveller(shop: Shop) -> tuple[Client, str, str]:
    clock.set_now(dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    api = Api.signup("hana@example.com")
    order = buy_and_pay(api, MONTH)
    client = Client()
    client.force_login(User.objects.get(email="hana@example.com"))
    return client, order["lines"][0]["iccid"], order["id"]


@pytest.mark.django_db
def test_the_relevant_pages_link_to_their_articles(traveller: tuple[Client, str, str]) -> None:
    client, iccid, number = traveller
    expected = {
        f"/esims/{iccid}/": ["install-iphone", "install-android", "auto-renew"],
        f"/esims/{iccid}/renew/": ["renew"],
        f"/esims/{iccid}/top-up/": ["top-up"],
        f"/esims/{iccid}/change-plan/": ["change-plan"],
        f"/orders/{number}/": ["refunds"],
        "/devices/check/?model=iPhone+15": ["device-check"],
    }
    for url, slugs in expected.items():
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        for slug in slugs:
            assert f'href="/help/{slug}/"' in page, (url, slug)
        # Every page of the portal: Help in the navigation, help centre and contact below.
        assert page.count('href="/help/"') >= 2 and 'href="/contact/"' in page, url


# --- API -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_lists_and_searches_articles(client: Client) -> None:
    everything = client.get("/api/v1/help/articles").json()
    assert everything["count"] == len(help.articles("en"))
    assert [i["slug"] for i in everything["items"]] == list(help.articles("en"))
    first = everything["items"][0]
    assert set(first) == {"slug", "language", "title", "summary", "topic", "topic_name",
                          "keywords", "url"}
    assert first["language"] == "en" and first["url"] == f"/help/{first['slug']}/"
    chinese = client.get("/api/v1/help/articles", {"q": "漫游", "lang": "zh-Hans"}).json()
    assert chinese["items"][0]["slug"] == "data-roaming"
    assert chinese["items"][0]["language"] == "zh-hans"
    assert CJK.search(chinese["items"][0]["title"] + chinese["items"][0]["topic_name"])
    by_header = client.get("/api/v1/help/articles", HTTP_ACCEPT_LANGUAGE="zh-Hans").json()
    assert {i["language"] for i in by_header["items"]} == {"zh-hans"}
    assert by_header["items"][0]["title"] == next(iter(help.articles("zh-hans").values())).title
    english = client.get("/api/v1/help/articles?q=roaming&lang=en").json()
    assert english["items"][0]["slug"] == "data-roaming"
    bad = client.get("/api/v1/help/articles?lang=fr")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_language"


@pytest.mark.django_db
def test_api_shows_one_article_or_404(client: Client) -> None:
    response = client.get("/api/v1/help/articles/refunds?lang=zh-hans")
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == help.get("refunds", "zh-hans").title  # type: ignore[union-attr]
    assert "<h2>" in body["html"] and "<script" not in body["html"]
    assert body["related_page"]["url"] == "/orders/" and body["related_page"]["label"] == "订单"
    assert [a["slug"] for a in body["see_also"]] == ["auto-renew", "top-up", "change-plan"]
    missing = client.get("/api/v1/help/articles/nothing-here",
                         HTTP_ACCEPT_LANGUAGE="zh-Hans")
    assert missing.status_code == 404
    assert missing.json()["code"] == "unknown_article"


@pytest.mark.django_db
def test_language_switch_keeps_the_reader_on_the_article(client: Client) -> None:
    response = client.post("/account/language/", {"language": "zh-hans",
                                                  "next": "/help/refunds/"})
    assert response.status_code == 302 and response["Location"] == "/help/refunds/"
    page = client.get("/help/refunds/").content.decode()
    assert 'lang="zh-Hans"' in page
    assert help.get("refunds", "zh-hans").title in page  # type: ignore[union-attr]


@pytest.mark.django_db
def test_help_api_is_described_in_openapi(client: Client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/help/articles" in paths and "/api/v1/help/articles/{slug}" in paths
    assert "unknown_article" in paths["/api/v1/help/articles/{slug}"]["get"]["description"]
