"""Staff members holding one role each, and a customer with a bought eSIM."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from esimdesk.accounts.models import User
from tests.builders import DAY, Shop
from tests.conftest import Api
from tests.e2e.helpers import buy_and_pay


def member(email: str, *role_names: str, language: str = "en") -> tuple[User, Client]:
    """A staff member holding ``role_names`` (none: staff with no role), signed in."""
    user = User.objects.create_user(email, "x-long-password-1", is_staff=True,
                                    language=language)
    user.groups.add(*Group.objects.filter(name__in=role_names))
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def agent(shop: Shop) -> Client:
    return member("agent@example.com", "agent")[1]


@pytest.fixture
def finance(shop: Shop) -> Client:
    return member("finance@example.com", "finance")[1]


@pytest.fixture
def boss(shop: Shop) -> Client:
    return member("boss@example.com", "admin")[1]


@pytest.fixture
def nobody(shop: Shop) -> Client:
    """Staff, but holding no role."""
    return member("nobody@example.com")[1]


@pytest.fixture
def customer_api(shop: Shop) -> Api:
    return Api.signup("traveller@example.com")


@pytest.fixture
def bought(customer_api: Api) -> dict[str, Any]:
    """A paid and fulfilled order of one new eSIM (the shop's day plan, USD)."""
    return buy_and_pay(customer_api, DAY)


@pytest.fixture
def customer(bought: dict[str, Any]) -> User:
    return User.objects.get(email="traveller@example.com")
