"""The ``activations`` sweep: the backstop behind fulfilment's own retries.

``services.fulfil_order`` ends every paid order itself: fulfilled, retried with backoff, or
failed at the deadline with staff and the customer told. What it cannot survive is not
running at all: a worker killed in the middle of the task (the task stays "running"
forever), or a task that died where nothing could record it (the database gone at that
moment). The sweep finds paid orders past their deadline that no fulfilment task holds —
none queued, none running for less than ``STALE`` — and queues one: it fulfils the order
if the supplier now answers, or, the deadline being past, marks it as needing attention.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from esimdesk import config
from esimdesk.core import clock
from esimdesk.orders.models import Order
from esimdesk.orders.services import fulfil_order_task

logger = logging.getLogger(__name__)

#: A fulfilment task running longer than this is taken for dead (one try takes seconds:
#: each supplier call times out well within it).
STALE = dt.timedelta(minutes=10)
#: Orders looked at per run (the oldest first); the next run takes the rest.
LIMIT = 200
#: Where the fulfilment task is queued under, now and before it moved.
TASK_PATHS = (fulfil_order_task.module_path, "esimdesk.orders.tasks.fulfil_order_task")


def overdue_activations_sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Queue fulfilment again for paid orders past their deadline that no task holds."""
    now = now or clock.now()
    minutes = int(config.env("ESIMDESK_ACTIVATION_DEADLINE_MINUTES"))
    # The last retry may be queued up to one backoff after the deadline: leave it room.
    room = dt.timedelta(seconds=float(config.env("ESIMDESK_ACTIVATION_BACKOFF_MAX_SECONDS")))
    overdue = list(Order.objects.filter(
        status=Order.Status.PAID, paid_at__lt=now - dt.timedelta(minutes=minutes) - room)
        .order_by("paid_at").values_list("pk", "number")[:LIMIT])
    if not overdue:
        return {"overdue": 0, "queued": 0}
    held = _held(now)
    queued = 0
    for pk, number in overdue:
        if pk in held:
            continue
        logger.warning("order %s: paid, past its deadline and no fulfilment task holds it; "
                       "queued again", number)
        fulfil_order_task.enqueue(pk)
        queued += 1
    return {"overdue": len(overdue), "queued": queued}


def _held(now: dt.datetime) -> set[int]:
    """Orders a fulfilment task is queued for, or running for less than ``STALE``."""
    held: set[int] = set()
    rows = DBTaskResult.objects.filter(task_path__in=TASK_PATHS, status__in=[
        TaskResultStatus.READY, TaskResultStatus.RUNNING]).values_list(
        "status", "started_at", "args_kwargs")
    for status, started_at, args_kwargs in rows:
        if status == TaskResultStatus.RUNNING and (started_at is None
                                                   or started_at < now - STALE):
            continue
        args: list[Any] = (args_kwargs or {}).get("args") or []
        order_id = args[0] if args else (args_kwargs or {}).get("kwargs", {}).get("order_id")
        if isinstance(order_id, int):
            held.add(order_id)
    return held
