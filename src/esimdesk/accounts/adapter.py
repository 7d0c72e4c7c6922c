"""django-allauth glue: phone numbers live on the User, mail and SMS go through notifications."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.fields import PhoneField
from django import forms
from django.utils import translation
from django.utils.translation import gettext as _

from esimdesk.accounts.models import User
from esimdesk.accounts.phones import normalize_phone
from esimdesk.core.errors import ValidationFailed


class LenientPhoneField(PhoneField):
    """Accepts numbers as people type them (``+86 138-0013 8000``) before E.164 checks."""

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        return "".join(ch for ch in text if ch not in " -().\u00a0") if text else text


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: Any, user: Any, form: Any, commit: bool = True) -> Any:
        """New accounts start in the language the sign-up happened in."""
        user.language = "zh-hans" if (translation.get_language() or "").startswith("zh") else "en"
        user = super().save_user(request, user, form, commit=False)
        if commit:
            user.save()
        return user

    def phone_form_field(self, **kwargs: Any) -> Any:
        return LenientPhoneField(**kwargs)

    def clean_phone(self, phone: str) -> str:
        try:
            return normalize_phone(phone)
        except ValidationFailed as error:
            raise forms.ValidationError(
                _("Enter a valid phone number with its country code, e.g. +86 138 0013 8000."),
                code="invalid_phone",
            ) from error

    def set_phone(self, user: Any, phone: str, verified: bool) -> None:
        user.phone = phone
        user.phone_verified = verified
        if user.pk is not None:  # during sign-up the user is saved afterwards
            user.save(update_fields=["phone", "phone_verified"])

    def get_phone(self, user: Any) -> tuple[str, bool] | None:
        return (user.phone, user.phone_verified) if user.phone else None

    def set_phone_verified(self, user: Any, phone: str) -> None:
        self.set_phone(user, phone, True)

    def get_user_by_phone(self, phone: str) -> Any:
        return User.objects.filter(phone=phone).first()

    def send_verification_code_sms(self, user: Any, phone: str, code: str,
                                   **kwargs: Any) -> None:
        from esimdesk.notifications import services as notifications

        language = getattr(user, "language", None) or translation.get_language()
        with translation.override(language):
            text = _("Your esimdesk code is %(code)s. It expires in 15 minutes.") % {
                "code": code}
        notifications.send_sms(to=phone, body=text, kind="account_code", user=user)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Render allauth's mail in the recipient's language and queue it for delivery."""
        from esimdesk.notifications import services as notifications

        user = context.get("user") or User.objects.filter(email__iexact=email).first()
        language = getattr(user, "language", None) or translation.get_language() or "en"
        with translation.override(language):
            ctx = {"email": email, "current_site": None, "request": self.request}
            ctx.update(context)
            message = self.render_mail(template_prefix, email, ctx)
        html = next((body for body, mime in getattr(message, "alternatives", [])
                     if mime == "text/html"), "")
        kind = f"account:{template_prefix.rsplit('/', 1)[-1]}"
        notifications.send_email(to=email, subject=message.subject, body_text=message.body,
                                 body_html=html, kind=kind,
                                 user=user if isinstance(user, User) else None,
                                 language=language)
