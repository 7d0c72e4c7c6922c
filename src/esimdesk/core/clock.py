"""The one place esimdesk reads the time, so tests can move it.

Every datetime is aware and in UTC. ``freeze``/``advance`` are for tests and for the demo
loader; production code only calls ``now()``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

_frozen: dt.datetime | None = None
_offset = dt.timedelta(0)


def now() -> dt.datetime:
    """The current instant, aware, in UTC."""
    if _frozen is not None:
        return _frozen
    return dt.datetime.now(dt.UTC) + _offset


def set_now(instant: dt.datetime | None) -> None:
    """Freeze the clock at ``instant`` (aware), or unfreeze with ``None``."""
    global _frozen
    if instant is not None and instant.tzinfo is None:
        raise ValueError("clock needs an aware datetime")
    _frozen = instant.astimezone(dt.UTC) if instant is not None else None


def advance(delta: dt.timedelta) -> dt.datetime:
    """Move the clock forward by ``delta`` (frozen or not) and return the new instant."""
    global _frozen, _offset
    if _frozen is not None:
        _frozen = _frozen + delta
    else:
        _offset += delta
    return now()


@contextlib.contextmanager
def frozen_at(instant: dt.datetime) -> Iterator[None]:
    previous, previous_offset = _frozen, _offset
    set_now(instant)
    try:
        yield
    finally:
        set_now(previous)
        globals()["_offset"] = previous_offset


def reset() -> None:
    global _frozen, _offset
    _frozen = None
    _offset = dt.timedelta(0)


def db_value(instant: dt.datetime) -> object:
    """An instant as raw SQL parameters need it (SQLite stores naive UTC text, PostgreSQL a
    timestamptz): the same conversion the ORM applies, for hand-written statements."""
    from django.db import connection

    return connection.ops.adapt_datetimefield_value(instant)


def from_db(value: dt.datetime | str | None) -> dt.datetime | None:
    """An instant as raw SQL hands it back, made aware: SQLite returns naive UTC datetimes
    (or text), PostgreSQL aware ones. The reverse of ``db_value``."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def iso_or_none(value: dt.datetime | None) -> str | None:
    """ISO 8601 text of an instant that may be missing (a period not started yet)."""
    return value.isoformat() if value is not None else None
