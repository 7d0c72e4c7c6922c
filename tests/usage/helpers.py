from __future__ import annotations

import datetime as dt
from typing import Any

from esimdesk.accounts.models import User
from esimdesk.catalog.models import Plan
from esimdesk.core.ids import iccid_with_check_digit
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.provisioning.models import SimulatedProfile
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Allowance, Period

START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def iccid(n: int) -> str:
    return iccid_with_check_digit(f"89990{n:013d}")


def make_esim(n: int = 1, *, data: int = 1000, plan: str = "jp-10gb-month",
              owner: User | None = None) -> tuple[Esim, Period]:
    """An eSIM (known to the simulator) with a first period whose data bucket holds
    ``data`` bytes."""
    user = owner or User.objects.create_user(f"u{n}@example.com", "x-long-password-1")
    number = iccid(n)
    SimulatedProfile.objects.create(reference=f"ref-{n}", iccid=number, matching_id=f"M-{n}",
                                    plan_code=plan)
    esim = esims.create_esim(owner=user, iccid=number, smdp_address="smdp.example.com",
                             matching_id=f"M-{n}", upstream="simulator")
    period = subscriptions.subscribe_esim(esim=esim, plan=Plan.objects.get(code=plan))
    Allowance.objects.filter(period=period, kind="data").update(total=data)
    return esim, period


def rec(external_id: Any, number: str, quantity: int, at: dt.datetime,
        kind: str = "data") -> dict[str, Any]:
    return {"id": external_id, "iccid": number, "kind": kind, "quantity": quantity,
            "occurred_at": at.isoformat().replace("+00:00", "Z")}


def data_of(period: Period) -> list[tuple[str, int, int, int]]:
    return [(a.source, a.total, a.used, a.overage)
            for a in Allowance.objects.filter(period=period, kind="data").order_by("id")]
