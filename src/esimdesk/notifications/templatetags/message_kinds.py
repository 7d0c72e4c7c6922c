"""``{{ notification.kind|message_kind }}``: a kind of message by its name for staff
(notifications.kinds)."""

from __future__ import annotations

from django import template

from esimdesk.notifications.kinds import kind_name

register = template.Library()


@register.filter
def message_kind(kind: str) -> str:
    return kind_name(kind)
