"""The realtime process's only HTTP: ``POST /internal/realtime/publish`` (signed; see
``realtime``) and a health answer. Everything else is 404 — pages live on gunicorn."""

from __future__ import annotations

import json
from typing import Any

from esimdesk.support import realtime


async def _answer(send: Any, status: int, body: bytes = b"") -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


async def internal_http(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/ws/healthz":
        await _answer(send, 200, b'{"status": "ok"}')
        return
    if scope["path"] != realtime.PUBLISH_PATH or scope["method"] != "POST":
        await _answer(send, 404, b'{"code": "not_found"}')
        return
    body = b""
    while True:
        chunk = await receive()
        body += chunk.get("body", b"")
        if len(body) > 1_000_000:
            await _answer(send, 413, b'{"code": "too_large"}')
            return
        if not chunk.get("more_body"):
            break
    headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
    if not realtime.verify(body, headers.get(realtime.SIGNATURE_HEADER.lower(), "")):
        await _answer(send, 403, b'{"code": "bad_signature"}')
        return
    try:
        payload = json.loads(body)
        group, event = str(payload["group"]), dict(payload["event"])
    except (ValueError, KeyError, TypeError):
        await _answer(send, 400, b'{"code": "malformed_event"}')
        return
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(group, event)
    await _answer(send, 202, b'{"status": "published"}')
