"""Live chat abuse: a flood over the WebSocket is held to the rate limit with error frames
and the connection stays open; the API, the WebSocket and the chat page share one limit;
agents have their own; a frame that is not a message gets an ``invalid_frame`` error frame
and the socket stays usable. Time moves through ``core.clock``."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Permission
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core import clock
from esimdesk.core.errors import RateLimited
from esimdesk.support import conversations
from esimdesk.support.consumers import MAX_FRAME_CHARS
from esimdesk.support.models import Conversation, Message
from tests.conftest import Api
from tests.support.asgi_clients import WebSocket

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _agent(email: str) -> User:
    agent = User.objects.create_user(email, "x-long-password-1", is_staff=True, name="Mei")
    for codename in ("view_conversation", "reply_conversation"):
        agent.user_permissions.add(Permission.objects.get(content_type__app_label="support",
                                                          codename=codename))
    return agent


def _session(user: User) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
            (b"origin", b"http://testserver")]


async def _frames(socket: WebSocket, count: int) -> list[dict[str, Any]]:
    return [await socket.receive_json() for _ in range(count)]


async def _body_arrives(socket: WebSocket, body: str) -> bool:
    for _ in range(10):
        frame = await socket.receive_json()
        if frame["type"] == "chat.message" and frame["message"]["body"] == body:
            return True
    return False


async def _send(socket: WebSocket, body: str, client_id: str) -> None:
    await socket.send_json({"type": "message", "body": body, "client_id": client_id})


@pytest.mark.django_db(transaction=True)
def test_a_websocket_flood_is_held_to_the_limit_and_the_socket_stays_open(
        settings: Any) -> None:
    from esimdesk.asgi import application

    settings.ALLOWED_HOSTS = ["testserver"]
    customer = User.objects.create_user("flood@example.com", "x-long-password-1",
                                        language="zh-hans")
    headers = _session(customer)
    clock.set_now(T0)

    async def scenario() -> None:
        me = WebSocket(application, "/ws/support/chat/", headers)
        assert await me.connect()
        for n in range(200):
            await _send(me, f"spam {n}", f"f{n}")
        # 10 stored (each comes back as chat.message and chat.status), 190 refused.
        frames = await _frames(me, 10 * 2 + 190)
        errors = [f for f in frames if f["type"] == "error"]
        stored = [f["message"]["body"] for f in frames if f["type"] == "chat.message"]
        assert stored == [f"spam {n}" for n in range(10)]
        assert len(errors) == 190
        assert {e["code"] for e in errors} == {"rate_limited"}
        assert {e["retry_after"] for e in errors} == {10}
        assert "您" in errors[0]["message"]  # in the customer's language

        # After the 10 seconds, 10 more each time, up to 30 within the minute.
        for step in range(1, 3):
            clock.advance(dt.timedelta(seconds=10))
            for n in range(10):
                await _send(me, f"later {step}.{n}", f"l{step}.{n}")
            frames = await _frames(me, 20)
            assert [f["type"] for f in frames].count("chat.message") == 10
        clock.advance(dt.timedelta(seconds=10))
        await _send(me, "one too many", "over")
        minute = await me.receive_json()
        assert (minute["code"], minute["retry_after"]) == ("rate_limited", 30)
        clock.advance(dt.timedelta(seconds=30))
        await _send(me, "after the minute", "after")
        assert (await me.receive_json())["message"]["body"] == "after the minute"
        await me.disconnect()

    async_to_sync(scenario)()
    assert Message.objects.filter(author=customer).count() == 31
    assert Conversation.objects.filter(customer=customer).count() == 1


@pytest.mark.django_db(transaction=True)
def test_frames_that_are_not_messages_get_an_error_frame(settings: Any) -> None:
    from esimdesk.asgi import application

    settings.ALLOWED_HOSTS = ["testserver"]
    customer = User.objects.create_user("frames@example.com", "x-long-password-1")
    agent = _agent("desk@example.com")
    conversation = conversations.post_customer_message(customer=customer, body="Hello",
                                                       client_id="c0").conversation_id
    customer_headers, agent_headers = _session(customer), _session(agent)
    bad_frames: list[dict[str, Any]] = [
        {"text": "not json"}, {"text": "[]"}, {"text": "null"}, {"text": '"message"'},
        {"text": "[" * 20_000},  # nested too deep for the parser
        {"text": json.dumps({"type": "message"})},
        {"text": json.dumps({"type": "message", "body": 5})},
        {"text": json.dumps({"type": "message", "body": "x", "client_id": 7})},
        {"text": json.dumps({"type": "message", "body": "x", "client_id": "c" * 65})},
        {"text": json.dumps({"type": "ping"})},
        {"text": json.dumps({"type": "message", "body": "a\u0000b"})},
        {"text": '{"type": "message", "body": "\\ud800"}'},  # a lone surrogate
        {"text": json.dumps({"type": "message", "body": "x" * MAX_FRAME_CHARS})},
        {"bytes": b'{"type": "message", "body": "binary"}'},
    ]

    async def scenario() -> None:
        me = WebSocket(application, "/ws/support/chat/", customer_headers)
        desk = WebSocket(application, f"/ws/support/conversations/{conversation}/",
                         agent_headers)
        inbox = WebSocket(application, "/ws/support/inbox/", agent_headers)
        for socket in (me, desk, inbox):
            assert await socket.connect()
        for frame in bad_frames:
            await me.send_input({"type": "websocket.receive", **frame})
            answer = await me.receive_json()
            assert (answer["type"], answer["code"]) == ("error", "invalid_frame"), frame
        # A service's refusal is an error frame too.
        await _send(me, "x" * (conversations.MAX_BODY + 1), "long")
        assert (await me.receive_json())["code"] == "message_too_long"
        await desk.send_input({"type": "websocket.receive", "text": "{oops"})
        assert (await desk.receive_json())["code"] == "invalid_frame"
        await inbox.send_json({"type": "message", "body": "the inbox only listens"})
        assert (await inbox.receive_json())["code"] == "invalid_frame"
        # Every socket is still open and usable.
        await _send(me, "Still here", "c1")
        assert (await me.receive_json())["message"]["body"] == "Still here"
        await _send(desk, "So are we", "a1")
        assert await _body_arrives(desk, "So are we")
        for socket in (me, desk, inbox):
            await socket.disconnect()

    async_to_sync(scenario)()
    assert list(Message.objects.order_by("pk").values_list("body", flat=True)) == [
        "Hello", "Still here", "So are we"]


@pytest.mark.django_db(transaction=True)
def test_the_api_the_websocket_and_the_page_share_one_limit(db: None,
                                                           settings: Any) -> None:
    from esimdesk.asgi import application

    settings.ALLOWED_HOSTS = ["testserver"]
    api = Api.signup("shared@example.com", language="zh-hans")
    customer = User.objects.get(email="shared@example.com")
    headers = _session(customer)
    clock.set_now(T0)

    async def over_the_socket(count: int) -> list[dict[str, Any]]:
        me = WebSocket(application, "/ws/support/chat/", headers)
        assert await me.connect()
        for n in range(count):
            await _send(me, f"socket {n}", f"s{n}")
        frames = await _frames(me, count * 2)
        await me.disconnect()
        return frames

    async_to_sync(over_the_socket)(6)
    for n in range(4):
        sent = api.post("/api/v1/support/messages", {"body": f"api {n}", "client_id": f"a{n}"})
        assert sent.status_code == 201
    clock.advance(dt.timedelta(seconds=4))
    refused = api.post("/api/v1/support/messages", {"body": "api 4", "client_id": "a4"})
    assert refused.status_code == 429
    assert refused["Retry-After"] == "6"
    body = refused.json()
    assert body["code"] == "rate_limited" and body["detail"] == {"retry_after": 6}
    assert "您" in body["message"]
    # A retry of a stored message is answered, never refused.
    again = api.post("/api/v1/support/messages", {"body": "api 0", "client_id": "a0"})
    assert again.status_code == 201 and again.json()["body"] == "api 0"
    page = Client()
    page.force_login(customer)
    form = page.post("/support/chat/", {"body": "from the page", "client_id": "p1"})
    assert form.status_code == 429 and form["Retry-After"] == "6"
    clock.advance(dt.timedelta(seconds=6))
    assert api.post("/api/v1/support/messages", {"body": "api 5", "client_id": "a5"}
                    ).status_code == 201
    assert Message.objects.filter(author=customer).count() == 11


def test_agents_have_their_own_higher_limit(db: Any) -> None:
    clock.set_now(T0)
    customer = User.objects.create_user("waiting@example.com", "x-long-password-1")
    for n in range(10):
        message = conversations.post_customer_message(customer=customer, body=f"help {n}",
                                                      client_id=f"h{n}")
    with pytest.raises(RateLimited):
        conversations.post_customer_message(customer=customer, body="help!", client_id="h10")
    mei, li = _agent("mei@example.com"), _agent("li@example.com")
    for n in range(30):  # the customer's flood does not hold the answer up
        conversations.post_agent_reply(agent=mei, conversation_id=message.conversation_id,
                                       body=f"answer {n}", client_id=f"m{n}")
    with pytest.raises(RateLimited) as refused:
        conversations.post_agent_reply(agent=mei, conversation_id=message.conversation_id,
                                       body="answer 30", client_id="m30")
    assert refused.value.retry_after == 10
    conversations.post_agent_reply(agent=li, conversation_id=message.conversation_id,
                                   body="I can help too", client_id="l0")
    clock.advance(dt.timedelta(seconds=10))
    for n in range(30, 120):  # 120 within a minute
        if n % 30 == 0 and n > 30:
            clock.advance(dt.timedelta(seconds=10))
        conversations.post_agent_reply(agent=mei, conversation_id=message.conversation_id,
                                       body=f"answer {n}", client_id=f"m{n}")
    clock.advance(dt.timedelta(seconds=10))
    with pytest.raises(RateLimited) as refused:
        conversations.post_agent_reply(agent=mei, conversation_id=message.conversation_id,
                                       body="answer 120", client_id="m120")
    assert refused.value.retry_after == 20  # the first 30 leave the minute at T0 + 60 s


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_posts_are_counted_exactly(live_server: Any, db: None) -> None:
    """Twenty first messages at the same instant, each on its own connection: one
    conversation, ten messages, ten refusals."""
    from tests.e2e.test_concurrency import Http, in_parallel

    clock.set_now(T0)
    http = Http(live_server.url)
    http.signup("racing@example.com")
    results = in_parallel(*(lambda n=n: http.call("POST", "/api/v1/support/messages",
                                                  {"body": f"race {n}", "client_id": f"r{n}"})
                            for n in range(20)))
    assert sorted(status for status, _ in results) == [201] * 10 + [429] * 10
    customer = User.objects.get(email="racing@example.com")
    assert Message.objects.filter(author=customer).count() == 10
    assert Conversation.objects.filter(customer=customer).count() == 1


@pytest.mark.django_db(transaction=True)
def test_agents_sockets_need_the_second_factor_where_the_console_does(settings: Any) -> None:
    from allauth.mfa.models import Authenticator

    from esimdesk.asgi import application

    agent = _agent("agent-2fa@example.com")
    headers = _session(agent)

    async def opens(path: str) -> bool:
        socket = WebSocket(application, path, headers)
        try:
            return await socket.connect()
        finally:
            await socket.disconnect()

    settings.STAFF_MFA_REQUIRED = True
    assert not async_to_sync(opens)("/ws/support/inbox/")
    Authenticator.objects.create(user=agent, type=Authenticator.Type.TOTP, data={})
    assert async_to_sync(opens)("/ws/support/inbox/")
