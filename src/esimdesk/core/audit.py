"""Audit trail: every state change writes one row, in the transaction of the change."""

from __future__ import annotations

from typing import Any

from esimdesk.core.models import AuditEntry


def actor_of(user: Any) -> tuple[str, str]:
    """(actor_type, actor) for a user, staff or customer."""
    if user is None or not getattr(user, "is_authenticated", False):
        return AuditEntry.ActorType.SYSTEM, ""
    kind = AuditEntry.ActorType.STAFF if user.is_staff else AuditEntry.ActorType.CUSTOMER
    return kind, f"{user.pk}:{user}"


def record(*, action: str, obj: Any, actor_type: str, actor: str = "",
           before: Any = None, after: Any = None, reason: str = "") -> AuditEntry:
    return AuditEntry.objects.create(
        actor_type=actor_type,
        actor=actor[:200],
        action=action,
        object_type=obj.__class__.__name__.lower(),
        object_id=str(getattr(obj, "pk", obj)),
        before=before,
        after=after,
        reason=reason,
    )


def record_by_user(*, user: Any, action: str, obj: Any, before: Any = None,
                   after: Any = None, reason: str = "") -> AuditEntry:
    actor_type, actor = actor_of(user)
    return record(action=action, obj=obj, actor_type=actor_type, actor=actor,
                  before=before, after=after, reason=reason)
