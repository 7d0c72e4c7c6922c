"""What ``esimdesk check`` says about the eSIM Go configuration, before any order: the API
key, the base URL and the timeout (problems: ``esimdesk check`` exits 1), and a base URL
that sends the key unencrypted (a warning). Registered as a deployment check, like
``provisioning.checks``; the live handshake is ``check_connection`` (``--suppliers``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from esimdesk.provisioning.suppliers.esimgo.client import EsimGoClient


def esimgo_configuration(app_configs: Any = None, **_kwargs: Any) -> list[checks.CheckMessage]:
    if "esimgo" not in settings.ESIMDESK["UPSTREAM_PROVIDERS"]:
        return []
    client = EsimGoClient()
    found: list[checks.CheckMessage] = [
        checks.Error(f"eSIM Go: {problem}", hint="docs/providers/esimgo.md lists every option.",
                     id="esimdesk.E131") for problem in client.problems()]
    parts = urlsplit(client.base)
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        found.append(checks.Warning(
            f"eSIM Go: ESIMDESK_ESIMGO_API_BASE {client.base!r} is not https: the API key "
            "would cross the network unencrypted.", hint="Use https://api.esim-go.com/v2.5.",
            id="esimdesk.W132"))
    return found
