"""The simulator's books as its API and the staff page show them: a profile, and the
balance a supplier would report (its own plans and metering, not esimdesk's)."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum

from esimdesk import config
from esimdesk.catalog.models import Plan, SupplierBundle
from esimdesk.core import clock
from esimdesk.sandbox.models import SimulatedProfile, SimulatedUsage

UNITS = {"data": "bytes", "voice": "seconds", "sms": "messages"}
_PLAN_FIELD = {"data": "data_bytes", "voice": "voice_seconds", "sms": "sms_count"}
_TOP_UP_FIELD = _PLAN_FIELD



def describe(profile: SimulatedProfile, *, events: int = 20) -> dict[str, Any]:
    host = config.env("ESIMDESK_SIMULATOR_SMDP_HOST")
    return {
        "iccid": profile.iccid, "reference": profile.reference, "state": profile.state,
        "service": profile.status, "suspended": profile.suspended,
        "revoked_at": clock.iso_or_none(profile.revoked_at), "plan_code": profile.plan_code,
        "smdp_address": host, "matching_id": profile.matching_id,
        "activation_code": f"LPA:1${host}${profile.matching_id}",
        "created_at": clock.iso_or_none(profile.created_at),
        "state_changed_at": clock.iso_or_none(profile.state_changed_at),
        "events": [{"id": e.event_id, "status": e.status, "previous": e.previous,
                    "origin": e.origin, "occurred_at": clock.iso_or_none(e.occurred_at)}
                   for e in profile.events.order_by("-occurred_at", "-pk")[:events]],
    }


def used_by_iccid(iccids: list[str]) -> dict[tuple[str, str], int]:
    """(iccid, kind) -> quantity metered, in one query for a page of profiles."""
    rows = (SimulatedUsage.objects.filter(iccid__in=iccids).values("iccid", "kind")
            .annotate(total=Sum("quantity")).order_by())
    return {(row["iccid"], row["kind"]): int(row["total"] or 0) for row in rows}


def _plans(codes: set[str]) -> dict[str, Plan]:
    """The catalog plan behind each code the simulator was given: a plan code, or the
    simulator's own bundle code for a plan (``SupplierBundle``)."""
    found: dict[str, Plan] = {p.code: p for p in Plan.objects.filter(code__in=codes)}
    missing = codes - found.keys()
    if missing:
        bundles = SupplierBundle.objects.filter(supplier="simulator", code__in=missing)
        for bundle in bundles.select_related("plan"):
            found.setdefault(bundle.code, bundle.plan)
    return found


def balance(profile: SimulatedProfile) -> dict[str, Any]:
    """Initial = every plan put on the profile (the first, renewals, plan changes) plus
    top-ups, by the catalog's allowances; used = what the simulator metered; remaining = the
    difference, never below zero. Like eSIM Go's bundle view, over the profile's life."""
    applications = list(profile.applications.order_by("pk"))
    top_ups = list(profile.top_ups.order_by("pk"))
    codes = [profile.plan_code, *(a.plan_code for a in applications)]
    plans = _plans(set(codes))
    used = used_by_iccid([str(profile.iccid)])
    balances = []
    for kind, unit in UNITS.items():
        initial = sum(getattr(plans[c], _PLAN_FIELD[kind]) for c in codes if c in plans)
        initial += sum(getattr(t, _TOP_UP_FIELD[kind]) for t in top_ups)
        spent = used.get((str(profile.iccid), kind), 0)
        if initial or spent:
            balances.append({"kind": kind, "unit": unit, "initial": initial, "used": spent,
                             "remaining": max(initial - spent, 0)})
    return {
        "iccid": profile.iccid, "as_of": clock.now().isoformat(),
        "service": profile.status, "suspended": profile.suspended,
        "revoked": profile.revoked_at is not None, "balances": balances,
        "plans": [{"reference": profile.reference, "plan_code": profile.plan_code,
                   "starts": "first", "applied_at": clock.iso_or_none(profile.created_at),
                   "known": profile.plan_code in plans}]
        + [{"reference": a.reference, "plan_code": a.plan_code, "starts": a.starts,
            "applied_at": clock.iso_or_none(a.created_at), "known": a.plan_code in plans}
           for a in applications],
        "top_ups": [{"reference": t.reference, "product_code": t.product_code,
                     "data_bytes": t.data_bytes, "voice_seconds": t.voice_seconds,
                     "sms_count": t.sms_count, "extend_days": t.extend_days,
                     "applied_at": clock.iso_or_none(t.created_at)} for t in top_ups],
    }
