"""Money as integer minor units plus an ISO 4217 currency. Never a float.

The number of minor units per major unit comes from the currency (JPY and KRW have none,
most have two), so 1234 USD minor units is $12.34 and 1234 JPY is ¥1,234.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import get_currency_precision

from esimdesk.core import formats
from esimdesk.core.errors import ValidationFailed

# Currencies esimdesk accepts anywhere; the catalog prices in a subset of them.
SUPPORTED_CURRENCIES = ("CNY", "USD", "EUR", "HKD", "JPY", "GBP", "KRW", "SGD")
# The currencies the portal shows prices in and travellers may choose.
SHOP_CURRENCIES = ("CNY", "USD", "EUR", "HKD")


def babel_locale(language: str | None) -> str:
    """Django language code -> Babel locale name, in the active region (``core.formats``)."""
    return formats.locale_name(language)


def exponent(currency: str) -> int:
    return int(get_currency_precision(currency))


def check_currency(currency: str) -> str:
    code = (currency or "").upper()
    if code not in SUPPORTED_CURRENCIES:
        raise ValidationFailed(code="unsupported_currency",
                               detail={"currency": currency,
                                       "supported": list(SUPPORTED_CURRENCIES)})
    return code


@dataclass(frozen=True, slots=True)
class Money:
    amount: int  # minor units
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("Money.amount must be an int of minor units")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"not an ISO 4217 code: {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        return Money(self.amount * int(factor), self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def decimal(self) -> Decimal:
        """The amount in major units as an exact Decimal (for display and provider APIs)."""
        return Decimal(self.amount).scaleb(-exponent(self.currency))

    def decimal_string(self) -> str:
        """Major units with exactly the currency's decimals, e.g. ``'12.30'`` or ``'1234'``."""
        places = exponent(self.currency)
        return f"{self.decimal():.{places}f}"

    def format(self, language: str | None = None) -> str:
        """'$5.00' / 'US$5.00' / '¥35.00': the conventions of ``language`` (default: the
        active one) in the active region, like every date and time (``core.formats``)."""
        return formats.money(self.decimal(), self.currency, language)

    def as_dict(self) -> dict[str, object]:
        return {"amount": self.amount, "currency": self.currency,
                "decimal": self.decimal_string()}

    def __str__(self) -> str:
        return f"{self.decimal_string()} {self.currency}"
