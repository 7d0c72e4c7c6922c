"""The plan PostgreSQL picks for a batch: one index probe per record, whatever it estimates."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction

from esimdesk.core import clock
from esimdesk.usage import ingest_pg
from tests.usage.helpers import START, iccid, make_esim

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_records_find_their_esim_through_the_bytewise_iccid_index() -> None:
    # The index compares with COLLATE "C" (migration usage/0006); a query in another
    # collation could not use it and would scan every eSIM for every record.
    make_esim(1)
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
    assert "esims_iccid_bytewise on esims_esim" in plan
    assert "Seq Scan on esims_esim" not in plan
