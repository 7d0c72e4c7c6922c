"""The input boundary's checks on plain values (no database, no request)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from esimdesk.core.boundary import (
    MAX_JSON_CONTAINERS,
    MAX_JSON_DEPTH,
    NUMBER_HINT,
    json_problem,
    number_out_of_range,
)
from esimdesk.core.errors import ValidationFailed
from esimdesk.core.inputs import BIGINT_MAX, IdConverter, parse_instant


def nested(depth: int, inner: str = "1") -> bytes:
    return ("[" * depth + inner + "]" * depth).encode()


@pytest.mark.parametrize("body", [
    b'{"a": 1}', b"[]", b'"text"', json.dumps({"label": "x\\u0000y"}).encode(),  # the text
    json.dumps({"label": "😀"}).encode(),  # escaped as a surrogate pair
    json.dumps({"label": "😀"}, ensure_ascii=False).encode(),
    nested(MAX_JSON_DEPTH), b'{"a": "' + b"[" * 5000 + b'"}',  # brackets inside a string
    json.dumps({"q": '\\"[[[[' * 100}).encode(),  # escaped quotes inside a string
    json.dumps([{"a": [1, {"b": []}]}] * 500).encode(),  # wide, shallow
])
def test_sound_json_passes(body: bytes) -> None:
    assert json_problem(body) is None


@pytest.mark.parametrize(("body", "code"), [
    (b'{"a": "x\x00y"}', "invalid_characters"),
    (json.dumps({"a": "x\x00y"}).encode(), "invalid_characters"),  # \u0000
    (b'{"a": "x\\\\\\u0000"}', "invalid_characters"),  # an escaped backslash, then \u0000
    (b'{"\\u0000": 1}', "invalid_characters"),  # in a key
    (b'{"a": "\\ud800"}', "invalid_characters"),  # a lone high surrogate
    (b'{"a": "\\udc00\\ud83d"}', "invalid_characters"),  # low then high: no pair
    (b'{"a": "\\ud83d\\ud83d\\ude00"}', "invalid_characters"),  # one pair, one lone
    (nested(MAX_JSON_DEPTH + 1), "json_too_deep"),
    (nested(100_000), "json_too_deep"),
    (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "json_too_deep"),
    (b"[" * 100_000, "json_too_deep"),  # never closed
    (b"]" * 70 + b"[" * 70, "malformed_json"),  # closed before it is opened
    (b"[1]," * 40 + b"[" * 40, "malformed_json"),  # left open
    (json.dumps([[]] * (MAX_JSON_CONTAINERS + 1)).encode(), "json_too_complex"),
])
def test_refused_json(body: bytes, code: str) -> None:
    assert json_problem(body) == code


def test_the_text_backslash_u0000_is_not_a_nul() -> None:
    body = json.dumps({"label": "C:\\u0000"}).encode()  # a backslash typed by a person
    assert b"\\\\u0000" in body
    assert json_problem(body) is None
    assert json.loads(body)["label"] == "C:\\u0000"


@pytest.mark.parametrize(("value", "out"), [
    (BIGINT_MAX, False), (-BIGINT_MAX - 1, False), (BIGINT_MAX + 1, True),
    (-BIGINT_MAX - 2, True), (1e30, True), (-1e30, True), (float("inf"), True),
    (float("nan"), True), (1.5, False), ({"a": [1, {"b": 2**64}]}, True),
    ({"a": ["x" * 30, True, None]}, False), ([[[[10**20]]]], True),
])
def test_numbers_out_of_range(value: object, out: bool) -> None:
    assert number_out_of_range(value) is out


def test_the_number_hint_finds_what_may_be_out_of_range() -> None:
    assert NUMBER_HINT.search(json.dumps({"n": 2**63}).encode())
    assert NUMBER_HINT.search(b'{"n": 1e30}')
    assert not NUMBER_HINT.search(json.dumps({"n": BIGINT_MAX // 10, "s": "abc"}).encode())


def test_id_converter_refuses_what_bigint_cannot_hold() -> None:
    converter = IdConverter()
    assert converter.to_python(str(BIGINT_MAX)) == BIGINT_MAX
    with pytest.raises(ValueError):
        converter.to_python(str(BIGINT_MAX + 1))
    assert converter.to_url(12) == "12"


@pytest.mark.parametrize("text", [
    "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "2026-03-01T12:00:00",
    "2026-02-30T00:00:00Z", "yesterday", "", "2" * 50, None, 1700000000,
])
def test_times_that_are_refused(text: object) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_instant(text)
    assert refused.value.code == "invalid_time"


def test_times_are_read_as_utc() -> None:
    assert parse_instant("2026-03-01T20:00:00+08:00") == dt.datetime(2026, 3, 1, 12,
                                                                        tzinfo=dt.UTC)
    assert parse_instant("0001-01-01T00:00:00Z").year == 1
