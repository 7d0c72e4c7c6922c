"""Usage ingestion charges family and organisation pools exactly as it charges personal
allowances: through the HTTP API and the bulk path, once per record, with members' caps,
and concurrently from several clients on PostgreSQL."""

from __future__ import annotations

import random
import urllib.request
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from django.db.models import Sum

from esimdesk.accounts import services as accounts
from esimdesk.catalog.models import GB, MB
from esimdesk.core import clock
from esimdesk.groups import services as groups
from esimdesk.sharedplans import members as group_members
from esimdesk.sharedplans.models import MemberUsage
from esimdesk.subscriptions.models import Allowance
from esimdesk.usage import services as usage
from esimdesk.usage.models import UsageEvent
from tests.builders import make_group_plans
from tests.e2e.test_concurrency import in_parallel
from tests.sharedplans.conftest import Family, at, build_family, new_user, own_esim
from tests.usage.helpers import rec


@pytest.fixture(autouse=True)
def _forget_duplicate_sources() -> Iterator[None]:
    """As in tests/usage: each test starts with no source remembered for duplicates."""
    usage._DUPLICATES_SEEN.clear()
    yield
    usage._DUPLICATES_SEEN.clear()


@pytest.fixture
def group_plans(db: None) -> None:
    make_group_plans()


@pytest.fixture
def family(group_plans: None) -> Family:
    return build_family()


def _iccids(family: Family) -> list[str]:
    return [m.esim.iccid for m in family.members]


def test_a_mixed_batch_charges_the_pool_and_the_personal_plan_once(family: Family) -> None:
    personal = own_esim(family.owner)  # the owner's second eSIM, on its own plan (from START)
    clock.set_now(at(120))
    members = _iccids(family)
    batch = [rec(f"p{n}", members[n % 4], 100 * MB, at(10 + n)) for n in range(8)]
    batch += [rec("solo-1", personal.iccid, 50 * MB, at(30)),
              rec("p0", members[0], 100 * MB, at(10)),  # the same id again in the batch
              {"id": "bad", "iccid": members[1], "kind": "data"}]  # malformed
    first = usage.ingest(source="network", records=batch)
    assert (first.accepted, first.duplicates) == (9, 1)
    assert [index for index, _code in first.rejected] == [10]
    pool = Allowance.objects.get(period=family.period, kind="data")
    assert pool.used == 800 * MB
    assert MemberUsage.objects.filter(period=family.period).aggregate(s=Sum("used"))["s"] \
        == 800 * MB
    bucket = personal.subscription.periods.get().allowances.get(kind="data")
    assert bucket.used + bucket.overage == 50 * MB  # its own (small) bucket, not the pool
    # Replaying the whole batch changes nothing and counts every record as a duplicate.
    again = usage.ingest(source="network", records=batch[:9])
    assert (again.accepted, again.duplicates) == (0, 9)
    assert Allowance.objects.get(period=family.period, kind="data").used == 800 * MB
    assert UsageEvent.objects.filter(period=family.period).count() == 8


def test_a_member_over_the_cap_is_stopped_while_the_others_go_on(family: Family) -> None:
    clock.set_now(at(120))
    capped, other = family.members[1], family.members[2]
    groups.set_cap(by=family.owner, membership=capped, cap_bytes=1 * GB)
    records = [rec(f"c{n}", capped.esim.iccid, 400 * MB, at(10 + n)) for n in range(4)]
    records += [rec(f"o{n}", other.esim.iccid, 400 * MB, at(10 + n)) for n in range(4)]
    usage.ingest(source="network", records=records)
    tally = {t.membership_id: t for t in MemberUsage.objects.filter(period=family.period)}
    assert tally[capped.pk].used == 1 * GB and tally[capped.pk].overage == 1600 * MB - GB
    assert tally[capped.pk].capped_at is not None
    assert tally[other.pk].used == 1600 * MB and tally[other.pk].capped_at is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_overlapping_batches_from_four_clients_over_http_sum_exactly(
        live_server: Any, group_plans: None) -> None:
    family = build_family(4)
    key = accounts.create_api_key(name="network")[1]
    clock.set_now(at(600))
    members = _iccids(family)
    pool_records = [rec(f"r{i}", members[i % 4], (1 + i % 37) * MB, at(1 + i % 300))
                    for i in range(1200)]
    rng = random.Random(5)
    batches = [rng.sample(pool_records, 700) for _ in range(4)]

    def send(batch: list[dict[str, Any]]) -> dict[str, Any]:
        request = urllib.request.Request(
            live_server.url + "/api/v1/ops/usage-events", data=orjson.dumps(batch),
            method="POST", headers={"Authorization": f"Bearer {key}",
                                    "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return dict(orjson.loads(response.read()))

    answers = in_parallel(*[lambda b=b: send(b) for b in batches])
    distinct = {r["id"]: r for batch in batches for r in batch}
    assert sum(a["accepted"] for a in answers) == len(distinct)
    expected = sum(r["quantity"] for r in distinct.values())
    pool = Allowance.objects.filter(period=family.period, kind="data").aggregate(
        u=Sum("used"), o=Sum("overage"))
    tallies = MemberUsage.objects.filter(period=family.period, kind="data").aggregate(
        u=Sum("used"), o=Sum("overage"))
    assert pool["u"] + pool["o"] == expected
    assert (tallies["u"], tallies["o"]) == (pool["u"], pool["o"])
    assert UsageEvent.objects.filter(period=family.period).count() == len(distinct)


def test_a_record_from_before_joining_goes_to_the_personal_plan(group_plans: None) -> None:
    family = build_family(2, seats=3)  # at START
    newcomer = new_user("late-joiner@example.com")
    esim = own_esim(newcomer)  # a personal plan from START
    clock.set_now(at(60))
    invitation = groups.invite(by=family.owner, group=family.group, email="late-joiner@example.com")
    group_members.accept_invitation(user=newcomer, token=invitation.token, iccid=esim.iccid)
    clock.set_now(at(90))
    result = usage.ingest(source="network", records=[
        rec("before", esim.iccid, 10 * MB, at(30)), rec("after", esim.iccid, 10 * MB, at(70))])
    assert result.accepted == 2
    before, after = (UsageEvent.objects.get(external_id=i) for i in ("before", "after"))
    assert before.period.subscription.esim_id == esim.pk  # not a member yet: personal
    assert after.period_id == family.period.pk  # a member: the pool
