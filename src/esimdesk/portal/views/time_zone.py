"""The time zone a visitor's browser reports (portal/static/portal/time_zone.js).

It is kept in the session, so a visitor sees times in their own zone, and a signed-in user
whose profile still says UTC gets it saved. Sign-up starts new accounts with it.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from esimdesk.accounts import services as accounts
from esimdesk.accounts.middleware import SESSION_TIME_ZONE
from esimdesk.core import formats


def _refuse(code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "detail": {}}, status=400)


# No CSRF token: the body must be JSON, which a page on another site cannot send here without
# a CORS preflight this site never grants; and all it can change is the displayed time zone.
@csrf_exempt
@require_POST
def report_time_zone(request: HttpRequest) -> HttpResponse:
    if request.content_type != "application/json":
        return _refuse("json_required", _("Send the time zone as JSON."))
    try:
        data: Any = json.loads(request.body or b"{}")
    except ValueError:
        return _refuse("invalid_json", _("The request is not valid JSON."))
    name = formats.valid_zone(data.get("time_zone") if isinstance(data, dict) else None)
    if name is None:
        return _refuse("invalid_time_zone", _("This is not a time zone we know."))
    request.session[SESSION_TIME_ZONE] = name
    saved = False
    user: Any = request.user
    if user.is_authenticated and formats.is_utc(user.time_zone) and not formats.is_utc(name):
        accounts.update_preferences(user=user, time_zone=name)
        saved = True
    return JsonResponse({"time_zone": name, "saved": saved})
