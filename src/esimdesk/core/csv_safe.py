"""CSV files that are safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some
spreadsheets skip before looking at the first character) is read as a formula by Excel,
LibreOffice and Google Sheets. Group names, member names and cost-centre codes are typed by
customers, so a report could otherwise carry ``=HYPERLINK(...)`` or a DDE payload to whoever
opens it. Such a cell is prefixed with a single quote (OWASP's rule for CSV injection), which
the spreadsheet shows as text. Plain numbers (``-12.50``, ``+3``) are left alone: they are
never formulas, and a spreadsheet must still add them up.

Every CSV the platform writes goes through ``writer`` or ``dict_writer``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def cell(value: Any) -> Any:
    """``value`` as a spreadsheet will show it: text that would start a formula is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(
            value):
        return "'" + value
    return value


class Writer:
    """``csv.writer`` whose every cell goes through ``cell``."""

    def __init__(self, stream: _Writable, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class DictWriter:
    """``csv.DictWriter`` whose every cell (the header too) goes through ``cell``."""

    def __init__(self, stream: _Writable, fieldnames: Sequence[str], **options: Any) -> None:
        self.fieldnames = list(fieldnames)
        self._writer = Writer(stream, **options)

    def writeheader(self) -> None:
        self._writer.writerow(self.fieldnames)

    def writerow(self, row: Mapping[str, Any]) -> None:
        unknown = set(row) - set(self.fieldnames)
        if unknown:
            raise ValueError(f"fields not in fieldnames: {sorted(unknown)}")
        self._writer.writerow([row.get(name, "") for name in self.fieldnames])

    def writerows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: _Writable, **options: Any) -> Writer:
    return Writer(stream, **options)


def dict_writer(stream: _Writable, fieldnames: Sequence[str], **options: Any) -> DictWriter:
    return DictWriter(stream, fieldnames, **options)
