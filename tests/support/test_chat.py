"""Live support chat: the no-JavaScript forms, exactly-once messages, screenshots, the agent
inbox with its permissions, tickets when nobody answers, ratings; and the WebSocket path
(a customer's message reaches the agent's inbox and the reply reaches the customer)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.core.models import AuditEntry
from esimdesk.notifications.models import Notification
from esimdesk.support import conversations, realtime
from esimdesk.support.models import CannedReply, Conversation, Message
from tests.support.asgi_clients import WebSocket, http_post

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
       b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x9d"
       b"\x85\x1d\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def customer(db: Any) -> User:
    return User.objects.create_user("traveller@example.com", "x-long-password-1",
                                    language="zh-hans")


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _agent(email: str = "agent@example.com", *perms: str) -> User:
    agent = User.objects.create_user(email, "x-long-password-1", is_staff=True, name="Mei")
    for codename in perms or ("view_conversation", "reply_conversation"):
        agent.user_permissions.add(Permission.objects.get(content_type__app_label="support",
                                                          codename=codename))
    return agent


def test_a_customer_writes_without_javascript_and_a_resubmit_posts_once(
        customer: User, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    client = _client(customer)
    page = client.get("/support/chat/")
    assert page.status_code == 200 and 'name="client_id"' in page.content.decode()
    form = {"body": "My eSIM will not install", "client_id": "abc123"}
    assert client.post("/support/chat/", form).status_code == 302
    assert client.post("/support/chat/", form).status_code == 302  # the browser resubmits
    conversation = Conversation.objects.get()
    assert conversation.messages.count() == 1
    assert conversation.waiting_since is not None and conversation.status == "open"
    shot = SimpleUploadedFile("screen.png", PNG, content_type="image/png")
    client.post("/support/chat/", {"body": "", "client_id": "def", "screenshot": shot})
    message = conversation.messages.last()
    assert message is not None and message.attachment_type == "image/png"
    assert client.get(f"/support/attachments/{message.pk}").content == PNG
    stranger = _client(User.objects.create_user("other@example.com", "x-long-password-1"))
    assert stranger.get(f"/support/attachments/{message.pk}").status_code == 404
    history = client.get("/support/chat/").content.decode()
    assert "My eSIM will not install" in history


def test_bad_messages_get_a_form_error_and_nothing_is_saved(customer: User, settings: Any,
                                                            tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    client = _client(customer)
    fake = SimpleUploadedFile("x.png", b"MZ\x90\x00 not an image", content_type="image/png")
    page = client.post("/support/chat/", {"body": "", "client_id": "x", "screenshot": fake},
                       HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400 and "WebP" in page.content.decode()
    settings.ESIMDESK = {**settings.ESIMDESK}
    empty = client.post("/support/chat/", {"body": "   ", "client_id": "y"})
    assert empty.status_code == 400
    assert not Message.objects.exists()


def test_attachment_size_limit(customer: User, settings: Any, tmp_path: Any,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    settings.DATA_DIR = tmp_path
    monkeypatch.setenv("ESIMDESK_CHAT_ATTACHMENT_MAX_BYTES", "50")
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * 100, content_type="image/png")
    page = _client(customer).post("/support/chat/", {"body": "look", "client_id": "z",
                                                     "screenshot": big})
    assert page.status_code == 400 and not Message.objects.exists()


def test_the_agent_inbox_answers_and_only_agents_may(customer: User) -> None:
    conversations.post_customer_message(customer=customer, body="数据不能用", client_id="m1")
    conversation = Conversation.objects.get()
    CannedReply.objects.create(title="Roaming", body_en="Turn on data roaming.",
                               body_zh_hans="请打开数据漫游。")
    reader = _client(_agent("reader@example.com", "view_conversation"))
    assert reader.get("/staff/support/").status_code == 200
    assert reader.post(f"/staff/support/{conversation.pk}/reply",
                       {"body": "hi", "client_id": "r"}).status_code == 403
    assert _client(customer).get("/staff/support/").status_code == 302  # not staff: sign in
    agent_user = _agent()
    agent = _client(agent_user)
    inbox = agent.get("/staff/support/").content.decode()
    assert "traveller@example.com" in inbox
    page = agent.get(f"/staff/support/{conversation.pk}/").content.decode()
    assert "数据不能用" in page and "请打开数据漫游。" in page  # canned, customer's language
    canned = CannedReply.objects.get()
    agent.post(f"/staff/support/{conversation.pk}/reply",
               {"body": "", "canned": str(canned.pk), "client_id": "a1"})
    conversation.refresh_from_db()
    assert conversation.assigned_to == agent_user and conversation.status == "waiting"
    assert conversation.waiting_since is None
    reply = conversation.messages.get(sender="agent")
    assert reply.body == "请打开数据漫游。"
    assert "请打开数据漫游。" in _client(customer).get("/support/chat/").content.decode()
    # Transfer needs an agent who can answer, and is audited with the reason.
    other = _agent("second@example.com")
    agent.post(f"/staff/support/{conversation.pk}/assign",
               {"agent": str(other.pk), "reason": "speaks Mandarin"})
    conversation.refresh_from_db()
    assert conversation.assigned_to == other
    entry = AuditEntry.objects.get(action="support.transferred")
    assert entry.reason == "speaks Mandarin" and "agent@example.com" in entry.actor


def test_nobody_answers_in_time_it_becomes_a_ticket_answered_by_email(customer: User) -> None:
    conversations.post_customer_message(customer=customer, body="help", client_id="t1")
    assert conversations.escalate_unanswered()["escalated"] == 0
    clock.advance(dt.timedelta(minutes=6))
    assert conversations.escalate_unanswered()["escalated"] == 1
    assert conversations.escalate_unanswered()["escalated"] == 0  # once
    conversation = Conversation.objects.get()
    assert conversation.channel == "ticket"
    note = conversation.messages.get(sender="system")
    assert "traveller@example.com" in note.body and "忙" in note.body  # customer's language
    assert Notification.objects.filter(kind="support_ticket", channel="email").count() == 1
    conversations.post_agent_reply(agent=_agent(), conversation_id=conversation.pk,
                                   body="Sorry for the wait: restart your phone.")
    mail = Notification.objects.get(kind="support_reply", channel="email")
    assert "restart your phone" in mail.body_text and mail.to == "traveller@example.com"


def test_resolve_then_rate_once_resolved(customer: User) -> None:
    conversations.post_customer_message(customer=customer, body="thanks", client_id="r1")
    conversation = Conversation.objects.get()
    client = _client(customer)
    client.post(f"/support/chat/{conversation.pk}/rate/", {"rating": "5"})
    assert Conversation.objects.get().rating is None  # not resolved yet
    agent = _client(_agent())
    agent.post(f"/staff/support/{conversation.pk}/status", {"status": "resolved"})
    assert Conversation.objects.get().status == "resolved"
    assert "5" in client.get("/support/chat/").content.decode()
    client.post(f"/support/chat/{conversation.pk}/rate/", {"rating": "4", "comment": "fast"})
    conversation.refresh_from_db()
    assert (conversation.rating, conversation.rating_comment) == (4, "fast")
    # Writing again within a day reopens the same conversation.
    conversations.post_customer_message(customer=customer, body="one more thing",
                                        client_id="r2")
    assert Conversation.objects.count() == 1 and Conversation.objects.get().status == "open"


def _session_headers(user: User) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    return [(b"cookie", f"sessionid={cookie}".encode()), (b"origin", b"http://testserver")]


@pytest.mark.django_db(transaction=True)
def test_over_websockets_the_message_reaches_the_inbox_and_the_reply_the_customer(
        settings: Any) -> None:
    from esimdesk.asgi import application

    settings.ALLOWED_HOSTS = ["testserver"]
    customer = User.objects.create_user("ws@example.com", "x-long-password-1")
    agent = _agent()

    async def scenario() -> None:
        inbox = WebSocket(application, "/ws/support/inbox/",
                                      _session_headers_async(agent))
        assert await inbox.connect()
        me = WebSocket(application, "/ws/support/chat/",
                                   _session_headers_async(customer))
        assert await me.connect()
        await me.send_json({"type": "message", "body": "No signal in Tokyo",
                               "client_id": "w1"})
        seen = await _next_of(inbox, "inbox.update")
        assert seen["conversation"]["last"]["body"] == "No signal in Tokyo"
        mine = await _next_of(me, "chat.message")
        assert mine["message"]["body"] == "No signal in Tokyo"
        conversation_id = seen["conversation"]["id"]
        desk = WebSocket(application, f"/ws/support/conversations/{conversation_id}/",
                                     _session_headers_async(agent))
        assert await desk.connect()
        await desk.send_json({"type": "message", "body": "Turn on data roaming",
                                 "client_id": "w2"})
        answer = await _next_of(me, "chat.message")
        assert answer["message"]["sender"] == "agent"
        assert answer["message"]["body"] == "Turn on data roaming"
        # A customer may not listen to the agents' channels.
        spy = WebSocket(application, "/ws/support/inbox/",
                                    _session_headers_async(customer))
        assert not await spy.connect()
        for communicator in (inbox, me, desk):
            await communicator.disconnect()

    headers = {user.pk: _session_headers(user) for user in (customer, agent)}

    def _session_headers_async(user: User) -> list[tuple[bytes, bytes]]:
        return headers[user.pk]

    async_to_sync(scenario)()


async def _next_of(communicator: WebSocket, kind: str) -> dict[str, Any]:
    for _ in range(10):
        event = await communicator.receive_json()
        if event["type"] == kind:
            return event
    raise AssertionError(f"no {kind} event")


@pytest.mark.django_db(transaction=True)
def test_other_processes_publish_through_the_signed_internal_endpoint() -> None:
    from channels.layers import get_channel_layer

    from esimdesk.asgi import application

    async def scenario() -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("support-inbox", channel)
        body = json.dumps({"group": "support-inbox",
                           "event": {"type": "inbox.update", "conversation": {"id": 7}}}).encode()
        forged = await http_post(application, realtime.PUBLISH_PATH, body,
                                 [(b"x-esimdesk-signature", b"0" * 64)])
        assert forged == 403
        signed = await http_post(application, realtime.PUBLISH_PATH, body,
                                 [(b"x-esimdesk-signature", realtime.sign(body).encode())])
        assert signed == 202
        event = await layer.receive(channel)
        assert event["conversation"]["id"] == 7
        assert await http_post(application, "/staff/", b"", [], method="GET") == 404

    async_to_sync(scenario)()


def test_apps_chat_over_the_api(api: Any) -> None:
    assert api.get("/api/v1/support/conversation").json()["id"] is None
    sent = api.post("/api/v1/support/messages", {"body": "Where is my QR code?",
                                                 "client_id": "app-1"})
    assert sent.status_code == 201
    again = api.post("/api/v1/support/messages", {"body": "Where is my QR code?",
                                                  "client_id": "app-1"})
    assert again.json()["id"] == sent.json()["id"]  # a retry posts once
    conversation = api.get("/api/v1/support/conversation").json()
    assert [m["body"] for m in conversation["messages"]] == ["Where is my QR code?"]
    empty = api.post("/api/v1/support/messages", {"body": "  "})
    assert empty.status_code == 422 and empty.json()["code"] == "message_empty"
    early = api.post(f"/api/v1/support/conversations/{conversation['id']}/rating",
                     {"rating": 5})
    assert early.status_code == 409 and early.json()["code"] == "conversation_not_resolved"
    conversations.post_agent_reply(agent=_agent(), conversation_id=conversation["id"],
                                   body="In the e-mail we sent you.")
    newer = api.get(f"/api/v1/support/conversation?after={sent.json()['id']}").json()
    assert [m["sender"] for m in newer["messages"]] == ["agent"]


@pytest.mark.django_db(transaction=True)
def test_with_redis_every_process_shares_the_layer(settings: Any) -> None:
    """Production shape: ESIMDESK_REDIS_URL set, so a web process publishes straight into
    Redis and a realtime process elsewhere (here: a second layer instance) receives it."""
    import redis
    from channels.layers import channel_layers
    from channels_redis.core import RedisChannelLayer

    url = "redis://127.0.0.1:6379/14"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("needs Redis at 127.0.0.1:6379 (.ci/run starts it)")
    prefix = f"esimdesk-test-{id(settings)}"
    settings.REDIS_URL = url
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [url], "prefix": prefix}}}
    channel_layers.backends.clear()
    other_process = RedisChannelLayer(hosts=[url], prefix=prefix)

    async def listen() -> str:
        return await other_process.new_channel()

    channel = async_to_sync(listen)()
    async_to_sync(other_process.group_add)("support-inbox", channel)
    try:
        realtime.publish("support-inbox", {"type": "inbox.update", "conversation": {"id": 9}})
        event = async_to_sync(other_process.receive)(channel)
        assert event["conversation"]["id"] == 9
    finally:
        async_to_sync(other_process.flush)()
        channel_layers.backends.clear()
