"""The shared layout and the pages drawn in it without a view of the portal's own: the header
(navigation, a language select that sends itself, no "Go" button), the sign-in pages in the
shop's words (allauth's element templates), the error pages in the reader's language, and a
server-error page that needs no database."""

from __future__ import annotations

import re

import pytest
from django.test import Client, RequestFactory

from esimdesk.core.error_pages import server_error
from tests import builders

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def _page(path: str, client: Client | None = None, **headers: str) -> str:
    answer = (client or Client()).get(path, **headers)
    return answer.content.decode()


@pytest.mark.django_db
def test_the_header_has_a_language_select_that_sends_itself_and_no_go_button() -> None:
    page = _page("/accounts/login/")
    form = re.search(r'<form class="lang".*?</form>', page, re.S)
    assert form is not None
    assert "data-autosubmit" in form.group(0)
    outside_noscript = re.sub(r"<noscript>.*?</noscript>", "", form.group(0), flags=re.S)
    assert "<button" not in outside_noscript
    assert '<script src="/static/portal/autosubmit.js' in page and "defer" in page
    assert '<header class="top">' in page and '<main class="wrap" id="main"' in page


@pytest.mark.django_db
def test_sign_in_reads_naturally_with_one_reset_link() -> None:
    page = _page("/accounts/login/")
    assert ">Email or phone</label>" in page
    assert ">Keep me signed in</label>" in page
    assert page.count("Forgot your password?") == 1
    for default in ("Login:", "Remember Me", "Password:"):
        assert default not in page
    chinese = _page("/accounts/login/", **ZH)
    assert ">邮箱或手机号</label>" in chinese and ">保持登录</label>" in chinese
    assert chinese.count("忘记密码？") == 1


@pytest.mark.django_db
def test_a_field_error_is_shown_beside_its_field() -> None:
    page = Client().post("/accounts/signup/", {"email": "not-an-address",
                                               "password1": "x", "password2": "y"})
    html = page.content.decode()
    assert re.search(r'<div class="field has-error">\s*<div class="label-row">\s*'
                     r'<label for="id_email">', html)
    assert 'class="field-error"' in html


@pytest.mark.django_db
def test_the_not_found_page_is_in_the_layout_and_the_readers_language() -> None:
    user = builders.user("lin@example.com", language="zh-hans")
    client = Client()
    client.force_login(user)
    answer = client.get("/no-such-page/", **ZH)
    html = answer.content.decode()
    assert answer.status_code == 404
    assert '<header class="top">' in html and 'lang="zh-Hans"' in html
    assert "页面不存在" in html


def test_the_server_error_page_needs_no_database() -> None:
    """No django_db mark: any query here fails the test."""
    answer = server_error(RequestFactory().get("/dashboard/"))
    html = answer.content.decode()
    assert answer.status_code == 500
    assert "/static/portal/site.css" in html and 'class="card narrow error-page"' in html
