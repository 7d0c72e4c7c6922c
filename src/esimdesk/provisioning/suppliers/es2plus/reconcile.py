"""Staff's side of the ES2+ downloads whose outcome was unknown (``Es2UnknownDownload``):
once they have checked a call with the SM-DP+ (and cancelled what it allocated, if
anything), they mark it reconciled. Audited, one row at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Count, Min

from esimdesk.core import audit, clock
from esimdesk.provisioning.models import Es2UnknownDownload


def mark_reconciled(*, ids: Iterable[int], user: Any) -> int:
    """Mark the open ones among ``ids`` reconciled by ``user``; returns how many."""
    done = 0
    with transaction.atomic():
        rows = Es2UnknownDownload.objects.select_for_update().filter(
            pk__in=list(ids), reconciled_at__isnull=True).order_by("pk")
        for row in rows:
            row.reconciled_at = clock.now()
            row.reconciled_by = str(getattr(user, "email", "") or user)[:150]
            row.save(update_fields=["reconciled_at", "reconciled_by"])
            audit.record_by_user(user=user, action="es2.download_reconciled", obj=row,
                                 before={"state": "possibly_allocated"},
                                 after={"state": "reconciled",
                                        "call": row.function_call_identifier})
            done += 1
    return done


def still_open() -> tuple[int, dt.datetime | None]:
    """How many calls wait for reconciliation, and when the oldest was made (one query)."""
    found = Es2UnknownDownload.objects.filter(reconciled_at__isnull=True).aggregate(
        count=Count("pk"), oldest=Min("called_at"))
    return int(found["count"]), found["oldest"]
