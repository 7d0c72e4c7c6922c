"""A family of four using their shared 20 GB at the same time, each member on their own
connection (PostgreSQL: real parallel transactions; SQLite serialises writers)."""

from __future__ import annotations

import random

import pytest
from django.db.models import Sum

from esimdesk.catalog.models import GB, MB
from esimdesk.core import clock
from esimdesk.groups import services as groups
from esimdesk.sharedplans.models import MemberUsage
from esimdesk.sharedplans.pools import PoolCharge, charge_pool
from esimdesk.subscriptions.models import Allowance
from tests.e2e.test_concurrency import in_parallel
from tests.sharedplans.conftest import at, build_family

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_usage_from_all_members_sums_exactly(group_plans: None) -> None:
    family = build_family(4)
    capped = family.members[2]
    groups.set_cap(by=family.owner, membership=capped, cap_bytes=3 * GB)
    ids = family.esim_ids()
    clock.set_now(at(600))
    rng = random.Random(11)
    # Each member sends 40 batches of 8 records; every batch also carries one record of
    # another member, so the members' tallies are contended as well as the pool.
    plans = {esim: [[PoolCharge(esim if n < 7 else rng.choice(ids), "data",
                                rng.randint(1, 40) * MB, at(1 + b))
                     for n in range(8)] for b in range(40)] for esim in ids}

    def member(batches: list[list[PoolCharge]]) -> int:
        return sum(o.charged + o.overage for batch in batches
                   for o in charge_pool(charges=batch))

    results = in_parallel(*[lambda b=b: member(b) for b in plans.values()])
    sent = sum(c.quantity for batches in plans.values() for batch in batches for c in batch)
    assert sum(results) == sent
    period = family.period
    pool = Allowance.objects.filter(period=period, kind="data").aggregate(
        u=Sum("used"), o=Sum("overage"), t=Sum("total"))
    tallies = MemberUsage.objects.filter(period=period, kind="data").aggregate(
        u=Sum("used"), o=Sum("overage"))
    assert pool["u"] + pool["o"] == sent
    assert (tallies["u"], tallies["o"]) == (pool["u"], pool["o"])
    assert pool["u"] <= pool["t"] == 20 * GB
    per_member = {esim: sum(c.quantity for batches in plans.values() for batch in batches
                            for c in batch if c.esim_id == esim) for esim in ids}
    for tally in MemberUsage.objects.filter(period=period, kind="data").select_related(
            "membership"):
        assert tally.used + tally.overage == per_member[tally.membership.esim_id]
    # more was asked than the pool holds: it is used up exactly, never beyond
    assert sent > 20 * GB and pool["u"] == 20 * GB and pool["o"] == sent - 20 * GB
    assert MemberUsage.objects.get(membership=capped).used <= 3 * GB


def test_parallel_fulfilment_of_a_renewal_refills_the_pool_once(group_plans: None) -> None:
    from esimdesk.orders import services as orders
    from esimdesk.sharedplans.terms import GROUP_RENEWAL
    from esimdesk.subscriptions.models import Period

    family = build_family(3)
    order = orders.create_order(user=family.owner, currency="USD", lines=[orders.LineRequest(
        type=GROUP_RENEWAL, group=family.group.pk, members=3)])
    orders.mark_paid(order_id=order.pk, provider="sandbox", method="test", actor="test")
    results = in_parallel(*[lambda: orders.fulfil_order(order_id=order.pk)
                            for _ in range(4)])
    assert "fulfilled" in results
    periods = Period.objects.filter(subscription__group=family.group).order_by("sequence")
    assert periods.count() == 2
    assert Allowance.objects.get(period=periods[1], kind="data").total == 15 * GB
