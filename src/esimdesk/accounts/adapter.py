"""django-allauth glue: phone numbers live on the User, mail and SMS go through notifications."""

from __future__ import annotations

from typing import Any

from allauth.account import app_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.fields import PhoneField
from django import forms
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from esimdesk.accounts.models import User
from esimdesk.accounts.phones import normalize_phone
from esimdesk.core.errors import ValidationFailed
from esimdesk.core.plain_text import render_text


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

    def render_mail(self, template_prefix: str, email: str | list[str], context: dict[str, Any],
                    headers: dict[str, str] | None = None) -> EmailMultiAlternatives:
        """allauth's mail, with the subject and text part rendered as plain text (no HTML
        escaping, like every other e-mail: ``core.plain_text``) and an HTML part, where a
        template has one, as escaped HTML."""
        subject = " ".join(render_text(f"{template_prefix}_subject.txt", context)
                           .splitlines()).strip()
        text = render_text(f"{template_prefix}_message.txt", context).strip()
        message = EmailMultiAlternatives(self.format_email_subject(subject), text,
                                         self.get_from_email(),
                                         [email] if isinstance(email, str) else email,
                                         headers=headers)
        try:
            html = render_to_string(
                f"{template_prefix}_message.{app_settings.TEMPLATE_EXTENSION}", context,
                self.request).strip()
        except TemplateDoesNotExist:
            html = ""
        if html:
            message.attach_alternative(html, "text/html")
        return message

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
