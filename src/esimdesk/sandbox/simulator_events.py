"""The simulator's side of its callbacks: profile status events and usage it reports.

A status event changes the simulated profile's ``state`` along the device life cycle
(``released -> downloaded -> installed -> enabled <-> disabled``, anything but ``cancelled``
-> ``deleted``); ``first_use`` (the phone first attached to a network, once per profile,
from ``installed`` or ``enabled``) records ``first_used_at`` and leaves the profile
``enabled``. Each event gets a unique id, and is written with the signed callback that carries it,
in one transaction that also enqueues the delivery task. Delivery calls esimdesk's upstream
callback handler in-process with the same signed body the HTTP endpoint would get (the
simulator runs inside esimdesk), so the receiving side is exactly the real one. A callback
that esimdesk cannot apply yet (the eSIM row is written after the profile is ordered) is
delivered again with backoff.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

from django.db import transaction
from django_tasks import task

from esimdesk import config
from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict, NotFound, ValidationFailed
from esimdesk.core.models import AuditEntry
from esimdesk.sandbox.models import (
    SimulatedCallback,
    SimulatedProfile,
    SimulatedProfileEvent,
    SimulatedUsage,
)
from esimdesk.sandbox.simulator import sign
from esimdesk.sandbox.simulator_callbacks import handle_simulator_callback

logger = logging.getLogger(__name__)

State = SimulatedProfile.State
NEXT: dict[str, set[str]] = {
    State.RELEASED: {State.DOWNLOADED, State.DELETED},
    State.DOWNLOADED: {State.INSTALLED, State.DELETED},
    State.INSTALLED: {State.ENABLED, State.DELETED},
    State.ENABLED: {State.DISABLED, State.DELETED},
    State.DISABLED: {State.ENABLED, State.DELETED},
    State.DELETED: set(),
    State.CANCELLED: set(),
}
#: The phone's first attach to a network: an event, not a state of the profile.
FIRST_USE = "first_use"
#: The path a newly ordered profile takes when the simulator progresses it by itself (and
#: the steps the API walks to reach an event further along it).
AUTO_PATH = (State.RELEASED, State.DOWNLOADED, State.INSTALLED, State.ENABLED, FIRST_USE)
DELIVERY_ATTEMPTS = 6
MAX_MANUAL_USAGE = 100 * 1024**3  # 100 GB in one click is a typo, not a test


def _auto_progress_seconds() -> int:
    raw = (config.env("ESIMDESK_SIMULATOR_AUTO_PROGRESS") or "0").strip()
    return int(raw) if raw.isdigit() else 0


def schedule_auto_progress(profile: SimulatedProfile, *, after: str = State.RELEASED) -> bool:
    """When ``ESIMDESK_SIMULATOR_AUTO_PROGRESS`` is on, enqueue the next step of the
    profile's path in that many seconds (call inside the transaction that made the change)."""
    seconds = _auto_progress_seconds()
    if not seconds or after not in AUTO_PATH[:-1]:
        return False
    simulator_progress_task.using(
        run_after=clock.now() + dt.timedelta(seconds=seconds)).enqueue(profile.pk, after)
    return True


def next_events(profile: SimulatedProfile) -> list[str]:
    """The events the profile can report now, in the order staff pick them."""
    events = sorted(NEXT.get(profile.state, set()))
    if profile.first_used_at is None and profile.state in (State.INSTALLED, State.ENABLED):
        events.append(FIRST_USE)
    return events


def progress(*, profile_id: int, expected: str) -> str:
    """One automatic step: only if the profile is still where the step was planned from
    (staff may have moved it meanwhile, or it was revoked)."""
    profile = SimulatedProfile.objects.filter(pk=profile_id).first()
    if profile is None or profile.state != expected or profile.revoked_at is not None:
        return "skipped"
    if AUTO_PATH[AUTO_PATH.index(expected) + 1] == FIRST_USE and \
            profile.first_used_at is not None:
        return "skipped"
    target = AUTO_PATH[AUTO_PATH.index(expected) + 1]
    with transaction.atomic():
        emit(profile=profile, status=target, origin="auto", actor_type=AuditEntry.ActorType.TASK,
             actor="simulator", reason="automatic progress")
        schedule_auto_progress(profile, after=target)
    return target


def _event_body(events: list[SimulatedProfileEvent], iccid: str) -> str:
    return json.dumps({"events": [
        {"id": e.event_id, "iccid": iccid, "status": e.status,
         "occurred_at": e.occurred_at.isoformat()} for e in events]}, separators=(",", ":"))


def emit(*, profile: SimulatedProfile, status: str, origin: str, actor_type: str,
         actor: str, reason: str = "", at: dt.datetime | None = None) -> SimulatedProfileEvent:
    """Move the simulated profile to ``status`` (or record its ``first_use``) and send
    esimdesk the event, which happened at ``at`` (now if not given; 400
    ``invalid_event_time`` in the future or before the profile was issued). Raises
    ``Conflict`` for a move the life cycle does not allow or on a revoked profile."""
    with transaction.atomic():
        locked = SimulatedProfile.objects.select_for_update().get(pk=profile.pk)
        if locked.revoked_at is not None:
            raise Conflict(code="simulated_profile_revoked", detail={"iccid": locked.iccid})
        if status not in next_events(locked):
            raise Conflict(code="illegal_profile_event",
                           detail={"from": locked.state, "to": status})
        before = locked.state
        now = clock.now()
        occurred_at = now if at is None else at
        if occurred_at > now or occurred_at < locked.created_at:
            raise ValidationFailed(code="invalid_event_time", status=400,
                                   detail={"at": occurred_at.isoformat()})
        if status == FIRST_USE:
            locked.first_used_at = occurred_at
            locked.state, locked.state_changed_at = State.ENABLED, occurred_at
        else:
            locked.state, locked.state_changed_at = status, occurred_at
        locked.save(update_fields=["state", "state_changed_at", "first_used_at"])
        event = SimulatedProfileEvent(event_id=f"simevt-{uuid.uuid4().hex}", profile=locked,
                                      status=status, previous=before, origin=origin,
                                      occurred_at=occurred_at)
        event.callback = _queue(SimulatedCallback.Kind.STATUS,
                                _event_body([event], str(locked.iccid)))
        event.save()
        audit.record(action="simulator.profile_event", obj=locked, actor_type=actor_type,
                     actor=actor, before={"state": before},
                     after={"state": locked.state, "event": event.event_id,
                            "status": status}, reason=reason[:500])
    profile.state, profile.state_changed_at = locked.state, locked.state_changed_at
    profile.first_used_at = locked.first_used_at
    return event


def walk_to(*, profile: SimulatedProfile, event: str, origin: str, actor_type: str,
            actor: str, reason: str = "", at: dt.datetime | None = None,
            ) -> list[SimulatedProfileEvent]:
    """Report ``event``, first reporting the steps of the device's path the profile has
    not taken yet (an ``installed`` for a profile still ``released`` is a download and an
    install, as on a real phone); all at ``at``."""
    if event in AUTO_PATH and profile.state in AUTO_PATH and event not in next_events(profile):
        here, there = AUTO_PATH.index(profile.state), AUTO_PATH.index(event)
        steps = list(AUTO_PATH[here + 1:there + 1]) if there > here else [event]
    else:
        steps = [event]
    with transaction.atomic():
        return [emit(profile=profile, status=step, origin=origin, actor_type=actor_type,
                     actor=actor, reason=reason, at=at) for step in steps]


def generate_usage(*, profile: SimulatedProfile, quantity: int, kind: str = "data",
                   actor_type: str, actor: str, reason: str = "") -> SimulatedUsage:
    """Meter ``quantity`` on the profile now and report it, like the hourly sweep does."""
    if kind not in ("data", "voice", "sms"):
        raise ValidationFailed(code="invalid_request", detail={"kind": kind})
    if not 0 < quantity <= MAX_MANUAL_USAGE:
        raise ValidationFailed(code="invalid_request", detail={"quantity": quantity})
    if profile.revoked_at is not None:
        raise Conflict(code="simulated_profile_revoked", detail={"iccid": profile.iccid})
    now = clock.now()
    with transaction.atomic():
        usage = SimulatedUsage.objects.create(
            record_id=f"sim-manual-{uuid.uuid4().hex}", iccid=str(profile.iccid), kind=kind,
            quantity=quantity, occurred_at=now)
        body = json.dumps({"records": [
            {"id": usage.record_id, "iccid": usage.iccid, "kind": kind, "quantity": quantity,
             "occurred_at": now.isoformat()}]}, separators=(",", ":"))
        _queue(SimulatedCallback.Kind.USAGE, body)
        audit.record(action="simulator.usage", obj=profile, actor_type=actor_type, actor=actor,
                     after={"record": usage.record_id, "kind": kind, "quantity": quantity},
                     reason=reason[:500])
    return usage


def _queue(kind: str, body: str) -> SimulatedCallback:
    callback = SimulatedCallback.objects.create(kind=kind, body=body)
    deliver_simulator_callback_task.enqueue(callback.pk)
    return callback


def _accepted(status: int, answer: dict[str, Any]) -> bool:
    """Delivered when esimdesk answered 200 and knew every eSIM the callback is about;
    an ``unknown_iccid`` event is sent again, the rest replays as duplicates."""
    if status != 200:
        return False
    return all(item.get("outcome") != "unknown_iccid" for item in answer.get("events", []))


def deliver(*, callback_id: int, attempt: int = 1) -> str:
    """Send one callback to esimdesk's upstream callback handler, signed."""
    callback = SimulatedCallback.objects.filter(pk=callback_id).first()
    if callback is None:
        return "gone"
    if callback.delivered_at is not None:
        return "delivered"
    body = callback.body.encode()
    status, answer = handle_simulator_callback(body, sign(body))
    callback.attempts += 1
    callback.last_http_status, callback.last_answer = status, answer
    outcome = "delivered"
    with transaction.atomic():
        if _accepted(status, answer):
            callback.delivered_at = clock.now()
        elif attempt < DELIVERY_ATTEMPTS:
            outcome = "retrying"
            deliver_simulator_callback_task.using(
                run_after=clock.now() + dt.timedelta(seconds=15 * 2 ** (attempt - 1))
            ).enqueue(callback_id, attempt + 1)
        else:
            outcome = "gave_up"
            callback.gave_up_at = clock.now()
            logger.warning("simulator callback %s not accepted after %s tries: %s %s",
                           callback_id, attempt, status, answer)
        callback.save()
    return outcome


def resend(*, callback_id: int, actor_type: str, actor: str, reason: str = "") -> None:
    """Staff: deliver a callback again (one that gave up, or to replay it on purpose:
    esimdesk must treat the replay as a duplicate)."""
    with transaction.atomic():
        callback = SimulatedCallback.objects.select_for_update().filter(pk=callback_id).first()
        if callback is None:
            raise NotFound(code="not_found")
        before = {"delivered_at": callback.delivered_at and callback.delivered_at.isoformat()}
        callback.delivered_at = callback.gave_up_at = None
        callback.save(update_fields=["delivered_at", "gave_up_at"])
        deliver_simulator_callback_task.enqueue(callback.pk)
        audit.record(action="simulator.callback_resend", obj=callback, actor_type=actor_type,
                     actor=actor, before=before, after={"queued": True}, reason=reason[:500])


@task()
def deliver_simulator_callback_task(callback_id: int, attempt: int = 1) -> str:
    return deliver(callback_id=callback_id, attempt=attempt)


@task()
def simulator_progress_task(profile_id: int, expected: str) -> str:
    return progress(profile_id=profile_id, expected=expected)
