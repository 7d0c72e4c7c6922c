from __future__ import annotations

from django_tasks import task

from esimdesk.orders import services


@task()
def fulfil_order_task(order_id: int, attempt: int = 1, since: str | None = None) -> str:
    return services.fulfil_order(order_id=order_id, attempt=attempt, since=since)


@task()
def reissue_task(reissue_id: int, attempt: int = 1) -> str:
    from esimdesk.orders import reissue

    return reissue.carry_out(reissue_id=reissue_id, attempt=attempt)


@task()
def revoke_profile_task(reissue_id: int, attempt: int = 1) -> str:
    from esimdesk.orders import reissue

    return reissue.revoke_old_profile(reissue_id=reissue_id, attempt=attempt)
