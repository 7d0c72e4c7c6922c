"""eSIMs in the staff console, searchable by ICCID, EID, e-mail, phone and order number; the
status moves only through the state machine's actions. Reissues are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from esimdesk.core.admin_base import AuditedAdmin, ReadOnlyAdmin
from esimdesk.core.errors import DomainError, IllegalTransition
from esimdesk.esims import services as esims
from esimdesk.esims import suspension, upstream_revoke
from esimdesk.esims.models import Esim, Reissue, UpstreamRevoke
from esimdesk.provisioning import registry as upstream


class SupplierFilter(admin.SimpleListFilter):
    """The suppliers that issued the listed eSIMs, by the name staff know them by."""

    title = _("supplier")
    parameter_name = "upstream"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = Esim.objects.order_by("upstream").values_list("upstream", flat=True).distinct()
        return [(name, upstream.label(name)) for name in names]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Esim]) -> QuerySet[Esim]:
        return queryset.filter(upstream=self.value()) if self.value() else queryset


@admin.register(Esim)
class EsimAdmin(AuditedAdmin):
    list_display = ["iccid", "owner", "label", "status", "supplier", "created_at"]
    list_filter: list[Any] = ["status", SupplierFilter]
    search_fields = ["iccid", "eid", "owner__email", "owner__phone", "label",
                     "order_lines__order__number"]
    # The status moves only through the state machine (the actions below), never by hand.
    readonly_fields = ["iccid", "status", "smdp_address", "matching_id", "upstream",
                       "upstream_reference", "created_at", "installed_at"]
    # Subscriptions add their own inline (subscriptions/admin.py): they sit above eSIMs.
    inlines: list[Any] = []
    actions = ["mark_installed", "suspend", "resume", "cancel_before_install"]

    @admin.display(description=_("supplier"), ordering="upstream")
    def supplier(self, esim: Esim) -> str:
        return upstream.label(esim.upstream)

    def _move(self, request: HttpRequest, queryset: QuerySet[Esim], to: str) -> None:
        moved = 0
        for esim in queryset.order_by("pk"):
            try:
                esims.transition(esim=esim, to=to, actor_type="staff",
                                 actor=f"{request.user.pk}:{request.user}",
                                 reason="staff console")
                moved += 1
            except IllegalTransition as error:
                self.message_user(request, f"{esim.iccid}: cannot go from {error.source} to "
                                  f"{error.target}", messages.ERROR)
        if moved:
            self.message_user(request, f"{moved} eSIM(s) now {to}", messages.SUCCESS)

    @admin.action(description="Mark installed")
    def mark_installed(self, request: HttpRequest, queryset: QuerySet[Esim]) -> None:
        self._move(request, queryset, Esim.Status.INSTALLED)

    def _supplier_move(self, request: HttpRequest, queryset: QuerySet[Esim],
                       service: Any) -> None:
        # Through the same service as the customer page, so the supplier is told too.
        moved = 0
        for esim in queryset.order_by("pk"):
            try:
                service(esim_id=esim.pk, actor=f"{request.user.pk}:{request.user}",
                        reason="staff console (admin action)")
                moved += 1
            except DomainError as error:
                self.message_user(request, f"{esim.iccid}: {error.message}", messages.ERROR)
        if moved:
            self.message_user(request, f"{moved} eSIM(s) changed; the supplier is told",
                              messages.SUCCESS)

    @admin.action(description="Suspend (tells the supplier)")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Esim]) -> None:
        self._supplier_move(request, queryset, suspension.suspend)

    @admin.action(description="Resume (tells the supplier)")
    def resume(self, request: HttpRequest, queryset: QuerySet[Esim]) -> None:
        self._supplier_move(request, queryset, suspension.resume)

    @admin.action(description=_("Cancel, never installed (tells the supplier)"))
    def cancel_before_install(self, request: HttpRequest, queryset: QuerySet[Esim]) -> None:
        self._supplier_move(request, queryset, upstream_revoke.revoke_before_install)


@admin.register(UpstreamRevoke)
class UpstreamRevokeAdmin(ReadOnlyAdmin):
    """What each supplier said when asked to cancel a revoked eSIM's profile; staff try
    again, or record how they settled it otherwise (the console's alert then closes)."""

    list_display = ["esim", "supplier_name", "status", "code", "attempts", "requested_at",
                    "revoked_upstream_at", "handled_at"]
    list_filter = ["status", "supplier"]
    search_fields = ["esim__iccid", "reference", "esim__owner__email"]
    actions = ["try_again", "mark_settled"]

    @admin.display(description=_("supplier"), ordering="supplier")
    def supplier_name(self, row: UpstreamRevoke) -> str:
        return upstream.label(row.supplier)

    def has_settle_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("staff.suspend_esim"))

    def _each(self, request: HttpRequest, queryset: QuerySet[UpstreamRevoke],
              service: Any, done: str) -> None:
        count = 0
        for row in queryset.order_by("pk"):
            try:
                service(row)
                count += 1
            except DomainError as error:
                self.message_user(request, f"{row.esim}: {error.message}", messages.ERROR)
        if count:
            self.message_user(request, done % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Ask the supplier again"), permissions=["settle"])
    def try_again(self, request: HttpRequest, queryset: QuerySet[UpstreamRevoke]) -> None:
        actor = f"{request.user.pk}:{request.user}"
        self._each(request, queryset,
                   lambda row: upstream_revoke.retry(revoke_id=row.pk, actor=actor),
                   _("%(count)s cancellation(s) sent to the supplier again."))

    @admin.action(description=_("Mark settled (e.g. the ICCID barred in the network)"),
                  permissions=["settle"])
    def mark_settled(self, request: HttpRequest, queryset: QuerySet[UpstreamRevoke]) -> None:
        actor = f"{request.user.pk}:{request.user}"
        self._each(request, queryset,
                   lambda row: upstream_revoke.mark_handled(
                       revoke_id=row.pk, actor=actor, note="settled in the staff console"),
                   _("%(count)s cancellation(s) marked settled."))


admin.site.register(Reissue, ReadOnlyAdmin,  # made on the activation page, never edited
                    search_fields=["old_esim__iccid", "new_esim__iccid", "reference"],
                    list_display=["old_esim", "new_esim", "status", "requested_by", "created_at"])
