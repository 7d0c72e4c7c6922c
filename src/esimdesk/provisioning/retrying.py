"""Upstream calls made from background tasks: a passing failure re-queues the task with
backoff; one that will not pass (out of tries, or refused for good) is recorded and staff
are told. The caller only says what to call, how to retry and what it is about.

Whatever ``call`` raises is handled here, not only the contract's typed errors: a task that
calls a supplier never dies with nothing recorded. Anything unforeseen (recording the
supplier's answer failed, a database hiccup) is logged with its traceback and retried like
a passing failure; ``call`` carries idempotent references, so running it again is safe.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
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
)

logger = logging.getLogger(__name__)
ATTEMPTS = 5


def call_from_task(*, call: Callable[[], None], retry: Any, args: tuple[Any, ...],
                   attempt: int, what: str, about: Any = None) -> str | None:
    """Run ``call``. Returns None when it succeeded, else the outcome to report:

    - ``retrying``: it failed in a way that may pass (a retryable supplier error, or any
      unforeseen exception); ``retry`` (a task) is enqueued again with ``(*args,
      attempt + 1)`` after 5, 10, 15… minutes, up to five attempts;
    - ``failed``: still failing after the last attempt;
    - ``refused``: the supplier refused for good, or does not offer the operation at all
      (``not_supported``: logged only, as it is how that supplier is, not an incident).

    On ``failed`` and on a refusal, the action needs a person: an audit row
    ``supplier.action_failed`` about ``about`` (a model instance, when given) and one
    message to ``ESIMDESK_OPS_EMAIL`` per task and arguments.
    """
    try:
        call()
    except FinalUpstreamError as error:
        if error.code == "not_supported":
            logger.warning("%s: not supported by the supplier: %s", what, error)
        else:
            logger.error("%s refused: %s", what, error)
            _needs_attention(what, retry, args, about, f"refused: {error}")
        return "refused"
    except Exception as error:
        if not isinstance(error, UpstreamError):
            logger.exception("%s failed", what)
        elif not isinstance(error, RetryableUpstreamError):  # an untyped refusal
            logger.error("%s refused: %s", what, error)
            _needs_attention(what, retry, args, about, f"refused: {error}")
            return "refused"
        if attempt < ATTEMPTS:
            retry.using(run_after=clock.now() + dt.timedelta(minutes=5 * attempt)).enqueue(
                *args, attempt + 1)
            return "retrying"
        logger.error("%s failed: %s", what, error)
        _needs_attention(what, retry, args, about,
                         f"still failing after {attempt} tries: {_text(error)}")
        return "failed"
    return None


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
                         actor=task.rsplit(".", 1)[-1][:200],
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
