"""The journeys run the demo catalog (see the note in each module): their travellers shop
there, not in the tests' own shop (``tests.builders.shop``), whose plans and top-ups would
show up beside the demo's."""

from __future__ import annotations

import pytest

from tests.conftest import Api


@pytest.fixture
def api(catalog: None) -> Api:
    return Api.signup("alex@example.com")


@pytest.fixture
def other_api(catalog: None) -> Api:
    return Api.signup("sam@example.com")
