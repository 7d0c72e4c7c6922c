from __future__ import annotations

from typing import Any

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.utils.translation import gettext_lazy as _

from esimdesk.accounts.models import LANGUAGE_CHOICES, User, time_zone_choices


class SignupForm(AllauthSignupForm):
    """Sign up with an e-mail address, a phone number, or both."""

    name = forms.CharField(label=_("Your name"), max_length=150, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("email") and not data.get("phone") and not self.errors:
            raise forms.ValidationError(
                _("Enter an e-mail address or a phone number (or both)."), code="email_or_phone")
        return data

    def save(self, request: Any) -> Any:
        user = super().save(request)
        if user is None:
            return user
        user.name = self.cleaned_data.get("name", "")
        user.save(update_fields=["name"])
        return user


class PreferencesForm(forms.ModelForm):
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=time_zone_choices)
    preferred_currency = forms.ChoiceField(
        label=_("Currency"), choices=[(c, c) for c in ("CNY", "USD", "EUR", "HKD")])

    class Meta:
        model = User
        fields = ["name", "language", "time_zone", "preferred_currency"]


class SmsResetRequestForm(forms.Form):
    phone = forms.CharField(label=_("Phone number"), max_length=32,
                            widget=forms.TextInput(attrs={"type": "tel",
                                                          "autocomplete": "tel",
                                                          "placeholder": "+86 138 0013 8000"}))


class SmsResetConfirmForm(forms.Form):
    phone = forms.CharField(label=_("Phone number"), max_length=32,
                            widget=forms.TextInput(attrs={"type": "tel"}))
    code = forms.CharField(label=_("Code from the SMS"), max_length=6, min_length=6,
                           widget=forms.TextInput(attrs={"inputmode": "numeric",
                                                         "autocomplete": "one-time-code"}))
    password = forms.CharField(label=_("New password"), widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}))
