"""``{% unread_notices as notices %}``: the signed-in customer's unread in-app notices, for
the dashboard (and any page that wants them) without every view having to fetch them."""

from __future__ import annotations

from typing import Any

from django import template

from esimdesk.notifications import queries
from esimdesk.notifications.models import Notification

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notices(context: dict[str, Any], limit: int = 5) -> list[Notification]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return queries.unread_notices(user, limit=limit)
