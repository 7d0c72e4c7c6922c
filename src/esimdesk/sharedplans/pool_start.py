"""*Start now* for a pool: the group's owner or an administrator starts the pool that waits
for its first member's first use at this instant (``subscriptions.validity.start``: the
subscription is locked and the state re-read, so a report or usage record starting it at
the same moment starts it once)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from esimdesk.core import clock
from esimdesk.core.errors import Conflict
from esimdesk.groups import services as groups
from esimdesk.sharedplans.pools import pending_pool_period
from esimdesk.subscriptions import validity
from esimdesk.subscriptions.models import Period

NOT_PENDING = "pool_not_pending"


def start_pool_now(*, user: Any, group_id: int) -> Period:
    """Start the group's pending pool now. 404 ``unknown_group`` for a group the user is
    not in, 403 ``group_manager_only`` for a member, 409 ``pool_not_pending`` when no pool
    waits (it started already, or the group has no plan)."""
    manager = groups.manager_of(user=user, group_id=group_id)
    period = pending_pool_period(manager.group_id)
    started = None
    if period is not None:
        started = validity.start(subscription_id=period.subscription_id, at=clock.now(),
                                 actor_type="user", actor=str(getattr(user, "pk", "")),
                                 reason="started by the group's manager")
    if started is None:  # none waits, or a first use started it meanwhile
        raise Conflict(_("The group's plan is not waiting to start: it has started already, "
                         "or there is none."), code=NOT_PENDING)
    return started
