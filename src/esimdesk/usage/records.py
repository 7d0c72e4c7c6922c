"""Per-record validation of inbound usage records, shared by every ingestion path.

A record is checked on its own, so one bad line never rejects the batch: the caller gets
either a clean ``Record`` or a machine-readable code for that index. Checks that need the
database (``unknown_iccid``, ``no_period``) are made by the ingestion paths.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from esimdesk.core.errors import ValidationFailed
from esimdesk.core.ids import normalize_iccid
from esimdesk.core.inputs import parse_instant

KINDS = frozenset({"data", "voice", "sms"})
MAX_QUANTITY = 10**13  # 10 TB in one record is a broken meter, not usage
MAX_ID_LENGTH = 128  # UsageEvent.external_id
# A network element's clock may run a little ahead of ours; more than this is a bad record.
CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Record:
    index: int
    external_id: str
    iccid: str
    kind: str
    quantity: int
    occurred_at: dt.datetime


def parse_time(value: object) -> dt.datetime | None:
    """An aware UTC time, or None: malformed, naive (ambiguous: the offset is required) or
    not expressible in UTC (``0001-01-01T00:00:00+23:59``)."""
    try:
        return parse_instant(value)
    except ValidationFailed:
        return None


def validate(index: int, raw: Any, *, latest: dt.datetime) -> Record | str:
    """A clean record, or the code of its first problem. ``latest`` is the newest
    acceptable ``occurred_at`` (now plus clock skew)."""
    if not isinstance(raw, Mapping):
        return "invalid_record"
    external_id = raw.get("id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not external_id.strip() \
            or len(external_id) > MAX_ID_LENGTH or "\x00" in external_id:
        return "invalid_id"  # a NUL cannot be stored (PostgreSQL text)
    iccid_raw = raw.get("iccid")
    if not isinstance(iccid_raw, str):
        return "invalid_iccid"
    try:
        iccid = normalize_iccid(iccid_raw)
    except ValidationFailed:
        return "invalid_iccid"
    kind = raw.get("kind")
    if kind not in KINDS:
        return "invalid_kind"
    quantity = raw.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) \
            or not 0 <= quantity <= MAX_QUANTITY:
        return "invalid_quantity"
    occurred_at = parse_time(raw.get("occurred_at"))
    if occurred_at is None or occurred_at > latest:
        return "invalid_time"
    return Record(index, external_id, iccid, str(kind), quantity, occurred_at)
