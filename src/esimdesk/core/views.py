"""Liveness, readiness, the Prometheus metrics and the site's icon."""

from __future__ import annotations

import datetime as dt
import hmac

from django.db import connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.templatetags.static import static
from django_prometheus.exports import ExportToDjangoView

from esimdesk import config
from esimdesk.core import clock
from esimdesk.core.models import Heartbeat

WORKER_STALE_AFTER = dt.timedelta(seconds=60)


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico whatever the page links; a 404 there is an error in
    every page's console."""
    return HttpResponsePermanentRedirect(static("core/favicon.svg"))


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


def metrics(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: the Prometheus text format (``core.metrics``), for a scraper that
    sends ``Authorization: Bearer <ESIMDESK_METRICS_TOKEN>``. Without a token configured
    there is nothing here (404); a wrong or missing one is answered 401. With
    ``PROMETHEUS_MULTIPROC_DIR`` set, the values of every process of the machine that
    writes there are added up."""
    token = config.env("ESIMDESK_METRICS_TOKEN")
    if not token:
        raise Http404("metrics are off")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return HttpResponse("unauthorized\n", status=401, content_type="text/plain",
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    response: HttpResponse = ExportToDjangoView(request)
    return response
