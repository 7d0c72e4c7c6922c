"""Customer chat pages. Included from the root URLconf before the portal."""

from django.urls import path

from esimdesk.support import chat_views

app_name = "support"

urlpatterns = [
    path("support/chat/", chat_views.chat, name="chat"),
    path("support/chat/messages.json", chat_views.chat_messages, name="chat_messages"),
    path("support/chat/<id:conversation_id>/rate/", chat_views.chat_rate, name="chat_rate"),
    path("support/attachments/<id:message_id>", chat_views.attachment, name="attachment"),
]
