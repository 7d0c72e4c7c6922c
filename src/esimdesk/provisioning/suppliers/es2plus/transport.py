"""ES2+ on the wire (SGP.22 v2.5 JSON binding): one HTTPS POST per function, and what its
answer means.

``Transport.call`` sends ``<URL>/gsma/rsp2/es2plus/<function>`` with
``X-Admin-Protocol: gsma/rsp/v2.5.0`` and a fresh ``functionCallIdentifier`` per call (never
reused on a retry: other implementations treat a repeated id as a replay or refuse it, so
esimdesk's idempotency lives in ``Es2Order``, not in the id). It answers the body of an
``Executed-Success``/``Executed-WithWarning`` answer, or raises:

- ``FinalUpstreamError`` for an answer that will not change: ``Failed`` (code
  ``es2_<subjectCode>_<reasonCode>``, or ``es2_failed`` without ``statusCodeData``),
  ``Expired``, a 4xx, an answer that is definitely not ES2+ (``es2_protocol``), a TLS
  verification failure (``es2_tls``) and every configuration error (``es2_misconfigured``:
  an unreadable CA, a key whose passphrase does not fit...), never a bare OSError/SSLError;
- ``RetryableUpstreamError`` for a passing failure. When the request may have reached the
  SM-DP+ and done something whose answer was lost (a read timeout, the connection dropped
  after sending, a garbled answer, most 5xx) it is an ``OutcomeUnknown``, so callers that
  allocate (``downloadOrder``) can record what might be allocated.

TLS: one ``ssl.SSLContext`` per transport (minimum version, the CA to trust, the client
certificate with its key and passphrase), mounted on a ``requests`` session through an
``HTTPAdapter``. Certificate, key and CA options take a file path or the PEM text itself
(pasted into the console's encrypted settings): PEM text is written once to a 0600 file
under ``<data dir>/es2plus/`` named by its hash, since ``ssl`` loads certificates from files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from requests.adapters import HTTPAdapter

from esimdesk import config
from esimdesk.provisioning.suppliers.base import (
    FinalUpstreamError,
    RetryableUpstreamError,
    UpstreamError,
)

logger = logging.getLogger(__name__)

PROTOCOL = "gsma/rsp/v2.5.0"
ACCEPTED_PROTOCOL = re.compile(r"^gsma/rsp/v2(\.\d+)*$")
PATH = "/gsma/rsp2/es2plus/"
STATUSES = ("Executed-Success", "Executed-WithWarning", "Failed", "Expired")
# reasonCodes after which the same request may succeed later. SGP.22 reason 4.2 is
# "Execution Error" (an SM-DP+-internal failure, not a verdict on the request); everything
# else (unknown/invalid/not allowed/refused...) fails the same way again.
RETRYABLE_REASON_CODES = frozenset({"4.2"})
# HTTP statuses that say the request was not processed (try again later, nothing done).
_NOT_PROCESSED = frozenset({408, 429, 503})
TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


class OutcomeUnknown(RetryableUpstreamError):
    """The request may have been carried out upstream; its answer is lost or unreadable."""


def misconfigured(message: str) -> FinalUpstreamError:
    return FinalUpstreamError(message, code="es2_misconfigured")


def new_call_id() -> str:
    """A fresh ``functionCallIdentifier``: unique per call, retries included."""
    return f"esd-{uuid.uuid4().hex}"


def pem_file(option: str, value: str) -> str:
    """The path for an option holding a file path or PEM text ('' when unset).

    PEM text (``\\n`` escapes allowed, as environment files write it) is written once to
    ``<data dir>/es2plus/<sha256>.pem``, readable by esimdesk's user only."""
    value = value.strip()
    if not value:
        return ""
    if not value.startswith("-----BEGIN"):
        try:
            readable = Path(value).is_file()
        except OSError:  # e.g. a name too long: text that is not PEM
            readable = False
        if not readable:
            raise misconfigured(f"{option}: {value} is not a readable file (give a path or the "
                                "PEM text itself)")
        return value
    text = value.replace("\\n", "\n") + "\n"
    folder = config.data_dir() / "es2plus"
    path = folder / f"{hashlib.sha256(text.encode()).hexdigest()}.pem"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        if not path.is_file():
            # Written under another name, then renamed: a reader never sees half a key.
            partial = folder / f".{path.name}.{uuid.uuid4().hex}"
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)
            partial.replace(path)
    except OSError as error:
        raise misconfigured(f"{option}: cannot write its PEM text to {folder}: "
                            f"{error.strerror or error}") from error
    return str(path)


@dataclass(frozen=True)
class TlsSettings:
    """What the TLS handshake uses; each field as the option gives it (path or PEM text)."""

    ca: str = ""
    client_cert: str = ""
    client_key: str = ""
    passphrase: str = ""
    min_version: str = "1.2"

    @classmethod
    def from_config(cls) -> TlsSettings:
        return cls(ca=config.env("ESIMDESK_ES2PLUS_CA"),
                   client_cert=config.env("ESIMDESK_ES2PLUS_CLIENT_CERT"),
                   client_key=config.env("ESIMDESK_ES2PLUS_CLIENT_KEY"),
                   passphrase=config.env("ESIMDESK_ES2PLUS_CLIENT_KEY_PASSPHRASE"),
                   min_version=config.env("ESIMDESK_ES2PLUS_TLS_MIN_VERSION").strip() or "1.2")

    def context(self) -> ssl.SSLContext:
        """The client context, or ``es2_misconfigured`` saying which option is wrong."""
        version = TLS_VERSIONS.get(self.min_version.removeprefix("TLSv"))
        if version is None:
            raise misconfigured(f"ESIMDESK_ES2PLUS_TLS_MIN_VERSION must be 1.2 or 1.3, not "
                                f"{self.min_version!r}")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificate and host
        context.minimum_version = version
        ca = pem_file("ESIMDESK_ES2PLUS_CA", self.ca)
        if ca:
            # Only the configured CA: the system store would also trust every public CA.
            _loads("ESIMDESK_ES2PLUS_CA", ca, lambda: context.load_verify_locations(cafile=ca))
        else:
            context.load_default_certs()
        cert = pem_file("ESIMDESK_ES2PLUS_CLIENT_CERT", self.client_cert)
        key = pem_file("ESIMDESK_ES2PLUS_CLIENT_KEY", self.client_key)
        if key and not cert:
            raise misconfigured("ESIMDESK_ES2PLUS_CLIENT_KEY is set without "
                                "ESIMDESK_ES2PLUS_CLIENT_CERT")
        if key:
            _check_key(key, self.passphrase)
        if cert:
            _loads("ESIMDESK_ES2PLUS_CLIENT_CERT", cert, lambda: context.load_cert_chain(
                cert, keyfile=key or None, password=self.passphrase.encode() or None))
        return context


def _check_key(path: str, passphrase: str) -> None:
    """The key opens with the passphrase given (``ssl`` would only say "PEM lib")."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise misconfigured(f"ESIMDESK_ES2PLUS_CLIENT_KEY: cannot read {path}: "
                            f"{error.strerror or error}") from error
    try:
        serialization.load_pem_private_key(data, password=passphrase.encode() or None)
    except TypeError as error:  # a passphrase for a plain key, or none for an encrypted one
        needed = "needs" if not passphrase else "does not need"
        raise misconfigured(f"ESIMDESK_ES2PLUS_CLIENT_KEY {needed} a passphrase "
                            "(ESIMDESK_ES2PLUS_CLIENT_KEY_PASSPHRASE)") from error
    except ValueError as error:
        reason = ("the key cannot be decrypted: check ESIMDESK_ES2PLUS_CLIENT_KEY_PASSPHRASE"
                  if passphrase else "not a PEM private key")
        raise misconfigured(f"ESIMDESK_ES2PLUS_CLIENT_KEY: {reason}") from error


def _loads(option: str, path: str, load: Any) -> None:
    """Run ``load``; a file ``ssl`` cannot use becomes ``es2_misconfigured``."""
    try:
        load()
    except ssl.SSLError as error:
        reason = str(error.reason or error)
        if "KEY_VALUES_MISMATCH" in str(error):
            reason = "the key does not belong to the certificate"
        elif "PEM" in str(error) or "NO_CERTIFICATE" in str(error):
            reason = "not a PEM certificate"
        raise misconfigured(f"{option}: {reason}") from error
    except (OSError, ValueError) as error:
        raise misconfigured(f"{option}: cannot read {path}: "
                            f"{getattr(error, 'strerror', None) or error}") from error


class _TlsAdapter(HTTPAdapter):
    """Every connection through ``context``; ``requests`` adds no CA of its own to it."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # Through an egress proxy (HTTPS_PROXY) too: the tunnelled connection is ours.
        proxy_kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if url.lower().startswith("https"):
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = conn.ca_cert_dir = None


def _tls_problem(error: BaseException) -> str:
    """What a TLS failure says in one line, or '' when it is not a verdict on certificates."""
    text = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        detail = text.split("certificate verify failed:", 1)[-1].split("(_ssl")[0].strip(" )")
        return ("the SM-DP+'s certificate is not trusted (" + (detail or "verify failed")
                + "): check ESIMDESK_ES2PLUS_CA and the URL's host name")
    for alert, meaning in (("CERTIFICATE_REQUIRED", "the SM-DP+ asks for a client certificate: "
                            "set ESIMDESK_ES2PLUS_CLIENT_CERT and _KEY"),
                           ("UNKNOWN_CA", "the SM-DP+ does not trust esimdesk's client "
                            "certificate (unknown CA)"),
                           ("BAD_CERTIFICATE", "the SM-DP+ refused esimdesk's client "
                            "certificate"),
                           ("CERTIFICATE_UNKNOWN", "the SM-DP+ refused esimdesk's client "
                            "certificate"),
                           ("UNSUPPORTED_PROTOCOL", "no TLS version in common: check "
                            "ESIMDESK_ES2PLUS_TLS_MIN_VERSION"),
                           ("PROTOCOL_VERSION", "no TLS version in common: check "
                            "ESIMDESK_ES2PLUS_TLS_MIN_VERSION"),
                           ("WRONG_VERSION_NUMBER", "the server does not speak TLS on this "
                            "port: check the URL's scheme and port")):
        if alert in text.upper():
            return meaning
    return ""


@dataclass(frozen=True)
class Reply:
    """An executed ES2+ function: its answer body and the id it was called with."""

    body: dict[str, Any]
    call_id: str


class Transport:
    """Calls ES2+ functions at one SM-DP+ (see the module docstring)."""

    def __init__(self, *, url: str, requester_id: str, timeout: float,
                 tls: TlsSettings) -> None:
        self.url, self.requester_id, self.timeout, self.tls = url, requester_id, timeout, tls
        self._session: requests.Session | None = None

    def check_url(self) -> None:
        """``es2_misconfigured`` when the URL cannot be an SM-DP+ base URL."""
        parts = urlsplit(self.url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise misconfigured("ESIMDESK_ES2PLUS_URL must be an http(s) URL, e.g. "
                                "https://smdp.example.com")
        if parts.path.rstrip("/").endswith(PATH.rstrip("/")):
            raise misconfigured("ESIMDESK_ES2PLUS_URL must be the SM-DP+'s base URL, without "
                                f"{PATH.rstrip('/')} (esimdesk adds it)")

    def session(self) -> requests.Session:
        if self._session is None:
            self.check_url()
            # HTTPS_PROXY / NO_PROXY are honoured; a CA bundle from the environment is not
            # (``_TlsAdapter.cert_verify``): only ESIMDESK_ES2PLUS_CA, or the system store.
            session = requests.Session()
            session.mount("https://", _TlsAdapter(self.tls.context()))
            self._session = session
        return self._session

    def call(self, function: str, body: dict[str, Any]) -> Reply:
        """POST one function with a fresh call id; the executed answer or a typed error
        (which carries the id as ``call_id``, for the records of unknown outcomes)."""
        session = self.session()
        call_id = new_call_id()
        try:
            return Reply(self._post(session, function, body, call_id), call_id)
        except UpstreamError as error:
            error.call_id = call_id  # type: ignore[attr-defined]
            raise

    def _post(self, session: requests.Session, function: str, body: dict[str, Any],
              call_id: str) -> dict[str, Any]:
        payload = {"header": {"functionRequesterIdentifier": self.requester_id,
                              "functionCallIdentifier": call_id}, **body}
        try:
            response = session.post(
                self.url + PATH + function, data=json.dumps(payload), timeout=self.timeout,
                headers={"Content-Type": "application/json", "Accept": "application/json",
                         "X-Admin-Protocol": PROTOCOL})
        except requests.exceptions.SSLError as error:
            problem = _tls_problem(error)
            if problem:
                raise FinalUpstreamError(f"ES2+ {function}: TLS: {problem}",
                                         code="es2_tls") from error
            if "EOF" in str(error):
                # The SM-DP+ hung up in the handshake: no request of ours was processed.
                raise RetryableUpstreamError(
                    f"ES2+ {function}: the SM-DP+ closed the TLS connection during the "
                    "handshake: it may refuse esimdesk's client certificate "
                    "(ESIMDESK_ES2PLUS_CLIENT_CERT/KEY) or the CA that issued it",
                    code="es2_tls_closed") from error
            raise RetryableUpstreamError(f"ES2+ {function}: TLS failed: {error}",
                                         code="es2_connection") from error
        except requests.exceptions.ConnectTimeout as error:
            raise RetryableUpstreamError(f"ES2+ {function}: no connection within "
                                         f"{self.timeout:g} s", code="es2_timeout") from error
        except requests.Timeout as error:
            raise OutcomeUnknown(f"ES2+ {function}: no answer within {self.timeout:g} s",
                                 code="es2_timeout") from error
        except requests.ConnectionError as error:
            if _never_sent(error):
                raise RetryableUpstreamError(f"ES2+ {function}: cannot connect: {error}",
                                             code="es2_connection") from error
            raise OutcomeUnknown(f"ES2+ {function}: the connection dropped: {error}",
                                 code="es2_connection_lost") from error
        except requests.RequestException as error:
            raise OutcomeUnknown(f"ES2+ {function} failed: {error}",
                                 code="es2_connection_lost") from error
        return interpret(function, response, url=self.url)


def _never_sent(error: requests.ConnectionError) -> bool:
    """Whether the connection failed before the request went out (refused, DNS...)."""
    text = repr(error)
    return any(sign in text for sign in ("NewConnectionError", "NameResolutionError",
                                         "Failed to establish", "Connection refused"))


def interpret(function: str, response: requests.Response, *, url: str) -> dict[str, Any]:
    """The answer body of an executed function, or the typed error its answer means."""
    status = response.status_code
    protocol = response.headers.get("X-Admin-Protocol", "").strip()
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if protocol and not ACCEPTED_PROTOCOL.match(protocol):
        raise FinalUpstreamError(f"ES2+ {function}: the SM-DP+ speaks {protocol!r}, esimdesk "
                                 "speaks gsma/rsp/v2.*", code="es2_protocol")
    if status == 404:
        raise FinalUpstreamError(f"ES2+ {function}: HTTP 404 at {url}{PATH}{function}: check "
                                 "ESIMDESK_ES2PLUS_URL (the SM-DP+'s base URL)",
                                 code="es2_http_404")
    if status in _NOT_PROCESSED:
        raise RetryableUpstreamError(f"ES2+ {function}: HTTP {status}", code=f"es2_http_{status}")
    if status >= 500:
        raise OutcomeUnknown(f"ES2+ {function}: HTTP {status}", code=f"es2_http_{status}")
    if status in (401, 403):
        raise FinalUpstreamError(f"ES2+ {function}: HTTP {status}: the SM-DP+ refused "
                                 "esimdesk (client certificate or requester id)",
                                 code=f"es2_http_{status}")
    if status == 204 and protocol:
        return {}  # executed, nothing to say (a function with no output data)
    answer = _body(response)
    es2_shaped = answer is not None and _execution(answer) is not None
    if not protocol and not es2_shaped and content_type != "application/json":
        if status == 400 and "certificate" in response.text[:2000].lower():
            # nginx and others answer a missing or refused client certificate with a page.
            raise FinalUpstreamError(f"ES2+ {function}: TLS: the SM-DP+'s web server refused "
                                     "esimdesk's client certificate (HTTP 400): check "
                                     "ESIMDESK_ES2PLUS_CLIENT_CERT and _KEY", code="es2_tls")
        # Whatever answered is not an SM-DP+ (a web server, a proxy's error page).
        described = content_type or "no content type"
        raise FinalUpstreamError(f"ES2+ {function}: HTTP {status} {described} without "
                                 "X-Admin-Protocol: not an ES2+ endpoint, check "
                                 "ESIMDESK_ES2PLUS_URL", code="es2_protocol")
    if not protocol:
        logger.warning("ES2+ %s answered without X-Admin-Protocol (%s)", function,
                       content_type or "no content type")
    if status not in (200, 204) and not es2_shaped:
        raise FinalUpstreamError(f"ES2+ {function}: HTTP {status}", code=f"es2_http_{status}")
    if answer is None or not es2_shaped:
        # A garbled answer leaves the outcome unknown; the order is resumable, so retry.
        raise OutcomeUnknown(f"ES2+ {function}: unreadable answer (HTTP {status})",
                             code="es2_bad_answer")
    return _outcome(function, answer)


def _body(response: requests.Response) -> dict[str, Any] | None:
    try:
        answer = response.json()
    except (ValueError, RecursionError):  # not JSON, or nested past Python's limit
        return None
    return answer if isinstance(answer, dict) else None


def _execution(answer: dict[str, Any]) -> dict[str, Any] | None:
    header = answer.get("header")
    execution = header.get("functionExecutionStatus") if isinstance(header, dict) else None
    if not isinstance(execution, dict) or execution.get("status") not in STATUSES:
        return None
    return execution


def _outcome(function: str, answer: dict[str, Any]) -> dict[str, Any]:
    execution = _execution(answer) or {}
    outcome = execution["status"]
    data = execution.get("statusCodeData")
    data = data if isinstance(data, dict) else {}
    if outcome == "Executed-Success":
        return answer
    if outcome == "Executed-WithWarning":
        logger.warning("ES2+ %s executed with warning: %s", function, data)
        return answer
    if outcome == "Expired":
        raise FinalUpstreamError(f"ES2+ {function} expired", code="es2_expired")
    subject, reason = str(data.get("subjectCode") or ""), str(data.get("reasonCode") or "")
    code = f"es2_{subject}_{reason}" if subject and reason else "es2_failed"
    message = str(data.get("message") or f"ES2+ {function} failed"
                  + (f" ({subject} / {reason})" if subject or reason else
                     " without statusCodeData"))
    error: FinalUpstreamError | RetryableUpstreamError
    if reason in RETRYABLE_REASON_CODES:
        error = RetryableUpstreamError(message, code=code)
    else:
        error = FinalUpstreamError(message, code=code)
    error.status_code_data = data  # type: ignore[attr-defined]
    raise error
