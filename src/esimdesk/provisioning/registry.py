"""Configured name -> upstream supplier adapter."""

from __future__ import annotations

from django.conf import settings

from esimdesk.provisioning.providers.base import FinalUpstreamError, UpstreamProvider
from esimdesk.provisioning.providers.simulator import SimulatorProvider

PROVIDERS: dict[str, type[UpstreamProvider]] = {"simulator": SimulatorProvider}


def get(name: str) -> UpstreamProvider:
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise FinalUpstreamError(f"unknown upstream provider {name!r}",
                                 code="unknown_upstream") from None


def primary() -> UpstreamProvider:
    """The first configured supplier (failover across several comes with more adapters)."""
    return get(settings.ESIMDESK["UPSTREAM_PROVIDERS"][0])
