"""A family's or organisation's pool whose plan starts at first use: pending after purchase,
started once by the first member's first use (report or usage), by the owner's *Start now*
or at ``activate_by``; seats, top-ups, renewals, pages, reminders and invoices while it
waits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.catalog.models import GB, MB, Plan
from esimdesk.core import clock
from esimdesk.core.models import AuditEntry
from esimdesk.esims.models import Esim
from esimdesk.esims.upstream_reports import RECEIVER
from esimdesk.groups import services as groups
from esimdesk.groups.models import Group
from esimdesk.orders import services as orders
from esimdesk.provisioning.suppliers.base import ProfileStatus, ProfileStatusEvent
from esimdesk.sharedplans import members as group_members
from esimdesk.sharedplans import pool_queries, pool_reminders
from esimdesk.sharedplans.invoice_pdf import invoice_lines, render_invoice_pdf
from esimdesk.sharedplans.models import MemberUsage
from esimdesk.sharedplans.terms import GROUP_RENEWAL, GROUP_SEATS, GROUP_TOP_UP
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Allowance, Period, ReminderLog
from esimdesk.usage import services as usage
from esimdesk.usage.models import UsageEvent
from tests.builders import (
    FAMILY_PLAN,
    TEAM_PLAN,
    buy,
    family_plan,
    make_esim,
    plan,
    team_plan,
    top_up,
)
from tests.conftest import Api, run_tasks
from tests.e2e.test_concurrency import in_parallel
from tests.sharedplans.conftest import START, Family, at, build_family, buy_seats, new_user
from tests.usage.helpers import rec

FIRST_USE = Plan.ValidityStarts.FIRST_USE


@pytest.fixture(autouse=True)
def _forget_duplicate_sources() -> Iterator[None]:
    usage._DUPLICATES_SEEN.clear()
    yield
    usage._DUPLICATES_SEEN.clear()


@pytest.fixture
def first_use_plans(db: None) -> None:
    """The family and organisation plans of the other group tests, starting at first use."""
    family_plan(code=FAMILY_PLAN, validity_starts=FIRST_USE)
    team_plan(code=TEAM_PLAN, validity_starts=FIRST_USE)


@pytest.fixture
def family(first_use_plans: None) -> Family:
    return build_family(3)


def pool(family: Family) -> Period:
    return Period.objects.get(subscription__group=family.group, sequence=1)


def reported(esim: Esim, status: str, when: dt.datetime) -> None:
    RECEIVER.apply_status(provider="simulator", event=ProfileStatusEvent(
        event_id=f"e-{esim.iccid}-{status}-{when.timestamp()}", iccid=esim.iccid,
        status=status, occurred_at=when))


def started_count(period: Period) -> int:
    return AuditEntry.objects.filter(action="period.started", object_id=str(period.pk)).count()


@pytest.mark.django_db
def test_the_pool_waits_after_purchase_whole_and_on_every_eSIM(family: Family) -> None:
    period = pool(family)
    assert period.state == Period.State.PENDING
    assert (period.starts_at, period.ends_at) == (None, None)
    assert period.activate_by == START + dt.timedelta(days=180)
    data = Allowance.objects.get(period=period, kind="data")
    assert (data.total, data.used) == (15 * GB, 0)
    # the pool's plan is applied upstream on every member's eSIM, ready for the trip
    assert AuditEntry.objects.filter(action="esim.pool_plan_applied").count() == 3
    view = pool_queries.overview(family.group)
    assert view.pending and view.period == period
    assert view.data is not None and view.data.remaining == 15 * GB
    # a renewal bought meanwhile waits behind it without dates
    buy_seats(family.owner, family.group, 3, line_type=GROUP_RENEWAL)
    renewal = Period.objects.get(subscription__group=family.group, sequence=2)
    assert (renewal.state, renewal.starts_at) == (Period.State.SCHEDULED, None)
    assert [p.pk for p in pool_queries.overview(family.group).queued] == [renewal.pk]


@pytest.mark.django_db
def test_a_pool_that_starts_at_purchase_runs_at_once(db: None) -> None:
    family_plan(code=FAMILY_PLAN)  # validity from purchase
    family = build_family(2)
    assert (pool(family).state, pool(family).starts_at) == (Period.State.ACTIVE, START)


@pytest.mark.django_db
def test_the_first_members_first_use_starts_it_at_the_event_time_once(family: Family) -> None:
    landed = at(3 * 24 * 60)
    clock.set_now(landed + dt.timedelta(hours=2))
    reported(family.members[1].esim, ProfileStatus.FIRST_USE, landed)
    period = pool(family)
    assert (period.state, period.starts_at) == (Period.State.ACTIVE, landed)
    assert period.ends_at == dt.datetime(2026, 4, 4, 12, 0, tzinfo=dt.UTC)  # a month
    # another member landing later changes nothing
    reported(family.members[2].esim, ProfileStatus.FIRST_USE, landed + dt.timedelta(hours=1))
    assert pool(family).starts_at == landed and started_count(period) == 1
    # a renewal bought now queues back to back
    buy_seats(family.owner, family.group, 3, line_type=GROUP_RENEWAL)
    renewal = Period.objects.get(subscription__group=family.group, sequence=2)
    assert renewal.starts_at == period.ends_at


@pytest.mark.django_db
def test_a_members_first_use_starts_the_pool_not_the_esims_own_waiting_plan(
        first_use_plans: None) -> None:
    family = build_family(2, seats=3)
    traveller = new_user("own-plan@example.com")
    esim = make_esim(traveller, plan=plan(validity_starts=FIRST_USE))  # waits for first use
    clock.set_now(at(30))
    invitation = groups.invite(by=family.owner, group=family.group, email=traveller.email)
    group_members.accept_invitation(user=traveller, token=invitation.token, iccid=esim.iccid)
    clock.set_now(at(120))
    reported(esim, ProfileStatus.FIRST_USE, at(90))
    assert pool(family).starts_at == at(90)
    own = Period.objects.get(subscription__esim=esim)
    assert own.state == Period.State.PENDING


@pytest.mark.django_db
def test_usage_first_starts_it_and_is_charged_to_the_pool_once(family: Family) -> None:
    member = family.members[2]
    clock.set_now(at(600))
    batch = [rec("u1", member.esim.iccid, 300 * MB, at(500)),
             rec("u2", member.esim.iccid, 200 * MB, at(550))]
    result = usage.ingest(source="network", records=batch)
    assert (result.accepted, result.rejected) == (2, [])
    period = pool(family)
    assert (period.state, period.starts_at) == (Period.State.ACTIVE, at(500))
    assert Allowance.objects.get(period=period, kind="data").used == 500 * MB
    assert MemberUsage.objects.get(membership=member, period=period, kind="data").used == 500 * MB
    assert set(UsageEvent.objects.values_list("period_id", flat=True)) == {period.pk}
    again = usage.ingest(source="network", records=batch)
    assert (again.accepted, again.duplicates) == (0, 2)
    assert Allowance.objects.get(period=period, kind="data").used == 500 * MB
    assert started_count(period) == 1
    # the member's own (running) plan was not touched
    own = Period.objects.get(subscription__esim=member.esim)
    assert Allowance.objects.get(period=own, kind="data").used == 0


@pytest.mark.django_db
def test_activate_by_starts_it_by_itself(family: Family) -> None:
    deadline = pool(family).activate_by
    assert deadline is not None
    clock.set_now(deadline + dt.timedelta(hours=3))
    subscriptions.sync_period_states()
    assert (pool(family).state, pool(family).starts_at) == (Period.State.ACTIVE, deadline)


@pytest.mark.django_db
def test_seats_and_top_ups_bought_while_it_waits_wait_with_it(family: Family) -> None:
    product = top_up(usd=999, data_gb=3, extends_days=7)
    clock.set_now(at(60))
    preview = orders.price_lines(user=family.owner, currency="USD", lines=[
        orders.LineRequest(type=GROUP_SEATS, group=family.group.pk, members=1)])[0]
    assert (preview.starts_at, preview.ends_at) == (None, None)
    buy(family.owner, orders.LineRequest(type=GROUP_SEATS, group=family.group.pk, members=1),
        pay="marked")
    buy(family.owner, orders.LineRequest(type=GROUP_TOP_UP, group=family.group.pk,
                                         product=product.code), pay="marked")
    period = pool(family)
    family.group.refresh_from_db()
    assert family.group.seats == 4 and period.state == Period.State.PENDING
    buckets = sorted((a.source, a.total) for a in Allowance.objects.filter(period=period,
                                                                            kind="data"))
    assert buckets == [("plan", 20 * GB), ("top_up", 3 * GB)]
    assert period.extra_days == 7
    assert AuditEntry.objects.filter(action="esim.pool_top_up_applied").count() == 3
    clock.set_now(at(120))
    reported(family.members[0].esim, ProfileStatus.FIRST_USE, at(100))
    period.refresh_from_db()
    assert period.ends_at == at(100) + dt.timedelta(days=31 + 7)  # March, then 7 days more


@pytest.mark.django_db
def test_no_expiry_reminder_and_an_invoice_while_it_waits(family: Family) -> None:
    clock.set_now(at(60 * 24 * 170))
    assert pool_reminders.pool_expiry_sweep() == 0
    assert not ReminderLog.objects.exists()
    seats = invoice_lines(family.group, START.date().replace(day=1))
    assert len(seats) == 3 and all(s["data_used"] == 0 for s in seats)
    assert render_invoice_pdf(group=family.group, month=START.date().replace(day=1),
                              language="zh-hans").startswith(b"%PDF")


@pytest.mark.django_db
def test_the_payer_hears_once_a_week_before_it_starts_by_itself(family: Family) -> None:
    from esimdesk.notifications.models import Notification

    deadline = pool(family).activate_by
    assert deadline is not None
    clock.set_now(deadline - dt.timedelta(days=6))
    assert pool_reminders.pool_expiry_sweep() == 1
    clock.set_now(deadline - dt.timedelta(days=2))
    assert pool_reminders.pool_expiry_sweep() == 0
    assert list(ReminderLog.objects.values_list("kind", flat=True)) == ["activate_by:7d"]
    notice = Notification.objects.get(user=family.owner, kind="reminder_activate_by",
                                      channel="email")
    assert family.group.name in notice.subject


@pytest.mark.django_db
def test_start_now_over_the_api_for_managers_only(first_use_plans: None) -> None:
    api = Api.signup("pool-owner@example.com")
    owner = api_user("pool-owner@example.com")
    family = build_family(2, owner=owner)
    gid = family.group.pk
    shown = api.get(f"/api/v1/groups/{gid}").json()
    assert shown["period"]["state"] == "pending"
    assert (shown["period"]["starts_at"], shown["period"]["ends_at"]) == (None, None)
    assert shown["period"]["validity"] == "P1M" and shown["period"]["activate_by"]
    assert shown["pool"][0]["remaining"] == 10 * GB
    # someone else's group is not found; a plain member may not start it
    stranger = Api.signup("stranger@example.com")
    stranger_user = api_user("stranger@example.com")
    other = groups.create_group(owner=stranger_user, kind=Group.Kind.FAMILY, name="Other")
    assert api.post(f"/api/v1/groups/{other.pk}/start").status_code == 404
    assert stranger.post(f"/api/v1/groups/{gid}/start").status_code == 404
    clock.set_now(at(45))
    started = api.post(f"/api/v1/groups/{gid}/start")
    assert started.status_code == 200, started.content
    assert started.json()["period"]["state"] == "active"
    assert started.json()["period"]["starts_at"] == at(45).isoformat()
    again = api.post(f"/api/v1/groups/{gid}/start")
    assert (again.status_code, again.json()["code"]) == (409, "pool_not_pending")


@pytest.mark.django_db
def test_a_member_cannot_start_the_pool(first_use_plans: None) -> None:
    member_api = Api.signup("kid@example.com")
    family = build_family(2, seats=3)
    kid = api_user("kid@example.com")
    invitation = groups.invite(by=family.owner, group=family.group, email="kid@example.com")
    group_members.accept_invitation(user=kid, token=invitation.token)
    refused = member_api.post(f"/api/v1/groups/{family.group.pk}/start")
    assert (refused.status_code, refused.json()["code"]) == (403, "group_manager_only")
    assert pool(family).state == Period.State.PENDING


def api_user(email: str) -> User:
    return User.objects.get(email=email)


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "waiting", "start", "done"), [
    ("en", "Starts when the first member uses it", "Start now", "has started"),
    ("zh-hans", "第一位成员使用时开始", "立即开始", "已开始")])
def test_the_group_page_while_it_waits_and_start_now(family: Family, language: str,
                                                    waiting: str, start: str,
                                                    done: str) -> None:
    family.owner.language = language
    family.owner.save()
    client = Client()
    client.cookies["esimdesk_language"] = language
    client.force_login(family.owner)
    page = client.get(f"/groups/{family.group.pk}/").content.decode()
    assert waiting in page and start in page
    assert "15" in page  # the whole pool, 15 GB
    kid = family.members[1].user
    kid.language = language
    kid.save()
    member = Client()
    member.cookies["esimdesk_language"] = language
    member.force_login(kid)
    member_page = member.get(f"/groups/{family.group.pk}/").content.decode()
    assert waiting in member_page and f"/groups/{family.group.pk}/start/" not in member_page
    assert member.post(f"/groups/{family.group.pk}/start/").status_code == 403
    clock.set_now(at(20))
    answer = client.post(f"/groups/{family.group.pk}/start/", follow=True)
    assert done in answer.content.decode()
    assert (pool(family).state, pool(family).starts_at) == (Period.State.ACTIVE, at(20))
    again = client.post(f"/groups/{family.group.pk}/start/", follow=True).content.decode()
    assert waiting not in again
    run_tasks()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_of_two_members_start_it_once_and_charge_once(
        first_use_plans: None) -> None:
    family = build_family(3)
    first, second = (m.esim.iccid for m in family.members[1:])
    clock.set_now(at(300))
    batches = [[rec(f"{who}-{n}", iccid, 10 * MB, at(200)) for n in range(20)]
               for who, iccid in (("a", first), ("b", second))]
    results = in_parallel(*[lambda b=b: usage.ingest(source="network", records=b)
                            for b in batches])
    assert sum(r.accepted for r in results) == 40 and not any(r.rejected for r in results)
    period = pool(family)
    assert (period.state, period.starts_at) == (Period.State.ACTIVE, at(200))
    assert started_count(period) == 1
    assert Allowance.objects.get(period=period, kind="data").used == 400 * MB
    assert UsageEvent.objects.filter(period=period).count() == 40
    replay = in_parallel(*[lambda b=b: usage.ingest(source="network", records=b)
                           for b in batches])
    assert sum(r.duplicates for r in replay) == 40
    assert Allowance.objects.get(period=pool(family), kind="data").used == 400 * MB
