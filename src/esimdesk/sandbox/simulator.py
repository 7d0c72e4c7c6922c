"""The upstream simulator: the embedded default supplier and the test double for upstream.

It issues real-looking profiles (ICCIDs from a configured prefix with a valid Luhn digit,
activation codes on its own SM-DP+ host name) and records what it issued in its own tables,
idempotent on esimdesk's references exactly as a real supplier must be. It rehearses a real
network's manners on every call: a configured latency, errors before the work is done, and
timeouts (the work done, the answer lost). Its profile status events and usage reach
esimdesk as signed callbacks (``provisioning.simulator_events``); its books are readable over
HTTP (``provisioning.simulator_api``). See docs/providers/simulator.md.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import random
import secrets
import string
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from esimdesk import config
from esimdesk.config import Option
from esimdesk.core import clock
from esimdesk.core.ids import iccid_with_check_digit
from esimdesk.provisioning.suppliers.base import (
    FinalUpstreamError,
    InvalidCallback,
    PlanApplication,
    ProfileOrder,
    ProfileStatus,
    ProfileStatusEvent,
    RetryableUpstreamError,
    TopUpApplication,
    UpstreamEvent,
    UpstreamProvider,
    UsageRecord,
    header,
)
from esimdesk.sandbox.models import (
    SimulatedAction,
    SimulatedPlanApplication,
    SimulatedProfile,
    SimulatedTopUp,
    SimulatedUsage,
)

T = TypeVar("T")

_random = random.Random()  # outages only: not used for anything secret
_ALPHABET = string.ascii_uppercase + string.digits

SIGNATURE_HEADER = "X-Simulator-Signature"
#: Statuses the simulator reports (its profile states that are events, not ``cancelled``).
EVENT_STATUSES = (ProfileStatus.DOWNLOADED, ProfileStatus.INSTALLED, ProfileStatus.ENABLED,
                  ProfileStatus.DISABLED, ProfileStatus.DELETED, ProfileStatus.FIRST_USE)


#: Called with each profile the simulator issues, inside the issuing transaction: the
#: automatic progress (``simulator_events.schedule_auto_progress``, registered by the sandbox
#: app) so the adapter needs not import what drives it.
_ISSUED: list[Callable[[SimulatedProfile], None]] = []


def on_profile_issued(listener: Callable[[SimulatedProfile], None]) -> None:
    if listener not in _ISSUED:
        _ISSUED.append(listener)


def _key() -> bytes:
    # Derived from SECRET_KEY: the simulator runs inside esimdesk, so both ends know it.
    return hashlib.sha256(f"simulator-usage-callback:{settings.SECRET_KEY}".encode()).digest()


def sign(body: bytes) -> str:
    """The callback signature: HMAC-SHA256 of the raw body, base64."""
    return base64.b64encode(hmac.new(_key(), body, hashlib.sha256).digest()).decode()


def _matching_id() -> str:
    groups = ["".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(4)]
    return "-".join(groups)


def _rate(name: str) -> float:
    try:
        value = float(Decimal(config.env(name) or "0"))
    except InvalidOperation as error:
        raise FinalUpstreamError(f"{name} must be a number", code="simulator_misconfigured") \
            from error
    if not 0 <= value <= 1:
        raise FinalUpstreamError(f"{name} must be between 0 and 1",
                                 code="simulator_misconfigured")
    return value


def _milliseconds(name: str) -> int:
    raw = (config.env(name) or "0").strip()
    if not raw.isdigit():
        raise FinalUpstreamError(f"{name} must be a whole number of milliseconds",
                                 code="simulator_misconfigured")
    return int(raw)


def _restore_service(profile_id: int) -> None:
    SimulatedProfile.objects.filter(pk=profile_id, status__in=("throttled", "stopped")).update(
        status="released")


class SimulatorProvider(UpstreamProvider):
    name = "simulator"
    reports_first_use = True
    label = gettext_lazy("Upstream simulator")
    options = (
        Option("ESIMDESK_SIMULATOR_SMDP_HOST", "smdp.simulator.esimdesk.test",
               gettext_noop("SM-DP+ host name the upstream simulator puts in activation codes.")),
        Option("ESIMDESK_SIMULATOR_ICCID_PREFIX", "8999001",
               gettext_noop("ICCID prefix of simulated profiles.")),
        Option("ESIMDESK_SIMULATOR_FAILURE_RATE", "0",
               gettext_noop("Share of simulator calls that fail (0 to 1): half before doing the "
                            "work, half after it (an answer lost on the way back), to rehearse "
                            "retries.")),
        Option("ESIMDESK_SIMULATOR_ERROR_RATE", "0",
               gettext_noop("Share of simulator calls (0 to 1) that fail before doing the work "
                            "(retryable).")),
        Option("ESIMDESK_SIMULATOR_TIMEOUT_RATE", "0",
               gettext_noop("Share of simulator calls (0 to 1) whose answer is lost after the work "
                            "was done.")),
        Option("ESIMDESK_SIMULATOR_LATENCY_MS", "0",
               gettext_noop("Delay added to every simulator call (ms).")),
        Option("ESIMDESK_SIMULATOR_TIMEOUT_MS", "0",
               gettext_noop("Simulator call timeout (ms; 0 = none): a latency above it is a "
                            "timeout, after the work was done.")),
        Option("ESIMDESK_SIMULATOR_AUTO_PROGRESS", "0",
               gettext_noop("Seconds between the status events the simulator sends by itself for a "
                            "new profile (downloaded, installed, enabled); 0 = off (staff send "
                            "them by hand).")),
        Option("ESIMDESK_SIMULATOR_API_KEY", "",
               gettext_noop("Bearer key of the simulator's pull API (/simulator/v1/); default "
                            "derived from the secret key (see "
                            "docs/providers/simulator.md)."), secret=True),
    )
    callback_handlers = {"": "esimdesk.sandbox.simulator_callbacks.simulator_events"}

    def __init__(self, *, sleep: Callable[[float], None] | None = None,
                 rng: random.Random | None = None) -> None:
        """``sleep`` and ``rng`` are injectable so tests check the latency and the failure
        draws without waiting or guessing."""
        self.smdp_host = str(config.env("ESIMDESK_SIMULATOR_SMDP_HOST"))
        self.iccid_prefix = str(config.env("ESIMDESK_SIMULATOR_ICCID_PREFIX"))
        if not (self.iccid_prefix.isdigit() and 2 <= len(self.iccid_prefix) <= 9):
            raise FinalUpstreamError("ESIMDESK_SIMULATOR_ICCID_PREFIX must be 2-9 digits",
                                     code="simulator_misconfigured")
        self.latency_ms = _milliseconds("ESIMDESK_SIMULATOR_LATENCY_MS")
        self.timeout_ms = _milliseconds("ESIMDESK_SIMULATOR_TIMEOUT_MS")
        # The older single knob: half of it errors, half of it lost answers.
        legacy = _rate("ESIMDESK_SIMULATOR_FAILURE_RATE")
        self.error_rate = min(1.0, _rate("ESIMDESK_SIMULATOR_ERROR_RATE") + legacy / 2)
        self.timeout_rate = min(1.0, _rate("ESIMDESK_SIMULATOR_TIMEOUT_RATE") + legacy / 2)
        self.sleep = sleep if sleep is not None else time.sleep
        self.rng = rng if rng is not None else _random

    # -- a network's manners ---------------------------------------------------------------

    def _call(self, what: str, work: Callable[[], T]) -> T:
        """Run one supplier operation the way a remote one behaves: after the configured
        latency (cut at the timeout, when the caller gives up), failing before the work with
        ``error_rate`` and losing the answer after it with ``timeout_rate``."""
        too_slow = bool(self.timeout_ms) and self.latency_ms > self.timeout_ms
        delay = min(self.latency_ms, self.timeout_ms) if too_slow else self.latency_ms
        if delay:
            self.sleep(delay / 1000)
        if self.error_rate and self.rng.random() < self.error_rate:
            raise RetryableUpstreamError(f"simulated error ({what})", code="simulated_error")
        result = work()
        if too_slow:
            raise RetryableUpstreamError(f"simulated timeout after {self.timeout_ms} ms "
                                         f"({what})", code="simulated_timeout")
        if self.timeout_rate and self.rng.random() < self.timeout_rate:
            raise RetryableUpstreamError(f"simulated lost answer ({what})",
                                         code="simulated_timeout")
        return result

    def _known(self, iccid: str) -> SimulatedProfile:
        profile = SimulatedProfile.objects.filter(iccid=iccid).first()
        if profile is None:
            raise FinalUpstreamError(f"unknown ICCID {iccid}", code="unknown_iccid")
        return profile

    def _usable(self, iccid: str) -> SimulatedProfile:
        profile = self._known(iccid)
        if profile.revoked_at is not None:
            raise FinalUpstreamError(f"ICCID {iccid} is revoked", code="profile_revoked")
        return profile

    def _profile(self, profile: SimulatedProfile) -> ProfileOrder:
        return ProfileOrder(iccid=str(profile.iccid), smdp_address=self.smdp_host,
                            matching_id=profile.matching_id,
                            upstream_reference=f"sim-{profile.pk}")

    # -- profiles and plans ----------------------------------------------------------------

    def order_profile(self, *, reference: str, plan_code: str) -> ProfileOrder:
        return self._call("order_profile", lambda: self._order(reference, plan_code))

    def _order(self, reference: str, plan_code: str) -> ProfileOrder:
        existing = SimulatedProfile.objects.filter(reference=reference).first()
        if existing is not None:
            return self._profile(existing)
        try:
            with transaction.atomic():
                profile = SimulatedProfile.objects.create(reference=reference,
                                                          matching_id=_matching_id(),
                                                          plan_code=plan_code)
                # 18 digits before the Luhn digit: prefix + zero-padded serial.
                serial = str(profile.pk).zfill(18 - len(self.iccid_prefix))
                profile.iccid = iccid_with_check_digit(self.iccid_prefix + serial)
                profile.save(update_fields=["iccid"])
                for listener in _ISSUED:
                    listener(profile)
        except IntegrityError:
            profile = SimulatedProfile.objects.get(reference=reference)
        return self._profile(profile)

    def apply_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        return self._call("apply_plan",
                          lambda: self._apply(reference, iccid, plan_code, "queued"))

    def replace_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        return self._call("replace_plan",
                          lambda: self._apply(reference, iccid, plan_code, "now"))

    def _apply(self, reference: str, iccid: str, plan_code: str,
               starts: str) -> PlanApplication:
        profile = self._usable(iccid)
        application, _ = SimulatedPlanApplication.objects.get_or_create(
            reference=reference, defaults={"profile": profile, "plan_code": plan_code,
                                           "starts": starts})
        SimulatedProfile.objects.filter(pk=profile.pk, status="plan_ended").update(
            status="released")
        if starts == "now":  # a new plan runs at once: full service again
            _restore_service(profile.pk)
        return PlanApplication(iccid=iccid, plan_code=application.plan_code,
                               upstream_reference=f"simapp-{application.pk}")

    def end_plan(self, *, reference: str, iccid: str) -> None:
        def work() -> None:
            profile = self._known(iccid)
            SimulatedProfile.objects.filter(pk=profile.pk).update(status="plan_ended")

        self._call("end_plan", work)

    def set_depletion(self, *, reference: str, iccid: str, action: str) -> None:
        if action not in ("throttle", "stop"):
            raise FinalUpstreamError(f"unknown depletion action {action!r}",
                                     code="invalid_action")

        def work() -> None:
            profile = self._known(iccid)
            # Recorded on the profile's service status: "throttled" or "stopped".
            SimulatedProfile.objects.filter(pk=profile.pk).update(
                status="throttled" if action == "throttle" else "stopped")

        self._call("set_depletion", work)

    def lift_depletion(self, *, reference: str, iccid: str) -> None:
        def work() -> None:
            profile = self._known(iccid)
            _restore_service(profile.pk)

        self._call("lift_depletion", work)

    def apply_top_up(self, *, reference: str, iccid: str, product_code: str, data_bytes: int,
                     voice_seconds: int, sms_count: int,
                     extend_days: int) -> TopUpApplication:
        def work() -> TopUpApplication:
            profile = self._usable(iccid)
            top_up, _ = SimulatedTopUp.objects.get_or_create(
                reference=reference,
                defaults={"profile": profile, "product_code": product_code,
                          "data_bytes": data_bytes, "voice_seconds": voice_seconds,
                          "sms_count": sms_count, "extend_days": extend_days})
            _restore_service(profile.pk)  # data added: a throttled or stopped line resumes
            return TopUpApplication(iccid=iccid, product_code=top_up.product_code,
                                    upstream_reference=f"simtop-{top_up.pk}")

        return self._call("apply_top_up", work)

    # -- suspend, resume, revoke -----------------------------------------------------------

    def suspend(self, *, reference: str, iccid: str) -> None:
        self._call("suspend", lambda: self._act(reference, iccid, "suspend"))

    def resume(self, *, reference: str, iccid: str) -> None:
        self._call("resume", lambda: self._act(reference, iccid, "resume"))

    def revoke(self, *, reference: str, iccid: str) -> None:
        self._call("revoke", lambda: self._act(reference, iccid, "revoke"))

    def _act(self, reference: str, iccid: str, action: str) -> None:
        with transaction.atomic():
            profile = SimulatedProfile.objects.select_for_update().filter(iccid=iccid).first()
            if profile is None:
                raise FinalUpstreamError(f"unknown ICCID {iccid}", code="unknown_iccid")
            done = SimulatedAction.objects.filter(reference=reference).first()
            if done is not None:
                if done.action != action or done.profile_id != profile.pk:
                    raise FinalUpstreamError(f"reference {reference} was used for another "
                                             "request", code="reference_reused")
                return
            if profile.revoked_at is not None and action != "revoke":
                raise FinalUpstreamError(f"ICCID {iccid} is revoked", code="profile_revoked")
            if action == "suspend":
                profile.suspended = True
            elif action == "resume":
                profile.suspended = False
            elif profile.revoked_at is None:
                # Never downloaded: the order is cancelled and the code stops working;
                # otherwise the profile is deleted and the ICCID barred for good.
                never_downloaded = profile.state == SimulatedProfile.State.RELEASED
                profile.state = (SimulatedProfile.State.CANCELLED if never_downloaded
                                 else SimulatedProfile.State.DELETED)
                profile.revoked_at = profile.state_changed_at = clock.now()
                profile.status = "revoked"  # the network bars the ICCID for good
            profile.save(update_fields=["suspended", "state", "status", "revoked_at",
                                        "state_changed_at"])
            SimulatedAction.objects.create(reference=reference, profile=profile, action=action)

    # -- the go-live check -----------------------------------------------------------------

    def check_connection(self) -> str:
        """The simulator runs inside esimdesk: no TLS and no credentials to try. Its options
        were checked when it was made (a bad ICCID prefix or rate is
        ``simulator_misconfigured``); the harmless call reads its books, with the latency
        and failure rates it is configured to rehearse, so a check of a simulator set to
        fail fails as a real supplier would."""

        def work() -> str:
            issued = SimulatedProfile.objects.count()
            return gettext("books readable (%(count)d profiles issued), activation codes "
                           "on %(host)s") % {"count": issued, "host": self.smdp_host}

        return self._call("check_connection", work)

    # -- the supplier's books --------------------------------------------------------------

    def balance(self, iccid: str, *, kind: str = "data", since: dt.datetime | None = None,
                until: dt.datetime | None = None) -> int:
        """What the simulator metered on ``iccid`` (of ``kind``, optionally within
        ``[since, until)``): the supplier-side total reconciliation compares against."""
        rows = SimulatedUsage.objects.filter(iccid=iccid, kind=kind)
        if since is not None:
            rows = rows.filter(occurred_at__gte=since)
        if until is not None:
            rows = rows.filter(occurred_at__lt=until)
        return int(rows.aggregate(total=Sum("quantity"))["total"] or 0)

    # -- callbacks ---------------------------------------------------------------------------

    #: usage batches: a day of hourly records for a few thousand eSIMs
    callback_max_bytes = 1024 * 1024

    def authenticate_callback(self, *, body: bytes, headers: Mapping[str, str],
                              remote_addr: str) -> None:
        """``X-Simulator-Signature``: base64 HMAC-SHA256 of the raw body (see ``sign``)."""
        signature = header(headers, SIGNATURE_HEADER).strip()
        if not signature or not hmac.compare_digest(sign(body).encode(), signature.encode()):
            raise InvalidCallback("The signature does not match the body.",
                                  code="bad_signature")

    def parse_callback(self, *, body: bytes,
                       headers: Mapping[str, str]) -> list[UpstreamEvent]:
        """``{"records": [{id, iccid, kind, quantity, occurred_at}], "events": [{id, iccid,
        status, occurred_at}]}``, either key or both."""
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict) or not ({"records", "events"} & payload.keys()):
                raise TypeError("records or events are required")
            records = payload.get("records", [])
            events = payload.get("events", [])
            if not isinstance(records, list) or not isinstance(events, list):
                raise TypeError("records and events must be lists")
            parsed: list[UpstreamEvent] = [_usage(item) for item in records]
            parsed += [_status(item) for item in events]
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            raise InvalidCallback(str(error), code="malformed_event") from error
        return parsed


def _text(item: Mapping[str, Any], field: str) -> str:
    value = item[field]
    if not isinstance(value, str) or not value:
        raise TypeError(f"{field} must be a non-empty string")
    return value


def _instant(item: Mapping[str, Any]) -> dt.datetime:
    instant = parse_datetime(_text(item, "occurred_at"))
    if instant is None or instant.tzinfo is None:
        raise ValueError("occurred_at must be an ISO 8601 time with a zone")
    return instant


def _usage(item: Any) -> UsageRecord:
    if not isinstance(item, dict):
        raise TypeError("a record must be an object")
    quantity = item["quantity"]
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise TypeError("quantity must be an integer")
    # Semantic checks (a valid ICCID, a known eSIM, a sane time) are ingestion's, per record.
    return UsageRecord(record_id=_text(item, "id"), iccid=_text(item, "iccid"),
                       kind=_text(item, "kind"), quantity=quantity, occurred_at=_instant(item))


def _status(item: Any) -> ProfileStatusEvent:
    if not isinstance(item, dict):
        raise TypeError("an event must be an object")
    status = _text(item, "status")
    if status not in EVENT_STATUSES:
        raise ValueError(f"unknown status {status!r}")
    return ProfileStatusEvent(event_id=_text(item, "id"), iccid=_text(item, "iccid"),
                              status=status, occurred_at=_instant(item))
