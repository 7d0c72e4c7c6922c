"""Provider settings staff enter in the console, stored encrypted (Fernet, with a key
derived from the secret key) and read through ``config.env``. Each process caches what it
read for a few seconds, so a change made in the console reaches every process quickly
without a database query per request."""

from __future__ import annotations

import base64
import hashlib
import time

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import DatabaseError

from esimdesk.core.models import ConsoleSetting

CACHE_SECONDS = 5.0
_cache: dict[str, str | None] = {}
_loaded_at = 0.0


def _fernet() -> Fernet:
    key = hashlib.sha256(f"console-settings:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def lookup(name: str) -> str | None:
    """The console's value of ``name``, or None when staff have not set it."""
    global _loaded_at
    if time.monotonic() - _loaded_at > CACHE_SECONDS:
        _reload()
        _loaded_at = time.monotonic()
    return _cache.get(name)


def forget() -> None:
    """Drop this process's cache (after a change, and between tests)."""
    global _loaded_at
    _loaded_at = 0.0


def _reload() -> None:
    try:
        rows = list(ConsoleSetting.objects.values_list("name", "value_encrypted"))
    except DatabaseError:
        # Before migrations: nothing was loaded, the environment alone counts. The database
        # away for a moment (or this connection's transaction broken): keep what was read
        # last, so a supplier's or provider's keys do not fall back to the environment's.
        return
    values: dict[str, str | None] = {}
    for name, token in rows:
        try:
            values[name] = decrypt(token)
        except InvalidToken:  # the secret key changed: the stored value is unreadable
            values[name] = None
    _cache.clear()
    _cache.update(values)
