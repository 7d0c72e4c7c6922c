"""A local stand-in for eSIM Go API v2.5: catalogue, orders, assignments, bundles,
suspension and the organisation, in memory, on eSIM Go's wire format.

``fail`` queues what the next requests get instead of a normal answer:

- an HTTP status (500, 503, 429, 400, 403): eSIM Go's ``{"message": ...}`` body (a 429
  or 503 with ``Retry-After: <retry_after>`` when ``retry_after`` is set);
- ``"hang"``: no answer before the client's timeout;
- ``"garbage"``: 200 with an HTML page (a proxy's), ``"html404"``: a web server's 404 page;
- ``"redirect"``: 301 to the https:// URL;
- ``"commit_then_hang"`` / ``"commit_then_garbage"`` / ``"commit_then_500"`` /
  ``"commit_then_noref"``: the order is created, then the answer is lost, unreadable, an
  error, or lacks ``orderReference`` (the outcome-unknown cases idempotency must survive);
- ``"ok"``: the normal answer (to fail a later request in the queue).

An uninstalled eSIM whose last bundle is revoked goes back to eSIM Go, as the real one
does: the account gets 403 for it from then on. Bundle names outside ``catalogue`` are
refused on ordering (400) and unknown to ``GET /catalogue/bundle/{name}`` (404).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from esimdesk.core.ids import iccid_with_check_digit

API_KEY = "test-esimgo-key"
HTML = b"<html><head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>"


class FakeEsimGo:
    def __init__(self, *, luhn: bool = True) -> None:
        self.luhn = luhn
        self.catalogue: set[str] | None = None  # None: every esim_* name exists
        self.orders: list[dict[str, Any]] = []
        self.esims: dict[str, dict[str, Any]] = {}  # iccid -> eSIM with its bundles
        self.fail: list[int | str] = []
        self.requests: list[tuple[str, str]] = []
        self.bodies: list[Any] = []  # POST /orders bodies as sent
        self.deletes: list[tuple[str, dict[str, str]]] = []  # path, query
        self.include_esims = True  # small orders carry the install data in the answer
        self.pending_assignments = 0  # that many assignment reads answer "none yet"
        self.refund_refused = False
        self.hang_seconds = 3.0
        self.retry_after = ""  # sent as Retry-After with a queued 429 or 503, when set
        self.release = threading.Event()
        self.assignments = 0
        self._lock = threading.Lock()

    def known(self, bundle: str) -> bool:
        return bundle.startswith("esim_") if self.catalogue is None else bundle in self.catalogue

    def _new_iccid(self) -> str:
        body = f"894400000000{len(self.esims) + 1:06d}"  # 18 digits
        return iccid_with_check_digit(body) if self.luhn else body

    def order(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            reference = f"ord-{len(self.orders) + 1:04d}"
            items = []
            for item in body.get("order", []):
                iccids = list(item.get("iccids") or [])
                if not iccids:
                    iccid = self._new_iccid()
                    self.esims[iccid] = {"iccid": iccid, "matchingId": f"MATCH-{reference}",
                                         "smdpAddress": "rsp.esim-go.example", "bundles": [],
                                         "reference": reference, "installed": False,
                                         "returned": False, "suspended": False}
                    iccids = [iccid]
                for iccid in iccids:
                    self.assignments += 1
                    self.esims[iccid]["bundles"].append({
                        "id": str(self.assignments), "name": item["item"],
                        "initialQuantity": 1_000_000_000, "bundleState": "queued",
                        "remainingQuantity": 1_000_000_000, "assignmentReference": reference,
                        "assignmentDateTime": dt.datetime.now(dt.UTC).isoformat()})
                items.append({"type": "bundle", "item": item["item"], "iccids": iccids,
                              "quantity": 1})
            order = {"orderReference": reference, "status": "completed", "order": items,
                     "createdDate": dt.datetime.now(dt.UTC).isoformat()}
            self.orders.append(order)
            return order

    def answer_for(self, order: dict[str, Any]) -> dict[str, Any]:
        lines = []
        for item in order["order"]:
            line = dict(item)
            if self.include_esims and item["iccids"][0] in self.esims \
                    and self.esims[item["iccids"][0]]["reference"] == order["orderReference"]:
                line["esims"] = [{k: self.esims[i][k] for k in ("iccid", "matchingId",
                                                                  "smdpAddress")}
                                 for i in item["iccids"]]
            lines.append(line)
        return {"orderReference": order["orderReference"], "status": "completed",
                "statusMessage": "Order completed", "order": lines, "total": 1.5,
                "currency": "GBP"}


def _handler(fake: FakeEsimGo) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _raw(self, status: int, data: bytes, kind: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _send(self, status: int, body: Any) -> None:
            self._raw(status, json.dumps(body).encode(), "application/json")

        def _lost(self, mode: str) -> None:
            if mode.endswith("hang"):
                fake.release.wait(fake.hang_seconds)
            elif mode.endswith("garbage"):
                self._raw(200, HTML, "text/html")
            elif mode.endswith("500"):
                self._send(500, {"message": "Internal Server Error"})

        def _serve(self, method: str) -> None:
            url = urlparse(self.path)
            fake.requests.append((method, url.path))
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null") if length else None
            if self.headers.get("X-API-Key") != API_KEY:
                return self._send(401, {"message": "Invalid API key"})
            mode = fake.fail.pop(0) if fake.fail else None
            if mode in ("hang", "garbage"):
                return self._lost(str(mode))
            if mode == "html404":
                return self._raw(404, b"<html><body><h1>Not Found</h1></body></html>",
                                 "text/html")
            if mode == "redirect":
                return self._raw(301, b"", "text/plain",
                                 Location=f"https://api.esim-go.example{url.path}")
            if isinstance(mode, int):
                wait = {"Retry-After": fake.retry_after} if fake.retry_after and \
                    mode in (429, 503) else {}
                return self._raw(mode, json.dumps({"message": f"fake error {mode}"}).encode(),
                                 "application/json", **wait)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            path = url.path.removeprefix("/v2.5")
            parts = [unquote(p) for p in path.split("/")]  # "", "esims", iccid, ...
            if method == "GET" and path == "/organisation":
                return self._send(200, {"organisations": [{
                    "name": "Fake Travel Ltd", "balance": 1234.5, "currency": "GBP",
                    "apiKey": API_KEY}]})
            if method == "GET" and parts[1:3] == ["catalogue", "bundle"] and len(parts) == 4:
                if not fake.known(parts[3]):
                    return self._send(404, {"message": "Bundle not found"})
                return self._send(200, {"name": parts[3], "dataAmount": 1000})
            if method == "POST" and path == "/orders":
                fake.bodies.append(body)
                for item in body.get("order", []):
                    if not fake.known(str(item.get("item"))):
                        return self._send(400, {"message": "Invalid item in order"})
                    for iccid in item.get("iccids") or []:
                        if iccid not in fake.esims or fake.esims[iccid]["returned"]:
                            return self._send(400, {"message": f"eSIM {iccid} not found"})
                order = fake.order(body)
                if isinstance(mode, str) and mode.startswith("commit_then_"):
                    if mode == "commit_then_noref":
                        return self._send(200, {"status": "completed", "order": []})
                    return self._lost(mode)
                return self._send(200, fake.answer_for(order))
            if method == "GET" and path == "/orders":
                since = query.get("createdAt", "gte:").removeprefix("gte:")
                found = [o for o in fake.orders if o["createdDate"] >= since[:19]]
                size, page = int(query.get("limit", "10")), int(query.get("page", "1"))
                pages = max(1, -(-len(found) // size))
                return self._send(200, {"orders": found[(page - 1) * size: page * size],
                                        "pageCount": pages, "rows": len(found)})
            if method == "GET" and path == "/esims/assignments":
                if fake.pending_assignments:
                    fake.pending_assignments -= 1
                    return self._send(200, [])
                found = [{k: e[k] for k in ("iccid", "matchingId", "smdpAddress")}
                         for e in fake.esims.values()
                         if e["reference"] == query.get("reference")]
                return self._send(200, found)
            esim = fake.esims.get(parts[2]) if len(parts) > 2 and parts[1] == "esims" else None
            if esim is not None and esim["returned"]:
                return self._send(403, {"message": "eSIM not accessible by the user"})
            if method == "GET" and esim is not None and parts[3:] == ["bundles"]:
                return self._send(200, {"bundles": [
                    {"name": b["name"], "assignments": [b]} for b in esim["bundles"]]})
            if method == "POST" and esim is not None and parts[3:] == ["suspend"]:
                esim["suspended"] = bool(body.get("suspend"))
                word = "suspended" if esim["suspended"] else "unsuspended"
                return self._send(201, {"status": f"eSIM {word} successfully"})
            if method == "DELETE" and esim is not None and len(parts) == 7 \
                    and parts[3] == "bundles" and parts[5] == "assignments":
                fake.deletes.append((path, query))
                if fake.refund_refused and query.get("refundToBalance") == "true":
                    return self._send(400, {"message": "Bundle not eligible for refund"})
                before = len(esim["bundles"])
                esim["bundles"] = [b for b in esim["bundles"]
                                   if not (b["name"] == parts[4] and b["id"] == parts[6])]
                if len(esim["bundles"]) == before:
                    return self._send(400, {"message": "assignment not found"})
                if not esim["bundles"] and not esim["installed"]:
                    esim["returned"] = True  # eSIM Go's returns process
                return self._send(200, {"status": "revoked"})
            if esim is None and len(parts) > 2 and parts[1] == "esims":
                return self._send(404, {"message": "eSIM not found"})
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
        fake.release.set()  # let hanging answers end
        server.shutdown()
        server.server_close()
