"""eSIM Go's HTTP API as typed answers and typed errors; no business rules.

Every failure leaves as an ``UpstreamError`` whose ``code`` says what went wrong and whose
message is one line (never a bare ``requests`` or parsing exception):

=========================  ===========================================================  =====
code                       when                                                         retry
=========================  ===========================================================  =====
``esimgo_misconfigured``   no API key, a base URL that is not ``http(s)://host/…``,      no
                           a timeout that is not a number, the key refused (401), a
                           redirect (``http://`` for ``https://``), a 404 page that is
                           not eSIM Go's JSON (wrong base URL)
``esimgo_tls``             the TLS handshake failed (certificate, proxy)                no
``esimgo_refused``         any other 4xx, with eSIM Go's ``message``                    no
``esimgo_unreachable``     no connection (refused, DNS, connect timeout)                yes
``esimgo_timeout``         no answer within ``ESIMDESK_ESIMGO_TIMEOUT_SECONDS``          yes
``esimgo_rate_limited``    429                                                          yes
``esimgo_down``            5xx (503 is also eSIM Go's "processing, come back later")    yes
``esimgo_bad_response``    a 2xx that is not the JSON expected (a proxy's page, a       yes
                           truncated body)
=========================  ===========================================================  =====

A 429 or 5xx with a ``Retry-After`` header (seconds, or an HTTP date) carries it as the
error's ``retry_after``: no retry comes sooner.

``NotSent`` (retryable) marks the failures after which eSIM Go certainly did nothing: the
connection never opened, or a 429. Every other failure of a request that changes something
leaves its outcome unknown, and the caller must find out before sending it again.
"""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError

from esimdesk import config
from esimdesk.core import clock
from esimdesk.provisioning.suppliers.base import FinalUpstreamError, RetryableUpstreamError

#: connect timeout, seconds (the read timeout is ``ESIMDESK_ESIMGO_TIMEOUT_SECONDS``)
CONNECT_TIMEOUT = 5.0
_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


class NotSent(RetryableUpstreamError):
    """eSIM Go certainly did nothing with the request: sending it again is safe."""


class Refused(FinalUpstreamError):
    """eSIM Go answered 4xx: it did nothing and would refuse again. ``status`` is the
    HTTP status, ``detail`` eSIM Go's own message."""

    def __init__(self, message: str, *, code: str, status: int, detail: str) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.detail = detail


def retry_after(value: str) -> float | None:
    """A ``Retry-After`` header in seconds: delay-seconds, or an HTTP date (seconds from
    now); None when absent, unreadable or already past."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value) or None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    seconds = (when - clock.now()).total_seconds()
    return seconds if seconds > 0 else None


def one_line(text: str, limit: int = 200) -> str:
    """``text`` as one short line: tags and runs of white space collapsed."""
    flat = _SPACE.sub(" ", _TAGS.sub(" ", text or "")).strip()
    return flat[:limit] or "(empty)"


def timeout_seconds() -> float:
    raw = config.env("ESIMDESK_ESIMGO_TIMEOUT_SECONDS").strip()
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 600:
        raise FinalUpstreamError(
            f"ESIMDESK_ESIMGO_TIMEOUT_SECONDS must be a number of seconds (0-600), not {raw!r}",
            code="esimgo_misconfigured")
    return seconds


class EsimGoClient:
    """One configured eSIM Go account: ``ESIMDESK_ESIMGO_API_BASE`` and ``_API_KEY``."""

    def __init__(self) -> None:
        self.api_key = config.env("ESIMDESK_ESIMGO_API_KEY").strip()
        self.base = config.env("ESIMDESK_ESIMGO_API_BASE").strip().rstrip("/")

    def problems(self) -> list[str]:
        """What is wrong with the configuration, one line each (``esimdesk check`` lists
        them all; a call stops at the first)."""
        found = []
        if not self.api_key:
            found.append("ESIMDESK_ESIMGO_API_KEY is not set")
        parts = urlsplit(self.base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            found.append(f"ESIMDESK_ESIMGO_API_BASE must be an http(s) URL such as "
                         f"https://api.esim-go.com/v2.5, not {self.base!r}")
        try:
            timeout_seconds()
        except FinalUpstreamError as error:
            found.append(str(error))
        return found

    def check_configured(self) -> None:
        for problem in self.problems():
            raise FinalUpstreamError(problem, code="esimgo_misconfigured")

    def call(self, method: str, path: str, *, json: Any = None,
             params: dict[str, str] | None = None) -> Any:
        """The decoded JSON answer of one call; an ``UpstreamError`` otherwise."""
        self.check_configured()
        timeout = (min(CONNECT_TIMEOUT, timeout_seconds()), timeout_seconds())
        try:
            response = requests.request(
                method, f"{self.base}{path}", json=json, params=params, timeout=timeout,
                allow_redirects=False,  # a redirected POST would come back as a GET
                headers={"X-API-Key": self.api_key, "Accept": "application/json"})
        except requests.exceptions.SSLError as error:
            raise FinalUpstreamError(f"eSIM Go TLS handshake failed: {one_line(str(error))}",
                                     code="esimgo_tls") from error
        except requests.exceptions.ConnectTimeout as error:
            raise NotSent(f"eSIM Go unreachable: no connection within {timeout[0]:g} s",
                          code="esimgo_unreachable") from error
        except requests.exceptions.Timeout as error:
            raise RetryableUpstreamError(f"eSIM Go sent no answer within {timeout[1]:g} s",
                                         code="esimgo_timeout") from error
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema, requests.exceptions.InvalidHeader) as error:
            raise FinalUpstreamError(f"eSIM Go is misconfigured: {one_line(str(error))}",
                                     code="esimgo_misconfigured") from error
        except requests.exceptions.ConnectionError as error:
            # Refused or unresolvable: nothing was sent. A connection dropped after the
            # request went out is a ConnectionError too, but not one of these.
            cause = error.args[0] if error.args else None
            reason = getattr(cause, "reason", cause)
            if isinstance(reason, NewConnectionError):
                raise NotSent(f"eSIM Go unreachable: {one_line(str(reason))}",
                              code="esimgo_unreachable") from error
            raise RetryableUpstreamError(f"eSIM Go connection lost: {one_line(str(error))}",
                                         code="esimgo_unreachable") from error
        except requests.exceptions.RequestException as error:
            raise RetryableUpstreamError(f"eSIM Go answer unreadable: {one_line(str(error))}",
                                         code="esimgo_bad_response") from error
        return self._answer(response)

    def _answer(self, response: requests.Response) -> Any:
        status = response.status_code
        if 300 <= status < 400:
            where = response.headers.get("Location", "?")
            raise FinalUpstreamError(
                f"eSIM Go redirects {response.request.path_url} to {one_line(where)}: set "
                "ESIMDESK_ESIMGO_API_BASE to the final https:// URL", code="esimgo_misconfigured")
        if status == 429 or status >= 500:
            code = "esimgo_rate_limited" if status == 429 else "esimgo_down"
            kind = NotSent if status == 429 else RetryableUpstreamError
            wait = retry_after(response.headers.get("Retry-After", ""))
            raise kind(f"eSIM Go {status}: {_message(response)}"
                       + (f" (retry after {wait:g} s)" if wait else ""), code=code,
                       retry_after=wait)
        if status == 401:
            raise Refused(f"eSIM Go refused the API key (401): {_message(response)}",
                          code="esimgo_misconfigured", status=status,
                          detail=_message(response))
        if status == 404 and not _is_json(response):
            raise Refused(f"eSIM Go has no {response.request.path_url} (404, not an API "
                          "answer): check ESIMDESK_ESIMGO_API_BASE (e.g. "
                          "https://api.esim-go.com/v2.5)", code="esimgo_misconfigured",
                          status=status, detail=_message(response))
        if status >= 400:
            raise Refused(f"eSIM Go {status}: {_message(response)}", code="esimgo_refused",
                          status=status, detail=_message(response))
        if status < 200 or status >= 300:
            raise RetryableUpstreamError(f"eSIM Go answered {status}",
                                         code="esimgo_bad_response")
        if not response.content.strip():
            return None
        try:
            return response.json()
        except (ValueError, RecursionError) as error:
            # A 2xx that is not JSON: a proxy's page, or a body cut short.
            raise RetryableUpstreamError(
                f"eSIM Go answered {status} with no JSON: {one_line(response.text, 80)}",
                code="esimgo_bad_response") from error


def _is_json(response: requests.Response) -> bool:
    return "json" in response.headers.get("Content-Type", "").lower()


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return one_line(response.text)
    if isinstance(body, dict):
        return one_line(str(body.get("message") or body.get("statusMessage")
                            or body.get("error") or body))
    return one_line(str(body))


# -- reading answers ---------------------------------------------------------------------

def records(answer: Any, key: str) -> list[dict[str, Any]]:
    """The list of objects under ``key`` of ``answer`` (or ``answer`` itself when eSIM Go
    sends a bare list); a shape that is neither is a bad answer."""
    found = answer.get(key, []) if isinstance(answer, dict) else answer
    if found is None:
        return []
    if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
        raise RetryableUpstreamError(f"eSIM Go answered an unexpected {key!r}",
                                     code="esimgo_bad_response")
    return found


def quantity(value: Any) -> int:
    """A byte count as eSIM Go writes it (an integer, a float, or a numeric string)."""
    if isinstance(value, bool):
        raise RetryableUpstreamError("eSIM Go sent a quantity that is not a number",
                                     code="esimgo_bad_response")
    try:
        return int(float(value or 0))
    except (TypeError, ValueError, OverflowError) as error:
        raise RetryableUpstreamError(f"eSIM Go sent a quantity that is not a number: "
                                     f"{one_line(str(value), 40)}",
                                     code="esimgo_bad_response") from error
