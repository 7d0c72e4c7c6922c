"""Liveness and readiness."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.http import HttpRequest, JsonResponse

from esimdesk.core import clock
from esimdesk.core.models import Heartbeat

WORKER_STALE_AFTER = dt.timedelta(seconds=60)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database answers and a worker has shown itself within a minute, so
    accepted work (payments, usage) is not left waiting for a worker that is not there."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:  # the answer must say why, not crash
        checks["database"] = f"error: {type(error).__name__}"
        return JsonResponse({"status": "unavailable", "checks": checks}, status=503)
    beat = Heartbeat.objects.filter(process="worker").first()
    fresh = beat is not None and clock.now() - beat.seen_at < WORKER_STALE_AFTER
    checks["worker"] = "ok" if fresh else "no heartbeat in the last minute"
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                        status=200 if ok else 503)
