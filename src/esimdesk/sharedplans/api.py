"""Family and organisation endpoints: the group, its shared pool and members, invitations,
caps, the checkout preview and order for the whole group, CSV import and usage reports.

Owners and administrators see and change everything; a member sees the pool and their own
share and cap, never the payment details."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema, Status

from esimdesk.core import clock
from esimdesk.core.api.auth import customer_auth
from esimdesk.core.api.schemas import (
    ICCID_INPUT,
    INT64_MAX,
    PLAN_CODE,
    PROVIDER,
    BodyIn,
    Currency,
    ErrorOut,
    IdempotencyKey,
    ObjectId,
    refused_as,
)
from esimdesk.core.errors import NotFound
from esimdesk.core.http import client_ip
from esimdesk.core.units import UNITS
from esimdesk.groups import services as groups
from esimdesk.groups.models import CostCentre, Group, Invitation, Membership
from esimdesk.groups.services import MAX_NAME
from esimdesk.orders import queries as order_queries
from esimdesk.orders import services as orders
from esimdesk.payments import checkout
from esimdesk.payments.api import once
from esimdesk.payments.schemas import OrderOut, order_out
from esimdesk.sharedplans import group_settings, pool_queries, pool_start
from esimdesk.sharedplans import member_import as group_import
from esimdesk.sharedplans import members as group_members
from esimdesk.sharedplans import terms as group_terms
from esimdesk.sharedplans.pools import pool_subscription
from esimdesk.subscriptions.models import Period

router = Router(tags=["groups"], auth=customer_auth)
PROVIDER_HELP = ("a payment provider, or invoice: on the account of an organisation billed "
                 "monthly")
# The refusals of an operation on a group: 403 (managers only, owner only), 404 (no such
# group, member, invitation or cost centre in your account), 409 (the group's state).
ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
# Paying honours Idempotency-Key: every refusal is a stored answer, declared with the
# provider's 502 provider_refused and 503 provider_unavailable.
PAYING = {status: ErrorOut for status in (400, 403, 404, 409, 422, 502, 503)}
# Seats of a group (owner included), as the database keeps them.
MAX_SEATS = 32767

Members = Annotated[int, Field(ge=1, le=MAX_SEATS), refused_as("invalid_member_count")]
Percent = Annotated[int, Field(ge=0, le=100), refused_as("invalid_cap")]
Role = Annotated[Literal["admin", "member"], refused_as("invalid_role")]
CostCentreCode = Annotated[str, Field(max_length=40, description="a cost centre's code")]
CompanyName = Annotated[str, Field(max_length=200)]
TaxId = Annotated[str, Field(max_length=40)]


class GroupIn(BodyIn):
    kind: Annotated[Literal["family", "enterprise"], refused_as("invalid_group_kind")]
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME),
                    refused_as("invalid_group_name")]
    company_name: CompanyName = ""
    tax_id: TaxId = ""


class GroupPatch(BodyIn):
    auto_renew: bool | None = None
    allowed_countries: list[Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]] | None = Field(
        None, max_length=250, description="policy: ISO codes the plan must cover (empty: any)")
    default_cap_percent: Percent | None = Field(None, description="cap of new members, % of "
                                                                  "pool")
    company_name: CompanyName | None = None
    tax_id: TaxId | None = None
    billing: Annotated[Literal["payment", "invoice"] | None, refused_as("invalid_billing")] = None


class PoolOut(Schema):
    kind: str
    total: int
    used: int
    remaining: int
    overage: int
    unit: str


class MemberOut(Schema):
    id: int
    user: str
    role: str
    iccid: str | None
    cost_centre: str | None
    cap_bytes: int | None = Field(None, description="the cap in force now, bytes")
    cap_set_bytes: int | None
    cap_set_percent: int | None
    used: dict[str, int] = Field(..., description="this period, by kind (bytes/seconds/SMS)")
    capped: bool


class InvitationOut(Schema):
    id: int
    to: str
    role: str
    expires_at: str


class GroupOut(Schema):
    id: int
    kind: str
    name: str
    role: str = Field(..., description="your role: owner | admin | member")
    seats: int
    auto_renew: bool
    period: dict[str, Any] | None = Field(
        None, description="the pool's period: {plan, state, starts_at, ends_at, activate_by, "
        "validity}; state pending: waiting for the first member's first use (starts_at and "
        "ends_at null, activate_by the latest it starts, validity an ISO 8601 duration, "
        "the pool full), else active")
    pool: list[PoolOut]
    me: MemberOut | None
    members: list[MemberOut] = Field(..., description="managers only; [] for members")
    invitations: list[InvitationOut] = Field(..., description="managers only")


class InviteIn(BodyIn):
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=32, description="with its country code")
    role: Role = "member"
    language: Annotated[Literal["", "en", "zh-hans"], refused_as("invalid_language")] = Field(
        "", description="of the message when the invitee has no account")
    cost_centre: CostCentreCode = ""


class AcceptIn(BodyIn):
    iccid: str | None = Field(None, max_length=ICCID_INPUT,
                              description="join with this eSIM of yours; none: a new one")


class MemberPatch(BodyIn):
    cap_bytes: Annotated[int, Field(ge=0, le=INT64_MAX), refused_as("invalid_cap")] | None = None
    cap_percent: Percent | None = None
    role: Role | None = None
    cost_centre: CostCentreCode | None = Field(None, description="a code; \"\" to clear")


class QuoteOut(Schema):
    members: int
    unit_price: int
    gross: int
    percent_off: int
    discount: int
    total: int
    currency: str
    tiers: list[dict[str, int]]
    intra_group_voice_percent_off: int
    pool: list[dict[str, Any]]
    seats_before: int | None = Field(None, description="adding seats: seats paid for now")
    seats_after: int | None = None
    already_paid: int | None = Field(None, description="adding seats: what N seats cost")


class GroupOrderIn(BodyIn):
    plan: str | None = Field(None, max_length=PLAN_CODE,
                             description="default: the group's current plan")
    members: Members
    currency: Currency
    provider: str = Field("sandbox", max_length=PROVIDER, description=PROVIDER_HELP)
    save_method: bool = False


class ImportOut(Schema):
    assigned: int
    rejected: list[dict[str, Any]] = Field(..., description="[{line, code, message}]")


def me_of(request: HttpRequest) -> Any:
    """The signed-in customer (``customer_auth`` puts them on ``request.auth``)."""
    return request.auth  # type: ignore[attr-defined]


def _member_out(row: pool_queries.MemberRow) -> dict[str, Any]:
    m = row.membership
    return {"id": m.pk, "user": m.user.email or m.user.phone or str(m.user), "role": m.role,
            "iccid": m.esim.iccid if m.esim else None,
            "cost_centre": m.cost_centre.code if m.cost_centre else None,
            "cap_bytes": row.cap, "cap_set_bytes": m.data_cap_bytes,
            "cap_set_percent": m.data_cap_percent, "used": row.used, "capped": row.capped}



def _period_out(period: Period) -> dict[str, Any]:
    return {"plan": period.plan.code,
            "state": "pending" if period.state == Period.State.PENDING else "active",
            "starts_at": clock.iso_or_none(period.starts_at),
            "ends_at": clock.iso_or_none(period.ends_at),
            "activate_by": clock.iso_or_none(period.activate_by), "validity": period.validity_iso}


def group_out(me: Membership) -> dict[str, Any]:
    view = pool_queries.overview(me.group)
    mine = next((r for r in view.members if r.membership.pk == me.pk), None)
    return {
        "id": me.group.pk, "kind": me.group.kind, "name": me.group.name, "role": me.role,
        "seats": me.group.seats,
        "auto_renew": bool(view.subscription and view.subscription.auto_renew),
        "period": _period_out(view.period) if view.period else None,
        "pool": [{"kind": k.kind, "total": k.total, "used": k.used, "remaining": k.remaining,
                  "overage": k.overage, "unit": UNITS[k.kind]} for k in view.pool],
        "me": _member_out(mine) if mine else None,
        "members": [_member_out(r) for r in view.members] if me.is_manager else [],
        "invitations": ([{"id": i.pk, "to": i.address, "role": i.role,
                          "expires_at": i.expires_at.isoformat()} for i in view.invitations]
                        if me.is_manager else []),
    }


def _centre(group: Group, code: str | None) -> CostCentre | None:
    if not code:
        return None
    centre = CostCentre.objects.filter(group=group, code=code).first()
    if centre is None:
        raise NotFound(code="unknown_cost_centre")
    return centre


@router.get("/groups", response={200: list[GroupOut]}, summary="My groups")
def list_groups(request: HttpRequest) -> list[dict[str, Any]]:
    return [group_out(m) for m in Membership.active.filter(user=me_of(request))
            .select_related("group").order_by("group__name")]


@router.post("/groups", response={201: GroupOut}, summary="Create a family or organisation",
             openapi_extra={"responses": {"201": {"links": {
                 name: {"operationId": f"esimdesk_api_groups_{operation}",
                        "parameters": {"group_id": "$response.body#/id"}}
                 for name, operation in (("GetGroup", "get_group"),
                                         ("PatchGroup", "patch_group"),
                                         ("Invite", "invite"), ("Quote", "quote"),
                                         ("OrderPlan", "order"),
                                         ("ImportMembers", "import_members"))}}}})
def create_group(request: HttpRequest, body: GroupIn) -> Status[Any]:
    """You become its owner. Buy its plan next (``POST /groups/{id}/orders``)."""
    group = groups.create_group(owner=me_of(request), kind=body.kind, name=body.name,
                                company_name=body.company_name, tax_id=body.tax_id)
    return Status(201, group_out(groups.membership_of(user=me_of(request), group_id=group.pk)))


class MyInvitationOut(Schema):
    group_id: int
    group_name: str
    kind: str
    role: str
    token: str = Field(..., description="for POST /groups/invitations/{token}/accept")
    expires_at: str


@router.get("/groups/invitations", response={200: list[MyInvitationOut]},
            summary="Invitations for me")
def my_invitations(request: HttpRequest) -> list[dict[str, Any]]:
    """Open invitations addressed to your e-mail address or phone number."""
    return [{"group_id": i.group_id, "group_name": i.group.name, "kind": i.group.kind,
             "role": i.role, "token": i.token, "expires_at": i.expires_at.isoformat()}
            for i in groups.invitations_for(me_of(request))]


@router.get("/groups/{group_id}", response={200: GroupOut, 404: ErrorOut}, summary="One group")
def get_group(request: HttpRequest, group_id: ObjectId) -> dict[str, Any]:
    """The pool of the current period (``total``/``used``/``remaining`` per kind, in bytes,
    seconds or messages), your own share and cap, and for managers every member's usage
    and the open invitations. A pool waiting for its first member's first use is shown
    whole, with ``period.state`` ``pending``."""
    return group_out(groups.membership_of(user=me_of(request), group_id=group_id))


@router.post("/groups/{group_id}/start", response={200: GroupOut, **ERRORS},
             summary="Start the pool now")
def start_pool(request: HttpRequest, group_id: ObjectId) -> dict[str, Any]:
    """Start the pool that waits for its first member's first use now: its validity counts
    from this instant. Managers only (403 ``group_manager_only``; 404 ``unknown_group`` for
    a group you are not in); 409 ``pool_not_pending`` when no pool waits (it started
    already: by a member's first use or usage, an earlier call, or its ``activate_by``; or
    the group has no plan)."""
    pool_start.start_pool_now(user=me_of(request), group_id=group_id)
    return group_out(groups.membership_of(user=me_of(request), group_id=group_id))


@router.patch("/groups/{group_id}", response={200: GroupOut, **ERRORS}, summary="Settings")
def patch_group(request: HttpRequest, group_id: ObjectId, body: GroupPatch) -> dict[str, Any]:
    """Automatic renewal (the owner's saved payment methods pay it), policies and the
    billing details printed on invoices. Managers only."""
    me = groups.manager_of(user=me_of(request), group_id=group_id)
    group_settings.update_group_settings(
        by=me_of(request), group=me.group, auto_renew=body.auto_renew,
        allowed_countries=body.allowed_countries, default_cap_percent=body.default_cap_percent,
        company_name=body.company_name, tax_id=body.tax_id, billing=body.billing)
    return group_out(groups.membership_of(user=me_of(request), group_id=group_id))


@router.post("/groups/{group_id}/invitations", response={201: InvitationOut, **ERRORS},
             summary="Invite by e-mail or phone",
             openapi_extra={"responses": {"201": {"links": {"Revoke": {
                 "operationId": "esimdesk_api_groups_revoke",
                 "parameters": {"group_id": "$request.path.group_id",
                                "invitation_id": "$response.body#/id"}}}}}})
def invite(request: HttpRequest, group_id: ObjectId, body: InviteIn) -> Status[Any]:
    """The invitee gets a link (valid 7 days) in their language. Only the owner invites
    administrators. Refused with ``group_full`` when every paid seat is taken."""
    me = groups.manager_of(user=me_of(request), group_id=group_id)
    invitation = groups.invite(by=me_of(request), group=me.group, email=body.email,
                               phone=body.phone, role=body.role, language=body.language,
                               cost_centre=_centre(me.group, body.cost_centre))
    return Status(201, {"id": invitation.pk, "to": invitation.address, "role": invitation.role,
                        "expires_at": invitation.expires_at.isoformat()})


@router.delete("/groups/{group_id}/invitations/{invitation_id}", response={204: None, **ERRORS},
               summary="Withdraw an invitation")
def revoke(request: HttpRequest, group_id: ObjectId, invitation_id: ObjectId) -> Status[None]:
    me = groups.manager_of(user=me_of(request), group_id=group_id)
    invitation = Invitation.objects.filter(group=me.group, pk=invitation_id).first()
    if invitation is None:
        raise NotFound(code="unknown_invitation")
    groups.revoke_invitation(by=me_of(request), invitation=invitation)
    return Status(204, None)


@router.post("/groups/invitations/{token}/accept",
             response={200: GroupOut, 404: ErrorOut, 409: ErrorOut},
             summary="Accept an invitation")
def accept(request: HttpRequest, token: Annotated[str, Path(..., min_length=1, max_length=64)],
           body: AcceptIn) -> dict[str, Any]:
    """Join with one of your eSIMs (``iccid``) or, without it, with a new eSIM that is
    ready to install a moment later."""
    member = group_members.accept_invitation(user=me_of(request), token=token, iccid=body.iccid)
    return group_out(groups.membership_of(user=me_of(request), group_id=member.group_id))


# Before ``members/{member_id}``: Django takes the first pattern that matches, and
# ``{member_id}`` also matches "import" (then a POST would be 405 Method Not Allowed).
@router.post("/groups/{group_id}/members/import", response={200: ImportOut, **ERRORS},
             summary="Give eSIMs to employees from CSV",
             openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {
                 "schema": {"type": "string", "maxLength": group_import.MAX_BYTES}}}}})
def import_members(request: HttpRequest, group_id: ObjectId) -> dict[str, Any]:
    """Body: the CSV file (``Content-Type: text/csv``, UTF-8, at most 2 MiB and 5,000
    lines), columns ``email``, ``phone``, ``name``, ``employee_ref``, ``cost_centre``,
    ``cap_gb``, ``language``. Valid rows are assigned together; the others are listed by
    line with a code and a reason. Organisations only (403 ``enterprise_only``); 422
    ``invalid_csv``, ``file_too_large``, ``too_many_rows``; 409 when the file has more
    people than free seats."""
    me = groups.manager_of(user=me_of(request), group_id=group_id)
    return group_import.import_members(by=me_of(request), group=me.group,
                                       data=request.body).as_dict()


@router.patch("/groups/{group_id}/members/{member_id}", response={200: GroupOut, **ERRORS},
              summary="Change a member's cap, role or cost centre")
def patch_member(request: HttpRequest, group_id: ObjectId, member_id: ObjectId,
                 body: MemberPatch) -> dict[str, Any]:
    """``cap_bytes`` and ``cap_percent`` are set together (both null: no cap); a member
    over the new cap is throttled or stopped at once. Only the owner changes roles."""
    me = groups.manager_of(user=me_of(request), group_id=group_id)
    member = Membership.active.filter(group=me.group, pk=member_id).first()
    if member is None:
        raise NotFound(code="unknown_member")
    fields = body.model_fields_set
    groups.update_member(by=me_of(request), membership=member,
                         cap=((body.cap_bytes, body.cap_percent)
                              if "cap_bytes" in fields or "cap_percent" in fields else None),
                         role=body.role, cost_centre=body.cost_centre)
    return group_out(me)


@router.delete("/groups/{group_id}/members/{member_id}", response={204: None, **ERRORS},
               summary="Remove a member")
def remove(request: HttpRequest, group_id: ObjectId, member_id: ObjectId) -> Status[None]:
    """The member's eSIM stays theirs and leaves the pool; what they used stays on the
    books of the period; the seat stays paid until the period ends."""
    groups.manager_of(user=me_of(request), group_id=group_id)
    if not Membership.active.filter(group_id=group_id, pk=member_id).exists():
        raise NotFound(code="unknown_member")
    group_members.remove_member(by=me_of(request), membership_id=member_id)
    return Status(204, None)


@router.post("/groups/{group_id}/leave", response={204: None, **ERRORS}, summary="Leave")
def leave(request: HttpRequest, group_id: ObjectId) -> Status[None]:
    group_members.leave_group(user=me_of(request), group_id=group_id)
    return Status(204, None)


@router.get("/groups/{group_id}/quote", response={200: QuoteOut, **ERRORS},
            summary="Price for N members (checkout preview)")
def quote(request: HttpRequest, group_id: ObjectId, members: Members, currency: Currency,
          plan: Annotated[str | None, Query(None, max_length=PLAN_CODE)] = None,
          add: bool = False) -> dict[str, Any]:
    """Per-member price, the discount of the largest tier reached and the pool, in minor
    units of ``currency``: exactly what ``POST /groups/{id}/orders`` charges. With
    ``add=true``, the price of ``members`` more seats now (``POST /groups/{id}/seats``)."""
    line = (orders.LineRequest(type=group_terms.GROUP_SEATS, group=group_id, members=members)
            if add else _line(group_id, plan, members))
    priced = orders.price_lines(user=me_of(request), lines=[line], currency=currency)
    return dict(priced[0].breakdown or {})


def _line(group_id: int, plan: str | None, members: int) -> orders.LineRequest:
    kind = (group_terms.GROUP_RENEWAL if pool_subscription(group_id) is not None
            else group_terms.GROUP_PLAN)
    return orders.LineRequest(type=kind, plan=plan, group=group_id, members=members)


@router.post("/groups/{group_id}/orders", response={201: OrderOut, **PAYING},
             summary="Buy or renew the group's plan")
def order(request: HttpRequest, group_id: ObjectId, body: GroupOrderIn,
          idempotency_key: IdempotencyKey = None) -> Status[Any]:
    """The first order starts the pool (a plan whose validity starts at first use: when
    the first member first uses it, or ``POST /groups/{id}/start``); later ones queue the
    next period (a renewal; behind a pool that waits, without dates). Managers only;
    honours ``Idempotency-Key``."""
    return _checkout(request, f"groups.{group_id}.order",
                     _line(group_id, body.plan, body.members), body.currency, body.provider,
                     body.save_method)


def _checkout(request: HttpRequest, scope: str, line: orders.LineRequest, currency: str,
              provider: str, save_method: bool = False) -> Status[Any]:
    """Order ``line`` for the group and pay it (``invoice``: on the organisation's
    account), once per ``Idempotency-Key``."""
    user = me_of(request)

    def render(placed: checkout.Placed) -> tuple[int, Any]:
        return 201, order_out(order_queries.order_of(user, placed.order.number), placed.payment)

    stored = checkout.place_order_once(once=once(request, scope, render), user=user,
                                       currency=currency, method=provider,
                                       save_method=save_method, payer_ip=client_ip(request),
                                       lines=[line])
    return Status(stored.status, stored.body)


class GroupSeatsIn(BodyIn):
    members: Members = Field(..., description="how many seats to add")
    currency: Currency
    provider: str = Field("sandbox", max_length=PROVIDER, description=PROVIDER_HELP)


@router.post("/groups/{group_id}/seats", response={201: OrderOut, **PAYING},
             summary="Add seats during the period")
def add_seats(request: HttpRequest, group_id: ObjectId, body: GroupSeatsIn,
              idempotency_key: IdempotencyKey = None) -> Status[Any]:
    """The running pool (or the one waiting for first use) grows by the new members'
    allowances at once; the price is what the larger group costs less what was paid (no
    proration). Managers only; honours
    ``Idempotency-Key``."""
    line = orders.LineRequest(type=group_terms.GROUP_SEATS, group=group_id,
                              members=body.members)
    return _checkout(request, f"groups.{group_id}.seats", line, body.currency, body.provider)


class GroupTopUpIn(BodyIn):
    product: str = Field(..., min_length=1, max_length=PLAN_CODE,
                         description="a top-up product code (GET /top-ups)")
    currency: Currency
    provider: str = Field("sandbox", max_length=PROVIDER, description=PROVIDER_HELP)


@router.post("/groups/{group_id}/top-ups", response={201: OrderOut, **PAYING},
             summary="Top up the shared pool")
def top_up(request: HttpRequest, group_id: ObjectId, body: GroupTopUpIn,
           idempotency_key: IdempotencyKey = None) -> Status[Any]:
    """Adds the product's data, minutes or SMS to the pool's running period (or the one
    waiting for first use: the top-up waits with it) for everyone, priced once. Managers
    only; honours ``Idempotency-Key``."""
    line = orders.LineRequest(type=group_terms.GROUP_TOP_UP, group=group_id,
                              product=body.product)
    return _checkout(request, f"groups.{group_id}.top_up", line, body.currency, body.provider)


@router.get("/groups/{group_id}/usage.csv", response={200: None, **ERRORS},
            summary="Usage report (CSV)",
            openapi_extra={"responses": {"200": {"description": "the report", "content": {
                "text/csv": {"schema": {"type": "string"}}}}}})
def usage_csv(request: HttpRequest, group_id: ObjectId,
              by: Literal["member", "cost_centre"] = "member") -> HttpResponse:
    """The current period's usage per member, or per cost centre with ``by=cost_centre``."""
    me = groups.manager_of(user=me_of(request), group_id=group_id)
    view = pool_queries.overview(me.group)
    if view.period is None:
        raise NotFound(code="group_has_no_plan")
    return HttpResponse(pool_queries.report_csv(me.group, view.period,
                                                by_cost_centre=by == "cost_centre"),
                        content_type="text/csv; charset=utf-8")
