"""Counters of the sign-in policy, kept where every process sees them.

A counter lives ``window`` seconds from its first hit, then starts again from zero. Each hit
is one atomic operation, so concurrent requests in any number of processes never read the
same value (no read-then-write):

- without Redis: one row of ``accounts_signincounter`` per key, hit by an
  ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (PostgreSQL and SQLite alike); concurrent
  hits on one key queue on the row;
- with ``ESIMDESK_REDIS_URL``: one Redis key per counter, hit in a ``MULTI`` transaction
  (``SET NX PX`` then ``INCR`` then ``PTTL``), so the expiry is set exactly once.

Times come from ``core.clock`` on the database store (tests move it); Redis expires keys by
its own clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from esimdesk.accounts.models import SignInCounter
from esimdesk.core import clock


@dataclass(frozen=True)
class Count:
    hits: int
    retry_after: int  # seconds until the counter starts again from zero


def _now_ms() -> int:
    return int(clock.now().timestamp() * 1000)


# One statement: insert the counter at 1, or add 1 to it, or start it again at 1 when its
# window is over; answers the count and when the window ends.
_HIT = """
INSERT INTO accounts_signincounter (name, hits, expires_ms) VALUES (%s, 1, %s)
ON CONFLICT (name) DO UPDATE SET
  hits = CASE WHEN accounts_signincounter.expires_ms <= %s THEN 1
              ELSE accounts_signincounter.hits + 1 END,
  expires_ms = CASE WHEN accounts_signincounter.expires_ms <= %s THEN excluded.expires_ms
                    ELSE accounts_signincounter.expires_ms END
RETURNING hits, expires_ms
"""


class DatabaseCounters:
    """Counters in the database every process already shares."""

    name = "database"

    def hit(self, key: str, window: int) -> Count:
        now = _now_ms()
        # The doors count before they write anything, outside any transaction of theirs, so
        # the hit commits at once and holds the row lock only for this statement.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_HIT, [key, now + window * 1000, now, now])
            hits, expires_ms = cursor.fetchone()
        return Count(hits, max(1, math.ceil((expires_ms - now) / 1000)))

    def undo(self, key: str) -> None:
        SignInCounter.objects.filter(name=key, hits__gt=0, expires_ms__gt=_now_ms()).update(
            hits=F("hits") - 1)

    def peek(self, keys: Iterable[str]) -> dict[str, Count]:
        now = _now_ms()
        rows = SignInCounter.objects.filter(name__in=list(keys), expires_ms__gt=now)
        return {row.name: Count(row.hits, max(1, math.ceil((row.expires_ms - now) / 1000)))
                for row in rows}

    def clear(self, keys: Iterable[str]) -> None:
        SignInCounter.objects.filter(name__in=list(keys)).delete()

    def sweep(self) -> int:
        """Forget counters that have run out (Redis expires its keys by itself)."""

        return SignInCounter.objects.filter(expires_ms__lte=_now_ms()).delete()[0]


# Decrement only a live counter: DECR on a missing key would create one without expiry.
_UNDO = """
if redis.call('exists', KEYS[1]) == 1 and tonumber(redis.call('get', KEYS[1])) > 0 then
  return redis.call('decr', KEYS[1])
end
return 0
"""


class RedisCounters:
    """Counters in Redis, shared by every process that uses the same server."""

    name = "redis"

    def __init__(self, url: str) -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url)
        self._undo = self.client.register_script(_UNDO)

    @staticmethod
    def _key(key: str) -> str:
        return f"esimdesk:signin:{key}"

    def hit(self, key: str, window: int) -> Count:
        name = self._key(key)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.set(name, 0, px=window * 1000, nx=True)
            pipe.incr(name)
            pipe.pttl(name)
            _created, hits, ttl_ms = pipe.execute()
        return Count(int(hits), max(1, math.ceil(max(ttl_ms, 0) / 1000)))

    def undo(self, key: str) -> None:
        self._undo(keys=[self._key(key)])

    def peek(self, keys: Iterable[str]) -> dict[str, Count]:
        keys = list(keys)
        with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(self._key(key))
                pipe.pttl(self._key(key))
            answers = pipe.execute()
        found = {}
        for index, key in enumerate(keys):
            value, ttl_ms = answers[2 * index], answers[2 * index + 1]
            if value is not None and ttl_ms and ttl_ms > 0:
                found[key] = Count(int(value), max(1, math.ceil(ttl_ms / 1000)))
        return found

    def clear(self, keys: Iterable[str]) -> None:
        names = [self._key(key) for key in keys]
        if names:
            self.client.delete(*names)

    def sweep(self) -> int:
        return 0


@lru_cache(maxsize=4)
def _redis(url: str) -> RedisCounters:
    return RedisCounters(url)


def store() -> DatabaseCounters | RedisCounters:
    """Redis when ``ESIMDESK_REDIS_URL`` is set, else the database."""
    url = getattr(settings, "SIGNIN_COUNTERS_REDIS_URL", "") or ""
    return _redis(url) if url else DatabaseCounters()


def sweep_expired() -> int:
    """The scheduler's ``signin_counters`` sweep: forget counters whose window is over."""
    return store().sweep()
