
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from esimdesk.api.schemas import ErrorOut
from esimdesk.catalog import queries
from esimdesk.catalog.schemas import PlanOut, plan_out
from esimdesk.core.inputs import PageNumberPagination

router = Router(tags=["plans"])


class PlanFilters(Schema):
    country: str | None = None
    region: str | None = None
    currency: str | None = None
    period: str | None = None
    kind: str | None = None


@router.get("/plans", response={200: list[PlanOut], 404: ErrorOut, 422: ErrorOut},
            summary="Catalog of plans")
@paginate(PageNumberPagination, page_size=50)
def list_plans(request: HttpRequest, filters: Query[PlanFilters]) -> list[dict]:
    """Active plans, in the language of the request (``Accept-Language: zh-Hans`` for
    Chinese). ``country`` (ISO 3166 alpha-2) returns every plan that works there: the
    country's own, its region's and the global ones. With ``currency`` (CNY, USD, EUR, HKD)
    only plans sold in that currency are listed and ``price`` is set."""
    plans = queries.list_plans(country=filters.country, region=filters.region,
                               period=filters.period, kind=filters.kind,
                               currency=filters.currency)
    currency = filters.currency.upper() if filters.currency else None
    return [plan_out(p, currency) for p in plans.prefetch_related("countries")]


@router.get("/plans/{code}", response={200: PlanOut, 404: ErrorOut, 422: ErrorOut},
            summary="One plan")
def get_plan(request: HttpRequest, code: str, currency: str | None = None) -> dict:
    plan = queries.get_plan(code)
    if currency:
        queries.plan_price(plan, currency)
    return plan_out(plan, currency.upper() if currency else None)
