"""``/hooks/upstream/``: one route for every supplier's callbacks (``hooks``)."""

from django.urls import path

from esimdesk.provisioning.hooks import upstream_callback

urlpatterns = [
    path("<str:name>", upstream_callback, name="upstream_callback"),
    path("<str:name>/<path:rest>", upstream_callback, name="upstream_callback_path"),
]
