"""Inbound payment provider webhooks: signature first, then exactly-once application."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from esimdesk.core.errors import DomainError
from esimdesk.payments import services
from esimdesk.payments.providers.base import ProviderError, SignatureError


@csrf_exempt
@require_POST
def payment_webhook(request: HttpRequest, provider: str) -> JsonResponse:
    try:
        outcomes = services.handle_webhook(provider=provider, body=request.body,
                                           headers=dict(request.headers))
    except SignatureError as error:
        return JsonResponse({"code": error.code, "message": str(error), "detail": None},
                            status=400)
    except DomainError as error:
        return JsonResponse({"code": error.code, "message": str(error.message),
                             "detail": error.detail}, status=404 if error.code ==
                            "unknown_provider" else error.status)
    except (ProviderError, ValueError, KeyError) as error:
        return JsonResponse({"code": "malformed_event", "message": str(error),
                             "detail": None}, status=400)
    # A replay is answered 200 too: the provider must stop retrying, and nothing changed.
    return JsonResponse({"received": len(outcomes), "outcomes": outcomes})
