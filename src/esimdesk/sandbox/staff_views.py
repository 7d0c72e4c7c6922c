"""``/staff/simulator/``: the upstream simulator's console. Staff see the profiles it issued
(status, balance), send profile status events by hand, meter usage now, and watch the events
and callbacks go to esimdesk. Viewing needs ``sandbox.view_simulatedprofile``, acting
``sandbox.change_simulatedprofile``; every action needs a reason and is audited (by
``provisioning.simulator_events``) with who and why."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from esimdesk import config
from esimdesk.core import audit
from esimdesk.core.admin_base import console_page
from esimdesk.core.errors import DomainError
from esimdesk.sandbox import simulator_books, simulator_events
from esimdesk.sandbox.models import SimulatedCallback, SimulatedProfile, SimulatedProfileEvent
from esimdesk.sandbox.simulator_api import api_key

VIEW = "sandbox.view_simulatedprofile"
CHANGE = "sandbox.change_simulatedprofile"
MB = 1024 * 1024
SETTINGS = ("ESIMDESK_SIMULATOR_LATENCY_MS", "ESIMDESK_SIMULATOR_TIMEOUT_MS",
            "ESIMDESK_SIMULATOR_ERROR_RATE", "ESIMDESK_SIMULATOR_TIMEOUT_RATE",
            "ESIMDESK_SIMULATOR_FAILURE_RATE", "ESIMDESK_SIMULATOR_AUTO_PROGRESS")


class ActionForm(forms.Form):
    action = forms.ChoiceField(choices=[("event", "event"), ("usage", "usage"),
                                        ("resend", "resend")])
    status = forms.ChoiceField(required=False, choices=[
        (s, s) for s in [*SimulatedProfile.State.values, simulator_events.FIRST_USE]])
    megabytes = forms.IntegerField(required=False, min_value=1, max_value=100 * 1024)
    callback = forms.IntegerField(required=False, min_value=1)
    reason = forms.CharField(max_length=500, label=gettext_lazy("Reason"),
                             error_messages={"required": gettext_lazy(
                                 "Say why: the reason is kept in the audit log.")})


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _recent_events(profile: SimulatedProfile | None = None) -> Any:
    events = SimulatedProfileEvent.objects.select_related("profile", "callback")
    if profile is not None:
        events = events.filter(profile=profile)
    return events.order_by("-occurred_at", "-pk")[:30]


@staff_member_required
def simulator_console(request: HttpRequest) -> HttpResponse:
    _require(request, VIEW)
    profiles = SimulatedProfile.objects.order_by("-created_at", "-pk")
    query = (request.GET.get("q") or "").strip()
    if query:
        profiles = profiles.filter(Q(iccid__icontains=query.rstrip("Ff"))
                                   | Q(reference__icontains=query))
    state = request.GET.get("state") or ""
    if state in SimulatedProfile.State.values:
        profiles = profiles.filter(state=state)
    page = Paginator(profiles, 50).get_page(request.GET.get("page"))
    used = simulator_books.used_by_iccid([str(p.iccid) for p in page])
    rows = [(p, used.get((str(p.iccid), "data"), 0)) for p in page]
    return console_page(request, "staff/simulator.html", {
        "title": _("Upstream simulator"), "page": page, "rows": rows, "query": query,
        "state": state, "states": SimulatedProfile.State.values,
        "events": _recent_events(),
        "callbacks": SimulatedCallback.objects.order_by("-created_at", "-pk")[:30],
        "settings": [(name, config.env(name)) for name in SETTINGS],
        "api_key": api_key() if request.user.has_perm(CHANGE) else "",
        "api_base": request.build_absolute_uri("/simulator/v1/"),
    })


@staff_member_required
def simulator_profile(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, VIEW)
    profile = get_object_or_404(SimulatedProfile, pk=pk)
    form = ActionForm(request.POST or None)
    if request.method == "POST":
        _require(request, CHANGE)
        if form.is_valid():
            try:
                _act(request, profile, form.cleaned_data)
            except DomainError as error:
                messages.error(request, str(error.message))
            else:
                return redirect("staff_simulator_profile", pk=profile.pk)
        else:
            for problems in form.errors.values():
                for problem in problems:
                    messages.error(request, str(problem))
    profile.refresh_from_db()
    callbacks = SimulatedCallback.objects.filter(
        Q(events__profile=profile) | Q(kind=SimulatedCallback.Kind.USAGE,
                                       body__contains=f'"iccid":"{profile.iccid}"'))
    return console_page(request, "staff/simulator_profile.html", {
        "title": _("Simulated profile %(iccid)s") % {"iccid": profile.iccid},
        "profile": profile, "book": simulator_books.describe(profile),
        "balance": simulator_books.balance(profile),
        "next_states": simulator_events.next_events(profile),
        "events": _recent_events(profile),
        "callbacks": callbacks.distinct().order_by("-created_at", "-pk")[:30],
        "can_act": request.user.has_perm(CHANGE), "form": form,
    })


def _act(request: HttpRequest, profile: SimulatedProfile, data: dict[str, Any]) -> None:
    actor_type, actor = audit.actor_of(request.user)
    reason = data["reason"]
    if data["action"] == "event":
        event = simulator_events.emit(profile=profile, status=data["status"] or "",
                                      origin="staff", actor_type=actor_type, actor=actor,
                                      reason=reason)
        messages.success(request, _("Event %(id)s (%(status)s) sent to esimdesk.")
                         % {"id": event.event_id, "status": event.status})
    elif data["action"] == "usage":
        megabytes = data["megabytes"] or 0
        usage = simulator_events.generate_usage(profile=profile, quantity=megabytes * MB,
                                                actor_type=actor_type, actor=actor,
                                                reason=reason)
        messages.success(request, _("%(mb)s MB metered as %(record)s and reported.")
                         % {"mb": megabytes, "record": usage.record_id})
    else:
        simulator_events.resend(callback_id=data["callback"] or 0, actor_type=actor_type,
                                actor=actor, reason=reason)
        messages.success(request, _("Callback queued for delivery again."))
