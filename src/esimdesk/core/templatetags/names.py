"""``capfirst`` for every template (a builtin, see ``TEMPLATES`` in settings): Django's
filter, except that a name written small-then-capital ("eSIMs") keeps its case
(``core.names``). Registered under Django's own name so that the admin's templates —
list titles and headings, breadcrumbs, inline headings, messages — use it unchanged."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import stringfilter

from esimdesk.core import names

register = template.Library()


@register.filter(is_safe=True)
@stringfilter
def capfirst(value: str) -> str:
    return str(names.capfirst(value))
