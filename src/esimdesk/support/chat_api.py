"""Support chat for apps: the same conversation the portal shows, over JSON. Apps poll
``GET /support/conversation?after=<id>`` (or open the WebSocket with the session cookie in a
web view). No ``from __future__ import annotations``: ninja reads annotations at import."""

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from esimdesk.core.api.auth import customer_auth
from esimdesk.core.api.schemas import INT64_MAX, BodyIn, ErrorOut, ObjectId, refused_as
from esimdesk.support import conversations

router = Router(tags=["support"], auth=customer_auth)


class AttachmentOut(Schema):
    name: str
    type: str
    url: str


class MessageOut(Schema):
    id: int
    sender: str = Field(..., description="customer | agent | system")
    author: str
    body: str
    created_at: str
    attachment: AttachmentOut | None


class ConversationOut(Schema):
    id: int | None = Field(..., description="null until the customer's first message")
    status: str | None = Field(..., description="open | waiting (for the customer) | resolved")
    channel: str | None = Field(..., description="chat, or ticket once no agent answered in "
                                                 "time (answers then also come by e-mail)")
    rating: int | None
    messages: list[MessageOut]


class AfterQuery(Schema):
    after: int = Field(0, ge=0, le=INT64_MAX, description="only messages with a larger id")


class MessageIn(BodyIn):
    body: Annotated[str, Field(max_length=conversations.MAX_BODY),
                    refused_as("message_too_long")]
    client_id: str = Field("", max_length=64, description="your id for this message: a "
                                                          "retry with the same id posts once")


class RatingIn(BodyIn):
    rating: int = Field(..., ge=1, le=5)
    comment: str = Field("", max_length=500)


def _conversation_out(request: HttpRequest, after: int = 0) -> dict[str, Any]:
    conversation = conversations.current_conversation(customer=request.auth)
    if conversation is None:
        return {"id": None, "status": None, "channel": None, "rating": None, "messages": []}
    return {"id": conversation.pk, "status": conversation.status,
            "channel": conversation.channel, "rating": conversation.rating,
            "messages": [conversations.message_event(m)["message"] for m in
                         conversation.messages.filter(pk__gt=after).select_related("author")]}


@router.get("/support/conversation", response={200: ConversationOut},
            summary="The customer's current support conversation")
def get_conversation(request: HttpRequest, query: Query[AfterQuery]) -> Any:
    return _conversation_out(request, query.after)


@router.post("/support/messages", response={201: MessageOut, 429: ErrorOut},
             summary="Write to support (starts or continues the conversation)",
             description="At most 10 messages within 10 seconds and 30 within a minute, "
                         "counted with those sent over the WebSocket; over that, 429 "
                         "`rate_limited` with `Retry-After` (seconds). A retry with the same "
                         "`client_id` answers the stored message and is never refused.")
def post_message(request: HttpRequest, body: MessageIn) -> Any:
    """422 ``message_empty`` for a message with nothing but spaces."""
    message = conversations.post_customer_message(customer=request.auth, body=body.body,
                                                  client_id=body.client_id)
    return Status(201, conversations.message_event(message)["message"])


@router.post("/support/conversations/{conversation_id}/rating",
             response={200: ConversationOut, 404: ErrorOut, 409: ErrorOut},
             summary="Rate a resolved conversation from 1 to 5")
def rate_conversation(request: HttpRequest, conversation_id: ObjectId, body: RatingIn) -> Any:
    conversations.rate(customer=request.auth, conversation_id=conversation_id,
                       rating=body.rating, comment=body.comment)
    return _conversation_out(request)
