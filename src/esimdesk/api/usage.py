"""Usage series of one eSIM for charts in apps: ``GET /api/v1/esims/{iccid}/usage``.

A ninja schema module, so no ``from __future__ import annotations`` (ninja reads the
annotations at import time)."""

from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema

from esimdesk.core import clock
from esimdesk.core.api.auth import customer_auth
from esimdesk.core.api.schemas import ErrorOut, IccidPath, refused_as
from esimdesk.core.units import UNITS
from esimdesk.esims import services as esims
from esimdesk.subscriptions.queries import service_for
from esimdesk.usage.queries import forecasts_for, remaining_of, usage_series

Granularity = Annotated[Literal["hour", "day"], refused_as(
    "invalid_granularity", _("The granularity must be hour or day."))]
UsageKind = Annotated[Literal["data", "voice", "sms"],
                      refused_as("invalid_kind", _("The kind must be data, voice or sms."))]

router = Router(tags=["esims"], auth=customer_auth)


class PointOut(Schema):
    start: str = Field(..., description="start of the bucket, ISO 8601 in UTC")
    quantity: int


class UsageOut(Schema):
    kind: str
    unit: str = Field(..., description="bytes (data), seconds (voice) or messages (sms)")
    granularity: str
    points: list[PointOut] = Field(..., description="oldest first; every bucket present, "
                                                    "zero when nothing was used")
    remaining: int | None = Field(None, description="left in the running period; null when "
                                                    "no plan is running")
    forecast_until: str | None = Field(None, description="when the remaining quantity runs "
                                       "out at the last 24 hours' rate (never after the "
                                       "period ends); null without recent usage")


@router.get("/esims/{iccid}/usage", response={200: UsageOut, 404: ErrorOut},
            summary="Usage series for charts")
def get_usage(request: HttpRequest, iccid: IccidPath, granularity: Granularity = "hour",
              kind: UsageKind = "data") -> dict[str, Any]:
    """``granularity=hour``: the last 48 hours by hour; ``day``: the last 30 days by day
    (UTC days). Buckets are UTC; show them in the user's time zone."""
    esim = esims.get_for_owner(user=request.auth, iccid=iccid)  # type: ignore[attr-defined]
    now = clock.now()
    service = service_for([esim], now=now)[esim.pk]
    forecast = forecasts_for({esim.pk: service}, kind=kind, now=now)[esim.pk]
    return {
        "kind": kind,
        "unit": UNITS[kind],
        "granularity": granularity,
        "points": [{"start": p.start.isoformat(), "quantity": p.quantity}
                   for p in usage_series(esim, kind, granularity, now=now)],
        "remaining": remaining_of(service, kind),
        "forecast_until": forecast.until.isoformat() if forecast else None,
    }
