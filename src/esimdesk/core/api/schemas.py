"""Shapes and constraints shared by the API routers.

A constraint is written once, on the pydantic type of a field or parameter: ninja validates
requests with it and prints it into the OpenAPI document, so what the document allows is
what the API accepts. ``refused_as`` keeps a refusal's established error code (and its
translated message) where one exists, instead of the generic ``invalid_request``."""

from typing import Annotated, Any

from ninja import Field, Header, Path, Schema
from ninja.pagination import PageNumberPagination
from pydantic import (
    ConfigDict,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from esimdesk.core.idempotency import MAX_KEY_LENGTH
from esimdesk.core.money import Money

# Ids are 64-bit integers in both databases.
INT64_MAX = 2**63 - 1
# Beyond this a list has nothing to show: the offset alone would leave 64 bits.
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 100


class ErrorOut(Schema):
    code: str = Field(..., description="stable, for programs (e.g. unknown_plan)")
    message: str = Field(..., description="for people, in the language of the request")
    detail: Any = None


class MoneyOut(Schema):
    amount: int
    currency: str
    decimal: str
    formatted: str


def money_out(money: Money) -> dict[str, Any]:
    from django.utils import translation

    return {**money.as_dict(), "formatted": money.format(translation.get_language())}


def refused_as(code: str, message: Any = None) -> WrapValidator:
    """``Annotated[T, refused_as("invalid_period")]``: a value of the right type that ``T``
    refuses (not in the enumeration, too long, out of range, not matching the pattern) is
    answered 422 with ``code`` (and ``message``, or the code's message in
    ``core.errors.MESSAGES``). A value of the wrong type stays ``invalid_request``."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as error:
            first = error.errors()[0]
            if first["type"].endswith(("_type", "_parsing")):
                raise
            context = {"refused_as": code, **({"message": message} if message else {})}
            raise PydanticCustomError(code, first["msg"], context) from None

    return WrapValidator(validate)


Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"],
                                description="ISO 4217 code in capitals"),
                     refused_as("unsupported_currency")]
IdempotencyKey = Annotated[
    str | None, refused_as("invalid_idempotency_key"),
    Header(None, alias="Idempotency-Key", max_length=MAX_KEY_LENGTH,
           description="one key per intended action, reused for every retry of it: the "
                       "first answer is replayed")]
# Path parameters.
ObjectId = Annotated[int, Path(..., ge=1, le=INT64_MAX)]
IccidPath = Annotated[str, Path(..., min_length=1, max_length=32,
                                examples=["8999001000000000018"],
                                description="19 or 20 digits (a trailing F pad and spaces "
                                            "are accepted)")]
OrderNumber = Annotated[str, Path(..., min_length=1, max_length=20, examples=["ED-7K2M9Q4X"])]
PublicId = Annotated[str, Path(..., min_length=1, max_length=32)]
# Codes of plans and top-up products, as in the catalog.
PLAN_CODE = 60
# An ICCID as typed: digits, perhaps with spaces or the F pad.
ICCID_INPUT = 32
# A payment provider's name (sandbox, stripe, paypal, alipay, wechatpay; invoice for groups).
PROVIDER = 20


class BodyIn(Schema):
    """A JSON object in a request body, read as the document describes it: an array or a
    scalar where the object belongs is refused, and nothing is coerced (``"3"`` is not a
    number, ``false`` is not 0). A whole number written with a fraction (``3.0``) is an
    integer, as JSON Schema counts it."""

    model_config = ConfigDict(strict=True)

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(cls, values: Any, handler: ModelWrapValidatorHandler[Any],
                            info: ValidationInfo) -> Any:
        if not isinstance(values, dict):
            raise PydanticCustomError("model_type", "Input should be an object")
        return handler(_whole_numbers(values))


def _whole_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


class Pagination(PageNumberPagination):
    """``?page=`` and ``?page_size=`` (at most 100) on every list."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=MAX_PAGE_SIZE)

    def __init__(self, page_size: int = 20, **kwargs: Any) -> None:
        super().__init__(page_size=page_size, max_page_size=MAX_PAGE_SIZE, **kwargs)
