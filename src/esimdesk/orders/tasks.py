from __future__ import annotations

from django_tasks import task

from esimdesk.orders import services


@task()
def fulfil_order_task(order_id: int, attempt: int = 1) -> str:
    return services.fulfil_order(order_id=order_id, attempt=attempt)
