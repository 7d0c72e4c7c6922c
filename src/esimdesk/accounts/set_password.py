"""The one-time link that lets a traveller who bought as a guest set a password.

It is a password-reset link of its own kind (a separate salt, so a reset token does not work
here nor this one there): it stops working once a password is set — the token is made from
the password's hash and the last sign-in — and after ``PASSWORD_RESET_TIMEOUT`` (three days
unless the operator changes it). After that, "Forgot your password?" sends an ordinary one.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.urls import reverse
from django.utils.http import base36_to_int, int_to_base36

from esimdesk.accounts.models import User


class SetPasswordTokens(PasswordResetTokenGenerator):
    key_salt = "esimdesk.accounts.set_password.SetPasswordTokens"


tokens = SetPasswordTokens()


def needs_password(user: User) -> bool:
    """An account made at a guest checkout (or by staff) that nobody has set a password for."""
    return bool(user.email) and user.is_active and not user.has_usable_password()


def set_password_url(user: User) -> str:
    """The absolute link to put in the receipt, or "" when the account has a password."""
    if not needs_password(user):
        return ""
    path = reverse("portal:set_password",
                   kwargs={"uidb36": int_to_base36(user.pk), "token": tokens.make_token(user)})
    return settings.PUBLIC_URL + path


def user_for(uidb36: str, token: str) -> User | None:
    """The account the link was made for, while the link is good; else None."""
    try:
        pk = base36_to_int(uidb36)
    except ValueError:
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not needs_password(user) or not tokens.check_token(user, token):
        return None
    return user
