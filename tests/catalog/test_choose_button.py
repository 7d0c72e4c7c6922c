"""Destination and plan pages offer *Choose* / *Buy this plan* only for plans a traveller can
buy: family and organisation plans say where to go instead."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.builders import DAY, make_group_plans


@pytest.mark.django_db
def test_destination_pages_offer_choose_only_for_plans_a_traveller_can_buy(shop: Any) -> None:
    family, team = make_group_plans()
    assert f'href="/plans/{DAY}/?currency=USD"' in Client().get(
        "/destinations/JP/?currency=USD").content.decode()
    page = Client().get("/destinations/FR/?currency=USD").content.decode()
    assert f'href="/plans/{family.code}/' not in page and f'href="/plans/{team.code}/' not in page
    assert "See family plans" in page and "Contact us" in page
    detail = Client().get(f"/plans/{family.code}/").content.decode()
    assert "/checkout/?plan=" not in detail and "See family plans" in detail
