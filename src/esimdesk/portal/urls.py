from django.urls import path

from esimdesk.portal.pages import feature_pages
from esimdesk.portal.views import (
    account,
    catalog,
    changes,
    devices,
    esims,
    notifications,
    orders,
    pay,
    usage,
)

app_name = "portal"

urlpatterns = [
    path("", catalog.home, name="home"),
    path("destinations/<str:code>/", catalog.destination, name="destination"),
    path("regions/<slug:code>/", catalog.region, name="region"),
    path("plans/<slug:code>/", catalog.plan_detail, name="plan"),
    path("checkout/", orders.checkout, name="checkout"),
    path("devices/check/", devices.device_check, name="device_check"),
    path("dashboard/", esims.dashboard, name="dashboard"),
    path("esims/<str:iccid>/", esims.esim_detail, name="esim"),
    path("esims/<str:iccid>/live.json", usage.esim_live, name="esim_live"),
    path("esims/<str:iccid>/label/", esims.esim_label, name="esim_label"),
    path("esims/<str:iccid>/renew/", esims.esim_renew, name="esim_renew"),
    path("esims/<str:iccid>/top-up/", changes.esim_top_up, name="esim_top_up"),
    path("esims/<str:iccid>/change-plan/", changes.esim_change_plan, name="esim_change_plan"),
    path("esims/<str:iccid>/auto-renew/", esims.esim_auto_renew, name="esim_auto_renew"),
    path("esims/<str:iccid>/start/", esims.esim_start, name="esim_start"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/<str:number>/", orders.order_detail, name="order"),
    path("orders/<str:number>/pay/", orders.pay_again, name="pay_again"),
    path("orders/<str:number>/activation.json", orders.order_activation,
         name="order_activation"),
    path("orders/<str:number>/receipt.pdf", orders.receipt, name="receipt"),
    path("orders/<str:number>/refund/", orders.request_refund, name="request_refund"),
    path("orders/<str:number>/credit-notes/<str:refund_id>.pdf", orders.credit_note,
         name="credit_note"),
    path("pay/return/<str:payment_id>/", pay.payment_return, name="payment_return"),
    # Pages of the feature apps above the portal (family and organisation plans...).
    *feature_pages(),
    path("account/", account.account, name="account"),
    path("account/language/", account.set_language, name="set_language"),
    path("account/saved-methods/<id:method_id>/", account.saved_method_action,
         name="saved_method"),
    path("account/notifications/", notifications.notifications, name="notifications"),
    path("account/notifications/read/", notifications.notifications_read_all,
         name="notifications_read_all"),
    path("account/notifications/<id:notification_id>/read/", notifications.notification_read,
         name="notification_read"),
    path("account/reset/sms/", account.sms_reset_request, name="sms_reset"),
    path("account/reset/sms/confirm/", account.sms_reset_confirm, name="sms_reset_confirm"),
]
