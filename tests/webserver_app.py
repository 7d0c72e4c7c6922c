"""A small WSGI application for the web worker's tests (tests/test_webserver.py): the
worker is tested under gunicorn without Django, so each server starts in a fraction of a
second.

    /           "ok"
    /echo       the length and SHA-256 of the request body it read
    /big        8 MiB, for clients that do not read their answer
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

BIG = b"x" * (8 * 1024 * 1024)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    if path == "/echo":
        body = environ["wsgi.input"].read()
        answer = f"{len(body)} {hashlib.sha256(body).hexdigest()}".encode()
    elif path == "/big":
        answer = BIG
    else:
        answer = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(answer)))])
    return [answer]
