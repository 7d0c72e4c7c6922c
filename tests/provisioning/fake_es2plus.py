"""A local SM-DP+ speaking the ES2+ JSON binding (SGP.22 v2.5), for the adapter's tests.

A real ``ThreadingHTTPServer`` on 127.0.0.1, plain HTTP or HTTPS with mutual TLS
(``running(tls=Pki(...))``: a CA, a server certificate for 127.0.0.1 and a client
certificate, made with ``cryptography`` for each test). It checks ``X-Admin-Protocol`` and the
header's ids, answers every function with ``header.functionExecutionStatus``, and keeps
profiles in memory with their states (Available -> Allocated -> Confirmed/Released, back to
Available on cancel). Tests queue misbehaviour per function with ``fail_next``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PREFIX = "/gsma/rsp2/es2plus/"


# -- certificates ---------------------------------------------------------------------------


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _key_pem(key: ec.EllipticCurvePrivateKey, passphrase: str = "") -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
        else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             encryption).decode()


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class Issued:
    cert: str
    key: str


class Authority:
    """A CA that issues server and client certificates (PEM text)."""

    def __init__(self, name: str = "Test SM-DP+ CA") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self.cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(days=1))
                     .not_valid_after(now + dt.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                     .sign(self.key, hashes.SHA256()))
        self.pem = _cert_pem(self.cert)

    def issue(self, common: str, *, server: bool, passphrase: str = "",
              names: tuple[str, ...] = ("localhost", "127.0.0.1")) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        builder = (x509.CertificateBuilder().subject_name(_name(common))
                   .issuer_name(self.cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1))
                   .not_valid_after(now + dt.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), True))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address(name)) if name[0].isdigit()
                else x509.DNSName(name) for name in names]), False).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        else:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        cert = builder.sign(self.key, hashes.SHA256())
        return Issued(_cert_pem(cert), _key_pem(key, passphrase))


@dataclass
class Pki:
    """What one mutual-TLS test needs: the SM-DP+'s CA and server certificate, the CA that
    esimdesk's client certificate chains to, and that client certificate."""

    folder: Path
    ca: Authority = field(default_factory=Authority)
    client_ca: Authority = field(default_factory=lambda: Authority("Test operator CA"))
    passphrase: str = ""
    server: Issued = field(init=False)
    client: Issued = field(init=False)

    def __post_init__(self) -> None:
        self.server = self.ca.issue("smdp.test", server=True)
        self.client = self.client_ca.issue("esimdesk-operator", server=False,
                                           passphrase=self.passphrase)

    def write(self, name: str, text: str) -> str:
        path = self.folder / name
        path.write_text(text)
        return str(path)

    def server_context(self, *, maximum: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED
                       ) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.maximum_version = maximum
        context.load_cert_chain(self.write("server.pem", self.server.cert),
                                self.write("server.key", self.server.key))
        context.load_verify_locations(cadata=self.client_ca.pem)
        context.verify_mode = ssl.CERT_REQUIRED
        return context


# -- the SM-DP+ -----------------------------------------------------------------------------


@dataclass
class Profile:
    iccid: str
    state: str = "Available"
    matching_id: str = ""
    eid: str = ""
    confirmation_code: str = ""


@dataclass
class FakeSmdp:
    profiles: dict[str, Profile] = field(default_factory=dict)
    smdp_address: str | None = "smdp.fake.test"
    #: requester ids the SM-DP+ knows (empty: any)
    requesters: tuple[str, ...] = ()
    behaviours: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)
    allocations: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def add(self, *iccids: str) -> None:
        for iccid in iccids:
            self.profiles[iccid] = Profile(iccid)

    def fail_next(self, function: str, kind: str, data: Any = None) -> None:
        """kind: ``failed`` or ``warning`` (data = statusCodeData; ``failed`` with None is a
        Failed without statusCodeData), ``expired``, ``http500``, ``hang`` (no answer, nothing
        done), ``slow`` (done, answered too late), ``drop`` (done, connection closed without
        an answer), ``garbage`` (done, a 200 that is not JSON), ``deep`` (done, JSON nested
        past any parser's limit), ``html`` (a web page, no X-Admin-Protocol), ``nginx400``
        (nginx's page for a missing client certificate), ``bare`` (done, answered without
        X-Admin-Protocol), ``nocontent`` (done, a 204), ``protocol`` (done, answered as
        gsma/rsp/v3.0.0)."""
        self.behaviours.setdefault(function, []).append((kind, data))

    def called(self, function: str) -> int:
        return sum(1 for name, _ in self.calls if name == function)

    def bodies(self, function: str) -> list[dict[str, Any]]:
        return [body for name, body in self.calls if name == function]

    # -- the functions ---------------------------------------------------------------------

    def handle(self, function: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            requester = body["header"]["functionRequesterIdentifier"]
            if self.requesters and requester not in self.requesters:
                return failed("1.1", "1.2", "Function requester not allowed")
            answer: dict[str, Any] = getattr(self, "_" + function)(body)
            return answer

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
        profile.eid = body.get("eid", "")
        self.allocations += 1
        return {**ok(), "iccid": profile.iccid}

    def _confirm_order(self, body: dict[str, Any]) -> dict[str, Any]:
        profile = self.profiles.get(body.get("iccid", ""))
        if profile is None or "releaseFlag" not in body:
            return failed("8.2.1", "3.9", "Unknown ICCID")
        if profile.state != "Allocated":
            return failed("8.2.1", "3.3", f"Profile is {profile.state}")
        if profile.eid and body.get("eid") not in (None, profile.eid):
            return failed("8.1.1", "3.10", "EID does not match")
        profile.matching_id = body.get("matchingId") or secrets.token_hex(8).upper()
        profile.confirmation_code = body.get("confirmationCode", "")
        profile.state = "Released" if body["releaseFlag"] else "Confirmed"
        answer = {**ok(), "matchingId": profile.matching_id}
        if body.get("eid"):
            answer["eid"] = body["eid"]
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

        def _send(self, status: int, raw: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _answer(self, status: int, body: dict[str, Any] | None,
                    protocol: str | None = "gsma/rsp/v2.5.0") -> None:
            headers = {"Content-Type": "application/json"}
            if protocol:
                headers["X-Admin-Protocol"] = protocol
            self._send(status, json.dumps(body).encode() if body is not None else b"", headers)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            smdp.requests.append(dict(self.headers.items()))
            function = self.path.removeprefix(PREFIX)
            if not self.path.startswith(PREFIX) or function not in _FUNCTIONS:
                self._send(404, b"<html>Not Found</html>", {"Content-Type": "text/html"})
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
            kind, data = queued.pop(0) if queued else ("", None)
            if kind == "hang":
                smdp.stop.wait(5)  # longer than the client's timeout; nothing happens
                return
            if kind == "http500":
                self._answer(500, None)
                return
            if kind == "html":
                self._send(200, b"<html>Welcome</html>", {"Content-Type": "text/html"})
                return
            if kind == "nginx400":  # a front that wants a client certificate, as nginx says it
                self._send(400, b"<html><center>No required SSL certificate was sent</center>"
                                b"</html>", {"Content-Type": "text/html"})
                return
            if kind == "expired":
                self._answer(200, {"header": {"functionExecutionStatus": {"status": "Expired"}}})
                return
            if kind == "failed":
                status: dict[str, Any] = {"status": "Failed"}
                if data is not None:
                    status["statusCodeData"] = data
                self._answer(200, {"header": {"functionExecutionStatus": status}})
                return
            answer = smdp.handle(_FUNCTIONS[function], body)
            if kind == "warning":
                answer["header"]["functionExecutionStatus"] = {
                    "status": "Executed-WithWarning", "statusCodeData": data}
            if kind == "slow":
                smdp.stop.wait(5)  # done upstream; the answer comes after the client gave up
                return
            if kind == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if kind in ("garbage", "deep"):
                raw = b"{\"header\": {\"functionExec" if kind == "garbage" else \
                    b"[" * 100_000 + b"]" * 100_000
                self._send(200, raw, {"Content-Type": "application/json",
                                      "X-Admin-Protocol": "gsma/rsp/v2.5.0"})
                return
            if kind == "nocontent":
                self._answer(204, None)
                return
            protocol = {"bare": None, "protocol": "gsma/rsp/v3.0.0"}.get(kind, "gsma/rsp/v2.5.0")
            self._answer(200, answer, protocol=protocol)

    return Handler


@contextmanager
def running(tls: Pki | None = None, *,
            maximum: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED) -> Iterator[FakeSmdp]:
    smdp = FakeSmdp()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(smdp))
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.server_context(maximum=maximum).wrap_socket(server.socket,
                                                                        server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    scheme = "https" if tls is not None else "http"
    smdp.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    try:
        yield smdp
    finally:
        smdp.stop.set()
        server.shutdown()
        server.server_close()
