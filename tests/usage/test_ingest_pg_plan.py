"""The plan PostgreSQL picks for a batch: one index probe per record, whatever it estimates."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction

from esimdesk.core import clock
from esimdesk.usage import ingest_pg
from tests.builders import iccid, make_esim
from tests.usage.helpers import START

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_records_find_their_period_in_one_probe_of_the_route_index() -> None:
    # The route's ICCID compares with COLLATE "C" (migrations usage/0006, 0007), as the
    # query asks; a query in another collation could not use the index and would scan
    # every route, or every eSIM, for every record.
    make_esim(n=1, data=1000)
    rows = [(0, "r-0", iccid(1), "data", 5, START + dt.timedelta(minutes=1))]
    data, _ = ingest_pg.prepare(rows)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(ingest_pg._TABLES)
        cursor.execute(ingest_pg._PLANNER)
        with cursor.cursor.copy("COPY usage_in_c (idx, external_id, iccid, kind, quantity, "
                                "occurred_at) FROM STDIN") as copy:
            copy.write(data)
        cursor.execute("EXPLAIN " + ingest_pg._FAST,
                       {"source": "net", "at": clock.now(), "grace": dt.timedelta(hours=72),
                        "near": 50})
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    assert "Scan Backward using usage_route_lookup on usage_route" in plan
    assert "esims_iccid_bytewise on esims_esim" in plan  # only for rejected records
    assert "Seq Scan on usage_route" not in plan
    assert "Seq Scan on esims_esim" not in plan
