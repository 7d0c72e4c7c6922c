"""Configured name -> upstream supplier adapter. Adapters are imported when first used, so a
supplier nobody configured never loads (``declared_options`` imports them all, once the apps
are ready, to learn the options they declare).

The suppliers shipped in ``provisioning/suppliers/`` are listed here; a plug-in app (e.g. the
sandbox's upstream simulator) adds its own with ``register`` in its ``AppConfig.ready``."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from esimdesk import config
from esimdesk.config import Option
from esimdesk.provisioning.calls import recorded
from esimdesk.provisioning.suppliers.base import FinalUpstreamError, UpstreamProvider

PROVIDERS: dict[str, str] = {
    "es2plus": "esimdesk.provisioning.suppliers.es2plus.adapter.Es2PlusProvider",
    "esimgo": "esimdesk.provisioning.suppliers.esimgo.adapter.EsimGoProvider",
}


def register(name: str, adapter: str) -> None:
    """Make the adapter at dotted path ``adapter`` the supplier called ``name``."""
    PROVIDERS[name] = adapter
    provider_class.cache_clear()
    config.forget_declared()


def declared_options() -> Iterator[Option]:
    """Every option the registered adapters declare (``config.add_option_source``)."""
    for name in PROVIDERS:
        yield from provider_class(name).options


def reports_first_use(name: str) -> bool:
    """Whether the supplier reports first use (False for one no longer registered: then
    install is all esimdesk can go by)."""
    return name in PROVIDERS and provider_class(name).reports_first_use


def label(name: str) -> str:
    """What staff see the supplier called (its name if it is not registered)."""
    return str(provider_class(name).label or name) if name in PROVIDERS else name


@cache
def provider_class(name: str) -> type[UpstreamProvider]:
    cls: type[UpstreamProvider] = import_string(PROVIDERS[name])
    return cls


def known(name: str) -> bool:
    return name in PROVIDERS


def get(name: str) -> UpstreamProvider:
    if name not in PROVIDERS:
        raise FinalUpstreamError(f"unknown upstream provider {name!r}",
                                 code="unknown_upstream")
    # Every outbound call is timed and recorded (``provisioning.calls``).
    return recorded(provider_class(name)())


def primary() -> UpstreamProvider:
    """The first configured supplier (failover across several comes with more adapters)."""
    return get(settings.ESIMDESK["UPSTREAM_PROVIDERS"][0])
