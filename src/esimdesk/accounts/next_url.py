"""Where a visitor was going when they were asked to sign in (a chosen plan's checkout, most
often), kept through sign-up, sign-in, second factor, e-mail confirmation and password reset.

Every sign-in page passes ``next`` on in its links and forms (allauth does most of it); the
value is also kept in the session (``KeepNextMiddleware``) so that a step which has no
``next`` of its own — the reset link from an e-mail, the "sign in" link after a new password,
the header's links — still ends where the visitor was going. Only a path on this site is
ever kept or followed: ``https://evil.example``, ``//evil.example`` and the like are dropped
(no open redirect), and so are the sign-in pages themselves (no loop).
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

SESSION_KEY = "esimdesk_next"
MAX_LENGTH = 2000
# Paths never worth coming back to after signing in.
SKIPPED = ("/accounts/", "/_allauth/", "/account/reset/")


def safe_next(request: HttpRequest | None, url: str | None) -> str:
    """``url`` as a path on this site (``/checkout/?plan=…``), or "" when it leads elsewhere,
    is too long or is a sign-in page."""
    if request is None or not url or len(url) > MAX_LENGTH:
        return ""
    url = url.strip()
    if "\\" in url or any(ord(ch) < 32 for ch in url):
        return ""
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        return ""
    parts = urlsplit(url)
    path = urlunsplit(("", "", parts.path, parts.query, ""))
    if not path.startswith("/") or path.startswith("//") or path.startswith(SKIPPED):
        return ""
    return path


def from_request(request: HttpRequest) -> str:
    """The safe ``next`` this request names (query string or form), or ""."""
    named = request.GET.get("next")
    if not named and request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        named = request.POST.get("next")
    return safe_next(request, named)


def keep(request: HttpRequest, url: str) -> None:
    target = safe_next(request, url)
    if target and hasattr(request, "session"):
        request.session[SESSION_KEY] = target


def kept(request: HttpRequest | None) -> str:
    """The kept destination (still in the session), or ""."""
    if request is None or not hasattr(request, "session"):
        return ""
    return safe_next(request, request.session.get(SESSION_KEY, ""))


def take(request: HttpRequest | None) -> str:
    """The kept destination, removed from the session (it is followed once), or ""."""
    target = kept(request)
    if request is not None and hasattr(request, "session"):
        request.session.pop(SESSION_KEY, None)
    return target


def current(request: HttpRequest) -> str:
    """Where this visitor is going: the request's own ``next``, else the kept one."""
    return from_request(request) or kept(request)


def with_next(path: str, target: str) -> str:
    """``path`` with ``?next=target`` (or ``&next=``) when there is a target."""
    if not target:
        return path
    return f"{path}{'&' if '?' in path else '?'}{urlencode({'next': target})}"


def login_url(target: str) -> str:
    return with_next(reverse("account_login"), target)
