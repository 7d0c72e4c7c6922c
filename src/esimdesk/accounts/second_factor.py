"""Who must sign in with a second factor before acting as staff.

With ``STAFF_MFA_REQUIRED`` (``ESIMDESK_PRODUCTION=1``) a staff member without an
authenticator app may not use the staff console, nor the agents' live sockets, until they set
one up. Every door staff act through asks this one function.
"""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings


def has_totp(user: Any) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def staff_needs_second_factor(user: Any) -> bool:
    """Whether ``user`` is staff, a second factor is required, and they have none yet."""
    return bool(getattr(settings, "STAFF_MFA_REQUIRED", False) and user is not None
                and user.is_authenticated and user.is_staff and not has_totp(user))
