"""Account writes: preferences, password reset by SMS code, integration API keys, the
account a guest checkout makes and its first password."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from esimdesk.accounts import signin_policy
from esimdesk.accounts.models import ApiKey, ApiScope, SmsResetCode, User
from esimdesk.accounts.phones import normalize_phone
from esimdesk.core import audit, clock
from esimdesk.core.errors import Conflict, PermissionDenied, ValidationFailed
from esimdesk.notifications import services as notifications

SMS_CODE_TTL = dt.timedelta(minutes=10)
SMS_CODE_MAX_ATTEMPTS = 5


def update_preferences(*, user: User, **changes: str) -> User:
    allowed = {"name", "language", "time_zone", "preferred_currency"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(code="unknown_field", detail={"fields": sorted(unknown)})
    before = {k: getattr(user, k) for k in changes}
    with transaction.atomic():
        for field, value in changes.items():
            setattr(user, field, value)
        user.full_clean(exclude=["password", "email", "phone"])
        user.save(update_fields=list(changes))
        audit.record_by_user(user=user, action="account.preferences", obj=user,
                             before=before, after=changes)
    return user


def request_sms_password_reset(*, phone: str, address: str) -> None:
    """Send a 6-digit reset code to ``phone`` if an active account has it.

    Every number is counted by the sign-in policy's ``reset`` limit (per number and per
    client ``address``) before anything else, whether or not an account has it, so the
    answer — nothing, or ``too_many_attempts`` — never tells who has an account, and the
    count is atomic: concurrent requests cannot send more than the limit.
    """

    number = normalize_phone(phone)
    signin_policy.consume("reset", account=number, address=address)
    user = User.objects.filter(phone=number, is_active=True).first()
    if user is None:
        return
    now = clock.now()
    with transaction.atomic():
        code = f"{secrets.randbelow(1_000_000):06d}"
        SmsResetCode.objects.create(user=user, code_hash=SmsResetCode.hash(user.pk, code),
                                    expires_at=now + SMS_CODE_TTL)
        with translation.override(user.language):
            text = _("esimdesk password reset code: %(code)s (valid 10 minutes). "
                     "If you did not ask for it, ignore this message.") % {"code": code}
        notifications.send_sms(to=number, body=text, kind="password_reset_code", user=user)


def account_for_guest(*, email: str, language: str) -> User:
    """The account a guest checkout places its order on: the one this e-mail address
    belongs to, or a new one (no password, address not yet confirmed). The caller answers
    alike in both cases; the receipt goes only to this address (docs/accounts.md)."""
    address = email.strip().lower()  # as allauth stores addresses
    existing = _owner_of(address)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            user = User.objects.create_user(address, None, language=language)
            EmailAddress.objects.create(user=user, email=address, primary=True,
                                        verified=False)
            audit.record(action="account.created_at_guest_checkout", obj=user,
                         actor_type="customer", actor=f"{user.pk}:{user}")
            return user
    except IntegrityError:  # the same address, at the same moment, in another request
        owner = _owner_of(address)
        if owner is None:
            raise
        return owner


def _owner_of(address: str) -> User | None:
    known = (EmailAddress.objects.filter(email__iexact=address).select_related("user")
             .order_by("-verified", "pk").first())
    if known is not None:
        return known.user  # type: ignore[no-any-return]
    return User.objects.filter(email__iexact=address).first()


def set_first_password(*, user: User, password: str) -> User:
    """A guest's first password, from the link in their receipt: the link came by e-mail, so
    the address is confirmed too."""
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationFailed(" ".join(error.messages), code="weak_password") from error
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.has_usable_password():
            raise Conflict(_("A password has already been set for this account."),
                           code="password_already_set")
        locked.set_password(password)
        locked.save(update_fields=["password"])
        EmailAddress.objects.filter(user=locked, email__iexact=locked.email).update(
            verified=True)
        audit.record(action="account.first_password", obj=locked, actor_type="customer",
                     actor=f"{locked.pk}:{locked}")
    return locked


def reset_password_with_sms_code(*, phone: str, code: str, new_password: str,
                                 address: str) -> User:
    """Set a new password with the code sent by SMS. A wrong code is a failed sign-in of the
    account (the sign-in policy): guessing is limited per code, per account and per address,
    and a locked account is refused even with the right code."""
    number = normalize_phone(phone)
    invalid = ValidationFailed(_("That code is not valid or has expired."), code="invalid_code")
    user = User.objects.filter(phone=number, is_active=True).first()
    attempt = signin_policy.begin_signin(account=signin_policy.signin_account(user=user)
                                         if user else f"login:{number}", address=address)
    if user is None:
        raise invalid
    try:
        validate_password(new_password, user)
    except ValidationError as error:
        attempt.succeeded()  # not a guess: the code was not even looked at
        raise ValidationFailed(" ".join(error.messages), code="weak_password") from error
    with transaction.atomic():
        candidate = (SmsResetCode.objects.select_for_update()
                     .filter(user=user, used_at__isnull=True, expires_at__gt=clock.now(),
                             attempts__lt=SMS_CODE_MAX_ATTEMPTS)
                     .order_by("-created_at").first())
        matches = candidate is not None and secrets.compare_digest(
            candidate.code_hash, SmsResetCode.hash(user.pk, code.strip()))
        if candidate is not None and not matches:
            # The failed attempt is committed (not rolled back with the refusal), so
            # guessing is limited to SMS_CODE_MAX_ATTEMPTS per code.
            candidate.attempts += 1
            candidate.save(update_fields=["attempts"])
        elif matches and candidate is not None:
            candidate.used_at = clock.now()
            candidate.save(update_fields=["used_at"])
            user.set_password(new_password)
            user.save(update_fields=["password"])
            audit.record(action="account.password_reset_sms", obj=user, actor_type="customer",
                         actor=f"{user.pk}:{user}")
    if not matches:
        raise invalid
    attempt.succeeded()
    signin_policy.clear_account(user=user)
    return user


def create_api_key(*, name: str, scopes: Sequence[str] = (ApiScope.USAGE_WRITE,),
                   by: Any = None) -> tuple[ApiKey, str]:
    """Create an integration key holding ``scopes`` (``ApiScope`` values, at least one),
    audited as made ``by`` a staff member (None: the command line); the plain key is
    returned once and never stored. Refuses an empty name
    (``name_required``), a name taken (``api_key_exists``, 409), no scope
    (``scopes_required``) and a scope that does not exist (``unknown_scope``)."""
    if not name.strip():
        raise ValidationFailed(code="name_required")
    chosen = check_scopes(scopes)
    if ApiKey.objects.filter(name=name).exists():
        raise Conflict(code="api_key_exists", detail={"name": name})
    prefix = secrets.token_hex(4)
    plain = f"esk_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        key = ApiKey.objects.create(name=name, prefix=prefix, key_hash=ApiKey.hash(plain),
                                    scopes=chosen)
        actor_type, actor = audit.actor_of(by) if by is not None else ("system", "cli")
        audit.record(action="apikey.create", obj=key, actor_type=actor_type, actor=actor,
                     after={"name": name, "prefix": prefix, "scopes": chosen})
    return key, plain


def check_scopes(scopes: Sequence[str]) -> list[str]:
    """``scopes`` without repeats, in ``ApiScope``'s order; refuses none and unknown ones."""
    unknown = sorted(set(scopes) - set(ApiScope.values))
    if unknown:
        raise ValidationFailed(code="unknown_scope", detail={"unknown": unknown,
                                                             "known": ApiScope.values})
    if not scopes:
        raise ValidationFailed(code="scopes_required", detail={"known": ApiScope.values})
    return [scope for scope in ApiScope.values if scope in scopes]


def authenticate_api_key(plain: str, *, scope: str | None = None) -> ApiKey | None:
    """The key ``plain`` names, not revoked, or None. With ``scope``, a key without it is
    refused: ``PermissionDenied`` (403 ``insufficient_scope``, the scope needed and the
    key's in ``detail``), and it does not count as used."""
    key = ApiKey.objects.filter(key_hash=ApiKey.hash(plain), revoked_at__isnull=True).first()
    if key is None:
        return None
    if scope is not None and not key.allows(scope):
        raise PermissionDenied(
            _("This API key does not hold the %(scope)s scope this call needs.")
            % {"scope": scope}, code="insufficient_scope",
            detail={"required_scope": scope, "key_scopes": key.scopes})
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=clock.now())
    return key
