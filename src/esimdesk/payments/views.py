"""Inbound payment provider webhooks: signature first, then exactly-once application.

Each adapter refuses a forged or stale message with local checks before it asks the provider
anything (``parse_webhook``). Refusals are answered with a stable code and a translated
message only: the reason, which may hold provider URLs, network errors or key names, goes to
the log, never to the caller.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from esimdesk.core.errors import MESSAGES, DomainError
from esimdesk.payments import services
from esimdesk.payments.providers.base import (
    NotConfigured,
    ProviderError,
    RetryableProviderError,
    SignatureError,
)

logger = logging.getLogger(__name__)


def _refusal(code: str, status: int) -> JsonResponse:
    return JsonResponse({"code": code, "message": str(MESSAGES[code]), "detail": None},
                        status=status)


@csrf_exempt
@require_POST
def payment_webhook(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        outcomes, ack = services.handle_webhook(provider=provider, body=request.body,
                                                headers=dict(request.headers))
    except SignatureError as error:
        # Nothing is stored for a message that does not verify; the log says why. Which
        # check failed (an unknown certificate serial, a resource that does not decrypt) is
        # not the sender's business: two answers only, forged or stale.
        logger.warning("webhook from %s refused: %s (%s)", provider, error.code, error)
        return _refusal("stale_signature" if error.code == "stale_signature"
                        else "bad_signature", 400)
    except DomainError as error:  # an unknown or disabled provider, above all
        status = 404 if error.code == "unknown_provider" else error.status
        return JsonResponse({"code": error.code, "message": str(error.message),
                             "detail": None}, status=status)
    except (RetryableProviderError, NotConfigured) as error:
        # Verifying needed the provider and it did not answer, or the provider's keys are
        # missing: ask for a redelivery, which may find it fixed.
        log = logger.error if isinstance(error, NotConfigured) else logger.warning
        log("webhook from %s deferred: %s (%s)", provider, error.code, error)
        return _refusal("provider_unavailable", 503)
    except (ProviderError, ValueError, KeyError, TypeError) as error:
        logger.warning("webhook from %s malformed: %s", provider, error)
        return _refusal("malformed_event", 400)
    if any(outcome == "duplicate" for outcome in outcomes):
        logger.info("webhook from %s replayed: %s", provider, outcomes)
    # A replay is acknowledged too: the provider must stop retrying, and nothing changed.
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)
