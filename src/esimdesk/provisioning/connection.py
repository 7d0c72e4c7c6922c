"""Checking the suppliers before an order needs them: ``check`` makes one supplier's live
handshake (``UpstreamProvider.check_connection``) and always answers with a typed result,
whatever went wrong; ``check_configured`` does it for every supplier in
``ESIMDESK_UPSTREAM_PROVIDERS``, in failover order. ``esimdesk check --suppliers`` prints
the results; the console's supplier page shows one after staff press *Test connection*
(``record_check`` audits who did and what came back).

A check is not a supplier call of an order: it is not recorded among the supplier calls, so
testing a supplier being set up moves neither its health figures nor its alerts."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from esimdesk.core import audit
from esimdesk.provisioning import registry
from esimdesk.provisioning.suppliers.base import FinalUpstreamError, UpstreamError

#: The longest line a result keeps: a supplier's error may quote a whole HTML page.
MAX_LINE = 300


@dataclass(frozen=True)
class Supplier:
    """A supplier as the audit trail names it (``object_type`` "supplier", its name as id)."""

    pk: str


@dataclass(frozen=True)
class ConnectionCheck:
    """What one check found. ``ok``: the handshake succeeded and ``detail`` says what was
    checked; otherwise ``code`` names what is wrong (the adapter's ``UpstreamError`` code,
    ``unknown_upstream`` for a name no adapter has, ``unexpected_error`` for any other
    exception) and ``detail`` is the one-line message. ``retryable``: it may pass later."""

    supplier: str
    label: str
    ok: bool
    detail: str
    code: str = ""
    retryable: bool = False
    duration_ms: int = 0


def one_line(text: str) -> str:
    """``text`` on one line of at most ``MAX_LINE`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= MAX_LINE else flat[:MAX_LINE - 1] + "…"


def check(name: str) -> ConnectionCheck:
    """Make supplier ``name``'s live handshake. Never raises: a misconfigured adapter (its
    constructor refusing), a refused handshake and a fault of any kind each come back as a
    result with a code and one line."""
    label = registry.label(name)
    began = time.perf_counter()
    try:
        if not registry.known(name):
            raise FinalUpstreamError(f"unknown upstream provider {name!r}",
                                     code="unknown_upstream")
        # Made here rather than through ``registry.get``, whose stand-in for an adapter that
        # cannot be set up logs the whole traceback: the check says it in one line.
        detail = registry.provider_class(name)().check_connection()
    except UpstreamError as error:
        return ConnectionCheck(name, label, ok=False, code=error.code,
                               detail=one_line(str(error)) or error.code,
                               retryable=error.retryable, duration_ms=_since(began))
    except Exception as error:  # any fault is one line, never a traceback
        message = one_line(f"{type(error).__name__}: {error}")
        return ConnectionCheck(name, label, ok=False, code="unexpected_error", detail=message,
                               duration_ms=_since(began))
    return ConnectionCheck(name, label, ok=True, detail=one_line(detail),
                           duration_ms=_since(began))


def configured() -> list[str]:
    """The configured suppliers, in failover order."""
    return [name for name in settings.ESIMDESK["UPSTREAM_PROVIDERS"] if name]


def check_configured() -> list[ConnectionCheck]:
    """``check`` for every configured supplier, in failover order, one after the other."""
    return [check(name) for name in configured()]


def record_check(*, result: ConnectionCheck, by: Any) -> None:
    """Audit a check a staff member asked for (``supplier.connection_checked``): who, which
    supplier, how it ended. Written after the call, never around it."""
    with transaction.atomic():
        audit.record_by_user(user=by, obj=Supplier(result.supplier),
                             action="supplier.connection_checked",
                             after={"supplier": result.supplier, "ok": result.ok,
                                    "code": result.code, "detail": result.detail})


def _since(began: float) -> int:
    return round((time.perf_counter() - began) * 1000)
