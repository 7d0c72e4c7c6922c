"""Background work of usage: telling the supplier that a period's data is used up."""

from __future__ import annotations

import datetime as dt
import logging

from django_tasks import task

from esimdesk.core import audit, clock
from esimdesk.provisioning import registry as upstream
from esimdesk.provisioning.providers.base import RetryableUpstreamError, UpstreamError
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
    action = period.plan.depletion
    try:
        supplier = upstream.get(esim.upstream)
        supplier.set_depletion(reference=f"esimdesk-depleted-{period.pk}", iccid=esim.iccid,
                               action=action)
    except RetryableUpstreamError as error:
        if attempt < 5:
            set_depletion_task.using(
                run_after=clock.now() + dt.timedelta(minutes=5 * attempt)).enqueue(
                period_id, attempt + 1)
            return "retrying"
        logger.error("depletion upstream for %s failed: %s", esim.iccid, error)
        return "failed"
    except UpstreamError as error:
        logger.error("depletion upstream for %s refused: %s", esim.iccid, error)
        return "refused"
    audit.record(action="esim.data_depleted_upstream", obj=esim, actor_type="task",
                 actor="usage", after={"period": period.pk, "action": action},
                 reason="data allowance used up")
    return action
