from django.contrib import admin
from django.urls import include, path

from esimdesk.api.api import api
from esimdesk.api.usage_ingest import ingest_usage_events
from esimdesk.core import views as core_views
from esimdesk.payments.views import payment_webhook
from esimdesk.staff import views as staff_views

admin.site.site_header = "esimdesk staff console"
admin.site.site_title = "esimdesk staff"
admin.site.index_title = "Operations"
admin.site.index_template = "staff/index.html"

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    # Before the ninja API: a plain view, so NDJSON bodies are read as a stream.
    path("api/v1/ops/usage-events", ingest_usage_events, name="usage_ingest"),
    path("api/v1/", api.urls),
    path("hooks/payments/<str:provider>", payment_webhook, name="payment_webhook"),
    path("hooks/upstream/", include("esimdesk.provisioning.urls")),
    path("staff/outbox/", staff_views.outbox, name="staff_outbox"),
    path("staff/outbox/<int:pk>/", staff_views.outbox_message, name="staff_outbox_message"),
    path("staff/outbox/<int:pk>/attachments/<int:index>", staff_views.outbox_attachment,
         name="staff_outbox_attachment"),
    path("staff/payments/<str:payment_id>/refund/", staff_views.refund_payment,
         name="staff_refund"),
    path("staff/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("", include("esimdesk.portal.urls")),
]
