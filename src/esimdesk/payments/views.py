"""Inbound payment provider webhooks: signature first, then exactly-once application."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from esimdesk.core.errors import DomainError
from esimdesk.payments import services
from esimdesk.payments.providers.base import (
    ProviderError,
    RetryableProviderError,
    SignatureError,
)

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def payment_webhook(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        outcomes, ack = services.handle_webhook(provider=provider, body=request.body,
                                                headers=dict(request.headers))
    except SignatureError as error:
        # Nothing is stored for a message that does not verify; the log says why.
        logger.warning("webhook from %s refused: %s (%s)", provider, error.code, error)
        return JsonResponse({"code": error.code, "message": str(error), "detail": None},
                            status=400)
    except DomainError as error:
        status = 404 if error.code == "unknown_provider" else error.status
        return JsonResponse({"code": error.code, "message": str(error.message),
                             "detail": error.detail}, status=status)
    except RetryableProviderError as error:
        # Verifying needed the provider and it did not answer: ask for a redelivery.
        logger.warning("webhook from %s deferred: %s", provider, error)
        return JsonResponse({"code": error.code, "message": str(error), "detail": None},
                            status=503)
    except (ProviderError, ValueError, KeyError) as error:
        logger.warning("webhook from %s malformed: %s", provider, error)
        return JsonResponse({"code": "malformed_event", "message": str(error),
                             "detail": None}, status=400)
    if any(outcome == "duplicate" for outcome in outcomes):
        logger.info("webhook from %s replayed: %s", provider, outcomes)
    # A replay is acknowledged too: the provider must stop retrying, and nothing changed.
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)
