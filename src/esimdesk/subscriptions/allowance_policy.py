"""The allowance policy: how usage is charged against a period's buckets, defined once.

Every path that charges usage follows this module: the portable ingestion loop
(``usage.ingest_sqlite``) and pooled charging (``subscriptions.pools``) call ``charge`` for
each record; the PostgreSQL set-based statements (``usage.ingest_pg``) are assembled from
the SQL fragments below, which state the same rule for a whole batch at once (no per-record
Python there: the fragments are text, put together once at import).

The rule, for one record of ``quantity`` units of a kind (data, voice, SMS) charged to a
period:

- the kind's buckets are taken in ``bucket order``: the plan's bucket first, then top-ups
  in the order they were bought (by id);
- each bucket takes what it has room for (``total - used``), never more: a balance is never
  negative and ``used`` never exceeds ``total``;
- optionally, at most ``room`` units are charged at all (a pool member's data cap): the rest
  is overage even if the buckets could take it;
- what is not charged is overage; it is recorded on the last bucket (and on the event), or
  only on the event when the period has no bucket of that kind.

Records of one batch are charged in batch order, each from the balance the previous ones
left; the set-based path reaches the same balances with a running sum (see ``ingest_pg``).

What differs between plans is what happens when the data runs out, not the arithmetic: the
table ``POLICIES``, keyed by the plan's depletion behaviour (``catalog.Plan.depletion``),
says which upstream action applies (throttle or stop). Voice and SMS buckets are *limited*:
overage is recorded, nothing happens upstream. A new kind of plan, e.g. unlimited data with
a throttle past a fair-use amount, is a new ``Depletion`` choice and one entry here (its
``charging`` says how its buckets fill; a charging other than ``Charging.FILL_IN_ORDER``
needs its rule in ``charge`` and its fragments for the set-based path, which refuses at
import a policy it cannot state).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Generic, Protocol, TypeVar

#: the ``source`` of the plan's own bucket (``Allowance.Source.PLAN``)
PLAN_SOURCE: Final = "plan"
#: the one bucket kind whose running out triggers the plan's depletion action
DEPLETING_KIND: Final = "data"


class Charging(enum.Enum):
    """How a period's buckets of one kind take a charge."""

    #: buckets fill in bucket order up to their totals; the rest is overage
    FILL_IN_ORDER = "fill_in_order"


@dataclass(frozen=True)
class Policy:
    """What a plan does with its buckets: how they fill, and what happens upstream when
    its data runs out (``None``: nothing; the ``action`` of ``set_depletion``)."""

    name: str
    charging: Charging
    on_depleted: str | None


LIMITED: Final = Policy("limited", Charging.FILL_IN_ORDER, None)
THROTTLE: Final = Policy("throttle", Charging.FILL_IN_ORDER, "throttle")
STOP: Final = Policy("stop", Charging.FILL_IN_ORDER, "stop")

#: the policies of data buckets, keyed by ``catalog.Plan.depletion``
POLICIES: Final[dict[str, Policy]] = {THROTTLE.name: THROTTLE, STOP.name: STOP}


def policy_for(*, depletion: str, kind: str = DEPLETING_KIND) -> Policy:
    """The policy of a plan's buckets of ``kind``: its depletion behaviour for data, limited
    for the other kinds. Raises ``KeyError`` for a depletion behaviour with no policy."""
    if kind != DEPLETING_KIND:
        return LIMITED
    return POLICIES[depletion]


class Bucket(Protocol):
    """What charging reads and writes of a bucket (``subscriptions.Allowance``)."""

    @property
    def pk(self) -> int | None: ...

    source: str
    total: int
    used: int
    overage: int


def bucket_order(source: str, pk: int) -> tuple[bool, int]:
    """Sort key of a bucket: the plan's first, then top-ups in the order they were bought."""
    return (source != PLAN_SOURCE, pk)


B = TypeVar("B", bound=Bucket)


def sort_buckets(buckets: Sequence[B]) -> list[B]:
    """``buckets`` (of one period and kind) in bucket order."""
    return sorted(buckets, key=lambda b: bucket_order(b.source, b.pk or 0))


@dataclass(frozen=True)
class Charge(Generic[B]):
    """The outcome of charging one record: ``charged + overage`` is the quantity."""

    charged: int
    overage: int
    #: the buckets whose ``used`` or ``overage`` changed (to be saved)
    changed: tuple[B, ...]


def charge(buckets: Sequence[B], quantity: int, *, room: int | None = None,
           policy: Policy = LIMITED) -> Charge[B]:
    """Charge ``quantity`` to ``buckets`` (one period and kind, in bucket order), updating
    their ``used`` and ``overage`` in place; at most ``room`` is charged when given (the
    rest is overage). See the module docstring for the rule."""
    if policy.charging is not Charging.FILL_IN_ORDER:  # pragma: no cover - one kind today
        raise NotImplementedError(policy.charging)
    limit = quantity if room is None else max(0, min(quantity, room))
    left = limit
    changed: list[B] = []
    for bucket in buckets:
        take = min(left, bucket.total - bucket.used)
        if take > 0:
            bucket.used += take
            left -= take
            changed.append(bucket)
    charged = limit - left
    overage = quantity - charged
    if overage and buckets:
        last = buckets[-1]
        last.overage += overage
        if not any(b is last for b in changed):
            changed.append(last)
    return Charge(charged, overage, tuple(changed))


# -- the same rule for the set-based path ------------------------------------------------------
#
# Fragments of SQL over ``subscriptions_allowance`` rows, each stating one piece of the rule
# above; ``usage.ingest_pg`` builds its statements from them once, at import. ``{a}`` is the
# alias of the allowance rows.


def sql_room(a: str) -> str:
    """A bucket's room: what it can still take."""
    return f"{a}.total - {a}.used"


def sql_is_plan(a: str) -> str:
    """The bucket is the plan's own (its kind's first bucket)."""
    return f"{a}.source = '{PLAN_SOURCE}'"


def sql_bucket_order(a: str, *, last_first: bool = False) -> str:
    """ORDER BY items for bucket order (``last_first``: reversed, the last bucket first,
    the one that carries the overage)."""
    if last_first:
        return f"({a}.source <> '{PLAN_SOURCE}') DESC, {a}.id DESC"
    return f"({a}.source <> '{PLAN_SOURCE}'), {a}.id"


def sql_take(*, own: str, pool: str, before: str) -> str:
    """Filling in order as a running sum, the arithmetic of ``charge``: what one of a
    sequence takes of ``pool`` when those ahead of it took ``before``, at most ``own``
    (never less than nothing). A bucket taking its share of a pair's charge (``own``: its
    room, ``pool``: the charge), or a record taking its share of the free room (``own``: its
    quantity, ``pool``: the room)."""
    return f"GREATEST(0, LEAST({own}, {pool} - {before}))"


def check_set_based(policies: Sequence[Policy]) -> None:
    """The set-based path states only ``Charging.FILL_IN_ORDER``: refuse, at import, a
    policy it would charge wrongly."""
    for policy in policies:
        if policy.charging is not Charging.FILL_IN_ORDER:
            raise NotImplementedError(
                f"{policy.name}: the set-based path has no fragments for {policy.charging}")


def all_policies() -> list[Policy]:
    return [LIMITED, *POLICIES.values()]
