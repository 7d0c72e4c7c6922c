"""WebSocket consumers (served by `esimdesk realtime` under /ws/).

Browsers authenticate with their session cookie. A customer listens on their own group and
may send messages; an agent (``support.reply_conversation``) listens on the inbox or on one
conversation and may answer it. Sending goes through the same services as the HTML forms
and the API, so the rules, the audit and the exactly-once ``client_id`` are the same.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from esimdesk.core.errors import DomainError
from esimdesk.support import conversations


def _is_agent(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_staff
                and user.has_perm("support.reply_conversation"))


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

    async def error(self, error: DomainError) -> None:
        await self.send_json({"type": "error", "code": error.code,
                              "message": str(error.message)})


class CustomerChatConsumer(_Base):
    """``/ws/support/chat/``: the signed-in customer's own conversation."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not (user and user.is_authenticated):
            await self.close(code=4401)
            return
        await self.join(conversations.customer_group(user.pk))

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "message":
            return
        try:
            await database_sync_to_async(conversations.post_customer_message)(
                customer=self.scope["user"], body=str(content.get("body", "")),
                client_id=str(content.get("client_id", "")))
        except DomainError as error:
            await self.error(error)


class AgentConversationConsumer(_Base):
    """``/ws/support/conversations/<id>/``: an agent on one conversation."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not await database_sync_to_async(_is_agent)(user):
            await self.close(code=4403)
            return
        self.conversation_id = int(self.scope["url_route"]["kwargs"]["conversation_id"])
        await self.join(conversations.group_of(self.conversation_id))

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "message":
            return
        try:
            await database_sync_to_async(conversations.post_agent_reply)(
                agent=self.scope["user"], conversation_id=self.conversation_id,
                body=str(content.get("body", "")), client_id=str(content.get("client_id", "")))
        except DomainError as error:
            await self.error(error)


class InboxConsumer(_Base):
    """``/ws/support/inbox/``: every agent's queue, updated as conversations move."""

    async def connect(self) -> None:
        if not await database_sync_to_async(_is_agent)(self.scope.get("user")):
            await self.close(code=4403)
            return
        await self.join(conversations.INBOX_GROUP)
