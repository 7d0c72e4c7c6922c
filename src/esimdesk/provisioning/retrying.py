"""Upstream calls made from background tasks: a passing failure re-queues the task with
backoff; one that will not pass (out of tries, or refused for good) is recorded and staff
are told. The caller only says what to call, how to retry and what it is about.

``attempt_from_task`` returns what happened in the supplier's own words (code and message),
for callers that record the outcome themselves; ``call_from_task`` is the short form that
only says whether it worked.

Whatever ``call`` raises is handled here, not only the contract's typed errors: a task that
calls a supplier never dies with nothing recorded. Anything unforeseen (recording the
supplier's answer failed, a database hiccup) is logged with its traceback and retried like
a passing failure; ``call`` carries idempotent references, so running it again is safe.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from esimdesk import config
from esimdesk.core import audit, clock
from esimdesk.notifications import services as notifications
from esimdesk.provisioning.suppliers.base import (
    FinalUpstreamError,
    RetryableUpstreamError,
    UpstreamError,
    wait_before_retry,
)

logger = logging.getLogger(__name__)
ATTEMPTS = 5


@dataclass(frozen=True)
class Attempt:
    """The outcome of one try: ``done`` (the supplier confirmed), ``retrying`` (a passing
    failure; the task is queued again), ``failed`` (passing failures until the attempts ran
    out) or ``refused`` (the supplier said no for good, or does not offer the operation).
    ``code`` and ``message`` are the supplier's error, empty when done."""

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
                      attempt: int, what: str, about: Any = None,
                      tell_staff: bool = True) -> Attempt:
    """Run ``call`` and say how it went:

    - ``retrying``: it failed in a way that may pass (a retryable supplier error, or any
      unforeseen exception); ``retry`` (a task) is enqueued again with ``(*args,
      attempt + 1)`` after ``retry_delay(attempt)``, or the supplier's ``retry_after``
      when longer, up to ``ATTEMPTS`` tries;
    - ``failed``: still failing after the last attempt;
    - ``refused``: the supplier refused for good, or does not offer the operation at all
      (``not_supported``: logged only, as it is how that supplier is, not an incident).

    On ``failed`` and on a refusal the action needs a person: with ``tell_staff`` (unless
    the caller records and alerts the outcome itself), an audit row
    ``supplier.action_failed`` about ``about`` (a model instance, when given) and one
    message to ``ESIMDESK_OPS_EMAIL`` per task and arguments.
    """
    def needs_attention(reason: str) -> None:
        if tell_staff:
            _needs_attention(what, retry, args, about, reason)

    try:
        call()
    except FinalUpstreamError as error:
        if error.code == "not_supported":
            logger.warning("%s: not supported by the supplier: %s", what, error)
        else:
            logger.error("%s refused: %s", what, error)
            needs_attention(f"refused: {error}")
        return Attempt("refused", error.code, str(error))
    except Exception as error:
        code = error.code if isinstance(error, UpstreamError) else "unexpected_error"
        if not isinstance(error, UpstreamError):
            logger.exception("%s failed", what)
        elif not isinstance(error, RetryableUpstreamError):  # an untyped refusal
            logger.error("%s refused: %s", what, error)
            needs_attention(f"refused: {error}")
            return Attempt("refused", code, str(error))
        if attempt < ATTEMPTS:
            # Never sooner than the supplier asked (a 429's Retry-After).
            retry.using(run_after=clock.now() + wait_before_retry(
                error, retry_delay(attempt))).enqueue(*args, attempt + 1)
            logger.warning("%s: try %d failed, again later: %s", what, attempt, error)
            return Attempt("retrying", code, _text(error))
        logger.error("%s failed: %s", what, error)
        needs_attention(f"still failing after {attempt} tries: {_text(error)}")
        return Attempt("failed", code, _text(error))
    return Attempt("done")


def call_from_task(*, call: Callable[[], None], retry: Any, args: tuple[Any, ...],
                   attempt: int, what: str, about: Any = None) -> str | None:
    """Run ``call``. Returns None when it succeeded, else the outcome to report
    (``retrying``, ``failed`` or ``refused``; see ``attempt_from_task``)."""
    result = attempt_from_task(call=call, retry=retry, args=args, attempt=attempt, what=what,
                               about=about)
    return None if result.done else result.outcome


def _text(error: Exception) -> str:
    if isinstance(error, UpstreamError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _needs_attention(what: str, retry: Any, args: tuple[Any, ...], about: Any,
                     reason: str) -> None:
    """Record that a supplier action was given up, and tell the operations mailbox once."""
    task = getattr(retry, "module_path", str(retry))
    with transaction.atomic():
        if about is not None:
            audit.record(action="supplier.action_failed", obj=about, actor_type="task",
                         actor="task",
                         after={"task": task, "args": list(args)},
                         reason=f"{what}: {reason}"[:1000])
        ops = config.env("ESIMDESK_OPS_EMAIL")
        if ops:
            notifications.send_email(
                to=ops, kind="ops_supplier_action_failed",
                subject=f"Supplier action needs attention: {what}",
                body_text=(f"esimdesk stopped trying: {what}.\nReason: {reason}\n\n"
                           "The supplier may not have carried it out. Check the supplier "
                           "(the console's alerts, `esimdesk check`), then do it at the "
                           "supplier by hand or run the task again "
                           f"({task}, arguments {list(args)}).\n"
                           f"Console: {settings.PUBLIC_URL}/staff/\n"),
                dedupe_key=f"supplier-action-failed:{task}:{list(args)}"[:200])
