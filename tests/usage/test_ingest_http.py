"""``POST /api/v1/ops/usage-events``: API key, JSON and NDJSON bodies, big batches, bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from django.test import Client

from esimdesk.accounts import services as accounts
from esimdesk.core import clock
from esimdesk.usage.models import UsageEvent
from tests.builders import make_esim, period_of
from tests.usage.helpers import START, data_of, rec

pytestmark = pytest.mark.django_db
URL = "/api/v1/ops/usage-events"


@pytest.fixture
def key(db: None) -> str:
    clock.set_now(START + dt.timedelta(minutes=10))
    return accounts.create_api_key(name="network-a")[1]


def post(body: bytes, key: str | None, content_type: str = "application/json") -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return Client().post(URL, data=body, content_type=content_type, **headers)


def test_needs_a_valid_key(key: str) -> None:
    assert post(b"[]", None).status_code == 401
    response = post(b"[]", "esk_nope_nope")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_json_batch_answers_per_record(key: str) -> None:
    esim = make_esim(n=1, data=1000)
    period = period_of(esim)
    at = clock.now()
    body = orjson.dumps([rec("a", esim.iccid, 10, at), rec("a", esim.iccid, 10, at),
                         rec("b", esim.iccid, -3, at)])
    response = post(body, key)
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 1,
                               "rejected": [{"index": 2, "code": "invalid_quantity"}]}
    assert UsageEvent.objects.get().source == "network-a"
    assert data_of(period)[0][2] == 10  # visible as soon as the answer is back


def test_ndjson_batch(key: str) -> None:
    esim = make_esim(n=1, data=1000)
    period = period_of(esim)
    at = clock.now()
    lines = b"\n".join(orjson.dumps(rec(f"n{i}", esim.iccid, 1, at)) for i in range(5))
    response = post(lines + b"\n\n", key, "application/x-ndjson")
    assert response.json() == {"accepted": 5, "duplicates": 0, "rejected": []}
    assert data_of(period)[0][2] == 5


def test_ten_thousand_records_in_one_request(key: str) -> None:
    esim = make_esim(n=1, data=10**12)
    period = period_of(esim)
    at = clock.now()
    records = [rec(f"big-{i}", esim.iccid, 3, at) for i in range(10_000)]
    response = post(orjson.dumps(records), key)
    assert response.json()["accepted"] == 10_000
    assert data_of(period)[0][2] == 30_000
    again = post(b"\n".join(orjson.dumps(r) for r in records), key, "application/x-ndjson")
    assert again.json() == {"accepted": 0, "duplicates": 10_000, "rejected": []}


def test_malformed_and_oversized_bodies(key: str) -> None:
    for body, ctype in ((b"[{", "application/json"), (b'{"id": 1}', "application/json"),
                        (b'{"id": 1}\n{oops', "application/x-ndjson")):
        response = post(body, key, ctype)
        assert response.status_code == 400, body
        assert response.json()["code"] == "malformed_json"
    too_many = b"[" + b",".join([b"{}"] * 50_001) + b"]"
    response = post(too_many, key)
    assert response.status_code == 413
    assert response.json()["code"] == "too_many_records"
    assert UsageEvent.objects.count() == 0


def test_documented_in_openapi(db: None) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/ops/usage-events"]["post"]
    assert "application/x-ndjson" in operation["requestBody"]["content"]
