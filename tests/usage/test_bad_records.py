"""One bad record is rejected on its own, whatever is wrong with it, on every ingestion path
(the service, the HTTP endpoint as JSON and as NDJSON, the CDR file import), on SQLite and
PostgreSQL: a time that exists in its own offset but not in UTC
(``0001-01-01T00:00:00+23:59``) used to fail the whole batch with a 500, and an id holding a
NUL byte used to fail PostgreSQL's COPY."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.test import Client

from esimdesk import cli
from esimdesk.accounts import services as accounts
from esimdesk.core import clock
from esimdesk.usage import services
from esimdesk.usage.models import UsageEvent
from tests.builders import make_esim, period_of
from tests.usage.helpers import START, data_of, rec

pytestmark = pytest.mark.django_db

BAD_TIMES = ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59",
             "2026-13-01T00:00:00Z", "2026-03-01T12:00:00"]


def batch(number: str, at: dt.datetime, bad: dict[str, Any]) -> list[dict[str, Any]]:
    return [rec("r0", number, 10, at), {**rec("r1", number, 10, at), **bad},
            rec("r2", number, 10, at)]


@pytest.fixture
def now(db: None) -> dt.datetime:
    clock.set_now(START + dt.timedelta(minutes=10))
    return clock.now()


@pytest.mark.parametrize("occurred_at", BAD_TIMES)
def test_a_time_out_of_range_rejects_that_record_only(now: dt.datetime,
                                                      occurred_at: str) -> None:
    esim = make_esim(n=1, data=1000)
    period = period_of(esim)
    result = services.ingest(source="net",
                             records=batch(esim.iccid, now, {"occurred_at": occurred_at}))
    assert (result.accepted, result.rejected) == (2, [(1, "invalid_time")])
    assert sorted(UsageEvent.objects.values_list("external_id", flat=True)) == ["r0", "r2"]
    assert data_of(period)[0][2] == 20


@pytest.mark.parametrize("external_id", ["a\x00b", "\x00"])
def test_an_id_with_a_nul_byte_rejects_that_record_only(now: dt.datetime,
                                                        external_id: str) -> None:
    esim = make_esim(n=1, data=1000)
    period = period_of(esim)
    result = services.ingest(source="net", records=batch(esim.iccid, now, {"id": external_id}))
    assert (result.accepted, result.rejected) == (2, [(1, "invalid_id")])
    assert data_of(period)[0][2] == 20


@pytest.fixture
def key(now: dt.datetime) -> str:
    return accounts.create_api_key(name="network-a")[1]


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_over_http_as_json_and_ndjson(key: str, now: dt.datetime, content_type: str) -> None:
    esim = make_esim(n=1, data=1000)
    period = period_of(esim)
    records = [*batch(esim.iccid, now, {"occurred_at": BAD_TIMES[0]}),
               {**rec("r3", esim.iccid, 10, now), "id": "x\x00y"}]
    body = (orjson.dumps(records) if content_type == "application/json"
            else b"\n".join(orjson.dumps(r) for r in records))
    response = Client().post("/api/v1/ops/usage-events", data=body, content_type=content_type,
                             HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 2, "duplicates": 0,
                               "rejected": [{"index": 1, "code": "invalid_time"},
                                            {"index": 3, "code": "invalid_id"}]}
    assert data_of(period)[0][2] == 20


def test_in_a_cdr_file(now: dt.datetime, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    esim = make_esim(n=1, data=1000)
    period = period_of(esim)
    at = now.isoformat()
    cdr = tmp_path / "cdr.csv"
    cdr.write_text("id,iccid,kind,quantity,occurred_at\n"
                   f"c0,{esim.iccid},data,10,{at}\n"
                   f"c1,{esim.iccid},data,10,{BAD_TIMES[0]}\n"
                   f"c\x002,{esim.iccid},data,10,{at}\n"
                   f"c3,{esim.iccid},data,10,{at}\n")
    assert cli.main(["usage", "import", str(cdr)]) == 0
    out, err = capsys.readouterr()
    assert "read 4, accepted 2, duplicates 0, rejected 2" in out
    assert "line 3: invalid_time" in err and "line 4: invalid_id" in err
    assert data_of(period)[0][2] == 20
