"""``GET /api/v1/ops/metrics`` with a real integration key: the figures of what the test
did, the window checked with a code and a translated message."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts import services as accounts
from esimdesk.accounts.models import ApiKey, ApiScope
from esimdesk.core import clock
from esimdesk.provisioning import registry
from tests import builders

START = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def key(db: None) -> str:
    return accounts.create_api_key(name="monitoring", scopes=[ApiScope.OPS_READ])[1]


def get(key: str, language: str = "en", **params: str) -> Any:
    return Client().get("/api/v1/ops/metrics", params, HTTP_AUTHORIZATION=f"Bearer {key}",
                        HTTP_ACCEPT_LANGUAGE=language)


@pytest.fixture
def refusing(settings: Any) -> Any:
    registry.register("refusing", "tests.builders.RefusingSupplier")
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["refusing", "simulator"]}
    yield
    registry.PROVIDERS.pop("refusing", None)
    registry.provider_class.cache_clear()


def test_the_figures_of_what_happened(key: str, refusing: None) -> None:
    clock.set_now(START)
    sold = builders.plan(usd=1000, prices={"USD": 1000}, unit="month")
    builders.bundle(sold, "refusing", priority=1, cost=300)
    builders.bundle(sold, "simulator", priority=2, cost=400)
    stuck = builders.plan(usd=500, prices={"USD": 500})
    builders.bundle(stuck, "refusing", cost=100)
    dana = builders.user("dana@example.com")
    builders.buy(dana, builders.new_esim_line(sold))
    builders.buy(dana, builders.new_esim_line(stuck))  # its activation fails
    subscription = builders.auto_renewing(builders.user("eve@example.com"), sold, card="0341")
    builders.renewal_due(subscription)  # declined off-session
    builders.answered_chat(dana, builders.agent(), after=dt.timedelta(minutes=2))
    response = get(key, since=START.isoformat(), until=(clock.now() + dt.timedelta(
        seconds=1)).isoformat())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["orders"] == {"paid": 3, "refunded": 0}
    assert body["revenue"] == [{"currency": "USD", "amount": 2500}]
    assert body["revenue_reporting"] == {"currency": "USD", "amount": 2500, "unconverted": []}
    assert body["customers"] == {"new": 2}
    assert body["esims"] == {"active": 2}
    assert body["activations"]["failed"] == 1
    assert body["activations"]["waiting"] == 0
    assert body["activations"]["median_seconds"] == 0.0
    assert body["renewals"] == {"succeeded": 0, "declined": 1, "waiting": 1}
    assert body["support"] == {"open": 1, "median_first_answer_seconds": 120.0}
    suppliers = {s["name"]: s for s in body["suppliers"]}
    assert {k: suppliers["refusing"][k] for k in ("calls", "failures", "failovers")} == \
        {"calls": 3, "failures": 3, "failovers": 2}
    assert {k: suppliers["simulator"][k] for k in ("calls", "failures", "failovers")} == \
        {"calls": 2, "failures": 0, "failovers": 0}
    assert body["margin"]["cost"] == 800 and body["margin"]["revenue"] == 2000


def test_the_window_defaults_to_the_last_day(key: str) -> None:
    clock.set_now(START)
    body = get(key).json()
    assert (body["since"], body["until"]) == ("2026-08-31T08:00:00+00:00",
                                              "2026-09-01T08:00:00+00:00")
    assert get(key, since="2026-08-01T00:00:00+08:00").json()["since"] == \
        "2026-07-31T16:00:00+00:00"


@pytest.mark.parametrize(("params", "code"), [
    ({"since": "yesterday"}, "invalid_time"),
    ({"since": "2026-08-01T00:00:00"}, "invalid_time"),  # no offset: ambiguous
    ({"since": "2026-09-02T00:00:00Z", "until": "2026-09-01T00:00:00Z"}, "invalid_window"),
    ({"since": "2024-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "window_too_long"),
])
def test_a_bad_window_is_refused_with_a_code(key: str, params: dict[str, str],
                                             code: str) -> None:
    response = get(key, **params)
    assert response.status_code == 422
    assert response.json()["code"] == code
    chinese = get(key, "zh-hans", **params).json()["message"]
    assert chinese != response.json()["message"]


def test_only_an_integration_key_may_read_them(key: str) -> None:
    assert get("esk_wrong").status_code == 401
    assert Client().get("/api/v1/ops/metrics").status_code == 401
    ApiKey.objects.update(revoked_at=clock.now())
    assert get(key).status_code == 401


def test_a_key_without_the_ops_read_scope_is_refused_with_a_code(db: None) -> None:
    feed = accounts.create_api_key(name="usage feed", scopes=[ApiScope.USAGE_WRITE])[1]
    refused = get(feed)
    assert refused.status_code == 403
    body = refused.json()
    assert body["code"] == "insufficient_scope"
    assert body["detail"] == {"required_scope": "ops:read", "key_scopes": ["usage:write"]}
    assert "ops:read" in body["message"]
    chinese = get(feed, "zh-hans").json()["message"]
    assert chinese != body["message"] and "ops:read" in chinese
    assert ApiKey.objects.get(name="usage feed").last_used_at is None
