"""A local stand-in for eSIM Go API v2.5: orders, assignments and bundles in memory.

``fail`` queues answers for the next requests: an HTTP status (500, 429, 400) or
``"hang"`` (no answer before the client's timeout) or ``"commit_then_hang"`` (the order is
created, then no answer: the lost-response case idempotency must survive).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from esimdesk.core.ids import iccid_with_check_digit

API_KEY = "test-esimgo-key"


class FakeEsimGo:
    def __init__(self, *, luhn: bool = True) -> None:
        self.luhn = luhn
        self.orders: list[dict[str, Any]] = []
        self.esims: dict[str, dict[str, Any]] = {}  # iccid -> eSIM with its bundles
        self.fail: list[int | str] = []
        self.requests: list[tuple[str, str]] = []
        self.hang_seconds = 3.0
        self.assignments = 0
        self._lock = threading.Lock()

    def _new_iccid(self) -> str:
        body = f"894400000000{len(self.esims) + 1:06d}"  # 18 digits
        return iccid_with_check_digit(body) if self.luhn else body

    def order(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            reference = f"ord-{len(self.orders) + 1:04d}"
            items = []
            for item in body.get("Order", []):
                iccids = list(item.get("iccids") or [])
                if not iccids:
                    iccid = self._new_iccid()
                    self.esims[iccid] = {"iccid": iccid, "matchingId": f"MATCH-{reference}",
                                         "smdpAddress": "rsp.esim-go.example", "bundles": [],
                                         "reference": reference}
                    iccids = [iccid]
                for iccid in iccids:
                    self.assignments += 1
                    self.esims[iccid]["bundles"].append({
                        "id": str(self.assignments), "name": item["item"],
                        "initialQuantity": 1_000_000_000,
                        "remainingQuantity": 1_000_000_000, "assignmentReference": reference,
                        "assignmentDateTime": dt.datetime.now(dt.UTC).isoformat()})
                items.append({"type": "bundle", "item": item["item"], "iccids": iccids,
                              "quantity": 1})
            order = {"orderReference": reference, "status": "completed", "order": items,
                     "createdDate": dt.datetime.now(dt.UTC).isoformat()}
            self.orders.append(order)
            return order


def _handler(fake: FakeEsimGo) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, method: str) -> None:
            url = urlparse(self.path)
            fake.requests.append((method, url.path))
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null") if length else None
            if self.headers.get("X-API-Key") != API_KEY:
                return self._send(401, {"message": "Invalid API key"})
            mode = fake.fail.pop(0) if fake.fail else None
            if mode == "hang":
                time.sleep(fake.hang_seconds)
                return None
            if isinstance(mode, int):
                return self._send(mode, {"message": f"fake error {mode}"})
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            path = url.path.removeprefix("/v2.5")
            if method == "POST" and path == "/orders":
                for item in body.get("Order", []):
                    for iccid in item.get("iccids") or []:
                        if iccid not in fake.esims:
                            return self._send(400, {"message": f"eSIM {iccid} not found"})
                order = fake.order(body)
                if mode == "commit_then_hang":
                    time.sleep(fake.hang_seconds)
                    return None
                return self._send(200, {"orderReference": order["orderReference"],
                                        "status": "completed", "order": order["order"]})
            if method == "GET" and path == "/orders":
                return self._send(200, {"orders": fake.orders})
            if method == "GET" and path == "/esims/assignments":
                found = [{k: e[k] for k in ("iccid", "matchingId", "smdpAddress")}
                         for e in fake.esims.values()
                         if e["reference"] == query.get("reference")]
                return self._send(200, found)
            if method == "GET" and path.startswith("/esims/") and path.endswith("/bundles"):
                esim = fake.esims.get(path.split("/")[2])
                if esim is None:
                    return self._send(404, {"message": "eSIM not found"})
                return self._send(200, {"bundles": [
                    {"name": b["name"], "assignments": [b]} for b in esim["bundles"]]})
            parts = path.split("/")  # "", "esims", iccid, ...
            esim = fake.esims.get(parts[2]) if len(parts) > 2 and parts[1] == "esims" else None
            if method == "POST" and esim is not None and parts[3:] == ["suspend"]:
                esim["suspended"] = bool(body.get("suspend"))
                word = "suspended" if esim["suspended"] else "unsuspended"
                return self._send(201, {"status": f"eSIM {word} successfully"})
            if method == "DELETE" and esim is not None and len(parts) == 7 \
                    and parts[3] == "bundles" and parts[5] == "assignments":
                before = len(esim["bundles"])
                esim["bundles"] = [b for b in esim["bundles"]
                                   if not (b["name"] == parts[4] and b["id"] == parts[6])]
                if len(esim["bundles"]) == before:
                    return self._send(400, {"message": "assignment not found"})
                return self._send(200, {"status": "revoked"})
            return self._send(404, {"message": "no such endpoint"})

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler


@contextmanager
def running(fake: FakeEsimGo) -> Iterator[str]:
    """Serve ``fake`` on 127.0.0.1; yields the API base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v2.5"
    finally:
        server.shutdown()
        server.server_close()
