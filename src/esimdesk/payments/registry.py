"""Configured name -> payment provider adapter. Adapters are imported when first used, so
an operator who never enables a provider never loads its SDK."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from esimdesk import config
from esimdesk.core.errors import ValidationFailed
from esimdesk.payments.providers.base import PaymentProvider

# Names shown to payers at checkout, in history and on receipts, in their language.
LABELS = {
    "sandbox": _("Test card (sandbox)"),
    "stripe": _("Card"),
    "paypal": "PayPal",
    "alipay": _("Alipay"),
    "wechatpay": _("WeChat Pay"),
}

PROVIDERS: dict[str, str] = {
    "sandbox": "esimdesk.payments.providers.sandbox.SandboxProvider",
    "stripe": "esimdesk.payments.providers.stripe.StripeProvider",
    "paypal": "esimdesk.payments.providers.paypal.PayPalProvider",
    "alipay": "esimdesk.payments.providers.alipay.AlipayProvider",
    "wechatpay": "esimdesk.payments.providers.wechatpay.WeChatPayProvider",
}


@cache
def provider_class(name: str) -> type[PaymentProvider]:
    cls: type[PaymentProvider] = import_string(PROVIDERS[name])
    return cls


def enabled_names() -> list[str]:
    """Enabled providers: the staff console's choice, else ``ESIMDESK_PAYMENT_PROVIDERS``."""
    chosen = config.console_value("ESIMDESK_PAYMENT_PROVIDERS")
    names = ([n.strip() for n in chosen.split(",") if n.strip()] if chosen is not None
             else settings.ESIMDESK["PAYMENT_PROVIDERS"])
    return [name for name in names if name in PROVIDERS]


def get(name: str) -> PaymentProvider:
    if name not in enabled_names():
        raise ValidationFailed(_("That payment method is not available."),
                               code="unknown_provider",
                               detail={"provider": name, "available": enabled_names()})
    return provider_class(name)()


def enabled() -> list[PaymentProvider]:
    return [get(name) for name in enabled_names()]


def available_for(currency: str) -> list[PaymentProvider]:
    return [p for p in enabled() if p.supports(currency)]
