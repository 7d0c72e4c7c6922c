"""``Idempotency-Key`` for money-moving requests.

The first request under a key runs inside one transaction together with the insert of its
record, so the key and the effect commit or roll back together. A concurrent second request
with the same key waits on the unique index and then replays the stored response; a request
that reuses a key with a different body is refused. Refusals (4xx) are stored and replayed
too, so a retry cannot turn a refused request into a different one; passing failures (5xx,
e.g. a provider not answering) are not stored, so a retry with the same key runs again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from esimdesk.core.errors import Conflict, DomainError
from esimdesk.core.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any
    replayed: bool


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def run_once(*, scope: str, key: str | None, fingerprint_: str,
             produce: Callable[[], tuple[int, Any]],
             on_error: Callable[[DomainError], tuple[int, Any]]) -> StoredResponse:
    """Run ``produce`` once per (scope, key); replay its response afterwards.

    ``produce`` returns ``(status, json body)``; a ``DomainError`` it raises is turned into a
    stored refusal by ``on_error`` (its writes are rolled back, the refusal is kept).
    Without a key, ``produce`` simply runs.
    """
    if not key:
        try:
            with transaction.atomic():
                status, body = produce()
        except DomainError as error:
            status, body = on_error(error)
        return StoredResponse(status, body, replayed=False)
    if len(key) > MAX_KEY_LENGTH:
        raise DomainError(code="invalid_idempotency_key", detail={"max_length": MAX_KEY_LENGTH})

    existing = _replay(scope, key, fingerprint_)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            # Insert the key first: a concurrent request with the same key blocks on the
            # unique index here until this transaction ends, then replays our answer.
            record = IdempotencyRecord.objects.create(scope=scope, key=key,
                                                      fingerprint=fingerprint_,
                                                      status_code=0, response={})
            try:
                with transaction.atomic():
                    status, body = produce()
            except DomainError as error:
                status, body = on_error(error)
            if status >= 500:
                # A passing failure (the provider did not answer) is not the answer to keep:
                # forget the key, so the client's retry with it runs again.
                transaction.set_rollback(True)
            else:
                record.status_code, record.response = status, body
                record.save(update_fields=["status_code", "response"])
    except IntegrityError:
        # Another request with this key committed first: answer what it answered.
        replay = _replay(scope, key, fingerprint_)
        if replay is None:
            raise
        return replay
    return StoredResponse(status, body, replayed=False)


def _replay(scope: str, key: str, fingerprint_: str) -> StoredResponse | None:
    stored = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    if stored is None:
        return None
    if stored.fingerprint != fingerprint_:
        raise Conflict(code="idempotency_key_reused", detail={"key": key})
    return StoredResponse(stored.status_code, stored.response, replayed=True)
