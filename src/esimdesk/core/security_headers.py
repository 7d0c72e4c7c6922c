"""Security headers on every response: a Content-Security-Policy with a fresh nonce per
request, and a Permissions-Policy. (HSTS, Referrer-Policy, nosniff and the cross-origin
opener policy come from Django's SecurityMiddleware, configured in settings.)

The policy allows scripts, styles, fonts and frames from the site itself only. An inline
``<script>`` runs only with the request's nonce (``<script nonce="{{ csp_nonce }}">``);
inline event handlers (``onclick=``) and ``style=`` attributes never do, so pages keep their
behaviour in static files. Pages may open WebSockets to the realtime service and send forms
to the site and to the hosted payment pages of the enabled providers (a checkout form posts
here and is redirected there, which browsers check against ``form-action``). Nothing may
frame the site.

A view that needs another policy (the staff console's e-mail preview) sets its own
``Content-Security-Policy`` header; this middleware leaves such a response alone.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

from esimdesk import config

HEADER = "Content-Security-Policy"
# Browser features no page of the platform uses: a page (or something injected into one)
# cannot ask for them. (The camera for a screenshot in the chat goes through the file picker,
# which this does not cover.)
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "geolocation", "gyroscope", "magnetometer", "microphone",
    "payment", "usb"))

# Functions answering origins (``https://checkout.example``) that forms may be sent to,
# registered by the apps that redirect a form post to another site (payments).
_form_action_sources: list[Callable[[], Iterable[str]]] = []


def add_form_action_source(source: Callable[[], Iterable[str]]) -> None:
    """Register a function answering origins forms may post to (called per response, so it
    follows configuration changes; keep it cheap)."""
    if source not in _form_action_sources:
        _form_action_sources.append(source)


def origin_of(url: str, *, websocket: bool = False) -> str:
    """``scheme://host[:port]`` of ``url`` (never its user or password), or "" when it has
    none; with ``websocket``, http(s) become ws(s)."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if websocket:
        scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
    if not scheme.isalpha() or not host or any(ch in host for ch in " ;,'\"/"):
        return ""
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def _realtime_origins(request: HttpRequest) -> list[str]:
    configured = str(getattr(settings, "REALTIME_URL", "") or "")
    if configured:
        origin = origin_of(configured, websocket=True)
        return [origin] if origin else []
    # Same host: CSP's 'self' covers ws(s) only in newer browsers, so say it.
    try:
        host = request.get_host()
    except DisallowedHost:
        return []
    return [f"{'wss' if request.is_secure() else 'ws'}://{host}"]


def _configured_form_action() -> list[str]:
    return [origin for origin in (origin_of(item) for item in
                                  config.env("ESIMDESK_CSP_FORM_ACTION").split()) if origin]


def _form_action_origins() -> list[str]:
    found: list[str] = []
    for source in (_configured_form_action, *_form_action_sources):
        for origin in source():
            if origin and origin not in found:
                found.append(origin)
    return found


def content_security_policy(request: HttpRequest, nonce: str) -> str:
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", f"'nonce-{nonce}'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", *_realtime_origins(request)],
        "form-action": ["'self'", *_form_action_origins()],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


class SecurityHeadersMiddleware:
    """Place right after Django's SecurityMiddleware, before WhiteNoise, so static files
    carry the headers too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(18)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if settings.DEBUG and response.status_code in (404, 500):
            # Django's debug pages (ESIMDESK_DEBUG, never in production) are inline HTML,
            # script and style: they would show unstyled and without their tracebacks' toggles.
            return response
        if HEADER not in response:
            response[HEADER] = (content_security_policy(request, nonce)
                                if _is_document(response) else NOT_A_DOCUMENT)
        return response


# JSON, files, images and redirects are never rendered as pages that run anything: the
# strictest policy fits them, and it needs no lookup of the enabled payment providers (a
# database read) on the API's and the webhooks' hot paths.
NOT_A_DOCUMENT = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


def _is_document(response: HttpResponse) -> bool:
    content_type = str(response.get("Content-Type", "")).split(";")[0].strip().lower()
    return content_type in ("text/html", "application/xhtml+xml", "image/svg+xml", "")


def csp_nonce(request: HttpRequest) -> dict[str, str]:
    """Context processor: ``{{ csp_nonce }}`` for ``<script nonce="…">``."""
    return {"csp_nonce": str(getattr(request, "csp_nonce", ""))}
