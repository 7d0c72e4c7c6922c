from django.urls import path

from esimdesk.provisioning import simulator_api

urlpatterns = [
    path("profiles/<str:iccid>", simulator_api.profile_detail, name="simulator_profile"),
    path("profiles/<str:iccid>/balance", simulator_api.profile_balance,
         name="simulator_balance"),
]
