from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from allauth.account import forms as allauth_forms
from allauth.core import context
from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, ngettext_lazy

from esimdesk.accounts import signin_policy
from esimdesk.accounts.models import LANGUAGE_CHOICES, User, time_zone_choices
from esimdesk.accounts.phone_input import PhoneNumberField
from esimdesk.accounts.signup_base import NeutralEmail
from esimdesk.core import formats
from esimdesk.core.errors import MESSAGES
from esimdesk.core.zone_choices import choice_values, zone_choices

#: Django's password rules as shown beside a new password: in this project's catalogue too, so
#: that the Chinese says 您 like every other page (Django's own says 你).
DJANGO_PASSWORD_HELP = (
    gettext_noop("Your password can’t be too similar to your other personal information."),
    ngettext_lazy("Your password must contain at least %(min_length)d character.",
                  "Your password must contain at least %(min_length)d characters.",
                  "min_length"),
    gettext_noop("Your password can’t be a commonly used password."),
    gettext_noop("Your password can’t be entirely numeric."),
)


class SameWords:
    """The same problem said the same way on every form (both languages): an e-mail address
    that is not one reads as in ``core.errors`` (not Django's "Enter a valid email
    address."). Two passwords that differ read as allauth's, on the portal's forms too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # type: ignore[attr-defined]
            if isinstance(field, forms.EmailField):
                field.error_messages["invalid"] = MESSAGES["invalid_email"]


def limit_in_form(rule: str, recipient: str | None) -> None:
    """Count a request that will send ``recipient`` a reset link or a code; over the limit,
    a form error on a page and a 429 from the API (see ``signin_policy``)."""
    if not recipient:
        return
    request = context.request
    try:
        signin_policy.consume_once(request, rule,
                                   account=signin_policy.normalize_account(recipient))
    except signin_policy.TooManyAttempts as error:
        signin_policy.refuse(request, error, in_form=True)


class ResetLimit:
    """Password reset requests count whether or not the address has an account."""

    def clean_email(self) -> str:
        email = super().clean_email()  # type: ignore[misc]
        limit_in_form("reset", email)
        return email


class LoginCodeLimit:
    """Sign-in code requests count whether or not the address or number has an account, and
    name one of the two (allauth's form takes neither as a request for nobody, then fails)."""

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        named = cleaned.get("email") or cleaned.get("phone")
        if not named and not self.errors:  # type: ignore[attr-defined]
            raise forms.ValidationError(MESSAGES["email_or_phone"], code="login_required")
        return cleaned

    def clean_email(self) -> str:
        email = super().clean_email()  # type: ignore[misc]
        limit_in_form("code", email)
        return email

    def clean_phone(self) -> str:
        phone = super().clean_phone()  # type: ignore[misc]
        limit_in_form("code", phone)
        return phone


class ResetPasswordForm(SameWords, ResetLimit, allauth_forms.ResetPasswordForm):
    pass


class RequestLoginCodeForm(SameWords, LoginCodeLimit, allauth_forms.RequestLoginCodeForm):
    pass


class SignupForm(NeutralEmail, SameWords, allauth_forms.SignupForm):
    """Sign up with an e-mail address, a phone number, or both (checked, with the sign-up
    limits, by ``signup_base.SignupChecks``, which the API's sign-up shares)."""

    name = forms.CharField(label=_("Your name"), max_length=150, required=False)

    def save(self, request: Any) -> Any:
        user = super().save(request)
        if user is None:
            return user
        user.name = self.cleaned_data.get("name", "")
        user.save(update_fields=["name"])
        return user


class PreferencesForm(forms.ModelForm):
    """``sold_countries``: where the shop's plans work, whose zones the picker lists early."""

    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=time_zone_choices)
    preferred_currency = forms.ChoiceField(
        label=_("Currency"), choices=[(c, c) for c in ("CNY", "USD", "EUR", "HKD")])

    class Meta:
        model = User
        fields = ["name", "language", "time_zone", "preferred_currency"]

    def __init__(self, *args: Any, sold_countries: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Grouped by country, the user's own and the sold countries' zones first; any
        # zone the tz database knows is accepted (an old alias a browser reported, too).
        current = self.instance.time_zone if self.instance else None
        groups = zone_choices(current=current, sold_countries=sold_countries)
        if current and current not in choice_values(groups) and formats.valid_zone(current):
            groups.insert(0, (_("Your time zone"), [(current, formats.zone_choice_label(current))]))
        self.fields["time_zone"].choices = groups


class SmsResetRequestForm(forms.Form):
    phone = PhoneNumberField()


class SmsResetConfirmForm(forms.Form):
    phone = PhoneNumberField()
    code = forms.CharField(label=_("Code from the SMS"), max_length=6, min_length=6,
                           widget=forms.TextInput(attrs={"inputmode": "numeric",
                                                         "autocomplete": "one-time-code"}))
    password = forms.CharField(label=_("New password"), widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}))
