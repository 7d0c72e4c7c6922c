"""What locks a customer out, and how staff unlock it.

Two things lock an account here:

- ``is_active = False`` (staff deactivated it in the console): allauth refuses every
  sign-in, and password reset mails are not sent;
- the sign-in policy (``signin_policy``): too many failed sign-ins (``failed_signin``) refuse
  sign-in even with the right password until the window ends; too many reset requests
  (``reset``) or codes (``code``) stop more being sent.

The policy's counters are shared by every process (the database, or Redis), so an unlock
takes effect in every web worker at once. Unlocking clears the account's own counts; the
per-address counts are left alone: they protect the service, not one account.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from esimdesk.accounts import signin_policy
from esimdesk.core import audit
from esimdesk.core.errors import ValidationFailed


def locks_of(user: Any) -> list[str]:
    """Why ``user`` cannot sign in now: ``inactive`` and/or the policy's limits reached."""
    reasons = [] if user.is_active else ["inactive"]
    return reasons + signin_policy.locks_of(user=user)


def unlock(*, user: Any, actor: str, reason: str) -> list[str]:
    """Reactivate the account and clear its sign-in counts; answers what was locked."""
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationFailed(code="reason_required")
    with transaction.atomic():
        locked = type(user).objects.select_for_update().get(pk=user.pk)
        found = locks_of(locked)
        if not locked.is_active:
            locked.is_active = True
            locked.save(update_fields=["is_active"])
        signin_policy.clear_account(user=locked)
        audit.record(action="account.unlock", obj=locked, actor_type="staff", actor=actor,
                     before={"locks": found}, after={"is_active": True}, reason=text)
    return found
