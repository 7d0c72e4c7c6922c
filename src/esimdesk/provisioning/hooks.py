"""Upstream callbacks: the one way every supplier's message into esimdesk goes.

One route serves every supplier: ``POST /hooks/upstream/<name>`` and
``POST /hooks/upstream/<name>/<rest>``. ``upstream_callback`` looks ``name`` up in the supplier
registry and ``rest`` in that adapter's ``callback_handlers`` (its own ``callbacks`` module),
then takes these steps, in this order, and stops at the first that fails:

1. **configured?** The supplier is in ``ESIMDESK_UPSTREAM_PROVIDERS`` and has a handler for
   ``rest``; otherwise 404 ``unknown_supplier``, the same answer as for a name esimdesk does
   not know.
2. **small enough?** The body is at most the adapter's ``callback_max_bytes``; otherwise 413
   ``callback_too_large`` without reading it.
3. **authenticated?** ``adapter.authenticate_callback`` (a signature over the raw body, or a
   credential the supplier presents); otherwise 400 ``bad_signature`` or 401
   ``unauthenticated_supplier``, logged with the reason.
4. **parse and apply**: the handler, which only now reads the body. It answers a refusal
   (``refusal``) or ``Accepted(report)``, which the adapter's ``callback_ack`` turns into what
   that supplier's protocol expects (a JSON 200 by default; ES2+ a 204).

Nothing is parsed or stored before step 4. Error answers carry a stable code and a translated
message, never the reason (that goes to the log). A supplier whose protocol fixes how every
answer looks (ES2+: its headers on every answer, its refusal shape) says so by offering
``ProtocolAnswers``: once the adapter is known, every answer on its routes goes through it.

A supplier's own sweeps and tasks may deliver in-process through ``deliver``, which
authenticates the same way (they sign what they send) but skips the route's gate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol, runtime_checkable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from esimdesk.core.errors import MESSAGES
from esimdesk.provisioning import registry
from esimdesk.provisioning.suppliers.base import (
    Answer,
    InvalidCallback,
    UpstreamProvider,
)

__all__ = ["Accepted", "Answer", "ProtocolAnswers", "deliver", "refusal", "upstream_callback"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    """A handler took the callback: ``report`` says what it did (counts, a status), for the
    adapter's ``callback_ack`` to answer with."""

    report: dict[str, Any] | None = None


@runtime_checkable
class ProtocolAnswers(Protocol):
    """Offered by an adapter whose protocol fixes the answers on its callback routes."""

    def callback_headers(self) -> Mapping[str, str]:
        """Headers set on every answer of its routes (acknowledgements and refusals)."""
        ...

    def callback_refusal(self, code: str, status: int, detail: Any = None) -> Answer:
        """A refusal (``code``, HTTP ``status``) in the protocol's shape; keep ``code`` and
        ``message`` from ``refusal`` in it so logs and tests read the same."""
        ...


#: parses and applies one authenticated body: a refusal, or what it accepted
Handler = Callable[[UpstreamProvider, bytes], "Answer | Accepted"]

# What a refused callback is answered with; anything else a supplier adapter raises is 400.
_STATUS = {"unauthenticated_supplier": 401, "not_supported": 404}


def refusal(code: str, status: int, detail: Any = None) -> Answer:
    """An error answer: the code, its translated message, no internals."""
    if code == "not_supported":  # a supplier that sends no callbacks has no such route
        code = "unknown_supplier"
    return status, {"code": code, "message": str(MESSAGES.get(code, MESSAGES["invalid_request"])),
                    "detail": detail}


def refused_by(adapter: UpstreamProvider, code: str, status: int, detail: Any = None) -> Answer:
    """``refusal``, in the adapter's own shape when its protocol fixes one."""
    if isinstance(adapter, ProtocolAnswers):
        return adapter.callback_refusal(code, status, detail)
    return refusal(code, status, detail)


def authenticated(adapter: UpstreamProvider, *, body: bytes, headers: Mapping[str, str],
                  remote_addr: str, handle: Handler) -> Answer:
    """Steps 3 and 4: authenticate the caller, then let ``handle`` parse and apply."""
    try:
        adapter.authenticate_callback(body=body, headers=headers, remote_addr=remote_addr)
    except InvalidCallback as error:
        logger.warning("%s callback from %s refused: %s (%s)", adapter.name,
                       remote_addr or "in-process", error.code, error)
        return refused_by(adapter, error.code, _STATUS.get(error.code, 400))
    outcome = handle(adapter, body)
    if isinstance(outcome, Accepted):
        return adapter.callback_ack(outcome.report)
    return outcome


def deliver(adapter: UpstreamProvider, *, rest: str = "", body: bytes,
            headers: Mapping[str, str]) -> Answer:
    """An in-process delivery (a supplier's own sweep or task, e.g. the simulator's): steps 3
    and 4 exactly as ``POST /hooks/upstream/<name>/<rest>`` takes them."""
    return authenticated(adapter, body=body, headers=headers, remote_addr="",
                         handle=_handler(adapter.callback_handlers[rest]))


@cache
def _handler(path: str) -> Handler:
    handler: Handler = import_string(path)
    return handler


def _content_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:  # Django reads such a body as empty, so will the handler
        return 0


def receive(request: HttpRequest, name: str, rest: str) -> HttpResponse:
    """Steps 1 to 4 for one HTTP request to supplier ``name``'s callback route ``rest``."""
    if name not in settings.ESIMDESK["UPSTREAM_PROVIDERS"] or not registry.known(name):
        return _response(*refusal("unknown_supplier", 404))
    adapter = registry.get(name)
    if isinstance(adapter, registry.Unavailable):  # e.g. a setting the adapter cannot use
        logger.error("%s callback cannot be received: %s", name, adapter.error)
        return _response(*refusal("callback_unavailable", 503))
    extra = adapter.callback_headers() if isinstance(adapter, ProtocolAnswers) else {}
    handler_path = adapter.callback_handlers.get(rest)
    if handler_path is None:  # a route this supplier does not call
        return _response(*refused_by(adapter, "unknown_supplier", 404), extra)
    limit = adapter.callback_max_bytes
    if _content_length(request) > limit:
        logger.warning("%s callback of %s bytes refused on %s: over %s", name,
                       _content_length(request), request.path, limit)
        return _response(*refused_by(adapter, "callback_too_large", 413,
                                     {"max_bytes": limit}), extra)
    body = request.body  # no longer than its Content-Length, checked above
    if len(body) > limit:
        return _response(*refused_by(adapter, "callback_too_large", 413,
                                     {"max_bytes": limit}), extra)
    status, answer = authenticated(adapter, body=body, headers=request.headers,
                                   remote_addr=str(request.META.get("REMOTE_ADDR") or ""),
                                   handle=_handler(handler_path))
    response = _response(status, answer, extra)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="esimdesk supplier callbacks"'
    return response


def _response(status: int, answer: dict[str, Any] | None,
              headers: Mapping[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(status=status) if answer is None else \
        JsonResponse(answer, status=status)
    if answer is None and not headers:
        del response["Content-Type"]  # nothing to describe (not text/html)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@csrf_exempt
@require_POST
def upstream_callback(request: HttpRequest, name: str, rest: str = "") -> HttpResponse:
    """``POST /hooks/upstream/<name>[/<rest>]``: every supplier's callbacks (steps 1 to 4)."""
    return receive(request, name, rest)
