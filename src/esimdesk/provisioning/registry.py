"""Configured name -> upstream supplier adapter. Adapters are imported when first used, so a
supplier nobody configured never loads (``declared_options`` imports them all, once the apps
are ready, to learn the options they declare).

The suppliers shipped in ``provisioning/suppliers/`` are listed here; a plug-in app (e.g. the
sandbox's upstream simulator) adds its own with ``register`` in its ``AppConfig.ready``."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from functools import cache
from typing import NoReturn

from django.conf import settings
from django.utils.module_loading import import_string

from esimdesk import config
from esimdesk.config import Option
from esimdesk.provisioning.calls import recorded
from esimdesk.provisioning.suppliers.base import (
    FinalUpstreamError,
    PlanApplication,
    PossiblyAllocated,
    ProfileOrder,
    TopUpApplication,
    UpstreamError,
    UpstreamProvider,
)

logger = logging.getLogger(__name__)

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


def possibly_allocated(now: dt.datetime) -> list[tuple[str, PossiblyAllocated]]:
    """Each registered supplier whose records hold profiles *possibly allocated* at
    ``now`` (``UpstreamProvider.possibly_allocated``; one query per supplier that keeps
    such records), by name, configured or not: what an earlier supplier may hold is
    still owed a reconciliation. A supplier whose records cannot be read is logged and
    left out, so the other suppliers are still watched."""
    found: list[tuple[str, PossiblyAllocated]] = []
    for name in PROVIDERS:
        try:
            held = provider_class(name).possibly_allocated(now)
        except Exception:
            logger.exception("possibly allocated profiles of %s cannot be read", name)
            continue
        if held.count:
            found.append((name, held))
    return found


@cache
def provider_class(name: str) -> type[UpstreamProvider]:
    cls: type[UpstreamProvider] = import_string(PROVIDERS[name])
    return cls


def known(name: str) -> bool:
    return name in PROVIDERS


def get(name: str) -> UpstreamProvider:
    """The adapter for supplier ``name``, each outbound call timed and recorded
    (``provisioning.calls``). Never raises: a name no longer registered, or an adapter that
    cannot even be set up (its class fails to import or its constructor raises), gives an
    ``Unavailable`` stand-in whose every outbound call raises, is recorded and follows the
    retry, failover and attention paths like any failed call."""
    if name not in PROVIDERS:
        return recorded(Unavailable(name, FinalUpstreamError(
            f"unknown upstream provider {name!r}", code="unknown_upstream")))
    try:
        adapter = provider_class(name)()
    except UpstreamError as error:  # a setting the adapter refuses, said in its own words
        logger.error("supplier %s cannot be set up: %s (%s)", name, error, error.code)
        return recorded(Unavailable(name, error))
    except Exception as error:
        logger.exception("supplier %s cannot be set up", name)
        return recorded(Unavailable(name, error))
    return recorded(adapter)


def primary() -> UpstreamProvider:
    """The first configured supplier (failover across several comes with more adapters)."""
    return get(settings.ESIMDESK["UPSTREAM_PROVIDERS"][0])


class Unavailable(UpstreamProvider):
    """Stands in for a supplier that cannot be used: every outbound call raises ``error``
    (what setting the adapter up raised, which ``recorded`` turns into a ``supplier_fault``;
    or the typed refusal for a name no longer registered)."""

    def __init__(self, name: str, error: Exception) -> None:
        self.name = name
        self.label = name
        self.error = error

    def _fail(self) -> NoReturn:
        if isinstance(self.error, UpstreamError):
            raise type(self.error)(str(self.error), code=self.error.code)
        raise self.error

    def order_profile(self, *, reference: str, plan_code: str) -> ProfileOrder:
        self._fail()

    def apply_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        self._fail()

    def replace_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        self._fail()

    def apply_top_up(self, *, reference: str, iccid: str, product_code: str, data_bytes: int,
                     voice_seconds: int, sms_count: int,
                     extend_days: int) -> TopUpApplication:
        self._fail()

    def end_plan(self, *, reference: str, iccid: str) -> None:
        self._fail()

    def set_depletion(self, *, reference: str, iccid: str, action: str) -> None:
        self._fail()

    def lift_depletion(self, *, reference: str, iccid: str) -> None:
        self._fail()

    def suspend(self, *, reference: str, iccid: str) -> None:
        self._fail()

    def resume(self, *, reference: str, iccid: str) -> None:
        self._fail()

    def revoke(self, *, reference: str, iccid: str) -> None:
        self._fail()

    def check_connection(self) -> str:
        # What stopped the adapter from being set up is what the go-live check must say,
        # not that a stand-in cannot check itself.
        self._fail()
