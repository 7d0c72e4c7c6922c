"""``{% console_nav %}``: the console's navigation and the banner of open alerts, on every
console page (loaded by templates/admin/base_site.html, so the admin's pages have it too)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from esimdesk.console.alerts import describe
from esimdesk.console.models import Alert
from esimdesk.console.nav import items_for

register = template.Library()

#: The banner names at most this many open alerts and links to the rest.
BANNER_LIMIT = 3


@register.inclusion_tag("console/_nav.html", takes_context=True)
def console_nav(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated or not user.is_staff:
        return {"items": []}
    return {"items": items_for(user, request.path), "request": request}


@register.inclusion_tag("console/_alerts_banner.html", takes_context=True)
def console_alerts(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("console.view_alert"):
        return {"alerts": []}
    alerts = list(Alert.objects.filter(open_key__isnull=False)[:BANNER_LIMIT + 1])
    return {"alerts": alerts[:BANNER_LIMIT], "more": len(alerts) > BANNER_LIMIT}


@register.filter
def alert_text(alert: Alert) -> str:
    return describe(alert.kind, alert.details)


@register.filter
def duration(seconds: float | None) -> str:
    """``3 h 5 min``, ``4 min 10 s`` or ``—`` for None."""
    if seconds is None:
        return "—"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)d min %(s)d s") % {"m": minutes, "s": secs}
    return _("%(s)d s") % {"s": secs}
