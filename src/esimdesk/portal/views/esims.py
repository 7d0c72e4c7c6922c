"""Dashboard, eSIM page (install data, validity, balances), label, renewal choice."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from esimdesk.catalog import queries as catalog
from esimdesk.catalog.models import Plan
from esimdesk.core import clock, formats
from esimdesk.core.errors import DomainError, NotFound
from esimdesk.esims import services as esims
from esimdesk.esims.install import install_data, qr_svg
from esimdesk.esims.models import Esim
from esimdesk.payments import autorenew, saved_methods
from esimdesk.portal.esim_cards import build_cards
from esimdesk.portal.forms import LabelForm
from esimdesk.portal.views.common import current_currency, flash_error, to_the_pool
from esimdesk.portal.views.usage import forecast_text, usage_panel
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions import validity
from esimdesk.subscriptions.queries import service_for
from esimdesk.usage.queries import forecasts_for


def _own(request: HttpRequest, iccid: str) -> Esim:
    try:
        return esims.get_for_owner(user=request.user, iccid=iccid)
    except NotFound as error:
        raise Http404(str(error.message)) from error


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    items = list(Esim.objects.filter(owner=request.user).order_by("-created_at"))
    services = service_for(items)
    forecasts = forecasts_for(services)
    now = clock.now()
    return render(request, "portal/dashboard.html", {
        "cards": build_cards(items, services, {pk: forecast_text(f)
                                               for pk, f in forecasts.items()}, now),
        "now": now,
        # a saved method that pays in one tap: Renew and Top up open the confirmation page
        "one_tap": saved_methods.one_tap_method(request.user, current_currency(request)),
    })


@login_required
def esim_detail(request: HttpRequest, iccid: str) -> HttpResponse:
    esim = _own(request, iccid)
    service = service_for([esim])[esim.pk]
    now = clock.now()
    [card] = build_cards([esim], {esim.pk: service}, {}, now)
    renewal = (autorenew.upcoming_renewals([service.subscription]).get(service.subscription.pk)
               if service.subscription else None)
    return render(request, "portal/esim.html", {
        "esim": esim,
        "service": service,
        "renewal": renewal,
        "saved_methods": list(saved_methods.methods_of(request.user)),
        "can_auto_renew": saved_methods.can_auto_renew(request.user),
        "one_tap": saved_methods.one_tap_method(request.user, current_currency(request)),
        "install": install_data(esim),
        "qr": qr_svg(esim),
        "card": card,
        # open until the eSIM is installed; then folded away (reinstalling is rare)
        "install_open": esim.status == Esim.Status.READY,
        "label_form": LabelForm(initial={"label": esim.label}),
        "now": now,
        **usage_panel(request, esim, service, card.pool),
    })


@require_POST
@login_required
def esim_label(request: HttpRequest, iccid: str) -> HttpResponse:
    esim = _own(request, iccid)
    form = LabelForm(request.POST)
    if form.is_valid():
        try:
            esims.set_label(user=request.user, esim=esim, label=form.cleaned_data["label"])
            messages.success(request, _("Label saved."))
        except DomainError as error:
            flash_error(request, error)
    else:
        messages.error(request, _("The label can be at most 60 characters."))
    return redirect("portal:esim", iccid=esim.iccid)


def renewal_options(plan: Plan) -> list[Plan]:
    """Plans that cover at least where the current plan works, current plan first."""
    if plan.coverage == Plan.Coverage.COUNTRY:
        country = plan.countries.first()
        options = list(catalog.list_plans(country=country.code)) if country else []
    elif plan.coverage == Plan.Coverage.REGION:
        options = list(catalog.active_plans().filter(region=plan.region)) + list(
            catalog.active_plans().filter(coverage=Plan.Coverage.GLOBAL))
    else:
        options = list(catalog.active_plans().filter(coverage=Plan.Coverage.GLOBAL))
    options = [p for p in options if p.kind == Plan.Kind.PERSONAL]
    return sorted(options, key=lambda p: (p.pk != plan.pk, p.coverage, p.sort))


@login_required
def esim_renew(request: HttpRequest, iccid: str) -> HttpResponse:
    esim = _own(request, iccid)
    if (pooled := to_the_pool(request, esim)) is not None:
        return pooled
    service = service_for([esim])[esim.pk]
    if service.subscription is None:
        messages.error(request, _("This eSIM can no longer be renewed."))
        return redirect("portal:esim", iccid=esim.iccid)
    currency = current_currency(request)
    options = [(plan, plan.price_in(currency))
               for plan in renewal_options(service.subscription.plan)]
    return render(request, "portal/renew.html", {
        "esim": esim, "service": service, "options": options, "currency": currency,
        "starts_at": max(service.valid_until, clock.now()) if service.valid_until
        else clock.now(),
    })


@require_POST
@login_required
def esim_auto_renew(request: HttpRequest, iccid: str) -> HttpResponse:
    """Switch automatic renewal on or off (a plain form: works without JavaScript)."""
    esim = _own(request, iccid)
    subscription = getattr(esim, "subscription", None)
    if subscription is None:
        messages.error(request, _("This eSIM can no longer be renewed."))
        return redirect("portal:esim", iccid=esim.iccid)
    enabled = request.POST.get("auto_renew") == "on"
    subscriptions.set_auto_renew(user=request.user, subscription=subscription, enabled=enabled)
    if enabled and not saved_methods.can_auto_renew(request.user):
        messages.info(request, _("Automatic renewal is on. You have no saved card that can be "
                                 "charged automatically, so we will send you a link to pay "
                                 "when it is time."))
    else:
        messages.success(request, _("Automatic renewal is on.") if enabled
                         else _("Automatic renewal is off."))
    return redirect("portal:esim", iccid=esim.iccid)


@require_POST
@login_required
def esim_start(request: HttpRequest, iccid: str) -> HttpResponse:
    """*Start now*: the plan waiting for first use starts at this instant."""
    esim = _own(request, iccid)
    try:
        period = validity.start_now(user=request.user, esim=esim)
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(request, _("Your plan has started and is valid until %(end)s")
                         % {"end": formats.datetime_zone(period.ends_at)})
    return redirect("portal:esim", iccid=esim.iccid)
