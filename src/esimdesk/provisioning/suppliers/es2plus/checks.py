"""What ``esimdesk check`` says about the ES2+ configuration, before any order: the URL,
the timeout, the TLS files (readable, the key's passphrase right, a known minimum version),
the ICCID pool, and an SM-DP+ address activation codes can carry when confirmOrder answers
none. Errors are problems (``esimdesk check`` exits 1); a URL host that is an IP address
without ``ESIMDESK_ES2PLUS_SMDP_ADDRESS`` is a warning (the SM-DP+ may name itself).
Registered as a deployment check, like ``provisioning.checks``."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from esimdesk.provisioning.suppliers.base import FinalUpstreamError
from esimdesk.provisioning.suppliers.es2plus.adapter import Es2PlusProvider, valid_smdp_address


def es2plus_configuration(app_configs: Any = None, **_kwargs: Any) -> list[checks.CheckMessage]:
    if "es2plus" not in settings.ESIMDESK["UPSTREAM_PROVIDERS"]:
        return []
    found: list[checks.CheckMessage] = []
    adapter = Es2PlusProvider()
    try:
        adapter.transport()
    except FinalUpstreamError as error:
        found.append(checks.Error(f"ES2+: {error}", hint="docs/providers/es2plus.md lists "
                                  "every option.", id="esimdesk.E121"))
    if adapter.smdp_setting and not valid_smdp_address(adapter.smdp_setting):
        found.append(checks.Error(
            f"ESIMDESK_ES2PLUS_SMDP_ADDRESS {adapter.smdp_setting!r} is not a host name: no "
            "activation code can carry it.", hint="Give the SM-DP+'s host name, e.g. "
            "smdp.example.com (no scheme, port or path).", id="esimdesk.E122"))
    host = urlsplit(adapter.url).hostname or ""
    if not adapter.smdp_setting and host and not valid_smdp_address(host):
        found.append(checks.Warning(
            f"ES2+: the URL's host {host!r} is not a host name, so an order fails whenever "
            "the SM-DP+ answers confirmOrder without smdpAddress.",
            hint="Set ESIMDESK_ES2PLUS_SMDP_ADDRESS to the SM-DP+'s host name.",
            id="esimdesk.W123"))
    if adapter.iccid_pool and not Path(adapter.iccid_pool).is_file():
        found.append(checks.Error(
            f"ESIMDESK_ES2PLUS_ICCIDS {adapter.iccid_pool!r} is not a readable file.",
            hint="One ICCID per line, as the SM-DP+ spells it.", id="esimdesk.E124"))
    return found
