from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema
from ninja.pagination import paginate

from esimdesk.catalog import queries
from esimdesk.catalog.schemas import PlanOut, plan_out
from esimdesk.core.api.schemas import PLAN_CODE, Currency, ErrorOut, Pagination, refused_as

router = Router(tags=["plans"])


class PlanFilters(Schema):
    country: str | None = Field(None, pattern=r"^[A-Za-z]{2}$",
                                description="ISO 3166 alpha-2", examples=["JP"])
    region: str | None = Field(None, max_length=20, examples=["europe"])
    currency: Currency | None = None
    period: Annotated[Literal["day", "month", "year"] | None,
                      refused_as("invalid_period")] = None
    kind: Annotated[Literal["personal", "family", "enterprise"] | None,
                    refused_as("invalid_kind")] = None


@router.get("/plans", response={200: list[PlanOut], 404: ErrorOut},
            summary="Catalog of plans")
@paginate(Pagination, page_size=50)
def list_plans(request: HttpRequest, filters: Query[PlanFilters]) -> list[dict]:
    """Active plans, in the language of the request (``Accept-Language: zh-Hans`` for
    Chinese). ``country`` (ISO 3166 alpha-2) returns every plan that works there: the
    country's own, its region's and the global ones. With ``currency`` (CNY, USD, EUR, HKD)
    only plans sold in that currency are listed and ``price`` is set. 404
    ``unknown_country`` or ``unknown_region``."""
    plans = queries.list_plans(country=filters.country, region=filters.region,
                               period=filters.period, kind=filters.kind,
                               currency=filters.currency)
    return [plan_out(p, filters.currency) for p in plans.prefetch_related("countries")]


@router.get("/plans/{code}", response={200: PlanOut, 404: ErrorOut}, summary="One plan")
def get_plan(request: HttpRequest,
             code: Annotated[str, Path(..., min_length=1, max_length=PLAN_CODE)],
             currency: Currency | None = None) -> dict:
    """404 ``unknown_plan``; with a ``currency`` the plan is not sold in, 422
    ``currency_not_available``."""
    plan = queries.get_plan(code)
    if currency:
        queries.plan_price(plan, currency)
    return plan_out(plan, currency)
