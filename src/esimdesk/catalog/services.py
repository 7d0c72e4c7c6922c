"""Catalog writes that are not plain admin edits: exchange rates (for the margins page)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from esimdesk.catalog.checks import check_rate
from esimdesk.catalog.models import ExchangeRate
from esimdesk.core import audit, clock


def set_exchange_rate(*, from_currency: str, to_currency: str, rate: Decimal,
                      user: Any = None) -> ExchangeRate:
    """Create or replace the rate of one currency pair, stamped with now and who set it;
    audited with the old and the new rate. ``user`` None: the system (demo data)."""
    source, target = check_rate(from_currency=from_currency, to_currency=to_currency,
                                rate=rate)
    actor_type, actor = audit.actor_of(user)
    with transaction.atomic():
        existing = (ExchangeRate.objects.select_for_update()
                    .filter(from_currency=source, to_currency=target).first())
        before = {"rate": str(existing.rate)} if existing is not None else None
        if existing is not None and existing.rate == rate:
            return existing
        row, _ = ExchangeRate.objects.update_or_create(
            from_currency=source, to_currency=target,
            defaults={"rate": rate, "set_at": clock.now(), "set_by": actor})
        audit.record(action="catalog.exchange_rate.set", obj=row, actor_type=actor_type,
                     actor=actor, before=before,
                     after={"pair": f"{source}/{target}", "rate": str(rate)})
    return row
