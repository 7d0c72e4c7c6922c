"""Configured name -> upstream supplier adapter. Adapters are imported when first used, so a
supplier nobody configured never loads."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from esimdesk.provisioning.suppliers.base import FinalUpstreamError, UpstreamProvider

PROVIDERS: dict[str, str] = {
    "simulator": "esimdesk.provisioning.providers.simulator.SimulatorProvider",
    "es2plus": "esimdesk.provisioning.suppliers.es2plus.adapter.Es2PlusProvider",
    "esimgo": "esimdesk.provisioning.suppliers.esimgo.adapter.EsimGoProvider",
}


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
    return provider_class(name)()


def primary() -> UpstreamProvider:
    """The first configured supplier (failover across several comes with more adapters)."""
    return get(settings.ESIMDESK["UPSTREAM_PROVIDERS"][0])
