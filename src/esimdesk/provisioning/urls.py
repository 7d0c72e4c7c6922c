from django.urls import path

from esimdesk.provisioning.hooks import upstream_callback

urlpatterns = [
    path("<str:provider>", upstream_callback, name="upstream_callback"),
]
