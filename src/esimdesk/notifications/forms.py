"""The customer's notification settings, as a plain form (works without JavaScript)."""

from __future__ import annotations

from django import forms

from esimdesk.notifications.models import NotificationPreference


class NotificationPreferenceForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = NotificationPreference
        fields = [*NotificationPreference.CHANNEL_FIELDS, *NotificationPreference.CATEGORY_FIELDS]
