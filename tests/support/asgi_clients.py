"""Minimal ASGI test clients on asgiref's ApplicationCommunicator (``channels.testing``
imports daphne, which esimdesk does not use: uvicorn serves the realtime process)."""

from __future__ import annotations

import json
from typing import Any

from asgiref.testing import ApplicationCommunicator


class WebSocket(ApplicationCommunicator):
    def __init__(self, app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(app, {"type": "websocket", "path": path, "raw_path": path.encode(),
                               "query_string": b"", "headers": headers,
                               "subprotocols": [], "client": ("127.0.0.1", 5000),
                               "server": ("testserver", 80)})

    async def connect(self, timeout: float = 5) -> bool:
        await self.send_input({"type": "websocket.connect"})
        answer = await self.receive_output(timeout)
        return bool(answer["type"] == "websocket.accept")

    async def send_json(self, data: Any) -> None:
        await self.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def receive_json(self, timeout: float = 5) -> Any:
        answer = await self.receive_output(timeout)
        assert answer["type"] == "websocket.send", answer
        return json.loads(answer["text"])

    async def disconnect(self) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(1)


async def http_post(app: Any, path: str, body: bytes,
                    headers: list[tuple[bytes, bytes]], method: str = "POST") -> int:
    client = ApplicationCommunicator(app, {"type": "http", "method": method, "path": path,
                                           "raw_path": path.encode(), "query_string": b"",
                                           "headers": headers, "http_version": "1.1"})
    await client.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await client.receive_output(5)
    await client.receive_output(5)
    return int(start["status"])
