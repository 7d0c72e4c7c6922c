"""Saved payment methods as the customer manages them: list, choose the default, remove."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from esimdesk.core import audit, clock
from esimdesk.core.errors import NotFound
from esimdesk.payments import registry
from esimdesk.payments.models import SavedMethod


def methods_of(user: Any) -> QuerySet[SavedMethod]:
    return SavedMethod.objects.filter(user=user, removed_at__isnull=True).order_by(
        "-is_default", "created_at")


def _own(user: Any, method_id: int) -> SavedMethod:
    method = methods_of(user).filter(pk=method_id).first()
    if method is None:
        raise NotFound(code="unknown_saved_method", detail={"id": method_id})
    return method


def make_default(*, user: Any, method_id: int) -> SavedMethod:
    with transaction.atomic():
        method = _own(user, method_id)
        methods_of(user).update(is_default=False)
        SavedMethod.objects.filter(pk=method.pk).update(is_default=True)
        audit.record_by_user(user=user, action="saved_method.default", obj=method,
                             after={"label": method.label})
    method.is_default = True
    return method


def remove(*, user: Any, method_id: int) -> None:
    """Forget a method: it is never charged again (the provider's token is kept for the
    record, never used)."""
    with transaction.atomic():
        method = _own(user, method_id)
        SavedMethod.objects.filter(pk=method.pk).update(removed_at=clock.now(), is_default=False)
        audit.record_by_user(user=user, action="saved_method.remove", obj=method,
                             before={"label": method.label})


def can_auto_renew(user: Any, currency: str | None = None) -> bool:
    """Whether some saved method can be charged off-session (in ``currency``, if given)."""
    providers = {p.name: p for p in registry.enabled()}
    return any(m.provider in providers and providers[m.provider].supports_saved_methods
               and (currency is None or providers[m.provider].supports(currency))
               for m in methods_of(user))
