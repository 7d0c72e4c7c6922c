"""Support records in the Django admin: conversations and messages read-only (they change
through the inbox, which audits), canned replies editable."""

from __future__ import annotations

from django.contrib import admin

from esimdesk.core.admin_base import ReadOnlyAdmin
from esimdesk.support.models import CannedReply, Conversation, Message


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "customer", "status", "channel", "assigned_to", "updated_at", "rating"]
    list_filter = ["status", "channel"]
    search_fields = ["customer__email", "customer__phone", "subject"]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["pk", "conversation", "sender", "created_at"]
    search_fields = ["body", "conversation__customer__email"]


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["title", "sort"]
    search_fields = ["title", "body_en", "body_zh_hans"]
