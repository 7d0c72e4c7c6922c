"""Group writes: creating a family or an organisation, invitations, roles, caps, cost centres
and policies. Each owns its transaction and writes an audit row.

Joining with an eSIM, leaving and removal touch eSIMs and the pool, which live above this
app: they are in ``sharedplans.members``. Permissions: the owner and administrators
(``Membership.is_manager``) manage a group; only the owner names or demotes administrators.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from esimdesk.accounts.phones import normalize_phone
from esimdesk.catalog.models import Country
from esimdesk.core import audit, clock
from esimdesk.core.errors import MESSAGES, Conflict, NotFound, PermissionDenied, ValidationFailed
from esimdesk.core.units import format_bytes
from esimdesk.groups.messages import send_invitation
from esimdesk.groups.models import CostCentre, Group, Invitation, Membership
from esimdesk.groups.signals import caps_changed

INVITATION_VALIDITY = dt.timedelta(days=7)

#: The size of a group's shared data pool in bytes (None: no plan yet), filled by the app
#: that owns pools in its ``AppConfig.ready``; a cap above it is refused.
_pool_data_total: list[Callable[[int], int | None]] = []


def register_pool_data_total(reader: Callable[[int], int | None]) -> None:
    if reader not in _pool_data_total:
        _pool_data_total.append(reader)


def pool_data_total(group_id: int) -> int | None:
    totals = [t for t in (reader(group_id) for reader in _pool_data_total) if t is not None]
    return max(totals) if totals else None
MAX_NAME = 150


def membership_of(*, user: Any, group_id: int) -> Membership:
    """The user's own active membership of the group; a group they are not in is answered
    exactly like one that does not exist."""
    membership = (Membership.active.select_related("group").filter(group_id=group_id, user=user)
                  .first() if getattr(user, "is_authenticated", False) else None)
    if membership is None:
        raise NotFound(code="unknown_group", detail={"group": group_id})
    return membership


def manager_of(*, user: Any, group_id: int) -> Membership:
    membership = membership_of(user=user, group_id=group_id)
    if not membership.is_manager:
        raise PermissionDenied(code="group_manager_only")
    return membership


def create_group(*, owner: Any, kind: str, name: str, company_name: str = "",
                 tax_id: str = "") -> Group:
    """A family or an organisation with its owner as the first member. Seats are bought with
    a group plan (``sharedplans.plans``)."""
    if kind not in Group.Kind.values:
        raise ValidationFailed(code="invalid_group_kind", detail={"allowed": Group.Kind.values})
    clean = " ".join((name or "").split())
    if not clean or len(clean) > MAX_NAME:
        raise ValidationFailed(code="invalid_group_name", detail={"max_length": MAX_NAME})
    with transaction.atomic():
        group = Group.objects.create(kind=kind, name=clean, owner=owner,
                                     company_name=company_name.strip()[:200],
                                     tax_id=tax_id.strip()[:40])
        Membership.objects.create(group=group, user=owner, role=Membership.Role.OWNER)
        audit.record_by_user(user=owner, action="group.create", obj=group,
                             after={"kind": kind, "name": clean})
    return group


def update_billing(*, by: Any, group: Group, company_name: str, tax_id: str,
                   billing: str) -> Group:
    """Organisations: the name and tax id printed on invoices, and how they pay. Managers
    change the details; switching to monthly invoices is for staff."""
    if not getattr(by, "is_staff", False):
        manager_of(user=by, group_id=group.pk)
    if billing not in Group.Billing.values:
        raise ValidationFailed(code="invalid_billing", detail={"allowed": Group.Billing.values})
    if billing == Group.Billing.INVOICE and (group.kind != Group.Kind.ENTERPRISE
                                             or not company_name.strip()):
        raise ValidationFailed(_("Invoices are for organisations with a company name."),
                               code="invoice_needs_company")
    if billing == Group.Billing.INVOICE and group.billing != Group.Billing.INVOICE and \
            not getattr(by, "is_staff", False):
        # Paying later is credit: the business grants it (staff console), not the customer.
        raise PermissionDenied(_("Ask us to switch your organisation to monthly invoices."),
                               code="invoice_needs_approval")
    with transaction.atomic():
        before = {"company_name": group.company_name, "tax_id": group.tax_id,
                  "billing": group.billing}
        group.company_name, group.tax_id = company_name.strip()[:200], tax_id.strip()[:40]
        group.billing = billing
        group.save(update_fields=["company_name", "tax_id", "billing"])
        audit.record_by_user(user=by, action="group.billing", obj=group, before=before,
                             after={"company_name": group.company_name,
                                    "tax_id": group.tax_id, "billing": billing})
    return group


# -- invitations ----------------------------------------------------------------------------


def seats_in_use(group: Group) -> int:
    """Active members plus open invitations: what a new invitation must fit beside."""
    now = clock.now()
    return (Membership.active.filter(group=group).count()
            + Invitation.objects.filter(group=group, state=Invitation.State.PENDING,
                                        expires_at__gt=now).count())


def seat_limit(group: Group) -> int:
    """Seats paid for with the group's plan (owner included); none before the first purchase."""
    return group.seats


def invite(*, by: Any, group: Group, email: str = "", phone: str = "",
           role: str = Membership.Role.MEMBER, cost_centre: CostCentre | None = None,
           language: str = "", validity: dt.timedelta = INVITATION_VALIDITY) -> Invitation:
    """Invite someone by e-mail or phone. The message (with the token link) goes out in the
    invitee's language: their account's if they have one, else ``language``, else the
    inviter's. Invitations fit in the seats paid for (``seat_limit``)."""
    manager = manager_of(user=by, group_id=group.pk)
    address_email = (email or "").strip().lower()
    address_phone = normalize_phone(phone) if (phone or "").strip() else ""
    if not address_email and not address_phone:
        raise ValidationFailed(MESSAGES["email_or_phone"],
                               code="invitation_address_required")
    if address_email:
        # The invitation is e-mailed there, and the address must fit its column.
        try:
            validate_email(address_email)
        except ValidationError:
            raise ValidationFailed(code="invalid_email") from None
    if role not in Membership.Role.values or role == Membership.Role.OWNER:
        raise ValidationFailed(code="invalid_role", detail={"allowed": ["admin", "member"]})
    if role == Membership.Role.ADMIN and manager.role != Membership.Role.OWNER:
        raise PermissionDenied(code="group_owner_only")
    if cost_centre is not None and cost_centre.group_id != group.pk:
        raise NotFound(code="unknown_cost_centre")
    with transaction.atomic():
        locked = Group.objects.select_for_update().get(pk=group.pk)
        if not seat_limit(locked):
            raise Conflict(_("Buy a family or organisation plan for the group first."),
                           code="group_has_no_plan")
        if seats_in_use(locked) >= seat_limit(locked):
            raise Conflict(_("Every seat of the group is taken. Add seats first."),
                           code="group_full", detail={"seats": seat_limit(locked)})
        invitation = Invitation.objects.create(
            group=locked, email=address_email, phone=address_phone, role=role,
            cost_centre=cost_centre, invited_by=by, expires_at=clock.now() + validity,
            language=language or getattr(by, "language", "en"))
        audit.record_by_user(user=by, action="group.invite", obj=invitation,
                             after={"group": group.pk, "to": invitation.address, "role": role})
        send_invitation(invitation)
    return invitation


def invitations_for(user: Any) -> list[Invitation]:
    """Open invitations addressed to the user's e-mail address or phone number."""
    wanted = Q(pk__in=[])
    if user.email:
        wanted |= Q(email__iexact=user.email)
    if user.phone:
        wanted |= Q(phone=user.phone)
    return list(Invitation.objects.filter(wanted, state=Invitation.State.PENDING,
                                          expires_at__gt=clock.now())
                .select_related("group", "invited_by").order_by("-created_at"))


def revoke_invitation(*, by: Any, invitation: Invitation) -> Invitation:
    manager_of(user=by, group_id=invitation.group_id)
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.state != Invitation.State.PENDING:
            raise Conflict(code="invitation_closed", detail={"state": locked.state})
        locked.state = Invitation.State.REVOKED
        locked.save(update_fields=["state"])
        audit.record_by_user(user=by, action="group.invitation_revoked", obj=locked,
                             before={"state": "pending"}, after={"state": "revoked"})
    return locked


def open_invitation(token: str) -> Invitation:
    """The invitation behind a token link, while it can be accepted."""
    invitation = (Invitation.objects.select_related("group").filter(token=token).first()
                  if token else None)
    if invitation is None:
        raise NotFound(code="unknown_invitation")
    if not invitation.is_open(clock.now()):
        raise Conflict(code="invitation_closed", detail={"state": invitation.state})
    return invitation


# -- roles, caps, cost centres, policies ------------------------------------------------------


def set_role(*, by: Any, membership: Membership, role: str) -> Membership:
    """Only the owner names and demotes administrators; the owner's own role is fixed."""
    manager = manager_of(user=by, group_id=membership.group_id)
    if manager.role != Membership.Role.OWNER:
        raise PermissionDenied(code="group_owner_only")
    if role not in (Membership.Role.ADMIN, Membership.Role.MEMBER) or \
            membership.role == Membership.Role.OWNER:
        raise ValidationFailed(code="invalid_role", detail={"allowed": ["admin", "member"]})
    with transaction.atomic():
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit.record_by_user(user=by, action="group.role", obj=membership,
                             before={"role": before}, after={"role": role})
    return membership


def set_cap(*, by: Any, membership: Membership, cap_bytes: int | None = None,
            cap_percent: int | None = None) -> Membership:
    """A member's data cap: absolute bytes, a share of the pool, both (the smaller applies)
    or none. A cap lowered below what the member already used stops them at once (the
    pool's accounting, told through ``groups.signals.caps_changed``)."""
    manager_of(user=by, group_id=membership.group_id)
    if cap_bytes is not None and cap_bytes < 0:
        raise ValidationFailed(code="invalid_cap")
    if cap_percent is not None and not 0 <= cap_percent <= 100:
        raise ValidationFailed(code="invalid_cap")
    pool = pool_data_total(membership.group_id) if cap_bytes is not None else None
    if cap_bytes is not None and pool is not None and cap_bytes > pool:
        raise ValidationFailed(
            _("A member's limit cannot be larger than the shared pool (%(pool)s).")
            % {"pool": format_bytes(pool)},
            code="cap_above_pool", detail={"cap_bytes": cap_bytes, "pool_bytes": pool})
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        before = {"bytes": locked.data_cap_bytes, "percent": locked.data_cap_percent}
        locked.data_cap_bytes, locked.data_cap_percent = cap_bytes, cap_percent
        locked.save(update_fields=["data_cap_bytes", "data_cap_percent"])
        audit.record_by_user(user=by, action="group.cap", obj=locked, before=before,
                             after={"bytes": cap_bytes, "percent": cap_percent})
        caps_changed.send(sender=Membership, group_id=locked.group_id,
                          membership_ids=[locked.pk])
    return locked


def add_cost_centre(*, by: Any, group: Group, code: str, name: str = "") -> CostCentre:
    manager_of(user=by, group_id=group.pk)
    clean = (code or "").strip()
    if not clean or len(clean) > 40:
        raise ValidationFailed(code="invalid_cost_centre")
    with transaction.atomic():
        centre, created = CostCentre.objects.get_or_create(group=group, code=clean,
                                                           defaults={"name": name[:150]})
        if created:
            audit.record_by_user(user=by, action="group.cost_centre", obj=centre,
                                 after={"code": clean, "name": centre.name})
    return centre


def assign_cost_centre(*, by: Any, membership: Membership,
                       cost_centre: CostCentre | None) -> Membership:
    manager_of(user=by, group_id=membership.group_id)
    if cost_centre is not None and cost_centre.group_id != membership.group_id:
        raise NotFound(code="unknown_cost_centre")
    with transaction.atomic():
        before = membership.cost_centre_id
        membership.cost_centre = cost_centre
        membership.save(update_fields=["cost_centre"])
        audit.record_by_user(user=by, action="group.member_cost_centre", obj=membership,
                             before={"cost_centre": before},
                             after={"cost_centre": cost_centre.pk if cost_centre else None})
    return membership


def set_policy(*, by: Any, group: Group, allowed_countries: Iterable[str],
               default_cap_percent: int | None) -> Group:
    """Organisation policies: where members may use the pool (checked when a plan is
    bought for the group: the plan must cover every allowed country) and the cap new
    members get."""
    manager_of(user=by, group_id=group.pk)
    codes = sorted({c.strip().upper() for c in allowed_countries if c.strip()})
    known = set(Country.objects.filter(code__in=codes).values_list("code", flat=True))
    if set(codes) - known:
        raise ValidationFailed(code="unknown_country",
                               detail={"countries": sorted(set(codes) - known)})
    if default_cap_percent is not None and not 0 <= default_cap_percent <= 100:
        raise ValidationFailed(code="invalid_cap")
    with transaction.atomic():
        before = {"allowed_countries": group.allowed_countries,
                  "default_cap_percent": group.default_cap_percent}
        group.allowed_countries, group.default_cap_percent = codes, default_cap_percent
        group.save(update_fields=["allowed_countries", "default_cap_percent"])
        audit.record_by_user(user=by, action="group.policy", obj=group, before=before,
                             after={"allowed_countries": codes,
                                    "default_cap_percent": default_cap_percent})
    return group


def update_member(*, by: Any, membership: Membership,
                  cap: tuple[int | None, int | None] | None = None, role: str | None = None,
                  cost_centre: str | None = None) -> Membership:
    """Change a member's ``cap`` (bytes, percent of the pool), ``role`` and ``cost_centre``
    (a code of the group's; "" clears it) together, each None: unchanged. One transaction:
    a refusal of any part leaves every part as it was."""
    with transaction.atomic():
        if cap is not None:
            membership = set_cap(by=by, membership=membership, cap_bytes=cap[0],
                                 cap_percent=cap[1])
        if role is not None:
            membership = set_role(by=by, membership=membership, role=role)
        if cost_centre is not None:
            centre = None
            if cost_centre:
                centre = CostCentre.objects.filter(group_id=membership.group_id,
                                                   code=cost_centre).first()
                if centre is None:
                    raise NotFound(code="unknown_cost_centre")
            membership = assign_cost_centre(by=by, membership=membership, cost_centre=centre)
    return membership
