"""Background work of usage: telling the supplier that a period's data is used up."""

from __future__ import annotations

import logging

from django_tasks import task

from esimdesk.core import audit, clock
from esimdesk.provisioning import registry as upstream
from esimdesk.provisioning.retrying import call_from_task
from esimdesk.subscriptions import allowance_policy as policy
from esimdesk.subscriptions.models import Period

logger = logging.getLogger(__name__)


@task()
def set_depletion_task(period_id: int, attempt: int = 1) -> str:
    """Apply the plan's depletion behaviour (throttle or stop) upstream. Enqueued once per
    period, by the ingestion transaction that used its data up."""
    period = Period.objects.select_related("subscription__esim", "plan").get(pk=period_id)
    esim = period.subscription.esim
    if esim is None:
        return "group pool"
    if period.ends_at <= clock.now():
        return "period over"  # a new period (or none) applies now, not this one's depletion
    action = policy.policy_for(depletion=period.plan.depletion).on_depleted
    if action is None:
        return "nothing upstream"  # the plan's policy does nothing when its data runs out
    failed = call_from_task(
        call=lambda: upstream.get(esim.upstream).set_depletion(
            reference=f"esimdesk-depleted-{period.pk}", iccid=esim.iccid, action=action),
        retry=set_depletion_task, args=(period_id,), attempt=attempt,
        what=f"depletion upstream for {esim.iccid}", about=esim)
    if failed:
        return failed
    audit.record(action="esim.data_depleted_upstream", obj=esim, actor_type="task",
                 actor="usage", after={"period": period.pk, "action": action},
                 reason="data allowance used up")
    return action
