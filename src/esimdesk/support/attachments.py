"""Screenshots in support conversations: checked by content (not by the name or the type
the browser claims), size-limited, stored under the data dir with a random name."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from esimdesk import config
from esimdesk.core.errors import ValidationFailed

# Magic bytes of the image formats phones save screenshots in.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)


@dataclass(frozen=True)
class StoredAttachment:
    path: str
    name: str
    content_type: str
    size: int


def _sniff(head: bytes) -> tuple[str, str] | None:
    for magic, content_type, extension in _SIGNATURES:
        if head.startswith(magic):
            return content_type, extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def root() -> Path:
    return Path(settings.DATA_DIR) / "uploads" / "support"


def store(*, conversation_id: int, name: str, content: bytes) -> StoredAttachment:
    limit = int(config.env("ESIMDESK_CHAT_ATTACHMENT_MAX_BYTES"))
    if not content:
        raise ValidationFailed(code="attachment_empty")
    if len(content) > limit:
        raise ValidationFailed(code="attachment_too_large",
                               detail={"max_bytes": limit, "bytes": len(content)})
    kind = _sniff(content[:16])
    if kind is None:
        raise ValidationFailed(code="attachment_type",
                               detail={"allowed": ["png", "jpeg", "gif", "webp"]})
    content_type, extension = kind
    relative = f"{conversation_id}/{secrets.token_hex(16)}.{extension}"
    target = root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    clean = "".join(ch for ch in Path(name or "screenshot").name if ch.isprintable())[:120]
    return StoredAttachment(path=relative, name=clean or f"screenshot.{extension}",
                            content_type=content_type, size=len(content))


def read(path: str) -> bytes:
    target = (root() / path).resolve()
    if root().resolve() not in target.parents:
        raise ValidationFailed(code="attachment_missing")
    return target.read_bytes()
