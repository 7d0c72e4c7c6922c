"""Configured name -> payment provider adapter. Adapters are imported when first used, so
an operator who never enables a provider never loads its SDK.

The providers shipped in ``payments/providers/`` are listed here; a plug-in app (e.g. the
sandbox) adds its own with ``register`` in its ``AppConfig.ready``, with the label payers see
and the options it reads (handed to ``esimdesk.config`` without importing any adapter)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from esimdesk import config
from esimdesk.config import Option
from esimdesk.core.errors import ValidationFailed
from esimdesk.core.security_headers import origin_of
from esimdesk.orders.models import PROVIDER_LABELS
from esimdesk.payments.providers.base import PaymentProvider

# Names shown to payers at checkout, in history and on receipts, in their language.
LABELS = {
    "stripe": _("Card"),
    "paypal": "PayPal",
    "alipay": _("Alipay"),
    "wechatpay": _("WeChat Pay"),
}

PROVIDERS: dict[str, str] = {
    "stripe": "esimdesk.payments.providers.stripe.StripeProvider",
    "paypal": "esimdesk.payments.providers.paypal.PayPalProvider",
    "alipay": "esimdesk.payments.providers.alipay.AlipayProvider",
    "wechatpay": "esimdesk.payments.providers.wechatpay.WeChatPayProvider",
}


# Where a provider's hosted payment page lives: the portal's checkout form posts to the site,
# which redirects the browser there, and browsers hold that redirect to the page's
# Content-Security-Policy ``form-action`` (core.security_headers). Each entry: the provider's
# own page hosts, and the option whose URL may host the page instead (a sandbox, a proxy, a
# local fake). The sandbox provider's page is on the site itself.
HOSTED_PAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "stripe": (("https://checkout.stripe.com",), "ESIMDESK_STRIPE_API_BASE"),
    "paypal": (("https://www.paypal.com", "https://www.sandbox.paypal.com"),
               "ESIMDESK_PAYPAL_API_BASE"),
    # The gateway redirects to Alipay's cashier pages on its other hosts, and browsers
    # check every hop of that redirect chain (live, then the sandbox's hosts).
    "alipay": (("https://*.alipay.com", "https://*.alipaydev.com"), "ESIMDESK_ALIPAY_GATEWAY"),
    "wechatpay": (("https://wx.tenpay.com",), "ESIMDESK_WECHATPAY_API_BASE"),
}


def hosted_page_origins() -> list[str]:
    """Origins of the enabled providers' hosted pages (for ``form-action``)."""
    found: list[str] = []
    for name in enabled_names():
        hosts, option = HOSTED_PAGES.get(name, ((), ""))
        configured = origin_of(config.env(option)) if option else ""
        found.extend(h for h in (*hosts, configured) if h and h not in found)
    return found


#: options declared by plug-in providers (``register``)
DECLARED: dict[str, tuple[Option, ...]] = {}


def register(name: str, adapter: str, *, label: str, options: tuple[Option, ...] = ()) -> None:
    """Make the adapter at dotted path ``adapter`` the provider called ``name``, shown to
    payers as ``label``, reading ``options``."""
    PROVIDERS[name] = adapter
    LABELS[name] = label
    PROVIDER_LABELS[name] = label
    DECLARED[name] = options
    provider_class.cache_clear()
    config.forget_declared()


def declared_options() -> Iterator[Option]:
    """The options plug-in providers declared (``config.add_option_source``)."""
    for options in DECLARED.values():
        yield from options


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
