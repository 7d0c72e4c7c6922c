"""Which eSIMs have a plan running at a moment: one definition for the console's *Active
eSIMs* figure and the eSIM list's "plan running now" filter, so the figure and the list it
links to count the same eSIMs."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q

from esimdesk.esims.models import Esim
from esimdesk.groups.models import Membership
from esimdesk.subscriptions.models import Period


def plan_running(at: dt.datetime) -> Q:
    """eSIMs not revoked with a period running at ``at`` (starts_at <= at < ends_at, not
    cancelled): their own, or their group's while they were a member."""
    running = (Period.objects.filter(starts_at__lte=at, ends_at__gt=at)
               .exclude(state=Period.State.CANCELLED))
    member_then = (Membership.objects.filter(esim=OuterRef("pk"), joined_at__lte=at)
                   .filter(Q(left_at__isnull=True) | Q(left_at__gt=at))
                   .filter(Exists(running.filter(subscription__group=OuterRef("group")))))
    return (~Q(status=Esim.Status.REVOKED)
            & (Exists(running.filter(subscription__esim=OuterRef("pk"))) | Exists(member_then)))
