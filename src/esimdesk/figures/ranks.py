"""Medians and percentiles in SQL that SQLite and PostgreSQL both run.

SQLite has no percentile function, so the value is found by rank: the rows are numbered in
order of the value by a window function, each partition counts its rows, and only the rows
at the wanted rank come back (one or two per partition, however many rows there are). One
query, whatever the size; the database sorts, Python never sees the other rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.expressions import Combinable
from django.db.models.functions import RowNumber


def _ranked(rows: QuerySet[Any], value: Combinable | str, partition: list[str]
            ) -> QuerySet[Any]:
    expression = F(value) if isinstance(value, str) else value
    groups = [F(name) for name in partition] or None
    ranked: QuerySet[Any] = rows.annotate(
        _value=expression,
        _rank=Window(RowNumber(), partition_by=groups,
                     order_by=[F("_value").asc(), F("pk").asc()]),
        _rows=Window(Count("pk"), partition_by=groups))
    return ranked


def median(rows: QuerySet[Any], value: Combinable | str) -> Any:
    """The median of ``value`` over ``rows`` (the mean of the middle two for an even count),
    or None without rows. Works for numbers and for durations (``timedelta``)."""
    # The middle ranks are those with rows/2 <= rank <= rows/2 + 1: one for an odd count,
    # two for an even one.
    middle = list(_ranked(rows, value, []).filter(
        Q(_rank__gte=F("_rows") / 2.0) & Q(_rank__lte=F("_rows") / 2.0 + 1))
        .values_list("_value", flat=True))
    if not middle:
        return None
    if len(middle) == 1:
        return middle[0]
    return middle[0] + (middle[1] - middle[0]) / 2


def percentiles(rows: QuerySet[Any], value: Combinable | str, *, percent: int,
                by: str) -> dict[Any, Any]:
    """The ``percent`` percentile of ``value`` for each ``by`` (nearest rank: the value at
    rank ceil(percent/100 x rows)), e.g. p95 latency per supplier."""
    # ceil(p x n / 100) = r  <=>  100 r >= p n  and  100 (r - 1) < p n
    found: Iterable[tuple[Any, Any]] = _ranked(rows, value, [by]).filter(
        Q(_rank__gte=F("_rows") * percent / 100.0)
        & Q(_rank__lt=F("_rows") * percent / 100.0 + 1)).values_list(by, "_value")
    return dict(found)
