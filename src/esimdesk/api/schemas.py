"""Shapes shared by the API routers."""


from typing import Any

from ninja import Schema

from esimdesk.core.money import Money


class ErrorOut(Schema):
    code: str
    message: str
    detail: Any = None


class MoneyOut(Schema):
    amount: int
    currency: str
    decimal: str
    formatted: str


def money_out(money: Money) -> dict[str, Any]:
    from django.utils import translation

    return {**money.as_dict(), "formatted": money.format(translation.get_language())}
