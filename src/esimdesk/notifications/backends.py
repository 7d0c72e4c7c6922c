"""Django e-mail backend of the embedded default: every message lands in the staff outbox."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from email.mime.base import MIMEBase
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from esimdesk.notifications.models import Channel, OutboxMessage


class OutboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            html = ""
            for body, mimetype in getattr(message, "alternatives", []):
                if mimetype == "text/html":
                    html = str(body)
            OutboxMessage.objects.create(
                channel=Channel.EMAIL,
                to=", ".join(message.to + message.cc + message.bcc),
                from_address=message.from_email or "",
                subject=message.subject,
                body_text=message.body,
                body_html=html,
                attachments=[_attachment(a) for a in message.attachments],
            )
        return len(email_messages)


def _attachment(item: Any) -> dict[str, str]:
    if isinstance(item, MIMEBase):
        payload = item.get_payload(decode=True) or b""
        return {"filename": item.get_filename() or "attachment",
                "mimetype": item.get_content_type(),
                "content_b64": base64.b64encode(payload).decode()}
    filename, content, mimetype = item
    raw = content.encode() if isinstance(content, str) else content
    return {"filename": filename or "attachment",
            "mimetype": mimetype or "application/octet-stream",
            "content_b64": base64.b64encode(raw).decode()}
