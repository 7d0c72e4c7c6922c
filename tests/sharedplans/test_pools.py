"""The pool's books: members' usage charged to one shared pool, caps, removal, renewal."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum

from esimdesk.catalog.models import GB
from esimdesk.core import clock
from esimdesk.core.audit import AuditEntry
from esimdesk.groups import services as groups
from esimdesk.sandbox.models import SimulatedPlanApplication
from esimdesk.sharedplans import members as group_members
from esimdesk.sharedplans.models import MemberUsage
from esimdesk.sharedplans.pools import PoolCharge, charge_pool
from esimdesk.sharedplans.terms import GROUP_RENEWAL
from esimdesk.subscriptions.models import Allowance, Period, ReminderLog
from tests.builders import FAMILY_PLAN
from tests.conftest import run_tasks
from tests.sharedplans.conftest import Family, at, buy_seats

pytestmark = pytest.mark.django_db


def books(period: Period, kind: str = "data") -> tuple[int, int, int, int]:
    """(pool used, pool overage, members' used, members' overage)."""
    pool = Allowance.objects.filter(period=period, kind=kind).aggregate(
        u=Sum("used"), o=Sum("overage"))
    members = MemberUsage.objects.filter(period=period, kind=kind).aggregate(
        u=Sum("used"), o=Sum("overage"))
    return pool["u"] or 0, pool["o"] or 0, members["u"] or 0, members["o"] or 0


def test_family_of_four_shares_twenty_gigabytes(family: Family) -> None:
    clock.set_now(at(60))
    ids = family.esim_ids()
    charges = [PoolCharge(ids[i % 4], "data", (i + 1) * 1_000_000, at(10 + i))
               for i in range(40)]
    outcomes = charge_pool(charges=charges)
    assert all(o.period_id == family.period.pk and o.overage == 0 for o in outcomes)
    assert [o.charged for o in outcomes] == [c.quantity for c in charges]
    total = sum(c.quantity for c in charges)
    assert books(family.period) == (total, 0, total, 0)
    by_member = dict(MemberUsage.objects.filter(period=family.period).values_list(
        "membership__esim_id", "used"))
    assert by_member == {esim: sum(c.quantity for c in charges if c.esim_id == esim)
                         for esim in ids}


def test_pool_runs_out_then_overage_and_everyone_is_depleted_once(family: Family) -> None:
    clock.set_now(at(60))
    ids = family.esim_ids()
    outcomes = charge_pool(charges=[PoolCharge(e, "data", 6 * GB, at(5)) for e in ids])
    assert [o.charged for o in outcomes] == [6 * GB, 6 * GB, 6 * GB, 2 * GB]
    assert outcomes[-1].overage == 4 * GB
    assert books(family.period) == (20 * GB, 4 * GB, 20 * GB, 4 * GB)
    charge_pool(charges=[PoolCharge(ids[0], "data", 10, at(6))])
    assert ReminderLog.objects.filter(period=family.period, kind="depleted").count() == 1
    run_tasks()
    depleted = AuditEntry.objects.filter(action="esim.data_depleted_upstream")
    assert depleted.count() == 4
    assert all(e.reason == "shared pool used up" for e in depleted)


def test_member_over_cap_is_stopped_while_others_continue(family: Family) -> None:
    capped = family.members[1]
    groups.set_cap(by=family.owner, membership=capped, cap_percent=10)  # 2 GB of 20
    clock.set_now(at(60))
    ids = family.esim_ids()
    first = charge_pool(charges=[PoolCharge(capped.esim_id, "data", 3 * GB, at(1)),
                                 PoolCharge(ids[0], "data", 3 * GB, at(2))])
    assert (first[0].charged, first[0].overage) == (2 * GB, 1 * GB)
    assert (first[1].charged, first[1].overage) == (3 * GB, 0)
    later = charge_pool(charges=[PoolCharge(capped.esim_id, "data", 5, at(3)),
                                 PoolCharge(ids[2], "data", 4 * GB, at(4))])
    assert (later[0].charged, later[0].overage) == (0, 5)
    assert later[1].charged == 4 * GB
    tally = MemberUsage.objects.get(membership=capped, kind="data")
    assert tally.used == 2 * GB and tally.capped_at is not None
    assert books(family.period) == (9 * GB, GB + 5, 9 * GB, GB + 5)
    run_tasks()
    stopped = AuditEntry.objects.filter(action="esim.data_depleted_upstream")
    assert [e.object_id for e in stopped] == [str(capped.esim_id)]
    assert stopped[0].reason == "member cap reached"


def test_lowering_a_cap_below_use_stops_the_member_at_once(family: Family) -> None:
    member = family.members[2]
    clock.set_now(at(60))
    charge_pool(charges=[PoolCharge(member.esim_id, "data", GB, at(1))])
    groups.set_cap(by=family.owner, membership=member, cap_bytes=GB // 2)
    assert MemberUsage.objects.get(membership=member).capped_at is not None
    run_tasks()
    assert AuditEntry.objects.filter(action="esim.data_depleted_upstream",
                                     object_id=str(member.esim_id)).count() == 1


def test_raising_a_cap_gives_full_service_back_upstream_too(family: Family) -> None:
    from esimdesk.sandbox.models import SimulatedProfile

    member = family.members[2]
    groups.set_cap(by=family.owner, membership=member, cap_bytes=GB)
    clock.set_now(at(60))
    charge_pool(charges=[PoolCharge(member.esim_id, "data", 2 * GB, at(1))])
    run_tasks()
    profile = SimulatedProfile.objects.get(iccid=member.esim.iccid)
    assert profile.status in ("throttled", "stopped")
    groups.set_cap(by=family.owner, membership=member, cap_bytes=3 * GB)
    tally = MemberUsage.objects.get(membership=member, kind="data")
    assert tally.capped_at is None
    run_tasks()
    profile.refresh_from_db()
    assert profile.status == "released"  # full service at the supplier again
    assert AuditEntry.objects.filter(action="esim.data_restored_upstream").count() == 1
    # the member (1 GB used, the rest was overage) draws again up to the new cap, held there
    more = charge_pool(charges=[PoolCharge(member.esim_id, "data", 3 * GB, at(2))])
    assert (more[0].charged, more[0].overage) == (2 * GB, GB)
    assert MemberUsage.objects.get(membership=member, kind="data").capped_at is not None


def test_removing_a_member_mid_period_keeps_the_books_exact(family: Family) -> None:
    leaving = family.members[3]
    clock.set_now(at(30))
    charge_pool(charges=[PoolCharge(e, "data", 100, at(10)) for e in family.esim_ids()])
    group_members.remove_member(by=family.owner, membership_id=leaving.pk)
    clock.set_now(at(90))
    outcomes = charge_pool(charges=[
        PoolCharge(leaving.esim_id, "data", 70, at(20)),   # before leaving: still the pool's
        PoolCharge(leaving.esim_id, "data", 50, at(40)),   # after: their own plan's
        PoolCharge(family.members[0].esim_id, "data", 30, at(41)),
    ])
    assert [o.code for o in outcomes] == ["", "no_pool", ""]
    assert books(family.period) == (500, 0, 500, 0)
    assert MemberUsage.objects.get(membership=leaving).used == 170
    run_tasks()
    assert AuditEntry.objects.filter(action="esim.pool_plan_ended").count() == 1
    assert groups.seat_limit(family.group) == 4  # the seat stays paid until the period ends


def test_renewal_refills_the_pool_once(family: Family) -> None:
    clock.set_now(at(60))
    charge_pool(charges=[PoolCharge(family.esim_ids()[0], "data", 19 * GB, at(5))])
    order = buy_seats(family.owner, family.group, 4, line_type=GROUP_RENEWAL)
    assert order.status == "fulfilled"
    from esimdesk.orders import services as orders

    orders.fulfil_order(order_id=order.pk)  # a redelivered task changes nothing
    periods = list(Period.objects.filter(subscription__group=family.group).order_by("sequence"))
    assert len(periods) == 2
    second = periods[1]
    assert second.starts_at == periods[0].ends_at
    assert Allowance.objects.get(period=second, kind="data").total == 20 * GB
    clock.set_now(second.starts_at + dt.timedelta(hours=1))
    outcome = charge_pool(charges=[PoolCharge(family.esim_ids()[1], "data", 3 * GB,
                                              second.starts_at + dt.timedelta(minutes=1))])
    assert outcome[0].period_id == second.pk and outcome[0].charged == 3 * GB
    # the renewed plan was applied upstream on every member's eSIM, once each
    assert SimulatedPlanApplication.objects.filter(
        reference__startswith=f"esimdesk-pool-{second.pk}-").count() == 4


def test_outside_any_pool_or_period(family: Family) -> None:
    clock.set_now(at(60))
    member = family.members[1]
    outcomes = charge_pool(charges=[
        PoolCharge(member.esim_id, "data", 1, member.joined_at - dt.timedelta(seconds=1)),
        PoolCharge(999_999, "data", 1, at(5)),
        PoolCharge(member.esim_id, "data", 1, family.period.ends_at),
    ])
    assert [o.code for o in outcomes] == ["no_pool", "no_pool", "no_period"]
    assert books(family.period) == (0, 0, 0, 0)


def test_member_near_cap_and_payer_low_data_are_told(family: Family) -> None:
    from esimdesk.notifications.models import Notification

    member = family.members[1]
    groups.set_cap(by=family.owner, membership=member, cap_bytes=GB)
    clock.set_now(at(60))
    charge_pool(charges=[PoolCharge(member.esim_id, "data", GB * 95 // 100, at(1)),
                         PoolCharge(family.members[0].esim_id, "data", 15 * GB, at(2))])
    charge_pool(charges=[PoolCharge(member.esim_id, "data", 1, at(3))])
    to_member = Notification.objects.filter(user=member.user, kind="reminder_member_cap")
    assert to_member.filter(channel="email").count() == 1
    to_payer = Notification.objects.filter(user=family.owner, kind="reminder_low_data",
                                           channel="email")
    assert to_payer.count() == 1 and "79%" in to_payer.get().subject
    assert ReminderLog.objects.filter(period=family.period, kind="low_data:75").exists()


def test_calls_between_members_cost_less_when_the_plan_says_so(group_plans: None) -> None:
    from esimdesk.sharedplans.models import GroupPlanTerms
    from tests.sharedplans.conftest import build_family
    GroupPlanTerms.objects.filter(plan__code=FAMILY_PLAN).update(
        intra_group_voice_percent_off=50)
    fam = build_family(2)
    Allowance.objects.create(period=fam.period, kind="voice", total=1000)
    clock.set_now(at(60))
    outcomes = charge_pool(charges=[
        PoolCharge(fam.esim_ids()[0], "voice", 61, at(1), intra_group=True),
        PoolCharge(fam.esim_ids()[1], "voice", 60, at(2))])
    assert [o.charged for o in outcomes] == [31, 60]
    assert books(fam.period, "voice") == (91, 0, 91, 0)


def test_the_ingestion_seam_splits_a_batch(family: Family) -> None:
    from esimdesk.sharedplans.pool_ingest import charge_pooled
    from esimdesk.usage.models import UsageEvent
    from esimdesk.usage.records import Record
    from tests.builders import make_esim

    outsider = make_esim(n=9_001, data=1000)
    member = family.members[1]
    assert member.esim is not None
    clock.set_now(at(60))
    ids = {member.esim.iccid: member.esim.pk, outsider.iccid: outsider.pk}
    records = [
        Record(0, "a", member.esim.iccid, "data", 500, at(5)),
        Record(1, "b", outsider.iccid, "data", 700, at(5)),
        Record(2, "c", member.esim.iccid, "data", 9, member.joined_at - dt.timedelta(hours=1)),
        Record(3, "d", member.esim.iccid, "data", 9, family.period.ends_at),
    ]
    pooled = charge_pooled(source="net", records=records, esim_ids=ids, now=clock.now())
    assert [(e.external_id, e.period_id, e.charged) for e in pooled.events] == [
        ("a", family.period.pk, 500)]
    assert [r.external_id for r in pooled.rest] == ["b", "c"]
    assert pooled.rejected == [(3, "no_period")] and pooled.periods == {family.period.pk}
    UsageEvent.objects.bulk_create(pooled.events)
    assert books(family.period) == (500, 0, 500, 0)
