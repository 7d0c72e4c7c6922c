from __future__ import annotations

from django_tasks import task

from esimdesk.payments import refunds


@task()
def execute_refund_task(refund_id: int, attempt: int = 1) -> str:
    return refunds.execute_refund(refund_id=refund_id, attempt=attempt)


@task()
def charge_renewal_task(attempt_id: int) -> str:
    from esimdesk.payments import autorenew

    return autorenew.charge_renewal(attempt_id=attempt_id)
