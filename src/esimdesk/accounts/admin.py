"""Accounts in the staff console: users, API keys, SMS reset codes and the sign-in policy's
counters (read-only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from esimdesk.accounts import services as accounts
from esimdesk.accounts.models import ApiKey, ApiScope, SignInCounter, SmsResetCode, User
from esimdesk.core.admin_base import AuditedAdmin, ReadOnlyAdmin


@admin.register(User)
class UserAdmin(AuditedAdmin):
    list_display = ["id", "email", "phone", "name", "language", "time_zone", "is_staff",
                    "date_joined"]
    search_fields = ["email", "phone", "name"]
    list_filter = ["is_staff", "is_active", "language"]
    exclude = ["password"]
    readonly_fields = ["last_login", "date_joined"]


class ApiKeyForm(forms.ModelForm):  # type: ignore[type-arg]
    """A key's name and scopes (ticked), and on its own page when it was revoked."""

    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple, label=_("scopes"),
        help_text=_("What the key may do; any other call is refused (403 insufficient_scope). "
                    "Give each integration only what it needs."))

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "revoked_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(AuditedAdmin):
    """Integration keys. A key is made here or by ``esimdesk apikey create``, through
    ``accounts.services.create_api_key``, and shown once, on the page after it is made;
    its own page then shows its prefix and scopes, never the key."""

    form = ApiKeyForm
    list_display = ["name", "prefix", "scope_list", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]

    @admin.display(description=_("scopes"))
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes or []) or "—"

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return ["name", "scopes"]
        return ["name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None
                            ) -> list[str]:
        return [] if obj is None else ["prefix", "created_at", "last_used_at"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, plain = accounts.create_api_key(name=form.cleaned_data["name"],
                                             scopes=form.cleaned_data["scopes"],
                                             by=request.user)
        # The admin goes on with ``obj`` (its log entry, the page after): make it the key.
        obj.pk, obj.prefix, obj.key_hash, obj.scopes = key.pk, key.prefix, key.key_hash, key.scopes
        obj.created_at = key.created_at
        obj._state.adding = False
        obj._state.db = key._state.db
        obj.plain_key = plain  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: ApiKey,
                     post_url_continue: str | None = None) -> HttpResponse:
        """The one page that shows the key: not a redirect, so it is never stored in a
        message or a URL."""
        return TemplateResponse(request, "admin/accounts/apikey/created.html", {
            **self.admin_site.each_context(request), "key": obj,
            "plain_key": obj.plain_key,  # type: ignore[attr-defined]
            "title": _("API key created"), "opts": self.opts})


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
