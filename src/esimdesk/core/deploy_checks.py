"""What is unsafe in a production configuration, as Django system checks (``--deploy``) that
``esimdesk check`` prints when ``ESIMDESK_PRODUCTION=1``, beside Django's own security
checks (HSTS, secure cookies, debug, allowed hosts)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register, run_checks
from django.core.checks import Warning as CheckWarning

from esimdesk import config


@register(Tags.security, deploy=True)
def check_production(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not getattr(settings, "PRODUCTION", False):
        return []
    found: list[CheckMessage] = []
    public = str(settings.PUBLIC_URL)
    if urlsplit(public).scheme != "https":
        found.append(CheckWarning(
            f"ESIMDESK_PUBLIC_URL is {public!r}, not https://: secure cookies are never sent "
            "back over plain HTTP, so nobody could sign in, and links in mail would be "
            "plain HTTP.", id="esimdesk.W001"))
    realtime = str(getattr(settings, "REALTIME_URL", "") or "")
    if realtime and urlsplit(realtime).scheme != "wss":
        found.append(CheckWarning(
            f"ESIMDESK_REALTIME_URL is {realtime!r}, not wss://: live chat would travel "
            "unencrypted (and an https page may not open it).", id="esimdesk.W002"))
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        found.append(CheckWarning(
            "The database is SQLite: production needs PostgreSQL (ESIMDESK_DATABASE_URL).",
            id="esimdesk.W003"))
    if "*" in settings.ALLOWED_HOSTS:
        found.append(CheckWarning(
            "ESIMDESK_ALLOWED_HOSTS allows any host name ('*').", id="esimdesk.W004"))
    if config.env("ESIMDESK_DEBUG").strip():
        found.append(CheckWarning(
            "ESIMDESK_DEBUG is set; production ignores it, remove it.", id="esimdesk.W005"))
    return found


def production_warnings() -> list[str]:
    """Every deployment security check that fails, as ``id: message`` lines."""
    return [f"{message.id}: {message.msg}"
            for message in run_checks(include_deployment_checks=True, tags=[Tags.security])
            if message.is_serious(level=30) and not message.is_silenced()]
