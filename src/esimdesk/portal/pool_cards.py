"""What the traveller's pages show of an eSIM that draws on a family or organisation pool:
the group's plan, what is left in the pool, the member's own limit and the pool's period.

The portal sits below the shared plans, so it does not compute pools itself: the feature
app that owns them registers one reader (``register_pool_reader``) that answers, for a whole
list of eSIMs in a fixed number of queries, a ``PoolShare`` per eSIM in an active
membership. Without a registered reader no eSIM is pooled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.utils.translation import gettext as _

from esimdesk.catalog.models import Plan
from esimdesk.core.units import format_quantity
from esimdesk.esims.models import Esim


class PoolAllowance(Protocol):
    """One kind of the pool: everything the group has (top-ups included) and what all the
    members drew (the shared plans' own ``PoolKind`` rows, read as they are)."""

    kind: str
    total: int
    used: int

    @property
    def remaining(self) -> int: ...

    @property
    def remaining_percent(self) -> int: ...


@dataclass(frozen=True)
class PoolShare:
    """An eSIM's place in its group's pool, as its owner sees it."""

    group_id: int
    group_name: str
    #: ``groups.Group.Kind``: family or enterprise
    group_kind: str
    #: the member may manage the group (owner or administrator)
    manager: bool
    #: the pool's plan (None: the group has no plan running, waiting or queued)
    plan: Plan | None
    #: active, pending (waits for the first member's first use), scheduled or expired
    state: str
    #: the end of the time the pool covers, running and queued periods back to back
    covered_until: dt.datetime | None
    #: the pool period's id (running, else waiting), for the eSIM's usage chart
    period_id: int | None
    activate_by: dt.datetime | None
    allowances: tuple[PoolAllowance, ...]
    #: the member's data cap in bytes (None: no cap) and what they drew from the pool
    cap: int | None
    member_used: int
    #: the member reached their cap (throttled or stopped; the others continue)
    capped: bool

    @property
    def data(self) -> PoolAllowance | None:
        return next((a for a in self.allowances if a.kind == "data"), None)

    @property
    def cap_text(self) -> str:
        """"Your limit: 3 GB, 1.2 GB used" ("" without a cap)."""
        if self.cap is None:
            return ""
        return _("Your limit: %(cap)s, %(used)s used") % {
            "cap": format_quantity("data", self.cap),
            "used": format_quantity("data", min(self.member_used, self.cap))}

    @property
    def cap_left_percent(self) -> int:
        if not self.cap:
            return 0 if self.cap == 0 else 100
        return max(0, (self.cap - self.member_used) * 100 // self.cap)

    @property
    def manage_text(self) -> str:
        family = self.group_kind == "family"
        if self.manager:
            return str(_("Manage family plan") if family else _("Manage organisation plan"))
        return str(_("View family plan") if family else _("View organisation plan"))


PoolReader = Callable[[Sequence[Esim], dt.datetime], dict[int, PoolShare]]
_READERS: list[PoolReader] = []


def register_pool_reader(reader: PoolReader) -> None:
    """Set the one function that answers the pool shares of a list of eSIMs."""
    _READERS[:] = [reader]


def pool_shares(esims: Sequence[Esim], now: dt.datetime) -> dict[int, PoolShare]:
    """eSIM id -> its pool share, for the eSIMs of ``esims`` in an active membership."""
    if not _READERS or not esims:
        return {}
    return _READERS[0](esims, now)
