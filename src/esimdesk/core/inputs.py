"""Typed inputs shared by every entry point, so that a value the database or Python cannot
hold is refused where it is read, never deep inside a query or a date calculation.

- ``Id``: a row id in a django-ninja path, query or body (1 .. 2**63 - 1, PostgreSQL's
  ``bigint``); outside that range the operation answers as for an unknown id.
- ``IdConverter``: the same for Django URL patterns, registered as ``<id:name>``: a number
  beyond ``bigint`` does not match, so the answer is a 404 before the view runs.
- ``PageNumberPagination``: ninja's page-number pagination with ``page`` and ``page_size``
  bounded, so the offset stays a number the database takes (``page=576460752303423487``
  is a 422 ``invalid_request``, not a failed query).
- ``parse_instant``: an ISO 8601 time with an offset, as an aware UTC datetime, refused with
  ``invalid_time`` when it is malformed or outside what a datetime can hold once in UTC
  (``0001-01-01T00:00:00+23:59``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Field, Schema
from ninja.pagination import PageNumberPagination as NinjaPageNumberPagination

from esimdesk.core.errors import ValidationFailed

#: The largest value of a PostgreSQL ``bigint`` (and of SQLite's integers).
BIGINT_MAX = 2**63 - 1

#: A row id: primary keys are ``bigint`` and start at 1.
Id = Annotated[int, Field(ge=1, le=BIGINT_MAX)]

#: Most pages a paginated list serves: with the largest page size the offset stays far
#: inside ``bigint``, and no customer has two billion pages of anything.
MAX_PAGE = 2**31 - 1
MAX_PAGE_SIZE = 100


class IdConverter:
    """``<id:pk>`` in a URL pattern: decimal digits within ``bigint``, as an int."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > BIGINT_MAX:
            raise ValueError(value)  # the pattern does not match: a 404
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


class PageNumberPagination(NinjaPageNumberPagination):
    """Every paginated list of the API: ``?page=`` from 1 to ``MAX_PAGE``, ``?page_size=``
    from 1 to ``MAX_PAGE_SIZE`` (the operation's own size when absent)."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=MAX_PAGE_SIZE)

    def __init__(self, page_size: int = 50, **kwargs: Any) -> None:
        super().__init__(page_size=page_size, max_page_size=MAX_PAGE_SIZE, **kwargs)


def parse_instant(value: object) -> dt.datetime:
    """An ISO 8601 time with its offset (``2026-03-01T12:00:00Z``) as an aware UTC datetime.
    Raises ``ValidationFailed(code="invalid_time")`` for anything else, including a naive
    time (ambiguous) and one that cannot be expressed in UTC."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        raise ValidationFailed(code="invalid_time")
    try:
        instant = dt.datetime.fromisoformat(value)
        if instant.tzinfo is None:
            raise ValueError(value)
        return instant.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise ValidationFailed(code="invalid_time") from None
