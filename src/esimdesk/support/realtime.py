"""Publishing live events to the browsers connected to the realtime process.

Services call ``publish_after_commit(group, event)`` inside their transaction; the event
leaves only once the change is committed (a rolled-back message is never shown). With Redis
the channel layer reaches every realtime process directly. Without it (the embedded default)
the layer lives in the memory of the one realtime process: a web or worker process then POSTs
the event to that process's internal endpoint, signed with a key derived from SECRET_KEY.
Everything published is also in the database, so a browser that missed an event (offline, a
restart) catches up by reloading the conversation; a lost event never loses a message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

import requests
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)
PUBLISH_PATH = "/internal/realtime/publish"
SIGNATURE_HEADER = "X-Esimdesk-Signature"
# True inside `esimdesk realtime`: the in-memory layer there is the one browsers listen on.
IN_REALTIME_PROCESS = False


def _key() -> bytes:
    return hashlib.sha256(f"realtime-publish:{settings.SECRET_KEY}".encode()).digest()


def sign(body: bytes) -> str:
    return hmac.new(_key(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(body), signature or "")


def send_to_layer(group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, event)


def publish(group: str, event: dict[str, Any]) -> None:
    """Deliver now (after commit). Never raises: live delivery is best effort on top of the
    database, and a failure is logged, not turned into a lost request."""
    internal = settings.REALTIME_INTERNAL_URL
    try:
        if settings.REDIS_URL or IN_REALTIME_PROCESS or not internal:
            send_to_layer(group, event)
            return
        body = json.dumps({"group": group, "event": event}).encode()
        requests.post(internal.rstrip("/") + PUBLISH_PATH, data=body, timeout=2,
                      headers={SIGNATURE_HEADER: sign(body),
                               "Content-Type": "application/json"}).raise_for_status()
    except Exception as error:  # the browser catches up from the database
        logger.warning("live event to %s not delivered: %s", group, error)


def publish_after_commit(group: str, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: publish(group, event))
