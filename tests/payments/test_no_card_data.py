"""No card number, CVV or expiry date is ever received or stored by esimdesk."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.test import Client

from tests.builders import DAY, Shop

FORBIDDEN = re.compile(r"(card_?number|\bpan\b|cvv|cvc|security_code|exp(iry)?_?(month|year|date)"
                       r"|expiry)", re.IGNORECASE)


def test_no_model_has_a_field_for_card_data() -> None:
    fields = [f"{model.__name__}.{field.name}" for model in apps.get_models()
              if model.__module__.startswith("esimdesk.")
              for field in model._meta.get_fields()]
    assert [f for f in fields if FORBIDDEN.search(f.split(".", 1)[1])] == []


@pytest.mark.django_db
def test_the_sandbox_page_never_asks_for_card_data(shop: Shop, api) -> None:
    from tests.e2e.helpers import post_order

    order = post_order(api, DAY)
    page = Client().get(order["payment"]["next_action"]["url"].replace("http://testserver", ""))
    inputs = re.findall(r"<(?:input|select|textarea)[^>]*name=\"([^\"]+)\"", page.content.decode())
    assert set(inputs) <= {"csrfmiddlewaretoken", "card", "save_card", "outcome", "decline_code",
                           "language", "next"}  # the last two: the language switcher
    assert not any(FORBIDDEN.search(name) for name in inputs)
