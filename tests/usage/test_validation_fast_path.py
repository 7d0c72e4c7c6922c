"""The quick check of well-formed records agrees with ``records.validate`` on every record:
it either gives the same clean record or leaves the verdict (and the code) to it."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from stdnum import luhn

from esimdesk.usage.records import validate
from esimdesk.usage.services import _luhn_ok, validate_all

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
LATEST = NOW + dt.timedelta(minutes=5)


def test_luhn_matches_stdnum() -> None:
    rng = random.Random(3)
    numbers = ["".join(rng.choice("0123456789") for _ in range(rng.choice((19, 20))))
               for _ in range(3000)]
    numbers += [n[:-1] + luhn.calc_check_digit(n[:-1]) for n in numbers[:500]]
    for number in numbers:
        assert _luhn_ok(number) == luhn.is_valid(number), number
        assert _luhn_ok(number) == luhn.is_valid(number), number  # remembered the same


def _variants(rng: random.Random) -> list[Any]:
    body = "".join(rng.choice("0123456789") for _ in range(18))
    good = body + luhn.calc_check_digit(body)
    base = {"id": "r1", "iccid": good, "kind": "data", "quantity": 5,
            "occurred_at": NOW.isoformat()}
    return [
        base, {**base, "iccid": good + "F"}, {**base, "iccid": good[:-1] + "x"},
        {**base, "iccid": " " + good}, {**base, "iccid": good[:-1] + str(
            (int(good[-1]) + 1) % 10)}, {**base, "iccid": "١" * 19},
        {**base, "id": 17}, {**base, "id": True}, {**base, "id": "  "}, {**base, "id": "x" * 129},
        {**base, "id": "tab\there\\"}, {**base, "kind": "mms"}, {**base, "kind": 3},
        {**base, "quantity": True}, {**base, "quantity": 1.0}, {**base, "quantity": -1},
        {**base, "quantity": 10**13}, {**base, "quantity": 10**13 + 1},
        {**base, "occurred_at": "2026-03-01T12:00:00"},
        {**base, "occurred_at": "2026-03-01T20:00:00+08:00"},
        {**base, "occurred_at": "2026-03-01T12:04:59Z"},
        {**base, "occurred_at": "2026-03-01T12:05:01Z"},
        {**base, "occurred_at": "2026-W09-7T12:00:00Z"}, {**base, "occurred_at": 1},
        {k: v for k, v in base.items() if k != "quantity"}, ["not", "a", "dict"], None,
    ]


def test_fast_path_gives_the_same_verdicts_as_validate() -> None:
    rng = random.Random(11)
    records = [v for _ in range(30) for v in _variants(rng)]
    valid, rejected = validate_all(records, latest=LATEST)
    expected = [validate(i, raw, latest=LATEST) for i, raw in enumerate(records)]
    assert rejected == [(i, e) for i, e in enumerate(expected) if isinstance(e, str)]
    assert valid == [(e.index, e.external_id, e.iccid, e.kind, e.quantity, e.occurred_at)
                     for e in expected if not isinstance(e, str)]
    assert {code for _, code in rejected} >= {"invalid_iccid", "invalid_id", "invalid_kind",
                                              "invalid_quantity", "invalid_time",
                                              "invalid_record"}
