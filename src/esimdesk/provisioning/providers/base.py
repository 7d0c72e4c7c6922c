"""The contract every upstream supplier adapter fulfils.

An adapter turns esimdesk's requests into a supplier's API calls: an SM-DP+ over GSMA ES2+,
a wholesale reseller API, or the built-in simulator. Every method that creates something
upstream takes a ``reference`` chosen by esimdesk and must be idempotent on it: calling again
with the same reference returns the first result and never orders a second profile or applies
a plan twice. Errors are typed: ``RetryableUpstreamError`` (timeouts, 5xx, rate limits) may
be retried with backoff; ``FinalUpstreamError`` will fail the same way again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


class UpstreamError(Exception):
    retryable = False

    def __init__(self, message: str, *, code: str = "upstream_error") -> None:
        super().__init__(message)
        self.code = code


class RetryableUpstreamError(UpstreamError):
    retryable = True


class FinalUpstreamError(UpstreamError):
    retryable = False


@dataclass(frozen=True)
class ProfileOrder:
    """A profile reserved for one customer, ready to download."""

    iccid: str
    smdp_address: str
    matching_id: str
    confirmation_code: str = ""
    upstream_reference: str = ""


@dataclass(frozen=True)
class PlanApplication:
    iccid: str
    plan_code: str
    upstream_reference: str


@dataclass(frozen=True)
class TopUpApplication:
    iccid: str
    product_code: str
    upstream_reference: str


class UpstreamProvider(ABC):
    #: configured name, e.g. ``simulator``
    name: str = ""

    @abstractmethod
    def order_profile(self, *, reference: str, plan_code: str) -> ProfileOrder:
        """Reserve and release one profile for download, carrying ``plan_code``.

        Idempotent on ``reference``. Returns the ICCID and the activation code parts.
        """

    @abstractmethod
    def apply_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        """Add a plan (renewal, plan change) to an existing profile. Idempotent on
        ``reference``; the supplier queues it after the current plan if one is running."""

    def end_plan(self, *, reference: str, iccid: str) -> None:
        """The customer's plan has ended (after any grace): stop the service on this ICCID
        until a renewal applies a new plan. The profile stays installed. Idempotent on
        ``reference``. Raise a typed error if the supplier refuses."""
        raise FinalUpstreamError(f"{self.name} cannot end a plan", code="not_supported")

    def set_depletion(self, *, reference: str, iccid: str, action: str) -> None:
        """The data of the plan running on the ICCID is used up: apply the plan's
        depletion behaviour, ``action`` = ``throttle`` (slow down) or ``stop``, until a
        top-up, renewal or plan change applies. Idempotent on ``reference``."""
        raise FinalUpstreamError(f"{self.name} cannot throttle or stop data",
                                 code="not_supported")

    def replace_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        """A plan change that starts now: the plan running on the ICCID stops and
        ``plan_code`` starts at once (plans already queued upstream stay queued after it).
        Idempotent on ``reference``. Raise a typed error if the supplier refuses."""
        raise FinalUpstreamError(f"{self.name} cannot change a plan now", code="not_supported")

    def apply_top_up(self, *, reference: str, iccid: str, product_code: str, data_bytes: int,
                     voice_seconds: int, sms_count: int,
                     extend_days: int) -> TopUpApplication:
        """Add quantities to the plan running on the ICCID (data in bytes, voice in
        seconds, SMS in messages) and, with ``extend_days``, make it last that many days
        longer. Idempotent on ``reference``: applying twice never tops up twice."""
        raise FinalUpstreamError(f"{self.name} cannot top up", code="not_supported")
