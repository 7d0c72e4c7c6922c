"""eSIM endpoints. An eSIM answer joins the profile (esims) with its validity and balances
(subscriptions), so this router sits in the api layer above both."""


import datetime as dt
from typing import Annotated, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from esimdesk.core import clock
from esimdesk.core.api.auth import customer_auth
from esimdesk.core.api.schemas import BodyIn, ErrorOut, IccidPath, Pagination, refused_as
from esimdesk.core.errors import NotFound, ValidationFailed
from esimdesk.core.ids import normalize_iccid
from esimdesk.esims import services as esims
from esimdesk.esims.install import install_data, qr_svg
from esimdesk.esims.models import Esim
from esimdesk.esims.services import MAX_LABEL
from esimdesk.payments import autorenew, saved_methods
from esimdesk.payments.models import RenewalAttempt
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions import validity
from esimdesk.subscriptions.queries import (
    EsimService,
    PeriodView,
    owned_esim_service,
    service_for,
)

router = Router(tags=["esims"], auth=customer_auth)


class AllowanceOut(Schema):
    kind: str
    total: int
    used: int
    remaining: int
    unit: str


class PeriodOut(Schema):
    sequence: int
    plan: str
    plan_name: str
    state: str = Field(..., description="pending (waiting for first use: no start or end "
                                        "yet) | active (running now) | scheduled (queued)")
    starts_at: str | None = Field(..., description="null while the plan waits for first "
                                                   "use, and for a plan queued behind it")
    ends_at: str | None = Field(..., description="null until the period starts")
    activate_by: str | None = Field(..., description="pending: when it starts by itself if "
                                                     "the eSIM has not been used by then")
    validity: str = Field(..., description="how long the period runs once started (ISO "
                                           "8601 duration, e.g. P30D, P1M)")
    starts: str = Field("at_period_end", description="a queued renewal: `at_period_end` "
                                                     "(starts_at is when it starts) or "
                                                     "`when_data_runs_out` (starts the moment "
                                                     "the data of the period before it runs "
                                                     "out, which then ends; starts_at at the "
                                                     "latest)")
    allowances: list[AllowanceOut]


class InstallOut(Schema):
    activation_code: str
    smdp_address: str
    matching_id: str
    confirmation_code: str
    ios_url: str
    android_url: str
    qr_svg_url: str


class RenewalOut(Schema):
    state: str = Field(..., description="scheduled | charging | retry_wait | succeeded | "
                                        "pay_link_sent | failed")
    state_label: str
    next_try_at: str | None
    order: str | None = Field(None, description="the renewal order (pay it to renew by hand)")


class EsimOut(Schema):
    iccid: str
    label: str
    status: str
    status_label: str
    activation_code: str
    install: InstallOut
    service: str = Field(..., description="active | pending (the plan starts at first "
                                          "use) | scheduled | expired | none")
    valid_until: str | None = Field(..., description="end of the last period with an end; "
                                                     "null while the plan waits for first use")
    current_period: PeriodOut | None = Field(..., description="the running period, or the "
                                                              "one waiting for first use")
    queued_periods: list[PeriodOut]
    auto_renew: bool
    auto_renew_by: str = Field(..., description="'saved_method' (charged automatically) or "
                                                "'pay_link' (no saved method can be charged: "
                                                "you get a link to pay)")
    renewal: RenewalOut | None = Field(None, description="the latest automatic renewal")


class EsimPatch(BodyIn):
    label: Annotated[str | None, Field(max_length=MAX_LABEL), refused_as("label_too_long")] = (
        Field(None, description="your name for it; spaces are collapsed"))
    auto_renew: bool | None = None



def _period(view: PeriodView, now: dt.datetime) -> dict[str, Any]:
    if view.pending:
        state = "pending"
    elif view.starts_at is not None and view.starts_at <= now:
        state = "active"
    else:
        state = "scheduled"
    return {"sequence": view.sequence, "plan": view.plan.code, "plan_name": view.plan.name,
            "state": state, "starts_at": clock.iso_or_none(view.starts_at),
            "ends_at": clock.iso_or_none(view.ends_at),
            "activate_by": clock.iso_or_none(view.activate_by), "validity": view.validity,
            "starts": ("when_data_runs_out" if view.starts_on_data_out and state == "scheduled"
                       else "at_period_end"),
            "allowances": [{"kind": a.kind, "total": a.total, "used": a.used,
                            "remaining": a.remaining, "unit": a.unit}
                           for a in view.allowances]}


def esim_out(esim: Esim, service: EsimService, renewal: RenewalAttempt | None = None,
             by_saved_method: bool = False) -> dict[str, Any]:
    data = install_data(esim)
    valid_until = service.valid_until
    current = service.current_or_pending
    now = clock.now()
    return {
        "iccid": esim.iccid,
        "label": esim.label,
        "status": esim.status,
        "status_label": str(esim.get_status_display()),
        "activation_code": data.activation_code,
        "install": {**data.as_dict(),
                    "qr_svg_url": settings.PUBLIC_URL + reverse("api_v1:esim_qr",
                                                                args=[esim.iccid])},
        "service": service.state,
        "valid_until": valid_until.isoformat() if valid_until else None,
        "current_period": _period(current, now) if current else None,
        "queued_periods": [_period(v, now) for v in service.queued],
        "auto_renew": bool(service.subscription and service.subscription.auto_renew),
        "auto_renew_by": "saved_method" if by_saved_method else "pay_link",
        "renewal": {"state": renewal.state, "state_label": str(renewal.get_state_display()),
                    "next_try_at": renewal.next_try_at.isoformat()
                    if renewal.state in ("scheduled", "retry_wait") else None,
                    "order": renewal.order.number if renewal.order_id else None}
        if renewal else None,
    }


def esims_out(user: Any, items: list[Esim]) -> list[dict[str, Any]]:
    """Several eSIMs in a fixed number of queries."""
    services = service_for(items)
    subscriptions_ = [s.subscription for s in services.values() if s.subscription]
    renewals = autorenew.upcoming_renewals(subscriptions_)
    chargeable = saved_methods.can_auto_renew(user)
    return [esim_out(e, services[e.pk],
                     renewals.get(services[e.pk].subscription.pk)
                     if services[e.pk].subscription else None, chargeable)
            for e in items]


@router.get("/esims", response={200: list[EsimOut]}, summary="My eSIMs",
            openapi_extra={"responses": {"200": {"links": {
                "GetEsim": {"operationId": "esimdesk_api_esims_get_esim",
                            "parameters": {"iccid": "$response.body#/items/0/iccid"}},
                "GetUsage": {"operationId": "esimdesk_api_usage_get_usage",
                             "parameters": {"iccid": "$response.body#/items/0/iccid"}},
                "ListTopUps": {"operationId": "esimdesk_api_esim_changes_list_top_ups",
                               "parameters": {"iccid": "$response.body#/items/0/iccid"}}}}}})
@paginate(Pagination, page_size=50)
def list_esims(request: HttpRequest) -> list[dict[str, Any]]:
    """The customer's eSIMs with install data, current and queued periods and balances.
    Quantities: data in bytes, voice in seconds, SMS in messages (see each ``unit``)."""
    items = list(Esim.objects.filter(owner=request.auth))  # type: ignore[misc]
    return esims_out(request.auth, items)  # type: ignore[attr-defined]


@router.get("/esims/{iccid}", response={200: EsimOut, 404: ErrorOut}, summary="One eSIM",
            openapi_extra={"responses": {"200": {"links": {
                "PatchEsim": {"operationId": "esimdesk_api_esims_patch_esim",
                              "parameters": {"iccid": "$response.body#/iccid"}},
                "GetQr": {"operationId": "esimdesk_api_esims_get_qr",
                          "parameters": {"iccid": "$response.body#/iccid"}}}}}})
def get_esim(request: HttpRequest, iccid: IccidPath) -> dict[str, Any]:
    """The eSIM with install data, current and queued periods and balances. Someone
    else's ICCID is answered exactly like an unknown one (404 ``unknown_esim``)."""
    user = request.auth  # type: ignore[attr-defined]
    # The hot read of the mobile apps: the eSIM and its balances in one statement (the same
    # answer as get_for_owner + esims_out, one query fewer; see docs/PERFORMANCE.md).
    try:
        number = normalize_iccid(iccid)
    except ValidationFailed:
        raise NotFound(code="unknown_esim", detail={"iccid": iccid}) from None
    found = owned_esim_service(owner_id=user.pk, iccid=number)
    if found is None:
        raise NotFound(code="unknown_esim", detail={"iccid": iccid})
    esim, service = found
    renewals = autorenew.upcoming_renewals([service.subscription]
                                           if service.subscription else [])
    renewal = renewals.get(service.subscription.pk) if service.subscription else None
    return esim_out(esim, service, renewal, saved_methods.can_auto_renew(user))


@router.get("/esims/{iccid}/qr.svg", url_name="esim_qr", response={200: None, 404: ErrorOut},
            summary="QR code of the activation code",
            openapi_extra={"responses": {"200": {"description": "the QR code", "content": {
                "image/svg+xml": {"schema": {"type": "string"}}}}}})
def get_qr(request: HttpRequest, iccid: IccidPath) -> HttpResponse:
    esim = esims.get_for_owner(user=request.auth, iccid=iccid)  # type: ignore[attr-defined]
    response = HttpResponse(qr_svg(esim), content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@router.patch("/esims/{iccid}", response={200: EsimOut, 404: ErrorOut, 409: ErrorOut},
              summary="Label, auto-renew")
def patch_esim(request: HttpRequest, iccid: IccidPath, body: EsimPatch) -> dict[str, Any]:
    """409 ``no_subscription`` when ``auto_renew`` is set on an eSIM without a plan."""
    user = request.auth  # type: ignore[attr-defined]
    esim = subscriptions.update_esim_settings(
        user=user, esim=esims.get_for_owner(user=user, iccid=iccid), label=body.label,
        auto_renew=body.auto_renew)
    return esims_out(request.auth, [esim])[0]  # type: ignore[attr-defined]


@router.post("/esims/{iccid}/start", response={200: EsimOut, 404: ErrorOut, 409: ErrorOut},
             summary="Start the plan now")
def start_esim_plan(request: HttpRequest, iccid: IccidPath) -> dict[str, Any]:
    """Start the plan that waits for first use now, instead of when the eSIM first connects
    in the destination: its validity counts from this instant. 409 ``not_pending`` when no
    plan waits (it started already: by first use, usage, an earlier call, or its
    ``activate_by``)."""
    user = request.auth  # type: ignore[attr-defined]
    esim = esims.get_for_owner(user=user, iccid=iccid)
    validity.start_now(user=user, esim=esim)
    return esims_out(user, [esim])[0]
