"""What locks a customer out, and how staff unlock it.

Two things lock an account here:

- ``is_active = False`` (staff deactivated it in the console): allauth refuses every
  sign-in, and password reset mails are not sent;
- allauth's rate limits, kept in the cache (``ACCOUNT_RATE_LIMITS``): after 5 failed
  sign-ins in 5 minutes (``login_failed``, per login) sign-in is refused even with the
  right password; sign-in codes (``request_login_code``) and password resets
  (``reset_password``) are limited per address too.

allauth keys the failed-sign-in limit by ``"<host>:<login>"``, where the login is the
e-mail address and is empty for a phone sign-in (so all phone sign-ins share one counter).
Unlocking clears those counters for the customer's e-mail address and phone number, on the
host the customer signs in at (``ESIMDESK_PUBLIC_URL``) and on the host staff use. The
per-IP limits are left alone: they protect the service, not one account. Uses allauth's
rate-limit helpers, which are internal to allauth: the keys are allauth's own.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from allauth.core.internal import ratelimit
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest

from esimdesk.core import audit
from esimdesk.core.errors import ValidationFailed

APP = "allauth.account"


def _hosts(request: HttpRequest | None) -> list[str]:
    hosts = [urlparse(settings.PUBLIC_URL).netloc]
    if request is not None:
        hosts.append(request.get_host())
    return list(dict.fromkeys(h for h in hosts if h))


def _keys(user: Any, request: HttpRequest | None) -> list[tuple[str, str]]:
    """(action, key) pairs of the per-login counters that concern ``user``."""
    email = (user.email or "").lower()
    phone = (user.phone or "").lower()
    pairs = []
    for host in _hosts(request):
        if email:
            pairs.append(("login_failed", f"{host}:{email}"))
        if phone or not email:  # the shared counter of phone sign-ins
            pairs.append(("login_failed", f"{host}:"))
    for value in filter(None, (email, phone)):
        pairs.append(("request_login_code", value))
    if email:
        pairs.append(("reset_password", email))
    return pairs


def _cache_keys(user: Any, request: HttpRequest | None) -> list[tuple[str, str, int]]:
    """(action, cache key, rate amount) of every per-key limit that applies to ``user``."""
    found = []
    for action, key in _keys(user, request):
        for rate in ratelimit.get_rates(app=APP, action=action):
            if rate.per == "key":
                found.append((action, ratelimit.get_cache_key(
                    request, app=APP, action=action, rate=rate, key=key),
                    rate.amount))
    return found


def locks_of(user: Any, request: HttpRequest | None = None) -> list[str]:
    """Why ``user`` cannot sign in now: ``inactive`` and/or the rate-limited actions."""
    reasons = [] if user.is_active else ["inactive"]
    for action, cache_key, amount in _cache_keys(user, request):
        if len(cache.get(cache_key, [])) >= amount and action not in reasons:
            reasons.append(action)
    return reasons


def unlock(*, user: Any, actor: str, reason: str, request: HttpRequest | None = None) -> list[str]:
    """Reactivate the account and clear its sign-in counters; answers what was locked."""
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationFailed(code="reason_required")
    with transaction.atomic():
        locked = type(user).objects.select_for_update().get(pk=user.pk)
        found = locks_of(locked, request)
        if not locked.is_active:
            locked.is_active = True
            locked.save(update_fields=["is_active"])
        for _action, cache_key, _amount in _cache_keys(locked, request):
            cache.delete(cache_key)
        audit.record(action="account.unlock", obj=locked, actor_type="staff", actor=actor,
                     before={"locks": found}, after={"is_active": True}, reason=text)
    return found
