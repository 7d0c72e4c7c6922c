"""Notification settings, the message history and in-app notices (marked read by a form)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from esimdesk.core.errors import NotFound
from esimdesk.notifications import queries, routing, services
from esimdesk.notifications.forms import NotificationPreferenceForm

PAGE_SIZE = 25


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    form = NotificationPreferenceForm(request.POST or None,
                                      instance=queries.preference_of(request.user))
    if request.method == "POST" and form.is_valid():
        services.update_preferences(user=request.user, **{
            field: form.cleaned_data[field] for field in NotificationPreferenceForm.Meta.fields})
        messages.success(request, _("Notification settings saved."))
        return redirect("portal:notifications")
    page = Paginator(queries.history_of(request.user), PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "portal/notifications.html", {
        "form": form,
        "page": page,
        "rows": [(n, queries.visible_text(n)) for n in page],
        "always_by": routing.fallback_channel(request.user),
    })


@require_POST
@login_required
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        services.mark_read(user=request.user, notification_id=notification_id)
    except NotFound as error:
        raise Http404(str(error.message)) from error
    return redirect(_back(request))


@require_POST
@login_required
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    services.mark_all_read(user=request.user)
    return redirect(_back(request))


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return "portal:notifications"
