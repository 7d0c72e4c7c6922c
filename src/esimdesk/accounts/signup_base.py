"""What every sign-up form checks before an account is created, in the portal and the API.

allauth builds both its sign-up form and the headless API's sign-up input on
``ACCOUNT_SIGNUP_FORM_CLASS``, so this class is the one place both pass through. It must not
import ``allauth.account.forms`` (that module imports it).
"""

from __future__ import annotations

from typing import Any

from django import forms

from esimdesk.accounts import signin_policy
from esimdesk.core.errors import MESSAGES


class SignupChecks(forms.Form):
    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        email, phone = data.get("email"), data.get("phone")
        if not email and not phone:
            raise forms.ValidationError(MESSAGES["email_or_phone"], code="email_or_phone")
        from allauth.core import context

        request = context.request
        try:
            signin_policy.consume_once(request, "signup", account=None)
            # The verification code goes out after the account is created; counting it
            # now means a sign-up over the limit is refused with nothing created.
            if phone:
                signin_policy.consume_once(request, "code",
                                           account=signin_policy.normalize_account(phone))
            if email:
                signin_policy.consume_once(request, "code",
                                           account=signin_policy.normalize_account(email))
        except signin_policy.TooManyAttempts as error:
            signin_policy.refuse(request, error, in_form=True)
        return data

    def signup(self, request: Any, user: Any) -> None:
        """allauth's hook after the user is saved: nothing more to store."""


class NeutralEmail:
    """For the sign-up form and the API's sign-up input (put first among their bases: allauth's
    own ``validate_unique_email`` answers ``email_taken`` unless verification is mandatory
    at every sign-in)."""

    def validate_unique_email(self, value: str) -> str:
        """A taken address is not an error: the sign-up goes on as for a new one, creates
        nothing, and its owner is told (allauth's ``try_save`` and the verification stage)."""
        from allauth.account.adapter import get_adapter
        from allauth.account.utils import filter_users_by_email

        self.account_already_exists = bool(filter_users_by_email(value))
        return get_adapter().validate_unique_email(value)
