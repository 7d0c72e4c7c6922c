from __future__ import annotations

import hashlib
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from esimdesk.core import clock

LANGUAGE_CHOICES = [("en", "English"), ("zh-hans", "简体中文")]


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())
            if "/" in name and not name.startswith(("Etc/", "SystemV/"))] + [("UTC", "UTC")]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str | None = None, password: str | None = None,
                    **extra: object) -> User:
        if not email and not extra.get("phone"):
            raise ValueError("a user needs an e-mail address or a phone number")
        user = self.model(email=self.normalize_email(email) if email else None, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None,
                         **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A traveller or a staff member. Signs in with an e-mail address or a phone number."""

    email = models.EmailField(_("e-mail address"), unique=True, null=True, blank=True)
    phone = models.CharField(_("phone number"), max_length=20, unique=True, null=True,
                             blank=True, help_text=_("E.164, e.g. +8613800138000"))
    phone_verified = models.BooleanField(default=False, verbose_name=_("phone verified"))
    name = models.CharField(_("name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES,
                                default="en")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    preferred_currency = models.CharField(_("currency"), max_length=3, default="USD")
    is_staff = models.BooleanField(default=False, verbose_name=_("staff"))
    is_active = models.BooleanField(default=True, verbose_name=_("active"))
    date_joined = models.DateTimeField(default=clock.now, verbose_name=_("joined"))

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(condition=Q(email__isnull=False) | Q(phone__isnull=False),
                                   name="user_has_email_or_phone"),
        ]

    def __str__(self) -> str:
        return self.email or self.phone or _("user %(number)s") % {"number": self.pk}

    def save(self, *args: object, **kwargs: object) -> None:
        # Both identifiers are unique but optional: store "absent" as NULL, never "".
        self.email = self.email or None
        self.phone = self.phone or None
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")


class SmsResetCode(models.Model):
    """A one-time code sent by SMS to reset a password (stored hashed)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             verbose_name=_("user"))
    code_hash = models.CharField(max_length=64, verbose_name=_("code hash"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("used at"))

    class Meta:
        verbose_name = _("SMS reset code")
        verbose_name_plural = _("SMS reset codes")

    @staticmethod
    def hash(user_id: int, code: str) -> str:
        return hashlib.sha256(f"{settings.SECRET_KEY}:{user_id}:{code}".encode()).hexdigest()


class ApiScope(models.TextChoices):
    """What an integration key may do: each ``/api/v1/ops/`` operation needs one scope
    (docs/api.md, *Scopes*), so a key handed to a supplier's usage feed cannot read the
    business figures."""

    USAGE_WRITE = "usage:write", _("Send usage records (POST /api/v1/ops/usage-events)")
    OPS_READ = "ops:read", _("Read the business figures (GET /api/v1/ops/metrics)")


class ApiKey(models.Model):
    """An integration key (``Authorization: Bearer <key>``); only its hash is stored.
    ``scopes`` lists the ``ApiScope`` values it holds; a call needing another is refused
    (403 ``insufficient_scope``)."""

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    prefix = models.CharField(max_length=12, unique=True, verbose_name=_("prefix"))
    key_hash = models.CharField(max_length=64, unique=True, verbose_name=_("key hash"))
    scopes = models.JSONField(default=list, blank=True, verbose_name=_("scopes"),
                              help_text=_("what the key may do; nothing else is allowed"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def allows(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class SignInCounter(models.Model):
    """One counter of the sign-in policy (``accounts/signin_policy.py``) on the database store.

    ``name`` is ``<limit>:<scope>:<hash of the account or address>``; ``expires_ms`` is when
    the counter starts again from zero (milliseconds since the epoch, compared in SQL by the
    atomic hit in ``accounts/counters.py``).
    """

    name = models.CharField(max_length=120, primary_key=True, verbose_name=_("name"))
    hits = models.PositiveIntegerField(default=0, verbose_name=_("hits"))
    expires_ms = models.BigIntegerField(db_index=True, verbose_name=_("expires (ms)"))

    class Meta:
        verbose_name = _("sign-in counter")
        verbose_name_plural = _("sign-in counters")

    def __str__(self) -> str:
        return f"{self.name}: {self.hits}"
