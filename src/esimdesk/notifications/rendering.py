"""Render one message for each channel, in the recipient's language and time zone.

Templates, by channel, for a template name ``t``:

- e-mail: ``notifications/email/t.subject.txt`` and ``t.txt`` (required), ``t.html`` (optional);
- SMS: ``notifications/sms/t.txt``, else the in-app text, else the e-mail subject;
- in-app: ``notifications/inapp/t.txt``, else the e-mail subject, else the SMS text.

SMS and in-app texts are one line: whitespace from template layout is folded.

Subjects, text parts, SMS and in-app texts are plain text, rendered without HTML escaping
(``core.plain_text``); only the HTML part is escaped HTML.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone, translation

from esimdesk.core.plain_text import find_text_template, get_text_template
from esimdesk.notifications.models import Channel


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str = ""


def render_email(*, user: Any, template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of ``notifications/email/<template>``; html is "" without one."""
    with translation.override(user.language), timezone.override(user.tz):
        ctx = {"user": user, **context}
        subject = _one_line(get_text_template(f"notifications/email/{template}.subject.txt")
                            .render(ctx))
        text = get_text_template(f"notifications/email/{template}.txt").render(ctx)
        html_template = _optional_html(f"notifications/email/{template}.html")
        html = str(html_template.render(ctx)) if html_template is not None else ""
    return subject, text, html


def render_message(*, user: Any, template: str, context: dict[str, Any],
                   channels: Iterable[Channel]) -> dict[Channel, Rendered]:
    """What each of ``channels`` says. Raises TemplateDoesNotExist only when a channel has
    nothing to fall back on (a programming error, so the caller's transaction rolls back)."""
    wanted = set(channels)
    ctx = {"user": user, **context}
    cache: dict[str, str | None] = {}

    def short(name: str) -> str | None:
        """The one-line text of ``notifications/<name>/<template>``, if there is one."""
        if name not in cache:
            suffix = ".subject.txt" if name == "email" else ".txt"
            found = find_text_template(f"notifications/{name}/{template}{suffix}")
            cache[name] = _one_line(found.render(ctx)) if found is not None else None
        return cache[name]

    with translation.override(user.language), timezone.override(user.tz):
        result: dict[Channel, Rendered] = {}
        if Channel.EMAIL in wanted:
            subject, text, html = render_email(user=user, template=template, context=context)
            result[Channel.EMAIL] = Rendered(subject=subject, text=text, html=html)
        if Channel.SMS in wanted:
            sms = short("sms") or short("inapp") or short("email")
            result[Channel.SMS] = Rendered(subject="", text=_needed(sms, template, "sms"))
        if Channel.INAPP in wanted:
            notice = short("inapp") or short("email") or short("sms")
            result[Channel.INAPP] = Rendered(subject=(short("email") or "")[:255],
                                             text=_needed(notice, template, "inapp"))
    return result


def _optional_html(name: str) -> Any:
    # Looked up apart from rendering, so a missing {% include %} inside an existing
    # template still raises instead of silently choosing a fallback.
    try:
        return get_template(name)
    except TemplateDoesNotExist:
        return None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _needed(text: str | None, template: str, channel: str) -> str:
    if not text:
        raise TemplateDoesNotExist(
            f"notifications/{channel}/{template}.txt (and no e-mail subject to fall back on)")
    return text
