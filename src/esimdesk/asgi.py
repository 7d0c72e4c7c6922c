"""The realtime process (`esimdesk realtime`, uvicorn): WebSockets under /ws/ and, without
Redis, the internal endpoint other processes publish live events through. Pages, the API
and webhooks are served by gunicorn (WSGI), never here."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "esimdesk.settings")

from django.core.asgi import get_asgi_application

django_asgi = get_asgi_application()  # sets Django up before the imports below

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from esimdesk.support.realtime_http import internal_http  # noqa: E402
from esimdesk.support.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({
    "http": internal_http,
    "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(
        URLRouter(websocket_urlpatterns))),
})
