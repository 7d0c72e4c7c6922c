"""Agent inbox, under /staff/support/ (before the admin's own URLs)."""

from django.urls import path

from esimdesk.support import inbox_views

app_name = "support_inbox"

urlpatterns = [
    path("", inbox_views.inbox, name="inbox"),
    path("<id:pk>/", inbox_views.conversation_page, name="conversation"),
    path("<id:pk>/reply", inbox_views.reply, name="reply"),
    path("<id:pk>/assign", inbox_views.assign, name="assign"),
    path("<id:pk>/status", inbox_views.set_status, name="status"),
]
