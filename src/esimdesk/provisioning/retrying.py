"""Upstream calls made from background tasks: a passing failure re-queues the task with
backoff, a final one is logged; the caller only says what to call and how to retry."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from esimdesk.core import clock
from esimdesk.provisioning.suppliers.base import RetryableUpstreamError, UpstreamError

logger = logging.getLogger(__name__)
ATTEMPTS = 5


def call_from_task(*, call: Callable[[], None], retry: Any, args: tuple[Any, ...],
                   attempt: int, what: str) -> str | None:
    """Run ``call``. Returns None when it succeeded, else the outcome to report: on a
    retryable error ``retry`` (a task) is enqueued again with ``(*args, attempt + 1)`` after
    5, 10, 15… minutes, up to five attempts."""
    try:
        call()
    except RetryableUpstreamError as error:
        if attempt < ATTEMPTS:
            retry.using(run_after=clock.now() + dt.timedelta(minutes=5 * attempt)).enqueue(
                *args, attempt + 1)
            return "retrying"
        logger.error("%s failed: %s", what, error)
        return "failed"
    except UpstreamError as error:
        logger.error("%s refused: %s", what, error)
        return "refused"
    return None
