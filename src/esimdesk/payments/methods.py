"""Ways to pay that settle an order at once, with no payment provider: an organisation's
monthly invoice, for one. Each is registered under the name a payer chooses, beside the
providers, by the app that owns it (in its ``AppConfig.ready``); checkout looks the chosen
name up here first and never names one itself.
"""

from __future__ import annotations

from typing import Any, Protocol

from esimdesk.orders.lines import LineRequest
from esimdesk.orders.models import Order


class SettlingMethod(Protocol):
    """A payment method that needs no provider call."""

    #: the name a payer chooses (``provider`` in the API), e.g. ``invoice``
    name: str

    def check(self, *, user: Any, lines: list[LineRequest]) -> None:
        """Refuse (a ``DomainError``) before anything is written when ``user`` may not
        settle these lines this way."""

    def settle(self, *, user: Any, order: Order, lines: list[LineRequest]) -> Order:
        """Mark the new ``order`` (made of ``lines``) paid and queue its fulfilment; runs
        inside the transaction that created it."""


_METHODS: dict[str, SettlingMethod] = {}


def register(method: SettlingMethod) -> None:
    _METHODS[method.name] = method


def settling(name: str) -> SettlingMethod | None:
    """The settling method registered under ``name``, if any."""
    return _METHODS.get(name)
