"""The CSV cell rule: text a spreadsheet would run as a formula is quoted, numbers are not."""

from __future__ import annotations

import csv
import io

import pytest

from esimdesk.core import csv_safe


@pytest.mark.parametrize(("value", "shown"), [
    ("=1+2", "'=1+2"),
    ("+1+2", "'+1+2"),
    ("-1+2", "'-1+2"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1+2", "'\t=1+2"),
    ("\r=1+2", "'\r=1+2"),
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("-", "'-"),
    ("Anne = Sons", "Anne = Sons"),
    ("", ""),
    ("-12.50", "-12.50"),
    ("+3", "+3"),
    ("-1e5", "-1e5"),
    ("-.5", "-.5"),
    ("12%", "12%"),
    (-7, -7),
    (None, None),
])
def test_cell(value: object, shown: object) -> None:
    assert csv_safe.cell(value) == shown


def test_writers_quote_every_cell_and_the_header() -> None:
    buffer = io.StringIO()
    writer = csv_safe.dict_writer(buffer, ["name", "=total"])
    writer.writeheader()
    writer.writerows([{"name": "@evil", "=total": -3}, {"name": "ok"}])
    plain = csv_safe.writer(buffer)
    plain.writerow(["+x", 5])
    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [
        ["name", "'=total"], ["'@evil", "-3"], ["ok", ""], ["'+x", "5"]]


def test_dict_writer_refuses_unknown_fields() -> None:
    with pytest.raises(ValueError, match="fields not in fieldnames"):
        csv_safe.dict_writer(io.StringIO(), ["a"]).writerow({"b": 1})
