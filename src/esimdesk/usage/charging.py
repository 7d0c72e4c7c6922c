"""Charging hooks: records that a feature app above usage charges itself.

``sharedplans`` charges the records of eSIMs that draw on a family or organisation pool
(its own rules, caps and reminders) and registers that here in its ``AppConfig.ready``;
``usage.services.ingest`` calls ``charge_pooled_rows`` first, inside the ingestion
transaction, and charges what is left to personal allowances. Without such an app every
record is personal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from esimdesk.usage.ingest_pg import Row


@dataclass
class PooledResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    #: the rows left for the personal path
    rest: list[Row] = field(default_factory=list)


PooledCharger = Callable[..., PooledResult]
_chargers: list[PooledCharger] = []


def register_pooled_charger(charger: PooledCharger) -> None:
    """``charger(*, source, rows, now, grace) -> PooledResult``: charges the rows it owns,
    returns the others in ``rest``. Registering the same function twice is a no-op."""
    if charger not in _chargers:
        _chargers.append(charger)


def charge_pooled_rows(*, source: str, rows: list[Row], now: dt.datetime,
                       grace: dt.timedelta) -> PooledResult:
    """Inside the ingestion transaction: let each registered charger take its rows; return
    the totals and the rows left for the personal path."""
    result = PooledResult(rest=rows)
    for charger in _chargers:
        taken = charger(source=source, rows=result.rest, now=now, grace=grace)
        result.accepted += taken.accepted
        result.duplicates += taken.duplicates
        result.rejected = [*result.rejected, *taken.rejected]
        result.rest = taken.rest
    return result
