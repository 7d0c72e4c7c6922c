"""How fast messages may be written into a conversation, whichever way they come (the chat
page, the API, the WebSocket).

A customer may write 10 messages within any 10 seconds and 30 within any minute; an agent
30 and 120 into one conversation (canned replies go out quickly, and a customer's flood
must never hold up the answer). The counter is the messages themselves: the services count
the writer's recent messages while they hold the lock that orders that writer's messages
(the customer's row, or the conversation's), so the limit is exact on every database and
holds across every web and realtime process without a shared cache. A refused message is
not stored, so it does not count; a retry of a stored one (same ``client_id``) is answered
before the check and is never refused.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from esimdesk.core.errors import RateLimited
from esimdesk.support.models import Message


@dataclass(frozen=True)
class Limit:
    messages: int
    within: dt.timedelta


CUSTOMER = (Limit(10, dt.timedelta(seconds=10)), Limit(30, dt.timedelta(minutes=1)))
AGENT = (Limit(30, dt.timedelta(seconds=10)), Limit(120, dt.timedelta(minutes=1)))


def check(recent: QuerySet[Message], limits: tuple[Limit, ...], now: dt.datetime) -> None:
    """Refuse one more message when ``recent`` (the writer's messages) already fills a limit;
    ``retry_after`` is when the oldest message that fills it leaves its window."""
    longest = max(limit.within for limit in limits)
    most = max(limit.messages for limit in limits)
    times = list(recent.filter(created_at__gt=now - longest).order_by("-created_at", "-pk")
                 .values_list("created_at", flat=True)[:most])
    wait = 0.0
    for limit in limits:
        inside = [at for at in times if at > now - limit.within]
        if len(inside) >= limit.messages:
            wait = max(wait, (inside[limit.messages - 1] + limit.within - now).total_seconds())
    if wait > 0:
        raise RateLimited(_("You are sending messages too quickly. Please wait a moment, "
                            "then send again."), retry_after=math.ceil(wait))
