"""django-allauth glue: phone numbers live on the User, mail and SMS go through notifications,
and every sign-in and every code sent passes the sign-in policy (``signin_policy``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from allauth.account import app_settings, stages
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.app_settings import EmailVerificationMethod
from django import forms
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from esimdesk.accounts import next_url, signin_policy
from esimdesk.accounts.middleware import visitor_defaults
from esimdesk.accounts.models import User
from esimdesk.accounts.phone_input import PhoneNumberField
from esimdesk.accounts.phones import normalize_phone
from esimdesk.core.errors import MESSAGES, ValidationFailed
from esimdesk.core.http import client_ip
from esimdesk.core.plain_text import render_text
from esimdesk.notifications import services as notifications

# Mails that send a code: counted by the policy's ``code`` limit when they go out (a request
# that already counted the same recipient is not counted twice). Reset links and the
# "unknown account" / "account already exists" notices are counted where they are requested.
#: Where staff land after signing in (the console's home, served by the staff console).
STAFF_CONSOLE = "/staff/"

_CODE_MAILS = ("account/email/login_code", "account/email/email_confirmation",
               "account/email/email_confirmation_signup")


@dataclass(frozen=True)
class ShopSite:
    """What allauth's mails read as ``current_site`` ("Hello from {{ current_site.name }}!"):
    the shop's name and public host, from the settings (the Sites framework is not used)."""

    name: str
    domain: str


def shop_site() -> ShopSite:
    from django.conf import settings

    return ShopSite(name=settings.SITE_NAME,
                    domain=urlparse(settings.PUBLIC_URL).netloc or settings.PUBLIC_URL)


class EmailVerificationStage(stages.EmailVerificationStage):
    """Every sign-up with an e-mail address confirms it with a code before anyone is signed
    in — whether the address is new or already has an account (then nothing was created and
    no code works), so both answer alike. Signing in follows ``ESIMDESK_EMAIL_VERIFICATION``.
    Accounts without an e-mail address (phone only) are verified by SMS instead."""

    def handle(self) -> Any:
        from django.conf import settings

        user = self.login.user
        if user is not None and not self.login.email and not getattr(user, "email", None):
            return None, True
        if self.login.signup or settings.SIGNIN_EMAIL_VERIFICATION == "mandatory":
            self.login.email_verification = EmailVerificationMethod.MANDATORY
        return super().handle()


class AccountAdapter(DefaultAccountAdapter):
    #: a wrong or expired code reads as on the SMS password reset (``core.errors``)
    error_messages = {**DefaultAccountAdapter.error_messages,
                      "incorrect_code": MESSAGES["invalid_code"]}

    def get_client_ip(self, request: Any) -> str:
        return client_ip(request) or "0.0.0.0"  # noqa: S104 (an address, not a bind)

    # Where the visitor was going (``next_url``): every way of signing in ends there. ------

    def post_login(self, request: Any, user: Any, *, redirect_url: str | None = None,
                   **kwargs: Any) -> Any:
        """After any sign-in (password, code, second factor, confirmed sign-up, new
        password), the page the visitor was going to, unless the step named its own."""
        kept = next_url.take(request)
        return super().post_login(request, user, redirect_url=redirect_url or kept or None,
                                  **kwargs)

    def get_login_redirect_url(self, request: Any) -> str:
        """Staff signing in without a page to go to land in the staff console (which sends
        each on by role), not on the traveller dashboard."""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            return STAFF_CONSOLE
        return str(super().get_login_redirect_url(request))

    def get_email_verification_redirect_url(self, email_address: Any) -> str:
        """A confirmation link opened where nobody is signed in (another browser, the mail
        app's) asks to sign in, then goes where the visitor was going."""
        target = next_url.kept(self.request)
        if target and not self.request.user.is_authenticated:
            return next_url.login_url(target)
        if target:
            return next_url.take(self.request)
        return str(super().get_email_verification_redirect_url(email_address))

    def get_email_confirmation_url(self, request: Any, emailconfirmation: Any) -> str:
        """The link carries where the visitor was going, so following it in another browser
        ends at the same place (``ConfirmEmailView`` follows a safe ``next``)."""
        url = str(super().get_email_confirmation_url(request, emailconfirmation))
        target = (next_url.current(request)
                  if request is not None and hasattr(request, "session") else "")
        return next_url.with_next(url, target)

    def get_login_stages(self) -> list[str]:
        return [f"{__name__}.EmailVerificationStage"
                if path == "allauth.account.stages.EmailVerificationStage" else path
                for path in super().get_login_stages()]

    def pre_authenticate(self, request: Any, **credentials: Any) -> None:
        """Count the sign-in as failed before the password is checked (``authenticate``
        takes it back when it was right); refuse it when the account or address is locked."""
        login = next((credentials[k] for k in ("email", "phone", "username")
                      if credentials.get(k)), "")
        try:
            self._signin_attempt = signin_policy.begin_signin(
                account=signin_policy.signin_account(login),
                address=signin_policy.client_address(request))
        except signin_policy.TooManyAttempts as error:
            signin_policy.refuse(request, error, in_form=True)

    def authenticate(self, request: Any, **credentials: Any) -> Any:
        user = super().authenticate(request, **credentials)
        if user is not None:
            self._signin_attempt.succeeded()
        return user

    def reauthenticate(self, user: Any, password: str) -> bool:
        """Typing the password again (before changing sign-in settings) is a sign-in too."""
        from allauth.core import context

        request = context.request
        try:
            attempt = signin_policy.begin_signin(account=signin_policy.signin_account(user=user),
                                                 address=signin_policy.client_address(request))
        except signin_policy.TooManyAttempts as error:
            signin_policy.refuse(request, error, in_form=True)
        right = super().reauthenticate(user, password)
        if right:
            attempt.succeeded()
        return right

    def _count_code(self, recipient: str) -> None:
        from allauth.core import context

        request = context.request
        if request is None:
            return
        try:
            signin_policy.consume_once(request, "code",
                                       account=signin_policy.normalize_account(recipient))
        except signin_policy.TooManyAttempts as error:
            signin_policy.refuse(request, error, in_form=False)

    def save_user(self, request: Any, user: Any, form: Any, commit: bool = True) -> Any:
        """New accounts start in the language the sign-up happened in."""
        user.language = "zh-hans" if (translation.get_language() or "").startswith("zh") else "en"
        user.time_zone, user.preferred_currency = visitor_defaults(request)
        user = super().save_user(request, user, form, commit=False)
        if commit:
            user.save()
        return user

    def phone_form_field(self, **kwargs: Any) -> Any:
        """A country selector and the number as dialled there (``phone_input``)."""
        return PhoneNumberField(**kwargs)

    def clean_phone(self, phone: str) -> str:
        try:
            return normalize_phone(phone)
        except ValidationFailed as error:
            raise forms.ValidationError(MESSAGES["invalid_phone"],
                                        code="invalid_phone") from error

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
        """The number as stored (E.164), or as typed at sign-in ("07911 123400"), read like
        the phone field and the sign-in policy read it (``signin_policy.normalize_account``)."""
        number = signin_policy.normalize_account(phone)
        return User.objects.filter(phone=number).first() if number.startswith("+") else None

    def send_verification_code_sms(self, user: Any, phone: str, code: str,
                                   **kwargs: Any) -> None:

        self._count_code(phone)

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

    def send_unknown_account_sms(self, phone: str, **kwargs: Any) -> None:
        """A sign-in code asked for a number without an account: nothing is sent (texts to
        strangers cost money and can be abused); the pages say "if this number can be used"."""
        self._count_code(phone)

    def send_account_already_exists_mail(self, email: str) -> None:
        """Someone tried to sign up with an address that has an account: its owner is told.
        (A sign-up giving a taken number with a new address comes here for the new one too:
        nothing is sent to someone who has no account.)"""
        from allauth.account.utils import filter_users_by_email

        if filter_users_by_email(email):
            super().send_account_already_exists_mail(email)

    def send_account_already_exists_sms(self, phone: str) -> None:
        """Someone tried to sign up with a number that has an account: its owner is told.

        Chosen over saying "this number is taken" on the page: that would tell anyone who
        types a number whether it has an account here (and so, often, who travels with
        us), where e-mail sign-ups tell nobody (``NeutralEmail``). The sign-up goes on as
        for a new number, creates nothing, and the page and the message after it
        (``account/confirm_phone_verification_code.html``, ``phone_verification_sent.txt``)
        claim no code: they say a text went to the number *if it can be used here*, holding
        either a code or, for a number with an account, how to sign in, which is true in
        both cases (and when nothing was sent: a new number given with a taken address).
        These texts count with the codes sent to the number (``_count_code``), so resending
        cannot be used to flood an owner with them."""

        self._count_code(phone)
        owner = self.get_user_by_phone(phone)
        if owner is None:  # a new number given with a taken address: nothing to tell
            return
        language = getattr(owner, "language", None) or translation.get_language() or "en"
        with translation.override(language):
            text = _("Someone tried to create an esimdesk account with this number, which "
                     "already has one. If it was you, sign in or reset your password; "
                     "otherwise ignore this message.")
        notifications.send_sms(to=phone, body=text, kind="account_already_exists",
                               user=owner)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Render allauth's mail in the recipient's language and queue it for delivery."""

        if template_prefix in _CODE_MAILS:
            self._count_code(email)

        user = context.get("user") or User.objects.filter(email__iexact=email).first()
        language = getattr(user, "language", None) or translation.get_language() or "en"
        with translation.override(language):
            ctx = {"email": email, "current_site": shop_site(), "request": self.request}
            ctx.update(context)
            message = self.render_mail(template_prefix, email, ctx)
        html = next((body for body, mime in getattr(message, "alternatives", [])
                     if mime == "text/html"), "")
        kind = f"account:{template_prefix.rsplit('/', 1)[-1]}"
        notifications.send_email(to=email, subject=message.subject, body_text=message.body,
                                 body_html=html, kind=kind,
                                 user=user if isinstance(user, User) else None,
                                 language=language)
