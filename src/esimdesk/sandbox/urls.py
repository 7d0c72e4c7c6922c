"""The sandbox's URLs: the simulator's staff console and pull API, and the sandbox provider's
hosted payment page. Included by the site's ``urls`` only when the app is installed."""

from django.urls import path

from esimdesk.sandbox import simulator_api, staff_views, views

urlpatterns = [
    path("staff/simulator/", staff_views.simulator_console, name="staff_simulator"),
    path("staff/simulator/<id:pk>/", staff_views.simulator_profile,
         name="staff_simulator_profile"),
    path("simulator/v1/profiles/<str:iccid>", simulator_api.profile_detail,
         name="simulator_profile"),
    path("simulator/v1/profiles/<str:iccid>/balance", simulator_api.profile_balance,
         name="simulator_balance"),
    path("simulator/v1/profiles/<str:iccid>/events", simulator_api.profile_events,
         name="simulator_events"),
    path("pay/sandbox/<str:reference>/", views.sandbox_pay, name="sandbox_pay"),
]
