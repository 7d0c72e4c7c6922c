"""Idempotent suspend / resume / revoke for suppliers that have no idempotency of their own.

One ``SupplierAction`` row per esimdesk reference, written before the call; ``done_at`` once
the supplier confirmed. A retry after success returns at once; a retry after a failure or a
lost answer calls again (suspend, resume and revoke are safe to repeat upstream); a reference
reused for another ICCID or action is refused.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, transaction

from esimdesk.core import clock
from esimdesk.provisioning.models import SupplierAction
from esimdesk.provisioning.suppliers.base import FinalUpstreamError


def once(*, provider: str, reference: str, action: str, iccid: str,
         call: Callable[[], str]) -> str:
    """Run ``call`` (which returns a short outcome to remember) unless this reference was
    already carried out; returns the outcome."""
    try:
        with transaction.atomic():
            row, _ = SupplierAction.objects.get_or_create(
                reference=reference,
                defaults={"provider": provider, "action": action, "iccid": iccid})
    except IntegrityError:  # a concurrent first call inserted it
        row = SupplierAction.objects.get(reference=reference)
    if (row.provider, row.action, row.iccid) != (provider, action, iccid):
        raise FinalUpstreamError(f"reference {reference} was used for another request",
                                 code="reference_reused")
    if row.done_at is not None:
        return row.outcome
    outcome = call()
    SupplierAction.objects.filter(pk=row.pk).update(outcome=outcome[:40], done_at=clock.now())
    return outcome
