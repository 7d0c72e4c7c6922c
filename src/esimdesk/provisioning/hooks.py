"""Upstream callbacks: the one way every supplier's message into esimdesk goes.

``supplier_callback(name)`` makes a supplier's handler a view that takes these steps, in this
order, and stops at the first that fails:

1. **configured?** The supplier is in ``ESIMDESK_UPSTREAM_PROVIDERS``; otherwise 404
   ``unknown_supplier``, the same answer as for a name esimdesk does not know.
2. **small enough?** The body is at most the adapter's ``callback_max_bytes``; otherwise 413
   ``callback_too_large`` without reading it.
3. **authenticated?** ``adapter.authenticate_callback`` (a signature over the raw body, or a
   credential the supplier presents); otherwise 400 ``bad_signature`` or 401
   ``unauthenticated_supplier``, logged with the reason.
4. **parse and apply**: the handler, which only now reads the body.

Nothing is parsed or stored before step 4. Error answers carry a stable code and a translated
message, never the reason (that goes to the log).

Routes: ``/hooks/upstream/simulator`` (usage records and status events, see
``docs/providers/simulator.md``), ``/hooks/upstream/esimgo`` (``esimgo_callbacks``) and the
ES2+ ``handleDownloadProgressInfo`` (``es2plus_progress``). The simulator's own sweeps and
tasks deliver in-process through ``handle_simulator_callback``, which authenticates the same
way (they sign what they send) but skips the route's gate.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from esimdesk.core.errors import MESSAGES
from esimdesk.provisioning import registry, upstream_events
from esimdesk.provisioning.providers.simulator import SIGNATURE_HEADER, SimulatorProvider, sign
from esimdesk.provisioning.suppliers.base import (
    InvalidCallback,
    UpstreamError,
    UpstreamProvider,
    UsageRecord,
)

__all__ = ["SIGNATURE_HEADER", "handle_simulator_callback", "refusal", "sign",
           "supplier_callback", "upstream_callback"]

logger = logging.getLogger(__name__)

#: (HTTP status, JSON body or None for an empty answer)
Answer = tuple[int, dict[str, Any] | None]
#: parses and applies one authenticated body
Handler = Callable[[UpstreamProvider, bytes], Answer]

# What a refused callback is answered with; anything else a supplier adapter raises is 400.
_STATUS = {"unauthenticated_supplier": 401, "not_supported": 404}


def refusal(code: str, status: int, detail: Any = None) -> Answer:
    """An error answer: the code, its translated message, no internals."""
    if code == "not_supported":  # a supplier that sends no callbacks has no such route
        code = "unknown_supplier"
    return status, {"code": code, "message": str(MESSAGES.get(code, MESSAGES["invalid_request"])),
                    "detail": detail}


def authenticated(adapter: UpstreamProvider, *, body: bytes, headers: Mapping[str, str],
                  remote_addr: str, handle: Handler) -> Answer:
    """Steps 3 and 4: authenticate the caller, then let ``handle`` parse and apply."""
    try:
        adapter.authenticate_callback(body=body, headers=headers, remote_addr=remote_addr)
    except InvalidCallback as error:
        logger.warning("%s callback from %s refused: %s (%s)", adapter.name,
                       remote_addr or "in-process", error.code, error)
        return refusal(error.code, _STATUS.get(error.code, 400))
    return handle(adapter, body)


def _content_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:  # Django reads such a body as empty, so will the handler
        return 0


def receive(request: HttpRequest, name: str, handle: Handler) -> HttpResponse:
    """Steps 1 to 4 for one HTTP request to supplier ``name``'s callback route."""
    if name not in settings.ESIMDESK["UPSTREAM_PROVIDERS"] or name not in registry.PROVIDERS:
        status, answer = refusal("unknown_supplier", 404)
        return _response(status, answer)
    try:
        adapter = registry.get(name)
    except UpstreamError as error:  # e.g. a setting the adapter cannot use
        logger.error("%s callback cannot be received: %s (%s)", name, error.code, error)
        return _response(*refusal("callback_unavailable", 503))
    limit = adapter.callback_max_bytes
    if _content_length(request) > limit:
        logger.warning("%s callback of %s bytes refused on %s: over %s", name,
                       _content_length(request), request.path, limit)
        return _response(*refusal("callback_too_large", 413, {"max_bytes": limit}))
    body = request.body  # no longer than its Content-Length, checked above
    if len(body) > limit:
        return _response(*refusal("callback_too_large", 413, {"max_bytes": limit}))
    status, answer = authenticated(adapter, body=body, headers=request.headers,
                                   remote_addr=str(request.META.get("REMOTE_ADDR") or ""),
                                   handle=handle)
    response = _response(status, answer)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="esimdesk supplier callbacks"'
    return response


def _response(status: int, answer: dict[str, Any] | None) -> HttpResponse:
    if answer is None:
        return HttpResponse(status=status)
    return JsonResponse(answer, status=status)


def supplier_callback(name: str) -> Callable[[Handler], Callable[..., HttpResponse]]:
    """Make ``handle`` the view of supplier ``name``'s callback route (steps 1 to 4)."""

    def wrap(handle: Handler) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @require_POST
        @functools.wraps(handle)
        def view(request: HttpRequest, **_kwargs: Any) -> HttpResponse:
            return receive(request, name, handle)

        return view

    return wrap


# -- the simulator ---------------------------------------------------------------------------


def _simulator_events(adapter: UpstreamProvider, body: bytes) -> Answer:
    """The answer has the usage counts when the body had records (or nothing else), and
    ``events: [{id, outcome}]`` when it had status events."""
    try:
        events = adapter.parse_callback(body=body, headers={})
    except InvalidCallback as error:
        logger.warning("simulator callback refused: %s (%s)", error.code, error)
        return refusal(error.code, 400)
    applied = upstream_events.apply(provider=adapter.name, events=events)
    answer: dict[str, Any] = {}
    has_usage = any(isinstance(event, UsageRecord) for event in events)
    if has_usage or not applied.events:
        answer.update(accepted=applied.accepted, duplicates=applied.duplicates,
                      rejected=[{"index": i, "code": code} for i, code in applied.rejected])
    if applied.events:
        answer["events"] = [{"id": event_id, "outcome": outcome}
                            for event_id, outcome in applied.events]
    return 200, answer


def handle_simulator_callback(body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
    """The simulator's sweeps and tasks deliver here in-process, with a body they signed:
    authenticated and applied exactly as ``POST /hooks/upstream/simulator`` is."""
    status, answer = authenticated(SimulatorProvider(), body=body,
                                   headers={SIGNATURE_HEADER: signature or ""}, remote_addr="",
                                   handle=_simulator_events)
    return status, answer or {}


#: suppliers whose callbacks come to ``/hooks/upstream/<name>`` (the others have own routes)
_GENERIC: dict[str, Callable[..., HttpResponse]] = {
    SimulatorProvider.name: supplier_callback(SimulatorProvider.name)(_simulator_events),
}


@csrf_exempt
@require_POST
def upstream_callback(request: HttpRequest, provider: str) -> HttpResponse:
    view = _GENERIC.get(provider)
    if view is None:
        return _response(*refusal("unknown_supplier", 404))
    return view(request)
