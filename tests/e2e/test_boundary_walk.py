"""Every URL pattern and every API operation, walked with what broke them before the input
boundary: a NUL byte in the path, the query, a form or a JSON body, integers beyond 64 bits
in the path, the query, a form and a JSON body, times no datetime can hold, and texts longer
than any column. Not one
answer may be a 5xx, and none may reach the boundary's last line (a value the database or a
date calculation refused, logged as an error): every one is refused where it is read.

Signed in as a staff admin who is also a customer with an eSIM, an order, a group and a
notice, so that views get past their "who are you" and "is it yours" checks with the real
ids, and as nobody. Runs on SQLite and PostgreSQL (where NUL bytes and bigint overflows are
refused by the database itself).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from esimdesk.accounts.models import User
from esimdesk.api.api import api as api_v1
from tests.builders import DAY, Shop
from tests.conftest import Api
from tests.e2e.helpers import buy_and_pay

BIG = str(2**64)
JUST_BEYOND = str(2**63)  # fits the <id:> converter's 19 digits, not bigint
HUGE_TIME = "0001-01-01T00:00:00+23:59"

# Query parameters the views read, every one out of range at once.
QUERY = {"page": BIG, "page_size": BIG, "after": BIG, "days": BIG, "members": BIG,
         "id": JUST_BEYOND, "cost_centre": BIG, "month": "9999-12", "since": HUGE_TIME,
         "until": "9999-12-31T23:59:59-23:59", "range": BIG, "thin": "1e400",
         "add": "true", "currency": "USD", "by": "cost_centre", "status": BIG,
         # the staff console's lists: page, ordering, a date filter
         "p": BIG, "o": BIG, "resolved_at__gte": HUGE_TIME, "resolved_at__lt": "99999-01-01"}
INT_FIELDS = ("days", "cap_gb", "cap_percent", "cost_centre", "default_cap_percent",
              "rating", "members", "after", "seats", "quantity", "amount", "cap_bytes",
              "expected_charge", "expected_refund", "index", "page")
TEXT_FIELDS = ("name", "label", "body", "q", "text", "reason", "reference", "comment",
               "email", "phone", "company_name", "code", "plan", "iccid", "message")

# Found by this walk, owned by the sign-in work (allauth's phone and login-by-code views,
# issue "one sign-in policy"): left out here until those doors are replaced.
ELSEWHERE: dict[tuple[str, str], str] = {}


STRING_IDS = {"payment_id", "refund_id"}


def _plain(route: str) -> str:
    """A route without its converters: ``groups/<int:group_id>`` -> ``groups/<group_id>``."""
    return re.sub(r"<\w+:(\w+)>", r"<\1>", route)


def _patterns(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def routes() -> list[str]:
    """Every route: Django's patterns (regex ones as their plain prefix) and the API's."""
    found = set()
    for route in _patterns(get_resolver().url_patterns):
        route = route.lstrip("^").replace("\\Z", "").rstrip("$")
        if "(?P" in route or "\\" in route:
            route = route.split("(")[0]
        found.add(route)
    plain = {_plain(route) for route in found}
    for path in api_v1.get_openapi_schema()["paths"]:
        route = "api/v1" + re.sub(r"\{(\w+)\}", r"<\1>", path)
        if route not in plain:  # an operation not routed by ninja's own patterns
            found.add(route)
    return sorted(found)


def fill(route: str, values: dict[str, str], *, nul: bool) -> str:
    def one(match: re.Match[str]) -> str:
        converter, name = match.group(1) or "str", match.group(2)
        if converter in ("int", "id") or (name.endswith("_id") and name not in STRING_IDS) \
                or name in ("pk", "index", "object_id"):
            return BIG if nul else JUST_BEYOND
        return "%00" if nul else values.get(name, "x")
    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", one, route)


@pytest.fixture
def world(shop: Shop) -> dict[str, Any]:
    api = Api.signup("walker@example.com")
    order = buy_and_pay(api, DAY)
    group = api.post("/api/v1/groups", {"name": "Walkers", "kind": "family"}).json()
    user = User.objects.get(email="walker@example.com")
    user.is_staff = user.is_superuser = True
    user.save()
    session = Client(raise_request_exception=False)
    session.force_login(user)
    api.client.raise_request_exception = False
    values = {"iccid": order["lines"][0]["iccid"], "number": order["id"],
              "payment_id": order["payment"]["id"], "code": DAY, "slug": "install",
              "provider": "sandbox", "action": "extend", "token": "x",
              "reference": "x", "refund_id": "x", "app_label": "orders", "model_name": "order"}
    return {"api": api, "session": session, "anonymous": Client(raise_request_exception=False),
            "values": values, "group": group["id"]}


def _requests(route: str, values: dict[str, str]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    bad_path, good_path = fill(route, values, nul=True), fill(route, values, nul=False)
    query = "&".join(f"{k}={v.replace('+', '%2B')}" for k, v in QUERY.items())
    int_json = {**{name: 2**63 for name in INT_FIELDS[::2]},
                **{name: 1e30 for name in INT_FIELDS[1::2]},
                "lines": [{"type": "new_esim", "plan": DAY}], "currency": "USD",
                "provider": "sandbox", "outcome": "approve"}
    yield "get", bad_path, {}
    yield "post", bad_path, {}
    yield "get", f"{good_path}?{query}", {}
    yield "get", f"{good_path}?q=%00", {}
    yield "post", good_path, {"data": {name: "x\x00y" for name in TEXT_FIELDS}}
    yield "post", good_path, {"data": {name: BIG for name in INT_FIELDS}}
    yield "post", good_path, {"data": {name: "x" * 5000 for name in TEXT_FIELDS}}
    yield "post", good_path, {"data": json.dumps({name: "x\x00y" for name in TEXT_FIELDS}),
                              "content_type": "application/json"}
    long_json = {**{name: "x" * 5000 for name in TEXT_FIELDS}, "currency": "USD" * 1000}
    for body in (int_json, long_json):
        for method in ("post", "patch"):
            yield method, good_path, {"data": json.dumps(body),
                                      "content_type": "application/json"}


BUCKETS = 8  # the walk is split so that parallel test workers share it


@pytest.mark.parametrize("bucket", range(BUCKETS))
def test_no_route_answers_bad_input_with_a_5xx(world: dict[str, Any], bucket: int,
                                               caplog: pytest.LogCaptureFixture) -> None:
    token = {"HTTP_X_SESSION_TOKEN": world["api"].token}
    failures = []
    walked = 0
    for route in routes()[bucket::BUCKETS]:
        if "logout" in route:
            continue  # would end the session the rest of the walk needs
        # The API and the headless sign-in read the session token; pages, the session.
        signed_in = ((world["api"].client, token) if route.startswith(("api/", "_allauth/"))
                     else (world["session"], {}))
        for method, url, kw in _requests(route, world["values"]):
            if (method, route) in ELSEWHERE:
                continue
            clients = [signed_in]
            if method == "get" and "q=%00" not in url:
                clients.append((world["anonymous"], {}))
            for client, headers in clients:
                caplog.clear()
                with caplog.at_level(logging.ERROR, logger="esimdesk.core.boundary"):
                    response = getattr(client, method)(url, **kw, **headers)
                walked += 1
                late = [r for r in caplog.records if r.name == "esimdesk.core.boundary"]
                if (response.status_code >= 500 and not url.startswith("/readyz")) or late:
                    data = kw.get("data")
                    failures.append((method.upper(), url[:120], response.status_code,
                                     data[:60] if isinstance(data, str) else "form",
                                     late[0].getMessage() if late else ""))
    assert walked > 500
    assert failures == [], "\n".join(map(str, failures))


def test_the_walk_reaches_every_api_operation() -> None:
    walked = {_plain(route) for route in routes()}
    for path in api_v1.get_openapi_schema()["paths"]:
        assert "api/v1" + re.sub(r"\{(\w+)\}", r"<\1>", path) in walked
    assert "staff/invoices/<pk>/paid" in walked
    assert "_allauth/app/v1/auth/login" in walked
