"""Accounts in the staff console: users, API keys, SMS reset codes and the sign-in policy's
counters (read-only)."""

from __future__ import annotations

from django.contrib import admin

from esimdesk.accounts.models import ApiKey, SignInCounter, SmsResetCode, User
from esimdesk.core.admin_base import AuditedAdmin, ReadOnlyAdmin


@admin.register(User)
class UserAdmin(AuditedAdmin):
    list_display = ["id", "email", "phone", "name", "language", "time_zone", "is_staff",
                    "date_joined"]
    search_fields = ["email", "phone", "name"]
    list_filter = ["is_staff", "is_active", "language"]
    exclude = ["password"]
    readonly_fields = ["last_login", "date_joined"]


@admin.register(ApiKey)
class ApiKeyAdmin(AuditedAdmin):
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]


@admin.register(SmsResetCode)
class SmsResetCodeAdmin(ReadOnlyAdmin):
    list_display = ["user", "created_at", "expires_at", "attempts", "used_at"]
    search_fields = ["user__phone", "user__email"]
    exclude = ["code_hash"]


@admin.register(SignInCounter)
class SignInCounterAdmin(ReadOnlyAdmin):
    """The sign-in policy's counters on the database store (hashed: unlock a customer from
    their page in the console; these rows only show that the policy is counting)."""

    list_display = ["name", "hits", "expires_ms"]
    search_fields = ["name"]
