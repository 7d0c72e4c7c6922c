"""With ``ESIMDESK_REDIS_URL`` the sign-in counters live in Redis: a real server (the one
Debian ships), started for these tests; skipped where it is not installed."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from esimdesk.accounts import counters, lockout, signin_policy
from tests.e2e.test_concurrency import in_parallel

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    for line in server.stdout:  # blocks until the server says it is ready
        if "Ready to accept connections" in line:
            break
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(30)


@pytest.fixture
def redis_store(redis_url: str, settings: Any) -> counters.RedisCounters:
    settings.SIGNIN_COUNTERS_REDIS_URL = redis_url
    store = counters.store()
    assert isinstance(store, counters.RedisCounters)
    store.client.flushdb()
    return store


def test_hits_are_atomic_and_expire_on_their_own(redis_store: counters.RedisCounters) -> None:
    counts = in_parallel(*[lambda: redis_store.hit("race", 60).hits for _ in range(20)])
    assert sorted(counts) == list(range(1, 21))
    assert 0 < redis_store.client.pttl("esimdesk:signin:race") <= 60_000
    redis_store.undo("race")
    assert redis_store.peek(["race", "absent"]) == {"race": counters.Count(19, 60)}
    redis_store.undo("absent")  # never creates a counter without expiry
    assert redis_store.client.exists("esimdesk:signin:absent") == 0
    redis_store.clear(["race"])
    assert redis_store.peek(["race"]) == {}


@pytest.mark.django_db
def test_a_lock_in_redis_is_seen_by_another_client_and_unlocked(
        redis_store: counters.RedisCounters, redis_url: str) -> None:
    from esimdesk.accounts.models import User

    user = User.objects.create_user("redis@example.com", "correct-horse-battery-42")
    account = signin_policy.signin_account(user=user)
    for _ in range(5):
        signin_policy.record_failure(account=account, address="192.0.2.9")
    with pytest.raises(signin_policy.TooManyAttempts):
        signin_policy.begin_signin(account=account, address="192.0.2.9")
    # Another process has its own connection to the same server.
    other = counters.RedisCounters(redis_url)
    names = [name for _rate, name in signin_policy._keys("failed_signin", account=account,
                                                          address=None)]
    assert other.peek(names)[names[0]].hits >= 5
    assert lockout.locks_of(user) == ["failed_signin"]
    lockout.unlock(user=user, actor="staff:1", reason="by phone")
    assert other.peek(names) == {}
    assert signin_policy.begin_signin(account=account, address="192.0.2.10")
