"""Templates for plain text: e-mail subjects and text parts, SMS and in-app notices.

Django's template engine escapes for HTML, which is right for pages and e-mails' HTML parts
and wrong for text: a customer called ``Anne O'Brien & Sons`` would read
``Anne O&#x27;Brien &amp; Sons`` in their subject line and text messages. Text templates are
therefore rendered here with autoescaping off, by the same engine (same loaders, tags and
filters, so ``{% load i18n %}``, ``{% include %}`` and ``{% extends %}`` work as usual).
The text is never put into HTML as it is: a page that shows it escapes it then.
"""

from __future__ import annotations

from typing import Any

from django.template import Context, Engine, TemplateDoesNotExist
from django.template.base import Template


class TextTemplate:
    """A loaded template that renders unescaped text from a plain dict."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.origin = template.origin

    def render(self, context: dict[str, Any] | None = None) -> str:
        return str(self.template.render(Context(context or {}, autoescape=False)))


def get_text_template(name: str) -> TextTemplate:
    """Raises ``TemplateDoesNotExist`` like Django's ``get_template``."""
    return TextTemplate(Engine.get_default().get_template(name))


def find_text_template(name: str) -> TextTemplate | None:
    """The template, or None when there is none (errors inside one still raise)."""
    try:
        return get_text_template(name)
    except TemplateDoesNotExist as error:
        # Only the template asked for may be missing: a missing {% include %} inside an
        # existing template is a programming error, not a fallback.
        if error.args and error.args[0] != name:
            raise
        return None


def render_text(name: str, context: dict[str, Any] | None = None) -> str:
    return get_text_template(name).render(context)
