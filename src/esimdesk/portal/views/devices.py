"""The device check page: does my phone support eSIM? Works without JavaScript."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from esimdesk.core.errors import ValidationFailed
from esimdesk.esims import devices


def device_check(request: HttpRequest) -> HttpResponse:
    """GET only, so a verdict can be bookmarked or shared. Before the traveller types
    anything, the page answers for the browser's own User-Agent: most people check the
    phone they are holding."""
    model = (request.GET.get("model") or "").strip()[:100]
    region = (request.GET.get("region") or "").strip().upper()
    if region not in {code for code, _name in devices.region_choices()}:
        region = ""
    verdict = None
    from_browser = False
    try:
        if model:
            verdict = devices.check(model=model, region=region)
        elif request.headers.get("user-agent"):
            verdict = devices.check(user_agent=request.headers["user-agent"], region=region)
            from_browser = True
    except ValidationFailed:
        verdict = None
    return render(request, "portal/device_check.html", {
        "model": model, "region": region, "regions": devices.region_choices(),
        "result": verdict, "from_browser": from_browser,
    })
