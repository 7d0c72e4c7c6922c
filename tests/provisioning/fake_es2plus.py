"""A local SM-DP+ speaking the ES2+ JSON binding (SGP.22 v2.5), for the adapter's tests.

A real ``ThreadingHTTPServer`` on 127.0.0.1. It checks ``X-Admin-Protocol``, answers every
function with ``header.functionExecutionStatus``, and keeps profiles in memory with their
states (Available -> Allocated -> Confirmed/Released, back to Available on cancel). Tests
queue misbehaviour per function with ``fail_next``: ``Failed`` with statusCodeData,
``Expired``, HTTP 500, a hang (the client times out) or a wrong protocol header.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/gsma/rsp2/es2plus/"


@dataclass
class Profile:
    iccid: str
    state: str = "Available"
    matching_id: str = ""


@dataclass
class FakeSmdp:
    profiles: dict[str, Profile] = field(default_factory=dict)
    smdp_address: str | None = "smdp.fake.test"
    behaviours: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    allocations: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def add(self, *iccids: str) -> None:
        for iccid in iccids:
            self.profiles[iccid] = Profile(iccid)

    def fail_next(self, function: str, kind: str, data: Any = None) -> None:
        """kind: failed or warning (data = statusCodeData), expired, http500, hang, protocol."""
        self.behaviours.setdefault(function, []).append((kind, data))

    def called(self, function: str) -> int:
        return sum(1 for name, _ in self.calls if name == function)

    # -- the functions ---------------------------------------------------------------------

    def handle(self, function: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return getattr(self, "_" + function)(body)

    def _download_order(self, body: dict[str, Any]) -> dict[str, Any]:
        iccid = body.get("iccid")
        if iccid:
            profile = self.profiles.get(iccid)
            if profile is None:
                return failed("8.2.1", "3.9", "Unknown ICCID")
            if profile.state != "Available":
                return failed("8.2.1", "3.3", "Profile not available")
        else:
            profile = next((p for p in self.profiles.values() if p.state == "Available"), None)
            if profile is None:
                return failed("8.2.5", "3.7", "No profile available")
        profile.state = "Allocated"
        self.allocations += 1
        return {**ok(), "iccid": profile.iccid}

    def _confirm_order(self, body: dict[str, Any]) -> dict[str, Any]:
        profile = self.profiles.get(body.get("iccid", ""))
        if profile is None or "releaseFlag" not in body:
            return failed("8.2.1", "3.9", "Unknown ICCID")
        if profile.state != "Allocated":
            return failed("8.2.1", "3.3", f"Profile is {profile.state}")
        profile.matching_id = body.get("matchingId") or secrets.token_hex(8).upper()
        profile.state = "Released" if body["releaseFlag"] else "Confirmed"
        answer = {**ok(), "matchingId": profile.matching_id}
        if self.smdp_address:
            answer["smdpAddress"] = self.smdp_address
        return answer

    def _cancel_order(self, body: dict[str, Any]) -> dict[str, Any]:
        profile = self.profiles.get(body.get("iccid", ""))
        if profile is None or "finalProfileStatusIndicator" not in body:
            return failed("8.2.1", "3.9", "Unknown ICCID")
        profile.state = body["finalProfileStatusIndicator"]
        profile.matching_id = ""
        return ok()

    def _release_profile(self, body: dict[str, Any]) -> dict[str, Any]:
        profile = self.profiles.get(body.get("iccid", ""))
        if profile is None:
            return failed("8.2.1", "3.9", "Unknown ICCID")
        if profile.state != "Confirmed":
            return failed("8.2.1", "3.3", f"Profile is {profile.state}")
        profile.state = "Released"
        return ok()


def ok() -> dict[str, Any]:
    return {"header": {"functionExecutionStatus": {"status": "Executed-Success"}}}


def failed(subject: str, reason: str, message: str) -> dict[str, Any]:
    return {"header": {"functionExecutionStatus": {
        "status": "Failed",
        "statusCodeData": {"subjectCode": subject, "reasonCode": reason, "message": message}}}}


_FUNCTIONS = {"downloadOrder": "download_order", "confirmOrder": "confirm_order",
              "cancelOrder": "cancel_order", "releaseProfile": "release_profile"}


def _handler(smdp: FakeSmdp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any] | None,
                    protocol: str = "gsma/rsp/v2.5.0") -> None:
            raw = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("X-Admin-Protocol", protocol)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            function = self.path.removeprefix(PREFIX)
            if not self.path.startswith(PREFIX) or function not in _FUNCTIONS:
                self._answer(404, None)
                return
            if not (self.headers.get("X-Admin-Protocol", "")).startswith("gsma/rsp/v2."):
                self._answer(400, failed("1.2", "2.1", "Unsupported protocol"))
                return
            try:
                body = json.loads(raw)
                header = body["header"]
                assert header["functionRequesterIdentifier"] and header["functionCallIdentifier"]
            except (ValueError, KeyError, AssertionError, TypeError):
                self._answer(400, failed("1.2", "2.2", "Mandatory element missing"))
                return
            smdp.calls.append((function, body))
            queued = smdp.behaviours.get(function) or []
            if queued:
                kind, data = queued.pop(0)
                if kind == "hang":
                    smdp.stop.wait(5)  # longer than the client's timeout; nothing happens
                    return
                if kind == "http500":
                    self._answer(500, None)
                    return
                if kind == "expired":
                    self._answer(200, {"header": {"functionExecutionStatus": {
                        "status": "Expired"}}})
                    return
                if kind == "failed":
                    self._answer(200, {"header": {"functionExecutionStatus": {
                        "status": "Failed", "statusCodeData": data}}})
                    return
                if kind == "warning":
                    answer = smdp.handle(_FUNCTIONS[function], body)
                    answer["header"]["functionExecutionStatus"] = {
                        "status": "Executed-WithWarning", "statusCodeData": data}
                    self._answer(200, answer)
                    return
                if kind == "protocol":
                    self._answer(200, smdp.handle(_FUNCTIONS[function], body),
                                 protocol="gsma/rsp/v3.0.0")
                    return
            self._answer(200, smdp.handle(_FUNCTIONS[function], body))

    return Handler


@contextmanager
def running() -> Iterator[FakeSmdp]:
    smdp = FakeSmdp()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(smdp))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    smdp.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield smdp
    finally:
        smdp.stop.set()
        server.shutdown()
        server.server_close()
