"""The contract every upstream supplier adapter fulfils.

An adapter turns esimdesk's requests into a supplier's API calls: an SM-DP+ over GSMA ES2+,
a wholesale reseller API, or the built-in simulator. Every method that changes something
upstream takes a ``reference`` chosen by esimdesk and must be idempotent on it: calling again
with the same reference returns the first result and never orders a second profile, applies
a plan twice or repeats a suspension. A reference is used for one request only; reusing it
for another ICCID or another action is refused (``FinalUpstreamError``, ``reference_reused``).

Errors are typed: ``RetryableUpstreamError`` (timeouts, 5xx, rate limits, an answer lost on
the way back) may be retried with backoff and the same reference; ``FinalUpstreamError`` will
fail the same way again (``code="not_supported"`` when the supplier does not offer the
operation at all). ``InvalidCallback`` is what ``parse_callback`` raises for a message that
must be answered 4xx and not acted on.

Outbound methods (esimdesk asks the supplier):

=================  ==========================================================================
order_profile      reserve and release a new profile carrying a plan
apply_plan         queue a plan (renewal) on an ICCID
replace_plan       plan change that starts now
apply_top_up       add quantities to the running plan
end_plan           stop service at the end of the customer's plan
set_depletion      throttle or stop data when it is used up
lift_depletion     full speed again, before a top-up or renewal (e.g. a member's cap raised)
suspend / resume   bar the ICCID from the network for now / lift the bar
revoke             the profile can never be used again (reissue, fraud, refund)
check_connection   a live handshake that changes nothing (go-live checks, the console)
=================  ==========================================================================

Inbound, every callback goes the same way (``provisioning.hooks``): it comes to
``/hooks/upstream/<name>/<rest>``, which answers only while the supplier is in
``ESIMDESK_UPSTREAM_PROVIDERS`` and ``rest`` is one of its ``callback_handlers``; a body over
``callback_max_bytes`` is refused unread; ``authenticate_callback`` proves who sent it
(a signature, or a credential the supplier presents); only then does the handler (in the
supplier's ``callbacks`` module) read it, usually through ``parse_callback``, which turns it
into typed events (``ProfileStatusEvent``, ``UsageRecord``) that
``provisioning.upstream_events.apply`` applies to esimdesk exactly once; ``callback_ack``
says what the supplier is answered for a callback esimdesk took.

Options and label: ``label`` names the supplier to staff; ``options`` declares every
``ESIMDESK_*`` setting the adapter reads (``esimdesk.config.Option``: name, default, help,
secret or not). ``esimdesk.config`` collects them from the supplier registry, so
``esimdesk check`` and the staff console list them; an adapter reads them with
``config.env``.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise

from esimdesk.config import Option


class UpstreamError(Exception):
    retryable = False

    def __init__(self, message: str, *, code: str = "upstream_error") -> None:
        super().__init__(message)
        self.code = code


class RetryableUpstreamError(UpstreamError):
    """A failure that may pass. ``retry_after``: the seconds the supplier asked esimdesk
    to wait before trying again (e.g. a 429's ``Retry-After``), None when it did not say;
    whoever retries waits at least that long (``wait_before_retry``)."""

    retryable = True

    def __init__(self, message: str, *, code: str = "upstream_error",
                 retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class FinalUpstreamError(UpstreamError):
    retryable = False


#: The longest wait a supplier's ``retry_after`` is taken at (a larger one is capped).
MAX_RETRY_AFTER = dt.timedelta(hours=1)


def wait_before_retry(error: BaseException, backoff: dt.timedelta) -> dt.timedelta:
    """How long to wait before retrying after ``error``: the caller's ``backoff``, or what
    the supplier asked for (``RetryableUpstreamError.retry_after``, capped at
    ``MAX_RETRY_AFTER``) when that is longer."""
    asked = getattr(error, "retry_after", None) if isinstance(
        error, RetryableUpstreamError) else None
    if not asked or asked <= 0:
        return backoff
    return max(backoff, min(dt.timedelta(seconds=asked), MAX_RETRY_AFTER))


class InvalidCallback(UpstreamError):
    """A callback that must not be acted on: ``bad_signature`` (answered 400) or
    ``unauthenticated_supplier`` (401), both raised before anything in the body is read,
    or ``malformed_event`` (400). Nothing is stored."""

    retryable = False


class ProfileStatus:
    """The profile life cycle as suppliers report it, in esimdesk's words.

    ``downloaded``: the bound profile package reached the device; ``installed``: it is on
    the eUICC; ``enabled`` / ``disabled``: switched on or off on the device; ``first_use``:
    the network saw it attach; ``deleted``: removed from the device; ``failed``: a download
    or installation failed (information for staff)."""

    DOWNLOADED = "downloaded"
    INSTALLED = "installed"
    ENABLED = "enabled"
    DISABLED = "disabled"
    FIRST_USE = "first_use"
    DELETED = "deleted"
    FAILED = "failed"
    ALL = (DOWNLOADED, INSTALLED, ENABLED, DISABLED, FIRST_USE, DELETED, FAILED)


@dataclass(frozen=True)
class ProfileStatusEvent:
    """The supplier says the profile ``iccid`` reached ``status`` (a ``ProfileStatus``).

    ``event_id`` is unique per supplier and stable across redeliveries: esimdesk stores it
    first and acts on each id once."""

    event_id: str
    iccid: str
    status: str
    occurred_at: dt.datetime | None = None
    detail: str = ""


@dataclass(frozen=True)
class UsageRecord:
    """Usage metered by the supplier: ``quantity`` bytes, seconds or messages of ``kind``
    (``data``, ``voice``, ``sms``) on ``iccid``, charged once per ``record_id``.

    With ``running_total_key`` set the supplier reports a running total instead of a
    delta (eSIM Go reports *used so far* on a bundle): ``quantity`` is the total used under
    that key, and only the part not charged yet is charged."""

    record_id: str
    iccid: str
    kind: str
    quantity: int
    occurred_at: dt.datetime | None = None
    running_total_key: str = ""


#: What ``parse_callback`` returns a list of.
UpstreamEvent = ProfileStatusEvent | UsageRecord

#: An answer to a callback: (HTTP status, JSON body, or None for an empty answer)
Answer = tuple[int, dict[str, Any] | None]


def header(headers: Mapping[str, str], name: str) -> str:
    """One header's value, whatever the case of its name (Django's ``request.headers`` is
    case-insensitive, a plain dict from a test or a task is not)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


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


@dataclass(frozen=True)
class PossiblyAllocated:
    """Profiles a supplier may hold for esimdesk that no order got: calls sent whose
    outcome was lost and that no retry settled, until staff reconcile them with the
    supplier. ``oldest``: when the oldest of them was sent."""

    count: int = 0
    oldest: dt.datetime | None = None


class UpstreamProvider(ABC):
    #: configured name, e.g. ``simulator``
    name: str = ""
    #: what staff see it called
    label: str | Promise = ""  # a lazy translation, or a brand name
    #: the ``ESIMDESK_*`` options the adapter reads (collected by ``esimdesk.config``)
    options: tuple[Option, ...] = ()
    #: the callback routes the supplier calls: ``rest`` of ``/hooks/upstream/<name>/<rest>``
    #: ("" for ``/hooks/upstream/<name>`` itself) -> dotted path of the handler in the
    #: supplier's ``callbacks`` module (imported on the first callback)
    callback_handlers: Mapping[str, str] = {}
    #: the largest callback body this supplier sends, in bytes: a larger one is answered 413
    #: without being read (well under the server-wide limit; a supplier sends small messages)
    callback_max_bytes: int = 64 * 1024
    #: the supplier reports ``first_use`` (the network saw the eSIM attach); a plan whose
    #: validity starts at first use starts at install on a supplier that cannot
    reports_first_use: bool = False

    @classmethod
    def possibly_allocated(cls, now: dt.datetime) -> PossiblyAllocated:
        """What this supplier's own records hold as *possibly allocated* at ``now``
        (``PossiblyAllocated``), read from the database only, in one query: the console
        raises one alert per supplier while any are left. None by default (a supplier
        whose every order is idempotent upstream leaves nothing to reconcile)."""
        return PossiblyAllocated()

    @abstractmethod
    def order_profile(self, *, reference: str, plan_code: str) -> ProfileOrder:
        """Reserve and release one profile for download, carrying ``plan_code``.

        Idempotent on ``reference``. Returns the ICCID and the activation code parts.
        """

    @abstractmethod
    def apply_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        """Add a plan (renewal, plan change) to an existing profile. Idempotent on
        ``reference``; the supplier queues it after the current plan if one is running."""

    def check_connection(self) -> str:
        """A live handshake with the supplier, as ``esimdesk check --suppliers`` and the
        console's *Test connection* button make it before any order: TLS (the supplier's
        certificate verified, the client certificate accepted), the credentials, and one
        harmless call that changes nothing upstream (no profile ordered, reserved or
        released, no plan applied).

        Returns one line saying what was checked and succeeded, e.g. ``"TLS 1.3 to
        smdp.example.com, client certificate accepted, getProfileStatus answered"``. Raises
        ``UpstreamError`` — ``FinalUpstreamError`` for what fails again until the
        configuration changes (a wrong URL, CA, certificate or key, refused credentials),
        ``RetryableUpstreamError`` for what may pass later (a timeout, a 5xx) — whose
        ``code`` and one-line message say what is wrong. Bounded by the adapter's own
        timeout; callers still turn any other exception into one line, never a traceback.

        Default: ``FinalUpstreamError(code="not_supported")``: the adapter cannot check
        itself."""
        raise FinalUpstreamError(f"{self.name} cannot check its connection",
                                 code="not_supported")

    def end_plan(self, *, reference: str, iccid: str) -> None:
        """The customer's plan has ended (after any grace): stop the service on this ICCID
        until a renewal applies a new plan. The profile stays installed. Idempotent on
        ``reference``. Raise a typed error if the supplier refuses.

        Also called when a renewal for low data starts because the data ran out
        (``subscriptions.data_out``): then, in the same task, ``apply_plan`` is called again
        under the renewal's reference (answered with the first application, never applied
        twice) and ``lift_depletion``; a supplier that offers neither moves to the queued
        plan by itself."""
        raise FinalUpstreamError(f"{self.name} cannot end a plan", code="not_supported")

    def set_depletion(self, *, reference: str, iccid: str, action: str) -> None:
        """The data of the plan running on the ICCID is used up: apply the plan's
        depletion behaviour, ``action`` = ``throttle`` (slow down) or ``stop``, until a
        top-up, renewal or plan change applies. Idempotent on ``reference``."""
        raise FinalUpstreamError(f"{self.name} cannot throttle or stop data",
                                 code="not_supported")

    def lift_depletion(self, *, reference: str, iccid: str) -> None:
        """Undo ``set_depletion`` on the ICCID without adding data: the plan's allowance is
        usable again (in esimdesk's books the limit that stopped it no longer applies, e.g.
        a family member's cap was raised). Idempotent on ``reference``; a no-op when the
        ICCID is not throttled or stopped. Raise a typed error if the supplier refuses."""
        raise FinalUpstreamError(f"{self.name} cannot lift a throttle or stop",
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

    def suspend(self, *, reference: str, iccid: str) -> None:
        """Bar the ICCID from the network until ``resume`` (fraud, unpaid, the customer's
        request). The profile and its plans stay as they are. Idempotent on ``reference``;
        suspending a suspended ICCID is not an error."""
        raise FinalUpstreamError(f"{self.name} cannot suspend a profile", code="not_supported")

    def resume(self, *, reference: str, iccid: str) -> None:
        """Lift a suspension: the ICCID may use the network again within its plans.
        Idempotent on ``reference``; resuming an ICCID that is not suspended is not an
        error, resuming a revoked one is (``FinalUpstreamError``, ``profile_revoked``)."""
        raise FinalUpstreamError(f"{self.name} cannot resume a profile", code="not_supported")

    def revoke(self, *, reference: str, iccid: str) -> None:
        """The profile can never be used again (reissue, fraud, refund of an unused eSIM).

        Not downloaded yet: cancel the order upstream so the activation code stops working.
        Downloaded or installed: delete or revoke it upstream and bar the ICCID, whatever
        the supplier offers for that. Idempotent on ``reference``, and revoking a revoked
        profile again succeeds. Raise ``FinalUpstreamError`` if the supplier refuses, and a
        retryable error if the outcome is unknown; never report success for a profile that
        may still work."""
        raise FinalUpstreamError(f"{self.name} cannot revoke a profile", code="not_supported")

    def authenticate_callback(self, *, body: bytes, headers: Mapping[str, str],
                              remote_addr: str) -> None:
        """Prove that one callback comes from this supplier, before anything in it is parsed
        or stored; return quietly if it does.

        A supplier that signs its messages: verify the signature over the raw ``body`` in
        constant time, and raise ``InvalidCallback(code="bad_signature")`` when it is bad
        or missing. A supplier that signs nothing (ES2+): check the credential it presents
        (a bearer secret, a client certificate verified by the TLS proxy, whose headers are
        believed only when ``remote_addr``, the TCP peer, is a trusted proxy) and raise
        ``InvalidCallback(code="unauthenticated_supplier")`` without one. No key or
        credential configured means no callback can be trusted, not that all can: refuse.
        Reads nothing from and writes nothing to the database."""
        raise InvalidCallback(f"{self.name} sends no callbacks", code="not_supported")

    def parse_callback(self, *, body: bytes,
                       headers: Mapping[str, str]) -> list[UpstreamEvent]:
        """Turn one callback from this supplier into typed events. Called only for a body
        ``authenticate_callback`` accepted.

        A body that cannot be understood, or with a field longer than the supplier's
        protocol allows, raises ``InvalidCallback(code="malformed_event")``. Events the
        adapter does not know are left out (an empty list is a valid answer: the supplier
        still gets a 200). Reads nothing from and writes nothing to the database: applying
        is ``upstream_events.apply``'s job."""
        raise InvalidCallback(f"{self.name} sends no callbacks", code="not_supported")

    def callback_ack(self, report: dict[str, Any] | None) -> Answer:
        """What the supplier is answered for a callback esimdesk accepted (authenticated,
        then stored or knowingly ignored): the HTTP status and JSON body its protocol expects.
        ``report`` is what the handler says it did (counts, a status), or None.

        By default a 200 with the report as JSON (suppliers retry anything else). A protocol
        that fixes the answer overrides it: ES2+ notifications are answered 204 with no body
        (SGP.22). Refusals are not acknowledgements: they keep the error shape of ``hooks``.
        Reads nothing from and writes nothing to the database."""
        return 200, report
