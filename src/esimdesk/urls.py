from django.apps import apps
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy, pgettext_lazy

from esimdesk.accounts import headless as accounts_headless
from esimdesk.api.api import api
from esimdesk.api.usage_ingest import ingest_usage_events
from esimdesk.console import money as console_money
from esimdesk.console import suppliers as console_suppliers
from esimdesk.console import views as console_views
from esimdesk.core import views as core_views
from esimdesk.payments.views import payment_webhook
from esimdesk.staff import actions as staff_actions
from esimdesk.staff import activations
from esimdesk.staff import customers as staff_customers
from esimdesk.staff import invoices as staff_invoices
from esimdesk.staff import margins as staff_margins
from esimdesk.staff import signin as staff_signin
from esimdesk.staff import usage_records as staff_usage
from esimdesk.staff import views as staff_views

# Errors Django raises itself answer as the boundary does: JSON on JSON routes, a page in the
# reader's language elsewhere (core.error_pages).
handler400 = "esimdesk.core.error_pages.bad_request"
handler403 = "esimdesk.core.error_pages.permission_denied"
handler404 = "esimdesk.core.error_pages.page_not_found"
handler500 = "esimdesk.core.error_pages.server_error"

admin.site.site_header = gettext_lazy("esimdesk staff console")
admin.site.site_title = gettext_lazy("esimdesk staff")
admin.site.index_title = pgettext_lazy("console section", "Data")
admin.site.index_template = "staff/index.html"
# The console's own navigation replaces the admin's list of every model (console.nav).
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("metrics", core_views.metrics, name="metrics"),
    # Before the ninja API: a plain view, so NDJSON bodies are read as a stream.
    path("api/v1/ops/usage-events", ingest_usage_events, name="usage_ingest"),
    path("api/v1/", api.urls),
    path("hooks/payments/<str:provider>", payment_webhook, name="payment_webhook"),
    path("hooks/upstream/", include("esimdesk.provisioning.urls")),
    path("staff/outbox/", staff_views.outbox, name="staff_outbox"),
    path("staff/outbox/<id:pk>/", staff_views.outbox_message, name="staff_outbox_message"),
    path("staff/outbox/<id:pk>/html", staff_views.outbox_message_html,
         name="staff_outbox_message_html"),
    path("staff/outbox/<id:pk>/attachments/<id:index>", staff_views.outbox_attachment,
         name="staff_outbox_attachment"),
    path("staff/payments/<str:payment_id>/refund/", staff_views.refund_payment,
         name="staff_refund"),
    path("staff/activations/", activations.activation_list, name="staff_activations"),
    path("staff/activations/order/<str:number>/", activations.activation_order,
         name="staff_activation_order"),
    path("staff/activations/order/<str:number>/retry", activations.retry_activation,
         name="staff_activation_retry"),
    path("staff/activations/esim/<str:iccid>/reissue", activations.reissue_esim,
         name="staff_reissue_esim"),
    path("staff/customers/", staff_customers.customer_search, name="staff_customers"),
    path("staff/customers/<id:user_id>/", staff_customers.customer_page, name="staff_customer"),
    path("staff/customers/<id:user_id>/actions/<str:action>", staff_actions.customer_action,
         name="staff_customer_action"),
    path("staff/margins/", staff_margins.margins, name="staff_margins"),
    path("staff/usage/", staff_usage.usage_records, name="staff_usage"),
    path("staff/invoices/", staff_invoices.invoice_list, name="staff_invoices"),
    path("staff/invoices/<id:pk>.pdf", staff_invoices.invoice_pdf, name="staff_invoice_pdf"),
    path("staff/invoices/<id:pk>/paid", staff_invoices.invoice_mark_paid,
         name="staff_invoice_paid"),
    # The sandbox's pages (simulator console and API, the sandbox provider's payment page),
    # when it is installed (ESIMDESK_SANDBOX); before the admin's and the portal's catch-alls.
    *([path("", include("esimdesk.sandbox.urls"))] if apps.is_installed("esimdesk.sandbox")
      else []),
    # Before the admin, whose catch-all would take /staff/support/ for the support app.
    path("staff/support/", include("esimdesk.support.inbox_urls")),
    # Before the admin: staff sign in on the portal's sign-in page (one policy, 2FA).
    path("staff/login/", staff_signin.staff_login, name="staff_login"),
    path("staff/password_change/", staff_signin.staff_password_change,
         name="staff_password_change"),
    # The console's home page of figures in place of the admin's index (whose URL name,
    # admin:index, now opens it); the index of every model is "Data", for admins.
    path("staff/", console_views.home, name="console_home"),
    path("staff/data/", console_views.data, name="console_data"),
    path("staff/alerts/", console_views.alert_list, name="console_alerts"),
    path("staff/suppliers/", console_suppliers.supplier_page, name="console_suppliers"),
    path("staff/suppliers/<str:name>/test", console_suppliers.test_connection,
         name="console_supplier_test"),
    path("staff/money/", console_money.money, name="console_money"),
    path("staff/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # Before allauth's: the same paths, with the sign-in policy's limits.
    *accounts_headless.urlpatterns(),
    path("_allauth/", include("allauth.headless.urls")),
    path("", include("esimdesk.support.help_urls")),
    path("", include("esimdesk.support.chat_urls")),
    path("", include("esimdesk.portal.urls")),
]
