"""Facts about an incoming request that several entry points need."""

from __future__ import annotations

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The peer's address as the WSGI server saw it (behind a proxy, configure the proxy or
    gunicorn's ``--forwarded-allow-ips`` so this is the traveller's, not the proxy's)."""
    return str(request.META.get("REMOTE_ADDR", ""))
