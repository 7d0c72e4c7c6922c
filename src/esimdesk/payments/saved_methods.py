"""Saved payment methods as the customer manages them: list, choose the default, remove; and
which of them can pay an order in one tap (``chargeable``, ``one_tap_method``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from esimdesk.core import audit, clock
from esimdesk.core.errors import NotFound, ValidationFailed
from esimdesk.payments import registry
from esimdesk.payments.models import SavedMethod
from esimdesk.payments.providers.base import PaymentProvider


def methods_of(user: Any) -> QuerySet[SavedMethod]:
    return SavedMethod.objects.filter(user=user, removed_at__isnull=True).order_by(
        "-is_default", "created_at")


def _own(user: Any, method_id: int) -> SavedMethod:
    method = methods_of(user).filter(pk=method_id).first()
    if method is None:
        raise NotFound(_("There is no such saved payment method in your account."),
                       code="unknown_saved_method", detail={"id": method_id})
    return method


def chargeable(*, user: Any, method_id: int,
               currency: str) -> tuple[SavedMethod, PaymentProvider]:
    """The user's saved method ``method_id`` and its provider, when it can be charged
    off-session in ``currency``: ``404 unknown_saved_method`` for a method that is not theirs
    (or was removed), ``422 saved_method_not_chargeable`` when its provider is not enabled or
    cannot charge saved methods, ``422 currency_not_supported_by_provider`` otherwise."""
    method = _own(user, method_id)
    provider = next((p for p in registry.enabled() if p.name == method.provider), None)
    if provider is None or not provider.supports_saved_methods:
        raise ValidationFailed(
            _("This saved payment method cannot be charged without you. Please choose "
              "another way to pay."), code="saved_method_not_chargeable",
            detail={"id": method.pk, "provider": method.provider})
    if not provider.supports(currency):
        raise ValidationFailed(_("That payment method does not accept this currency."),
                               code="currency_not_supported_by_provider",
                               detail={"provider": provider.name, "currency": currency})
    return method, provider


def one_tap_method(user: Any, currency: str) -> SavedMethod | None:
    """The method a one-tap payment in ``currency`` uses: the first the user's auto-renew
    would try (default first) that can be charged off-session in that currency."""
    providers = {p.name: p for p in registry.enabled()}
    return next((m for m in methods_of(user)
                 if m.provider in providers and providers[m.provider].supports_saved_methods
                 and providers[m.provider].supports(currency)), None)


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
