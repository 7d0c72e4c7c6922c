"""WebSocket consumers (served by `esimdesk realtime` under /ws/).

Browsers authenticate with their session cookie. A customer listens on their own group and
may send messages; an agent (``support.reply_conversation``) listens on the inbox or on one
conversation and may answer it. Sending goes through the same services as the HTML forms
and the API, so the rules, the rate limit, the audit and the exactly-once ``client_id`` are
the same.

A frame that is not a message (not JSON, not an object, a missing or mistyped field, binary,
too large, text a database cannot store) is answered with an ``invalid_frame`` error frame
and the connection stays open; so does a refusal from the services (``rate_limited`` with
``retry_after`` in seconds, ``message_too_long``, ...). Error frames are in the user's
language.
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import translation

from esimdesk.accounts.second_factor import staff_needs_second_factor
from esimdesk.core.errors import DomainError, RateLimited
from esimdesk.support import conversations

# A message of the longest allowed body with every character written as a \uXXXX escape,
# and room for the rest of the frame. uvicorn closes the connection on frames over 1 MiB
# (``ws_max_size`` in ``esimdesk realtime``); smaller ones over this get an error frame.
MAX_FRAME_CHARS = 6 * conversations.MAX_BODY + 1024


def message_frame(text: str | None) -> dict[str, str] | None:
    """``{"body", "client_id"}`` of a ``{"type": "message", ...}`` frame, or None when the
    frame is not one."""
    if text is None or len(text) > MAX_FRAME_CHARS:
        return None
    try:
        content = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(content, dict) or content.get("type") != "message":
        return None
    body, client_id = content.get("body"), content.get("client_id", "")
    if not isinstance(body, str) or not isinstance(client_id, str) or len(client_id) > 64:
        return None
    try:  # a lone surrogate escape cannot be stored; a NUL neither (PostgreSQL)
        (body + client_id).encode("utf-8")
    except UnicodeEncodeError:
        return None
    if "\x00" in body or "\x00" in client_id:
        return None
    return {"body": body, "client_id": client_id}


def _is_agent(user: Any) -> bool:
    """An agent who may answer, and (in production) signed in with a second factor, as the
    staff console asks."""
    return bool(user and user.is_authenticated and user.is_staff
                and user.has_perm("support.reply_conversation")
                and not staff_needs_second_factor(user))


class _Base(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def join(self, *groups: str) -> None:
        self.groups_joined = list(groups)
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    # Events published by the services, forwarded to the browser as they are.
    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def chat_status(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def inbox_update(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None,
                      **kwargs: Any) -> None:
        frame = message_frame(text_data)
        if frame is None:
            await self.error(DomainError(code="invalid_frame"))
            return
        try:
            await self.on_message(frame["body"], frame["client_id"])
        except DomainError as error:
            await self.error(error)

    async def on_message(self, body: str, client_id: str) -> None:
        raise DomainError(code="invalid_frame")  # this socket only listens

    async def error(self, error: DomainError) -> None:
        user = self.scope.get("user")
        with translation.override(getattr(user, "language", "") or settings.LANGUAGE_CODE):
            frame: dict[str, Any] = {"type": "error", "code": error.code,
                                     "message": str(error.message)}
        if isinstance(error, RateLimited):
            frame["retry_after"] = error.retry_after
        await self.send_json(frame)


class CustomerChatConsumer(_Base):
    """``/ws/support/chat/``: the signed-in customer's own conversation."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not (user and user.is_authenticated):
            await self.close(code=4401)
            return
        await self.join(conversations.customer_group(user.pk))

    async def on_message(self, body: str, client_id: str) -> None:
        await database_sync_to_async(conversations.post_customer_message)(
            customer=self.scope["user"], body=body, client_id=client_id)


class AgentConversationConsumer(_Base):
    """``/ws/support/conversations/<id>/``: an agent on one conversation."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not await database_sync_to_async(_is_agent)(user):
            await self.close(code=4403)
            return
        self.conversation_id = int(self.scope["url_route"]["kwargs"]["conversation_id"])
        await self.join(conversations.group_of(self.conversation_id))

    async def on_message(self, body: str, client_id: str) -> None:
        await database_sync_to_async(conversations.post_agent_reply)(
            agent=self.scope["user"], conversation_id=self.conversation_id, body=body,
            client_id=client_id)


class InboxConsumer(_Base):
    """``/ws/support/inbox/``: every agent's queue, updated as conversations move."""

    async def connect(self) -> None:
        if not await database_sync_to_async(_is_agent)(self.scope.get("user")):
            await self.close(code=4403)
            return
        await self.join(conversations.INBOX_GROUP)
