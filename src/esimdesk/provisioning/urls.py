from django.urls import path

from esimdesk.provisioning.hooks import upstream_callback
from esimdesk.provisioning.suppliers.es2plus.callbacks import handle_download_progress_info
from esimdesk.provisioning.suppliers.esimgo.callbacks import esimgo_callback

urlpatterns = [
    path("es2plus/gsma/rsp2/es2plus/handleDownloadProgressInfo", handle_download_progress_info,
         name="es2plus_progress"),
    path("esimgo", esimgo_callback, name="esimgo_callback"),
    path("<str:provider>", upstream_callback, name="upstream_callback"),
]
