"""Configured name -> payment provider adapter."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from esimdesk.core.errors import ValidationFailed
from esimdesk.payments.providers.base import PaymentProvider
from esimdesk.payments.providers.sandbox import SandboxProvider

PROVIDERS: dict[str, type[PaymentProvider]] = {"sandbox": SandboxProvider}


def enabled_names() -> list[str]:
    return [name for name in settings.ESIMDESK["PAYMENT_PROVIDERS"] if name in PROVIDERS]


def get(name: str) -> PaymentProvider:
    if name not in enabled_names():
        raise ValidationFailed(_("That payment method is not available."),
                               code="unknown_provider",
                               detail={"provider": name, "available": enabled_names()})
    return PROVIDERS[name]()


def available_for(currency: str) -> list[PaymentProvider]:
    return [p for p in (PROVIDERS[n]() for n in enabled_names()) if p.supports(currency)]
