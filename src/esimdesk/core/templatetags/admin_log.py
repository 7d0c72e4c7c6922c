"""``{% with_current_names admin_log as rows %}``: the admin's history entries, each with its
record's name as it is now, in the reader's language (core.admin_log)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.contrib.admin.models import LogEntry

from esimdesk.core import admin_log

register = template.Library()


@register.simple_tag
def with_current_names(entries: Iterable[LogEntry]) -> list[tuple[LogEntry, str]]:
    return admin_log.with_current_names(entries)
