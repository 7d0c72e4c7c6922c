"""What ``esimdesk check`` says about supplier callbacks: a configured supplier whose
callbacks nobody can authenticate refuses every one of them. A warning on a workstation, an
error with ``ESIMDESK_PRODUCTION=1`` (registered as a deployment check, so it is run by
``esimdesk check`` and ``manage check --deploy``, not before every management command)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from esimdesk.core.http import trusted_proxies
from esimdesk.provisioning.suppliers.es2plus.adapter import Es2PlusProvider
from esimdesk.provisioning.suppliers.esimgo.adapter import callback_key as esimgo_callback_key


def _problem(message: str, hint: str, number: int) -> checks.CheckMessage:
    if settings.PRODUCTION:
        return checks.Error(message, hint=hint, id=f"esimdesk.E{number}")
    return checks.Warning(message, hint=hint, id=f"esimdesk.W{number}")


def supplier_callbacks(app_configs: Any = None, **_kwargs: Any) -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = []
    suppliers = settings.ESIMDESK["UPSTREAM_PROVIDERS"]
    try:
        proxies = trusted_proxies()
    except ValueError as error:
        found.append(checks.Error(str(error), hint="Write addresses or networks, e.g. "
                                  "127.0.0.1,10.0.0.0/24.", id="esimdesk.E101"))
        proxies = ()
    if "es2plus" in suppliers:
        ways = Es2PlusProvider.callback_credentials()
        if not ways:
            found.append(_problem(
                "ES2+ is configured but its progress notifications have no credential: every "
                "one is refused.",
                "Set ESIMDESK_ES2PLUS_CALLBACK_TOKEN, or a client certificate subject or "
                "fingerprint with ESIMDESK_TRUSTED_PROXIES (docs/providers/es2plus.md).",
                102))
        elif "certificate" in ways and not proxies:
            found.append(_problem(
                "ES2+ callbacks expect a client certificate but ESIMDESK_TRUSTED_PROXIES is "
                "empty: no proxy's word is believed, every notification is refused.",
                "List the address of the TLS proxy that verifies the SM-DP+'s certificate.",
                103))
    if "esimgo" in suppliers and not esimgo_callback_key():
        found.append(_problem(
            "eSIM Go is configured without an API key or ESIMDESK_ESIMGO_CALLBACK_SECRET: "
            "every callback is refused.", "Set ESIMDESK_ESIMGO_API_KEY (eSIM Go signs its "
            "callbacks with it) or the callback secret.", 104))
    return found
