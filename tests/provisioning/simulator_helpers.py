"""Shared by the simulator tests: a profile ordered from the simulator, and the eSIM
esimdesk made of it (with a running plan), as fulfilment would."""

from __future__ import annotations

from esimdesk.accounts.models import User
from esimdesk.catalog.models import Plan
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.sandbox.models import SimulatedProfile
from esimdesk.sandbox.simulator import SimulatorProvider
from esimdesk.subscriptions import services as subscriptions
from tests.builders import DAY

PLAN = DAY  # made by the ``shop`` fixture, which every simulator test module asks for


def issue(n: int = 1, *, with_esim: bool = True) -> tuple[SimulatedProfile, Esim | None]:
    order = SimulatorProvider().order_profile(reference=f"line-{n}", plan_code=PLAN)
    profile = SimulatedProfile.objects.get(iccid=order.iccid)
    if not with_esim:
        return profile, None
    owner = User.objects.create_user(f"sim{n}@example.com", "x-long-password-1")
    esim = esims.create_esim(owner=owner, iccid=order.iccid, smdp_address=order.smdp_address,
                             matching_id=order.matching_id, upstream="simulator",
                             upstream_reference=order.upstream_reference)
    subscriptions.subscribe_esim(esim=esim, plan=Plan.objects.get(code=PLAN))
    return profile, esim
