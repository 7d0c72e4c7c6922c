"""The family and organisation pages, mounted in the portal's namespace (``portal:group``...)
through ``portal.pages`` by ``SharedPlansConfig.ready``."""

from django.urls import path

from esimdesk.sharedplans import views as groups

portal_patterns = [
    path("groups/", groups.group_list, name="groups"),
    path("groups/join/<str:token>/", groups.group_invitation, name="group_invitation"),
    path("groups/<id:group_id>/", groups.group_detail, name="group"),
    path("groups/<id:group_id>/invite/", groups.group_invite, name="group_invite"),
    path("groups/<id:group_id>/invitations/<id:invitation_id>/revoke/",
         groups.group_invitation_revoke, name="group_invitation_revoke"),
    path("groups/<id:group_id>/members/<id:membership_id>/", groups.group_member,
         name="group_member"),
    path("groups/<id:group_id>/leave/", groups.group_leave, name="group_leave"),
    path("groups/<id:group_id>/esim/", groups.group_attach, name="group_attach"),
    path("groups/<id:group_id>/settings/", groups.group_settings, name="group_settings"),
    path("groups/<id:group_id>/start/", groups.group_start, name="group_start"),
    path("groups/<id:group_id>/checkout/", groups.group_checkout, name="group_checkout"),
    path("groups/<id:group_id>/import/", groups.group_import_view, name="group_import"),
    path("groups/<id:group_id>/report.csv", groups.group_report, name="group_report"),
    path("groups/<id:group_id>/invoice.pdf", groups.group_invoice, name="group_invoice"),
]
