"""``Idempotency-Key`` for money-moving requests.

The first request under a key runs inside one transaction together with the insert of its
record, so the key and the effect commit or roll back together. A concurrent second request
with the same key waits on the unique index and then replays the stored response; a request
that reuses a key with a different body is refused. Refusals (4xx) are stored and replayed
too, so a retry cannot turn a refused request into a different one; passing failures (5xx,
e.g. a provider not answering) are not stored, so a retry with the same key runs again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from esimdesk.core import clock
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


# -- requests that run in steps -------------------------------------------------------------
#
# A request that calls a provider cannot run inside one transaction (no network inside a
# transaction), so its key is claimed in the transaction that records the attempt and
# answered in the one that records the outcome. Between the two, the record's status_code
# says where it stands:
IN_PROGRESS = 0  # claimed: a request is working on it (``created_at`` is when it claimed)
RESUMABLE = 1  # a passing failure or an abandoned run left work the next request continues


class Busy(Exception):
    """Another request holds the key and has not answered yet."""


@dataclass(frozen=True)
class Claim:
    """A key this request now works on; ``left`` is what an earlier run of it recorded with
    ``note`` (empty for a new key)."""

    record: IdempotencyRecord
    left: dict[str, Any]


def claim(*, scope: str, key: str, fingerprint_: str,
          lease: dt.timedelta) -> Claim | StoredResponse:
    """Claim ``(scope, key)`` inside the caller's first transaction, or answer its replay.

    The claim commits or rolls back with that transaction. A key answered before is
    replayed; one left resumable, or claimed longer than ``lease`` ago by a run that never
    answered (a killed process), is taken over. Raises ``Busy`` while another request works
    on it, and ``Conflict`` when the key was used for a different request.
    """
    if len(key) > MAX_KEY_LENGTH:
        raise DomainError(code="invalid_idempotency_key", detail={"max_length": MAX_KEY_LENGTH})
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                scope=scope, key=key, fingerprint=fingerprint_, status_code=IN_PROGRESS,
                response={}, created_at=clock.now())
        return Claim(record, {})
    except IntegrityError:
        pass  # known key (on PostgreSQL, after the request holding it committed its claim)
    record = IdempotencyRecord.objects.get(scope=scope, key=key)
    if record.fingerprint != fingerprint_:
        raise Conflict(code="idempotency_key_reused", detail={"key": key})
    if record.status_code > RESUMABLE:
        return StoredResponse(record.status_code, record.response, replayed=True)
    stale = record.status_code == RESUMABLE or record.created_at <= clock.now() - lease
    # Compare-and-set on (status_code, created_at): of two requests taking over, one wins.
    if not stale or not IdempotencyRecord.objects.filter(
            pk=record.pk, status_code=record.status_code, created_at=record.created_at
    ).update(status_code=IN_PROGRESS, created_at=clock.now()):
        raise Busy(key)
    record.refresh_from_db()
    return Claim(record, dict(record.response))


def note(claim_: Claim, left: dict[str, Any]) -> None:
    """Record what this run has made so far, for a run that takes the key over."""
    IdempotencyRecord.objects.filter(pk=claim_.record.pk).update(response=left)


def answer(claim_: Claim, status: int, body: Any) -> StoredResponse:
    """Keep the answer to replay; a passing failure (5xx) leaves the key resumable."""
    if status >= 500:
        IdempotencyRecord.objects.filter(pk=claim_.record.pk).update(status_code=RESUMABLE)
    else:
        IdempotencyRecord.objects.filter(pk=claim_.record.pk).update(status_code=status,
                                                                     response=body)
    return StoredResponse(status, body, replayed=False)


def forget(claim_: Claim) -> None:
    """Drop the key, as if it had never been used (a run that left nothing behind)."""
    IdempotencyRecord.objects.filter(pk=claim_.record.pk).delete()


def refuse(*, scope: str, key: str, fingerprint_: str, status: int,
           body: Any) -> StoredResponse:
    """Store a refusal given before anything was made (the claim rolled back with it)."""
    try:
        with transaction.atomic():
            updated = IdempotencyRecord.objects.filter(
                scope=scope, key=key, fingerprint=fingerprint_,
                status_code__lte=RESUMABLE).update(status_code=status, response=body)
            if not updated:
                IdempotencyRecord.objects.create(scope=scope, key=key, fingerprint=fingerprint_,
                                                 status_code=status, response=body)
    except IntegrityError:
        replay = _replay(scope, key, fingerprint_)
        if replay is not None and replay.status > RESUMABLE:
            return replay
    return StoredResponse(status, body, replayed=False)


def stored(*, scope: str, key: str, fingerprint_: str) -> StoredResponse | None:
    """The answer kept for a key, or None while there is none (unknown or in progress)."""
    replay = _replay(scope, key, fingerprint_)
    return replay if replay is not None and replay.status > RESUMABLE else None
