"""``{{ entry|audit_sentences }}``: an audit row's changes as sentences;
``{{ entry|audit_record }}``: the record it is about, by the model's translated name;
``{{ entry|audit_action }}``, ``{{ entry|audit_who }}``, ``{{ entry|audit_reason }}``: its
action, actor and reason by their names (core.audit_text)."""

from __future__ import annotations

from django import template

from esimdesk.core import audit_text
from esimdesk.core.models import AuditEntry

register = template.Library()


@register.filter
def audit_sentences(entry: AuditEntry) -> list[str]:
    return audit_text.sentences(entry)


@register.filter
def audit_record(entry: AuditEntry) -> str:
    return f"{audit_text.record_kind(entry.object_type)} {entry.object_id}"


@register.filter
def audit_action(entry: AuditEntry) -> str:
    return audit_text.action_label(entry.action)


@register.filter
def audit_who(entry: AuditEntry) -> str:
    return audit_text.who(entry)


@register.filter
def audit_reason(entry: AuditEntry) -> str:
    return audit_text.reason_text(entry.reason)
