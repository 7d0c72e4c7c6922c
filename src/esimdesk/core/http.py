"""Facts about an incoming request that several entry points need: who the client is, and
which peers are proxies whose word about the client is believed."""

from __future__ import annotations

import ipaddress
from functools import cache

from django.http import HttpRequest

from esimdesk import config

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@cache
def _networks(value: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False)
                 for item in value.split(",") if item.strip())


def trusted_proxies() -> tuple[Network, ...]:
    """``ESIMDESK_TRUSTED_PROXIES`` as networks; ``ValueError`` names a bad entry."""
    value = config.env("ESIMDESK_TRUSTED_PROXIES")
    try:
        return _networks(value)
    except ValueError as error:
        raise ValueError(f"ESIMDESK_TRUSTED_PROXIES: {error}") from None


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 on a dual-stack socket
    return address


def is_trusted_proxy(remote_addr: str) -> bool:
    """Whether ``remote_addr`` is one of ``ESIMDESK_TRUSTED_PROXIES`` (a bad setting, or no
    address, trusts nobody)."""
    address = _address(remote_addr)
    try:
        networks = trusted_proxies()
    except ValueError:
        return False
    return address is not None and any(address in network for network in networks
                                       if address.version == network.version)


def client_ip(request: HttpRequest) -> str:
    """The client's address: the TCP peer, unless the peer is a trusted proxy
    (``ESIMDESK_TRUSTED_PROXIES``), in which case the nearest address in
    ``X-Forwarded-For`` that is not itself a trusted proxy.

    Read from the right: each proxy appends the peer it saw, so the right-most entries are
    the ones the trusted proxies wrote, and anything to their left is what the client claimed
    (and could forge). Sign-in limits, payment risk data and logs key on this, so behind a
    proxy that is not trusted every client would look like the proxy."""
    peer = str(request.META.get("REMOTE_ADDR", ""))
    if not is_trusted_proxy(peer):
        return peer
    forwarded = [item.strip() for item in
                 str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if item.strip()]
    for item in reversed(forwarded):
        if _address(item) is None:
            break  # not an address: what lies to its left cannot be believed either
        if not is_trusted_proxy(item):
            return str(_address(item))
    return peer
