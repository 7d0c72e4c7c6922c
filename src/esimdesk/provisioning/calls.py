"""Every outbound call to a supplier, timed and recorded where it is made.

``registry.get`` hands out adapters whose outbound methods (``OUTBOUND``) go through
``recorded``: each call leaves one ``SupplierCall`` row (supplier, operation, outcome,
milliseconds) and moves the supplier counters and latency histogram of ``/metrics``. The
adapters themselves know nothing of it. Rows older than ``ESIMDESK_SUPPLIER_CALLS_KEEP_DAYS``
are deleted by the ``supplier_calls`` sweep.

The row is written after the call, with no transaction of its own: calls are made between
transactions (no network while rows are locked), so it is one short INSERT.

Whatever an adapter raises besides the contract's typed errors (an ``OSError`` for a
mistyped certificate path, a TLS or parsing fault, a ``KeyError`` in an answer it did not
expect, a validation error) leaves as a ``RetryableUpstreamError`` with the code
``supplier_fault``: its message names the original class, the original is its
``__cause__``, and the traceback is logged. Retryable, because the outcome of such a call is
unknown and every outbound call carries esimdesk's reference, so asking again can never
order or apply twice; a fault that keeps happening runs out of tries and then fails over or
needs attention like any other failure (``orders.kinds.new_esim``, ``retrying``). Callers
therefore only ever handle ``UpstreamError``.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from esimdesk import config
from esimdesk.core import clock, metrics
from esimdesk.provisioning.models import SupplierCall
from esimdesk.provisioning.suppliers.base import (
    FinalUpstreamError,
    RetryableUpstreamError,
    UpstreamError,
    UpstreamProvider,
)

logger = logging.getLogger(__name__)

#: What an unforeseen exception from an adapter is raised as (``recorded``).
SUPPLIER_FAULT = "supplier_fault"

#: The contract's methods that ask something of the supplier (``suppliers/base.py``): the
#: operations a ``SupplierCall`` names, each with its name for staff.
OUTBOUND: tuple[str, ...] = tuple(SupplierCall.Operation.values)

Provider = TypeVar("Provider", bound=UpstreamProvider)


def recorded(adapter: Provider) -> Provider:
    """``adapter`` with each outbound method timed and recorded (on this instance only)."""
    for operation in OUTBOUND:
        method = getattr(adapter, operation)
        setattr(adapter, operation, _timed(adapter.name, operation, method))
    return adapter


def _timed(supplier: str, operation: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        started, began = clock.now(), time.perf_counter()
        try:
            answer = method(*args, **kwargs)
        except UpstreamError as error:
            _record(supplier, operation, outcome_of(error), started, began)
            raise
        except Exception as error:
            _record(supplier, operation, outcome_of(error), started, began)
            logger.exception("%s.%s raised %s", supplier, operation, type(error).__name__)
            raise fault(supplier, operation, error) from error
        except BaseException as error:  # the process is stopping: record it, let it go
            _record(supplier, operation, outcome_of(error), started, began)
            raise
        _record(supplier, operation, SupplierCall.Outcome.OK, started, began)
        return answer

    return call


def fault(supplier: str, operation: str, error: BaseException) -> RetryableUpstreamError:
    """The typed error an unforeseen exception from ``supplier.operation`` becomes."""
    detail = str(error).strip()
    return RetryableUpstreamError(
        f"{supplier} {operation} failed: {type(error).__name__}"
        + (f": {detail[:300]}" if detail else ""), code=SUPPLIER_FAULT)


def outcome_of(error: BaseException) -> str:
    if isinstance(error, RetryableUpstreamError):
        return SupplierCall.Outcome.RETRYABLE
    if isinstance(error, FinalUpstreamError) and error.code == "not_supported":
        return SupplierCall.Outcome.NOT_SUPPORTED
    if isinstance(error, UpstreamError):
        return SupplierCall.Outcome.REFUSED
    return SupplierCall.Outcome.ERROR


def _record(supplier: str, operation: str, outcome: str, started: dt.datetime,
            began: float) -> None:
    seconds = time.perf_counter() - began
    metrics.SUPPLIER_CALLS.labels(supplier, operation, outcome).inc()
    metrics.SUPPLIER_SECONDS.labels(supplier, operation).observe(seconds)
    SupplierCall.objects.create(at=started, supplier=supplier[:40], operation=operation,
                                outcome=outcome, duration_ms=min(round(seconds * 1000),
                                                                 2**31 - 1))


def failed_over(*, supplier: str) -> None:
    """An activation left ``supplier`` for the next one (``orders.kinds.new_esim``)."""
    metrics.SUPPLIER_FAILOVERS.labels(supplier).inc()


def forget_old_calls(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The ``supplier_calls`` sweep: delete the records older than the retention."""
    days = int(config.env("ESIMDESK_SUPPLIER_CALLS_KEEP_DAYS"))
    before = (now or clock.now()) - dt.timedelta(days=days)
    deleted, _ = SupplierCall.objects.filter(at__lt=before).delete()
    return {"deleted": deleted}
