"""The upstream simulator: the embedded default supplier and the test double for upstream.

It issues real-looking profiles (ICCIDs from a configured prefix with a valid Luhn digit,
activation codes on its own SM-DP+ host name) and records what it issued in its own tables,
idempotent on esimdesk's references exactly as a real supplier must be.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import string
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum

from esimdesk import config
from esimdesk.core.ids import iccid_with_check_digit
from esimdesk.provisioning.models import (
    SimulatedPlanApplication,
    SimulatedProfile,
    SimulatedTopUp,
    SimulatedUsage,
)
from esimdesk.provisioning.providers.base import (
    FinalUpstreamError,
    PlanApplication,
    ProfileOrder,
    RetryableUpstreamError,
    TopUpApplication,
    UpstreamProvider,
)

_random = random.Random()  # outages only: not used for anything secret
_ALPHABET = string.ascii_uppercase + string.digits


def _matching_id() -> str:
    groups = ["".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(4)]
    return "-".join(groups)


class SimulatorProvider(UpstreamProvider):
    name = "simulator"

    def __init__(self) -> None:
        self.smdp_host = settings.ESIMDESK["SIMULATOR_SMDP_HOST"]
        self.iccid_prefix = settings.ESIMDESK["SIMULATOR_ICCID_PREFIX"]
        if not (self.iccid_prefix.isdigit() and 2 <= len(self.iccid_prefix) <= 9):
            raise FinalUpstreamError("ESIMDESK_SIMULATOR_ICCID_PREFIX must be 2-9 digits",
                                     code="simulator_misconfigured")
        self.failure_rate = float(Decimal(config.env("ESIMDESK_SIMULATOR_FAILURE_RATE")))

    def _profile(self, profile: SimulatedProfile) -> ProfileOrder:
        return ProfileOrder(iccid=str(profile.iccid), smdp_address=self.smdp_host,
                            matching_id=profile.matching_id,
                            upstream_reference=f"sim-{profile.pk}")

    def _maybe_fail(self, when: str) -> None:
        """Rehearse outages: fail a configured share of calls, half before the work is done
        and half after it (the answer lost on the way back)."""
        if self.failure_rate and _random.random() < self.failure_rate / 2:
            raise RetryableUpstreamError(f"simulated outage ({when})", code="simulated_outage")

    def order_profile(self, *, reference: str, plan_code: str) -> ProfileOrder:
        self._maybe_fail("before")
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
        except IntegrityError:
            profile = SimulatedProfile.objects.get(reference=reference)
        self._maybe_fail("after")
        return self._profile(profile)

    def apply_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        profile = SimulatedProfile.objects.filter(iccid=iccid).first()
        if profile is None:
            raise FinalUpstreamError(f"unknown ICCID {iccid}", code="unknown_iccid")
        application, _ = SimulatedPlanApplication.objects.get_or_create(
            reference=reference, defaults={"profile": profile, "plan_code": plan_code})
        SimulatedProfile.objects.filter(pk=profile.pk, status="plan_ended").update(
            status="released")
        return PlanApplication(iccid=iccid, plan_code=application.plan_code,
                               upstream_reference=f"simapp-{application.pk}")

    def end_plan(self, *, reference: str, iccid: str) -> None:
        profile = SimulatedProfile.objects.filter(iccid=iccid).first()
        if profile is None:
            raise FinalUpstreamError(f"unknown ICCID {iccid}", code="unknown_iccid")
        SimulatedProfile.objects.filter(pk=profile.pk).update(status="plan_ended")

    def set_depletion(self, *, reference: str, iccid: str, action: str) -> None:
        if action not in ("throttle", "stop"):
            raise FinalUpstreamError(f"unknown depletion action {action!r}",
                                     code="invalid_action")
        profile = self._known(iccid)
        # Recorded on the profile's status: "throttled" or "stopped".
        SimulatedProfile.objects.filter(pk=profile.pk).update(
            status="throttled" if action == "throttle" else "stopped")

    def _known(self, iccid: str) -> SimulatedProfile:
        profile = SimulatedProfile.objects.filter(iccid=iccid).first()
        if profile is None:
            raise FinalUpstreamError(f"unknown ICCID {iccid}", code="unknown_iccid")
        return profile

    def replace_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        profile = self._known(iccid)
        application, _ = SimulatedPlanApplication.objects.get_or_create(
            reference=reference, defaults={"profile": profile, "plan_code": plan_code,
                                           "starts": "now"})
        SimulatedProfile.objects.filter(pk=profile.pk, status="plan_ended").update(
            status="released")
        return PlanApplication(iccid=iccid, plan_code=application.plan_code,
                               upstream_reference=f"simapp-{application.pk}")

    def apply_top_up(self, *, reference: str, iccid: str, product_code: str, data_bytes: int,
                     voice_seconds: int, sms_count: int,
                     extend_days: int) -> TopUpApplication:
        profile = self._known(iccid)
        top_up, _ = SimulatedTopUp.objects.get_or_create(
            reference=reference,
            defaults={"profile": profile, "product_code": product_code,
                      "data_bytes": data_bytes, "voice_seconds": voice_seconds,
                      "sms_count": sms_count, "extend_days": extend_days})
        return TopUpApplication(iccid=iccid, product_code=top_up.product_code,
                                upstream_reference=f"simtop-{top_up.pk}")

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
