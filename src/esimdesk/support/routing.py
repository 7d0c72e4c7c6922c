"""WebSocket routes, all under /ws/ (the only traffic the realtime process serves)."""

from django.urls import path

from esimdesk.support import consumers

websocket_urlpatterns = [
    path("ws/support/chat/", consumers.CustomerChatConsumer.as_asgi()),
    path("ws/support/inbox/", consumers.InboxConsumer.as_asgi()),
    path("ws/support/conversations/<int:conversation_id>/",
         consumers.AgentConversationConsumer.as_asgi()),
]
