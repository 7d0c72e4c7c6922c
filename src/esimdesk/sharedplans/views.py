"""Group pages: the list and creation, the dashboard (pool, per-member usage, members and
invitations, which managers can change), the member's own view (their share and cap), the
invitation link, *Start now* for a pool waiting for first use, checkout for the whole
group, and the organisation's tools (CSV import, usage reports, monthly invoice). Thin:
every write is a service call."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from esimdesk.accounts.phone_input import PhoneNumberField
from esimdesk.catalog.models import GB, Plan, TopUpProduct
from esimdesk.core import clock, formats
from esimdesk.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from esimdesk.core.http import client_ip
from esimdesk.esims.models import Esim
from esimdesk.groups import services as groups
from esimdesk.groups.models import CostCentre, Group, Invitation, Membership
from esimdesk.orders import services as orders
from esimdesk.payments import checkout
from esimdesk.portal.forms import CheckoutForm
from esimdesk.portal.views.common import current_currency, flash_error
from esimdesk.portal.views.orders import after_payment_started
from esimdesk.sharedplans import invoicing, pool_queries, pool_start
from esimdesk.sharedplans import member_import as group_import
from esimdesk.sharedplans import members as group_members
from esimdesk.sharedplans import terms as group_terms
from esimdesk.sharedplans import topups as group_topups
from esimdesk.sharedplans.invoice_pdf import invoice_filename, month_of, render_invoice_pdf
from esimdesk.sharedplans.pools import pool_subscription
from esimdesk.subscriptions import services as subscriptions


def _member(request: HttpRequest, group_id: int, *, manager: bool = False) -> Membership:
    try:
        if manager:
            return groups.manager_of(user=_user(request), group_id=group_id)
        return groups.membership_of(user=_user(request), group_id=group_id)
    except NotFound as error:
        raise Http404(str(error.message)) from error
    except PermissionDenied as error:  # a member, not a manager: 403
        raise DjangoPermissionDenied(str(error.message)) from error


def _user(request: HttpRequest) -> Any:
    """The signed-in customer (every view here is ``login_required``)."""
    return request.user


def _int(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() else None


def _back(group_id: int) -> HttpResponse:
    return redirect("portal:group", group_id=group_id)


@login_required
def group_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            group = groups.create_group(owner=_user(request), kind=request.POST.get("kind", ""),
                                        name=request.POST.get("name", ""),
                                        company_name=request.POST.get("company_name", ""),
                                        tax_id=request.POST.get("tax_id", ""))
        except DomainError as error:
            flash_error(request, error)
        else:
            messages.success(request, _("Group created. Now choose its plan."))
            return redirect("portal:group_checkout", group_id=group.pk)
    user = _user(request)
    mine = (Membership.active.filter(user=user).select_related("group")
            .order_by("group__name"))
    return render(request, "portal/groups.html", {
        "memberships": mine, "kinds": Group.Kind.choices,
        "invitations": groups.invitations_for(user)})


@login_required
def group_detail(request: HttpRequest, group_id: int) -> HttpResponse:
    me = _member(request, group_id)
    view = pool_queries.overview(me.group)
    mine = next((row for row in view.members if row.membership.pk == me.pk), None)
    being_made = group_members.esims_being_made(
        [row.membership.pk for row in view.members if row.membership.esim_id is None])
    context: dict[str, Any] = {
        "group": me.group, "me": me, "view": view, "mine": mine, "now": clock.now(),
        # cost centres, per-centre reports and invoices are an organisation's tools
        "organisation": me.group.kind == Group.Kind.ENTERPRISE,
        "my_esim_coming": me.pk in being_made,
        "my_esim_to_install": me.esim is not None and me.esim.status == Esim.Status.READY}
    if me.is_manager:
        if view.period is not None:
            context["top_ups"] = [p for p in TopUpProduct.objects.filter(is_active=True)
                                  .prefetch_related("plans")
                                  if group_topups.fits(p, view.period.plan_id)]
        top = max([row.data_used for row in view.members] + [1])
        context.update({
            "bars": [(row, row.data_used * 100 // top,
                      seat_of(row.membership, me, row.membership.pk in being_made))
                     for row in view.members],
            "cost_centres": list(CostCentre.objects.filter(group=me.group)),
            "seats_free": groups.seat_limit(me.group) - groups.seats_in_use(me.group),
            "roles": [(Membership.Role.ADMIN, Membership.Role.ADMIN.label),
                      (Membership.Role.MEMBER, Membership.Role.MEMBER.label)],
            "invite_form": InvitePhoneForm(auto_id="i-%s"),
        })
    else:
        context["my_esims"] = list(Esim.objects.filter(owner=_user(request))
                                   .exclude(status=Esim.Status.REVOKED))
    if me.esim_id is None:
        context["my_esims"] = list(Esim.objects.filter(owner=_user(request))
                                   .exclude(status=Esim.Status.REVOKED))
    return render(request, "portal/group.html", context)


def seat_of(member: Membership, me: Membership, being_made: bool) -> dict[str, str]:
    """What a member's row says of their eSIM: the one they use (its ICCID's tail), one on
    its way, or none yet."""
    own = member.pk == me.pk
    if member.esim is not None:
        tail = member.esim.iccid[-4:]
        text = (_("Uses your eSIM …%(tail)s") if own else _("Uses eSIM …%(tail)s")) % {
            "tail": tail}
        if member.esim.status == Esim.Status.READY:
            text = _("%(esim)s, not installed yet") % {"esim": text}
        return {"state": "esim", "text": text}
    if being_made:
        return {"state": "preparing", "text": _("eSIM being prepared")}
    return {"state": "none", "text": _("No eSIM yet")}


@login_required
def group_invitation(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = groups.open_invitation(token)
    except DomainError as error:
        return render(request, "portal/group_invitation.html", {"error": error.message},
                      status=error.status)
    if request.method == "POST":
        try:
            member = group_members.accept_invitation(
                user=_user(request), token=token, iccid=request.POST.get("iccid") or None)
        except DomainError as error:
            flash_error(request, error)
        else:
            messages.success(request, _("Welcome to %(group)s.") % {"group": invitation.group.name})
            return _back(member.group_id)
    return render(request, "portal/group_invitation.html", {
        "invitation": invitation,
        "esims": Esim.objects.filter(owner=_user(request)).exclude(status=Esim.Status.REVOKED)})


class InvitePhoneForm(forms.Form):
    """The number of an invitation: a country and the number, like every phone field."""

    phone = PhoneNumberField(required=False, help_text="")


@require_POST
@login_required
def group_invite(request: HttpRequest, group_id: int) -> HttpResponse:
    me = _member(request, group_id, manager=True)
    centre = CostCentre.objects.filter(
        group=me.group, pk=_int(request.POST.get("cost_centre")) or 0).first()
    number = InvitePhoneForm(request.POST)
    if not number.is_valid():
        messages.error(request, " ".join(str(e) for e in number.errors.get("phone", [])))
        return _back(group_id)
    try:
        invitation = groups.invite(by=_user(request), group=me.group,
                                   email=request.POST.get("email", ""),
                                   phone=number.cleaned_data["phone"],
                                   role=request.POST.get("role") or Membership.Role.MEMBER,
                                   cost_centre=centre, language=request.POST.get("language", ""))
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(request, _("Invitation sent to %(to)s.") % {"to": invitation.address})
    return _back(group_id)


@require_POST
@login_required
def group_invitation_revoke(request: HttpRequest, group_id: int,
                            invitation_id: int) -> HttpResponse:
    me = _member(request, group_id, manager=True)
    invitation = Invitation.objects.filter(group=me.group, pk=invitation_id).first()
    if invitation is None:
        raise Http404()
    try:
        groups.revoke_invitation(by=_user(request), invitation=invitation)
    except DomainError as error:
        flash_error(request, error)
    return _back(group_id)


@require_POST
@login_required
def group_member(request: HttpRequest, group_id: int, membership_id: int) -> HttpResponse:
    """One change to a member: ``action`` = cap, role, cost_centre or remove."""
    me = _member(request, group_id, manager=True)
    member = Membership.active.filter(group=me.group, pk=membership_id).first()
    if member is None:
        raise Http404()
    action = request.POST.get("action", "")
    try:
        if action == "cap":
            gb = _int(request.POST.get("cap_gb"))
            groups.set_cap(by=_user(request), membership=member,
                           cap_bytes=gb * GB if gb is not None else None,
                           cap_percent=_int(request.POST.get("cap_percent")))
        elif action == "role":
            groups.set_role(by=_user(request), membership=member,
                            role=request.POST.get("role", ""))
        elif action == "cost_centre":
            centre = CostCentre.objects.filter(
                group=me.group, pk=_int(request.POST.get("cost_centre")) or 0).first()
            groups.assign_cost_centre(by=_user(request), membership=member, cost_centre=centre)
        elif action == "remove":
            group_members.remove_member(by=_user(request), membership_id=member.pk)
        else:
            raise Http404()
        messages.success(request, _("Saved."))
    except DomainError as error:
        flash_error(request, error)
    return _back(group_id)


@require_POST
@login_required
def group_leave(request: HttpRequest, group_id: int) -> HttpResponse:
    try:
        group_members.leave_group(user=_user(request), group_id=group_id)
    except DomainError as error:
        flash_error(request, error)
        return _back(group_id)
    messages.success(request, _("You have left the group. Your eSIM stays yours."))
    return redirect("portal:groups")


@require_POST
@login_required
def group_attach(request: HttpRequest, group_id: int) -> HttpResponse:
    try:
        group_members.attach_esim(user=_user(request), group_id=group_id,
                                  iccid=request.POST.get("iccid") or None)
    except DomainError as error:
        flash_error(request, error)
    return _back(group_id)


@require_POST
@login_required
def group_start(request: HttpRequest, group_id: int) -> HttpResponse:
    """*Start now*: the pool waiting for its first member's first use starts at this
    instant (managers only)."""
    me = _member(request, group_id, manager=True)
    try:
        period = pool_start.start_pool_now(user=_user(request), group_id=me.group_id)
    except DomainError as error:
        flash_error(request, error)
    else:
        assert period.ends_at is not None
        messages.success(request, _("The group's plan has started and is valid until "
                                    "%(end)s")
                         % {"end": formats.datetime_zone(period.ends_at)})
    return _back(group_id)


@require_POST
@login_required
def group_settings(request: HttpRequest, group_id: int) -> HttpResponse:
    """``action`` = auto_renew, policy, cost_centre or billing."""
    me = _member(request, group_id, manager=True)
    action = request.POST.get("action", "")
    try:
        if action == "auto_renew":
            subscription = pool_subscription(group_id)
            if subscription is None:
                raise NotFound(code="unknown_group")
            subscriptions.set_auto_renew(user=_user(request), subscription=subscription,
                                         enabled=request.POST.get("enabled") == "1")
        elif action == "policy":
            groups.set_policy(by=_user(request), group=me.group,
                              allowed_countries=request.POST.get("countries", "").split(","),
                              default_cap_percent=_int(request.POST.get("default_cap_percent")))
        elif action == "cost_centre":
            groups.add_cost_centre(by=_user(request), group=me.group,
                                   code=request.POST.get("code", ""),
                                   name=request.POST.get("name", ""))
        elif action == "billing":
            groups.update_billing(by=_user(request), group=me.group,
                                  company_name=request.POST.get("company_name", ""),
                                  tax_id=request.POST.get("tax_id", ""),
                                  billing=request.POST.get("billing", ""))
        else:
            raise Http404()
        messages.success(request, _("Saved."))
    except DomainError as error:
        flash_error(request, error)
    return _back(group_id)


@login_required
def group_checkout(request: HttpRequest, group_id: int) -> HttpResponse:
    """Buy or renew the group's plan for N members: the preview shows the per-member price,
    the tier discount and the pool, priced by the function that prices the order."""
    me = _member(request, group_id, manager=True)
    source = request.POST if request.method == "POST" else request.GET
    currency = (source.get("currency") or current_currency(request)).upper()
    subscription = pool_subscription(group_id)
    kind = Plan.Kind.FAMILY if me.group.kind == Group.Kind.FAMILY else Plan.Kind.ENTERPRISE
    plans = list(Plan.objects.filter(kind=kind, is_active=True, group_terms__isnull=False))
    plan = source.get("plan") or (subscription.plan.code if subscription else "") or \
        (plans[0].code if plans else "")
    members = _int(source.get("members")) or me.group.seats or \
        max(2, Membership.active.filter(group=me.group).count())
    product = source.get("product", "")
    add = _int(source.get("add"))
    if product:  # a top-up of the pool
        line = orders.LineRequest(type=group_terms.GROUP_TOP_UP, group=group_id,
                                  product=product)
    elif add:  # more seats in the running period
        line = orders.LineRequest(type=group_terms.GROUP_SEATS, group=group_id, members=add)
    else:
        line = orders.LineRequest(
            type=group_terms.GROUP_RENEWAL if subscription else group_terms.GROUP_PLAN,
            plan=plan, group=group_id, members=members)
    form = CheckoutForm(request.POST or None, currency=currency,
                        initial={"plan": plan, "currency": currency})
    if invoicing.billed_by_invoice(me.group):  # first choice: the organisation's account
        choices = form.fields["provider"].choices  # type: ignore[attr-defined]
        form.fields["provider"].choices = [  # type: ignore[attr-defined]
            (invoicing.ON_ACCOUNT, _("Monthly invoice (on account)")), *choices]
        form.fields["provider"].initial = invoicing.ON_ACCOUNT
    context: dict[str, Any] = {"group": me.group, "plans": plans, "plan_code": plan,
                               "members": members, "currency": currency, "form": form,
                               "product": product, "add": add}
    try:
        priced = orders.price_lines(user=_user(request), lines=[line], currency=currency)
    except DomainError as error:
        return render(request, "portal/group_checkout.html", {**context, "error": error.message},
                      status=400)
    if request.method == "POST" and form.is_valid():
        try:
            placed = checkout.place_order(
                user=_user(request), lines=[line], currency=currency,
                method=form.cleaned_data["provider"],
                save_method=form.cleaned_data["save_method"],
                payer_ip=client_ip(request), expected_total=form.cleaned_data["expected_total"])
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            if placed.payment is not None:
                return after_payment_started(placed.payment)
            # On account: nothing to pay.
            return redirect("portal:order", number=placed.order.number)
    context.update({"line": priced[0], "breakdown": priced[0].breakdown,
                    "total": orders.total_of(priced, currency)})
    return render(request, "portal/group_checkout.html", context,
                  status=400 if form.errors else 200)


@require_POST
@login_required
def group_import_view(request: HttpRequest, group_id: int) -> HttpResponse:
    me = _member(request, group_id, manager=True)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ValidationFailed(_("Choose a CSV file."), code="invalid_csv")
        report = group_import.import_members(by=_user(request), group=me.group,
                                             data=upload.read(group_import.MAX_BYTES + 1))
    except DomainError as error:
        flash_error(request, error)
        return _back(group_id)
    return render(request, "portal/group_import.html", {"group": me.group, "report": report})


@login_required
def group_report(request: HttpRequest, group_id: int) -> HttpResponse:
    """Usage of the current pool period as CSV, per member or (``by=cost_centre``) per cost
    centre."""
    me = _member(request, group_id, manager=True)
    view = pool_queries.overview(me.group)
    if view.period is None:
        raise Http404(_("The group has no current plan."))
    by_centre = request.GET.get("by") == "cost_centre"
    response = HttpResponse(pool_queries.report_csv(me.group, view.period,
                                                    by_cost_centre=by_centre),
                            content_type="text/csv; charset=utf-8")
    since = view.period.starts_at or view.period.created_at  # pending: since it was bought
    name = f"usage-{'cost-centres' if by_centre else 'members'}-{since:%Y-%m-%d}"
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@login_required
def group_invoice(request: HttpRequest, group_id: int) -> HttpResponse:
    me = _member(request, group_id, manager=True)
    try:
        month = month_of(request.GET.get("month", ""))
        pdf = render_invoice_pdf(group=me.group, month=month)
    except DomainError as error:
        raise Http404(str(error.message)) from error
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice_filename(me.group, month)}"'
    return response
