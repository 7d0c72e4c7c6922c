"""Background work of the provisioning app: the simulator's callbacks and its automatic
profile progress (both only ever enqueued inside the transaction that needs them)."""

from __future__ import annotations

from django_tasks import task

from esimdesk.sandbox import simulator_events


@task()
def deliver_simulator_callback_task(callback_id: int, attempt: int = 1) -> str:
    return simulator_events.deliver(callback_id=callback_id, attempt=attempt)


@task()
def simulator_progress_task(profile_id: int, expected: str) -> str:
    return simulator_events.progress(profile_id=profile_id, expected=expected)
