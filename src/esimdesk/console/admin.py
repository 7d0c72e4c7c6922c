from django.contrib import admin

from esimdesk.console.models import Alert
from esimdesk.core.admin_base import ReadOnlyAdmin


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    """Opened and closed by the alerts sweep only; the console lists them at /staff/alerts/."""

    list_display = ["kind", "subject", "opened_at", "closed_at", "emailed"]
    list_filter = ["kind", "opened_at"]
    search_fields = ["subject"]
