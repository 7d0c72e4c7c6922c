"""Upstream calls made from background tasks: a passing failure re-queues the task with
backoff, a final one is logged; the caller only says what to call and how to retry.

``attempt_from_task`` returns what happened with the supplier's own words (code and
message), for callers that record the outcome; ``call_from_task`` is the short form that
only says whether it worked."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from esimdesk.core import clock
from esimdesk.provisioning.suppliers.base import RetryableUpstreamError, UpstreamError

logger = logging.getLogger(__name__)
ATTEMPTS = 5


@dataclass(frozen=True)
class Attempt:
    """The outcome of one try: ``done`` (the supplier confirmed), ``retrying`` (a passing
    failure; the task is queued again), ``failed`` (passing failures until the attempts ran
    out) or ``refused`` (the supplier said no for good). ``code`` and ``message`` are the
    supplier's error, empty when done."""

    outcome: str
    code: str = ""
    message: str = ""

    @property
    def done(self) -> bool:
        return self.outcome == "done"


def retry_delay(attempt: int) -> dt.timedelta:
    """Wait before try ``attempt + 1``: 5, 10, 15… minutes."""
    return dt.timedelta(minutes=5 * attempt)


def attempt_from_task(*, call: Callable[[], object], retry: Any, args: tuple[Any, ...],
                      attempt: int, what: str) -> Attempt:
    """Run ``call``. On a retryable error, ``retry`` (a task) is enqueued again with
    ``(*args, attempt + 1)`` after ``retry_delay(attempt)``, up to ``ATTEMPTS`` tries."""
    try:
        call()
    except RetryableUpstreamError as error:
        if attempt < ATTEMPTS:
            retry.using(run_after=clock.now() + retry_delay(attempt)).enqueue(
                *args, attempt + 1)
            logger.warning("%s: try %d failed, again later: %s", what, attempt, error)
            return Attempt("retrying", error.code, str(error))
        logger.error("%s failed: %s", what, error)
        return Attempt("failed", error.code, str(error))
    except UpstreamError as error:
        logger.error("%s refused: %s", what, error)
        return Attempt("refused", error.code, str(error))
    return Attempt("done")


def call_from_task(*, call: Callable[[], None], retry: Any, args: tuple[Any, ...],
                   attempt: int, what: str) -> str | None:
    """Run ``call``. Returns None when it succeeded, else the outcome to report
    (``retrying``, ``failed`` or ``refused``; see ``attempt_from_task``)."""
    result = attempt_from_task(call=call, retry=retry, args=args, attempt=attempt, what=what)
    return None if result.done else result.outcome
