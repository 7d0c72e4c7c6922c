"""The site's URLs plus one test page with inline scripts that carry the nonce."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

PAGE = """<!DOCTYPE html><html><body data-nonce="{{ request.csp_nonce }}">
<script nonce="{{ csp_nonce }}">document.body.dataset.ran = "1";</script>
<script type="application/json">{"data": "block"}</script>
<script src="/static/portal/live.js"></script></body></html>"""


def inline(request: HttpRequest) -> HttpResponse:
    return HttpResponse(engines["django"].from_string(PAGE).render(request=request))


urlpatterns = [path("csp-test/inline", inline), path("", include("esimdesk.urls"))]
