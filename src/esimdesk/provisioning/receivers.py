"""Who applies what suppliers report. Provisioning sits below the apps that own eSIMs and
usage, so it does not import them: each provides its receiver in its ``AppConfig.ready``
(``provide_profiles``, ``provide_usage``) and the supplier callbacks and
``upstream_events`` reach them through ``profiles()`` and ``usage()``. Likewise the catalog
tells adapters which codes are its supplier bundles (``provide_bundle_codes``,
``bundle_code``).

The contracts are the docstrings below; every method runs inside the caller's transaction
where it has one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from esimdesk.provisioning.suppliers.base import ProfileStatusEvent, UsageRecord


class ProfileReceiver(Protocol):
    """The eSIMs side (``esims.upstream_reports``)."""

    def esim_id(self, iccid: str) -> int | None:
        """The id of the eSIM with ``iccid``, or None when esimdesk does not know it."""
        ...

    def status_of(self, iccid: str) -> str | None:
        """The eSIM's status (``Esim.Status``), or None for an unknown ICCID."""
        ...

    def apply_status(self, *, provider: str, event: ProfileStatusEvent) -> str:
        """Apply a status report to a known eSIM and say what it did: the status it moved
        to, ``unchanged`` (the move is not allowed from where the eSIM is, e.g. a late
        ``installed`` for an eSIM in use), ``audited`` (``deleted``) or ``recorded``
        (information only, or the eSIM moved on meanwhile). Called once per report: the
        caller has already made sure of that."""
        ...

    def note_eid(self, *, iccid: str, eid: str) -> None:
        """The supplier names the device's EID: kept if the eSIM has none yet."""
        ...


class UsageReceiver(Protocol):
    """The usage side (``usage.upstream_usage``)."""

    def ingest(self, *, source: str, records: Iterable[Mapping[str, Any]]) -> Any:
        """Validate, deduplicate, store and charge delta records (``usage.services.ingest``;
        answers its ``IngestResult``)."""
        ...

    def running_total(self, *, provider: str, record: UsageRecord) -> str:
        """Charge the part of a running total not charged yet, once: ``accepted``,
        ``duplicate``, ``unknown_iccid`` or a rejection code."""
        ...


_receivers: dict[str, Any] = {}


def provide_profiles(receiver: ProfileReceiver) -> None:
    _receivers["profiles"] = receiver


def provide_usage(receiver: UsageReceiver) -> None:
    _receivers["usage"] = receiver


def provide_bundle_codes(lookup: Callable[[str, str], bool]) -> None:
    """``lookup(supplier, code)``: whether ``code`` is one of the catalog's bundles on
    ``supplier`` (``catalog.bundles.is_bundle_code``)."""
    _receivers["bundle_codes"] = lookup


def bundle_code(*, supplier: str, code: str) -> bool:
    """Whether the ``plan_code`` an adapter was handed is a bundle mapped on ``supplier``
    (rather than a plan's own code, sent for a plan that maps no bundle there). False when
    no catalog is installed."""
    lookup = _receivers.get("bundle_codes")
    return bool(lookup and lookup(supplier, code))


def profiles() -> ProfileReceiver:
    return _get("profiles")


def usage() -> UsageReceiver:
    return _get("usage")


def _get(name: str) -> Any:
    try:
        return _receivers[name]
    except KeyError:
        raise RuntimeError(f"no {name} receiver: is its app in INSTALLED_APPS?") from None
