"""A name written small-then-capital keeps its case in the console: "eSIMs" in the Data
index, list titles and column headings, breadcrumbs, form titles, field labels and what a
delete would take — where
Django's ``capfirst`` would write "ESIMs" — in English and Chinese."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.template import Context, Template

from esimdesk.core.names import capfirst
from tests.builders import make_esim, user

#: "ESIM" as Django's capfirst writes it, but not the project's own name ("ESIMDESK_...").
SHOUTED = re.compile(r"ESIM(?!DESK)")


@pytest.mark.parametrize(("given", "shown"), [
    ("eSIMs", "eSIMs"), ("eSIM Go orders", "eSIM Go orders"), ("iPhone", "iPhone"),
    ("orders", "Orders"), ("e-mail", "E-mail"), ("套餐", "套餐"), ("x", "X"), ("", "")])
def test_capfirst_keeps_a_name_written_small_then_capital(given: str, shown: str) -> None:
    assert capfirst(given) == shown


def test_capfirst_leaves_nothing_as_nothing() -> None:
    assert capfirst(None) is None


def test_every_template_capfirst_is_the_consoles() -> None:
    assert Template("{{ name|capfirst }} {{ other|capfirst }}").render(
        Context({"name": "eSIMs", "other": "orders"})) == "eSIMs Orders"


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_console_writes_esim_as_it_is_written(client: Any, language: str) -> None:
    admin = user(f"boss-{language}@example.com", is_staff=True, is_superuser=True,
                 language=language)
    esim = make_esim()
    client.force_login(admin)
    pages = {
        "data": "/staff/data/",                                   # the Data index
        "app": "/staff/esims/",                                   # one app's index
        "list": "/staff/esims/esim/",                             # title, breadcrumbs, add
        "change": f"/staff/esims/esim/{esim.pk}/change/",          # title, breadcrumbs
        "history": f"/staff/esims/esim/{esim.pk}/history/",        # breadcrumbs
        "column": "/staff/subscriptions/subscription/",           # a column's heading
        "read-only": f"/staff/subscriptions/subscription/{esim.subscription.pk}/change/",
        "label": "/staff/groups/membership/add/",                 # a form field's label
        "delete": f"/staff/accounts/user/{esim.owner_id}/delete/",  # what protects the user
    }
    for key, path in pages.items():
        response = client.get(path)
        assert response.status_code == 200, (key, response.status_code)
        page = response.content.decode()
        assert not SHOUTED.findall(page), (key, SHOUTED.findall(page))
        assert "eSIM" in page, key
    data = client.get("/staff/data/").content.decode()
    assert re.search(r">\s*eSIMs?\s*</a>", data), "the index names the eSIM model"
    listed = client.get("/staff/esims/esim/").content.decode()
    assert re.search(r"<title>eSIMs? \|", listed) and re.search(r"<h1>eSIMs?</h1>", listed)
    readonly = client.get(pages["read-only"]).content.decode()
    assert re.search(r"<label>eSIM:|<label>eSIM：", readonly), "the read-only field's label"
    protecting = client.get(pages["delete"]).content.decode()
    assert re.search(r"<li>eSIM: <a href=", protecting), "the eSIM that protects the user"
