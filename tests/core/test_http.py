"""Who the client is: the TCP peer, or what a trusted proxy says the client was."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from esimdesk.core.http import client_ip, is_trusted_proxy


def _ip(remote: str, forwarded: str | None = None) -> str:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


def test_without_trusted_proxies_the_peer_is_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_TRUSTED_PROXIES", "")
    # A client that claims another address is not believed.
    assert _ip("203.0.113.7", "198.51.100.1") == "203.0.113.7"


@pytest.mark.parametrize(("remote", "forwarded", "client"), [
    ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # nginx on the web host, header overwritten
    ("127.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # appended: the forgery left
    ("10.0.0.5", "203.0.113.7, 10.0.0.9", "203.0.113.7"),  # two proxies in the trusted range
    ("::ffff:127.0.0.1", "2001:db8::1", "2001:db8::1"),  # dual-stack socket, IPv6 client
    ("127.0.0.1", None, "127.0.0.1"),  # nothing forwarded: the proxy itself
    ("127.0.0.1", "", "127.0.0.1"),
    ("127.0.0.1", "10.0.0.9", "127.0.0.1"),  # only proxies: the peer
    ("127.0.0.1", "unknown, 203.0.113.7", "203.0.113.7"),
    ("127.0.0.1", "203.0.113.7, garbage", "127.0.0.1"),  # not an address: nothing left of it
    ("203.0.113.50", "198.51.100.1", "203.0.113.50"),  # not a trusted peer: its header ignored
])
def test_a_trusted_proxy_names_the_client(monkeypatch: pytest.MonkeyPatch, remote: str,
                                         forwarded: str | None, client: str) -> None:
    monkeypatch.setenv("ESIMDESK_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/24")
    assert _ip(remote, forwarded) == client


def test_a_bad_setting_trusts_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_TRUSTED_PROXIES", "127.0.0.1, proxy.example.com")
    assert not is_trusted_proxy("127.0.0.1")
    assert _ip("127.0.0.1", "203.0.113.7") == "127.0.0.1"


def test_sign_in_limits_count_the_client_behind_the_proxy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from esimdesk.accounts import signin_policy

    monkeypatch.setenv("ESIMDESK_TRUSTED_PROXIES", "127.0.0.1")
    first = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1",
                                  HTTP_X_FORWARDED_FOR="203.0.113.7")
    second = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1",
                                   HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert signin_policy.client_address(first) == "203.0.113.7"
    assert signin_policy.client_address(second) == "203.0.113.8"
