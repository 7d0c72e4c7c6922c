"""A local fake of Twilio's Messages API, speaking its documented wire format.

A real HTTP server on 127.0.0.1 answering
``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``:

- HTTP basic auth ``AccountSid:AuthToken`` is checked first (401, error 20003);
- the account in the path must be the one authenticated (404, error 20404);
- the form body needs ``To`` (21604), ``Body`` (21602) and ``From`` or
  ``MessagingServiceSid`` (21603); ``To`` must be E.164 (21211), ``From`` one of the
  account's numbers (21606) and ``MessagingServiceSid`` one of its services (21705);
- a good request answers 201 with the message resource (``sid`` "SM…", ``status`` "queued").

Errors are Twilio's ``{"code", "message", "more_info", "status"}``. Tests can make the next
answers fail (``fail_next``: a 429 or 5xx, or any error) or stall (``stall_next``, for
timeouts). Written from Twilio's API reference, independent of the adapter.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from esimdesk import config

ACCOUNT_SID = "AC" + "1f" * 16
AUTH_TOKEN = "a" * 8 + secrets.token_hex(12)
FROM_NUMBER = "+15005550006"
SERVICE_SID = "MG" + "2e" * 16
PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | str
    delay: float = 0.0


@dataclass
class TwilioFake:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    numbers: tuple[str, ...] = (FROM_NUMBER,)
    services: tuple[str, ...] = (SERVICE_SID,)
    messages: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    _queued: list[Answer] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> TwilioFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                status, body, delay = fake.handle(self.path, dict(self.headers), raw)
                if delay:
                    time.sleep(delay)
                data = (json.dumps(body) if isinstance(body, dict) else body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json" if isinstance(
                        body, dict) else "text/html")
                    if status == 401:
                        self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- test controls ---------------------------------------------------------------------

    def fail_next(self, status: int, code: int | None = None, message: str = "",
                  times: int = 1) -> None:
        """Answer the next ``times`` requests with this error (HTML for a bare 5xx, as a
        load balancer in front of Twilio would send)."""
        body: dict[str, Any] | str = (twilio_error(status, code, message) if code
                                      else "<html><body>Service Unavailable</body></html>")
        with self._lock:
            self._queued.extend(Answer(status, body) for _ in range(times))

    def stall_next(self, seconds: float) -> None:
        """Wait ``seconds`` before answering the next request (it still succeeds)."""
        with self._lock:
            self._queued.append(Answer(0, "", delay=seconds))

    # -- the API ---------------------------------------------------------------------------

    def handle(self, path: str, headers: dict[str, str],
               raw: str) -> tuple[int, dict[str, Any] | str, float]:
        form = {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}
        authorized = self._authorized(headers.get("Authorization", ""))
        with self._lock:
            self.requests.append({"path": path, "form": form, "authorized": authorized,
                                  "content_type": headers.get("Content-Type", "")})
            queued = self._queued.pop(0) if self._queued else None
        delay = 0.0
        if queued is not None:
            if queued.status:
                return queued.status, queued.body, 0.0
            delay = queued.delay
        if not authorized:
            return 401, twilio_error(401, 20003, "Authenticate"), delay
        match = PATH.match(path.split("?")[0])
        if match is None or match["sid"] != self.account_sid:
            return 404, twilio_error(404, 20404, f"The requested resource {path} was not "
                                                 "found"), delay
        status, body = self._create(form)
        return status, body, delay

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(f"{user}:{password}",
                                      f"{self.account_sid}:{self.auth_token}")

    def _create(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        to, body = form.get("To", ""), form.get("Body", "")
        sender, service = form.get("From", ""), form.get("MessagingServiceSid", "")
        if not to:
            return 400, twilio_error(400, 21604, "A 'To' phone number is required.")
        if not body:
            return 400, twilio_error(400, 21602, "Message body is required.")
        if not sender and not service:
            return 400, twilio_error(400, 21603, "A 'From' phone number is required.")
        if not E164.match(to):
            return 400, twilio_error(400, 21211,
                                     f"Invalid 'To' Phone Number: {to}")
        if sender and sender not in self.numbers:
            return 400, twilio_error(400, 21606, f"The From phone number {sender} is not a "
                                                 "valid, SMS-capable inbound phone number or "
                                                 "short code for your account.")
        if service and service not in self.services:
            return 400, twilio_error(400, 21705, "The Messaging Service Sid is invalid.")
        sid = f"SM{next(self._ids):032x}"
        now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        message = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": body,
            "date_created": now, "date_sent": None, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": sender or None, "messaging_service_sid": service or None,
            "num_media": "0", "num_segments": str(1 + len(body) // 160), "price": None,
            "price_unit": "USD", "sid": sid, "status": "accepted" if service else "queued",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "to": to, "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        with self._lock:
            self.messages.append(message)
        return 201, message


@pytest.fixture
def twilio_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[TwilioFake]:
    """A running fake, with the ESIMDESK_TWILIO_* variables pointing at it."""
    fake = TwilioFake().start()
    config.set_console_lookup(None)
    monkeypatch.setenv("ESIMDESK_TWILIO_API_BASE", fake.api_base)
    monkeypatch.setenv("ESIMDESK_TWILIO_ACCOUNT_SID", fake.account_sid)
    monkeypatch.setenv("ESIMDESK_TWILIO_AUTH_TOKEN", fake.auth_token)
    monkeypatch.setenv("ESIMDESK_TWILIO_FROM", FROM_NUMBER)
    try:
        yield fake
    finally:
        fake.stop()
