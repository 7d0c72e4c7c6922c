"""Group plans through the order and payment flow: tiered per-member pricing, the preview
breakdown, paying centrally, automatic renewal of the pool, reminders to the payer."""

from __future__ import annotations

import datetime as dt

import pytest

from esimdesk.catalog.models import GB
from esimdesk.core import clock
from esimdesk.core.errors import DomainError, PermissionDenied
from esimdesk.groups import services as groups
from esimdesk.groups.models import Group
from esimdesk.notifications.models import Notification
from esimdesk.orders import services as orders
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.payments.autorenew import renewals_sweep
from esimdesk.payments.models import RenewalAttempt
from esimdesk.sharedplans.models import GroupLine
from esimdesk.sharedplans.terms import GROUP_PLAN
from esimdesk.subscriptions.models import Allowance, Period, ReminderLog
from esimdesk.subscriptions.reminders import reminders_sweep
from tests.builders import FAMILY_PLAN, TEAM_PLAN, TOPUP_5GB, Shop, plan
from tests.conftest import run_tasks
from tests.sharedplans.conftest import START, Family, build_family, new_user

pytestmark = pytest.mark.django_db


def line(group: Group, members: int, plan: str = FAMILY_PLAN) -> orders.LineRequest:
    return orders.LineRequest(type=GROUP_PLAN, plan=plan, group=group.pk, members=members)


@pytest.mark.parametrize(("members", "percent", "total"), [
    (2, 0, 2400), (3, 10, 3240), (4, 15, 4080), (6, 20, 5760)])
def test_price_per_member_falls_with_the_group_size(group_plans: None, members: int,
                                                    percent: int, total: int) -> None:
    owner = new_user("p@example.com")
    group = groups.create_group(owner=owner, kind="family", name="P")
    [priced] = orders.price_lines(user=owner, lines=[line(group, members)], currency="USD")
    parts = priced.breakdown or {}
    assert (parts["unit_price"], parts["percent_off"], parts["total"]) == (1200, percent, total)
    assert parts["gross"] - parts["discount"] == priced.price.amount == total
    assert parts["pool"] == [{"kind": "data", "total": members * 5 * GB}]


def test_discount_rounds_half_up_to_the_minor_unit(group_plans: None) -> None:
    from esimdesk.catalog.models import Plan, Price

    Price.objects.filter(plan=Plan.objects.get(code=FAMILY_PLAN), currency="USD").update(
        amount=1999)
    owner = new_user("r@example.com")
    group = groups.create_group(owner=owner, kind="family", name="R")
    [priced] = orders.price_lines(user=owner, lines=[line(group, 3)], currency="USD")
    assert (priced.breakdown or {})["discount"] == 600  # 10 % of 59.97 = 5.997 → 6.00
    assert priced.price.amount == 5397


def test_group_lines_are_checked(group_plans: None) -> None:
    owner = new_user("o@example.com")
    family = groups.create_group(owner=owner, kind="family", name="F")
    org = groups.create_group(owner=owner, kind="enterprise", name="Org")
    cases = [(line(family, 1), "invalid_member_count"), (line(family, 7), "invalid_member_count"),
             (line(family, 3, TEAM_PLAN), "plan_kind_mismatch"),
             (line(org, 3, plan(unit="month", data_gb=10).code), "plan_kind_mismatch"),
             (orders.LineRequest(type=GROUP_PLAN, plan=FAMILY_PLAN), "group_required"),
             (orders.LineRequest(type="new_esim", plan=FAMILY_PLAN), "plan_kind_unavailable")]
    for request, code in cases:
        with pytest.raises(DomainError) as error:
            orders.price_lines(user=owner, lines=[request], currency="USD")
        assert error.value.code == code
    groups.set_policy(by=owner, group=org, allowed_countries=["JP", "US"],
                      default_cap_percent=None)
    orders.price_lines(user=owner, lines=[line(org, 3, TEAM_PLAN)], currency="USD")
    stranger = new_user("s@example.com")
    with pytest.raises(DomainError) as error:
        orders.price_lines(user=stranger, lines=[line(family, 2)], currency="USD")
    assert error.value.code == "unknown_group"


def test_members_cannot_order_for_the_group(group_plans: None) -> None:
    fam = build_family(2)
    member = fam.members[1].user
    with pytest.raises(PermissionDenied):
        orders.price_lines(user=member, lines=[orders.LineRequest(
            type="group_renew", group=fam.group.pk, members=2)], currency="USD")


def test_owner_pays_through_the_sandbox_and_the_pool_starts(group_plans: None) -> None:
    clock.set_now(START)
    owner = new_user("payer@example.com")
    group = groups.create_group(owner=owner, kind="family", name="Paid")
    payment = checkout.place_order(user=owner, currency="USD", method="sandbox",
                                   lines=[line(group, 3)]).payment
    assert payment.amount == 3240
    payments.complete_sandbox_payment(user=owner, payment_id=payment.public_id,
                                      outcome="approve")
    run_tasks()
    bought = GroupLine.objects.get(group=group)
    assert (bought.members, bought.unit_amount, bought.percent_off) == (3, 1200, 10)
    assert bought.line.order.status == "fulfilled"
    period = Period.objects.get(subscription__group=group)
    assert Allowance.objects.get(period=period, kind="data").total == 15 * GB
    group.refresh_from_db()
    assert group.seats == 3
    with pytest.raises(DomainError) as error:  # a second "new" plan is a renewal
        orders.price_lines(user=owner, lines=[line(group, 3)], currency="USD")
    assert error.value.code == "group_has_plan"


def test_auto_renewal_of_the_pool_is_paid_by_the_owner(group_plans: None) -> None:
    fam: Family = build_family(3)
    from esimdesk.payments.models import SavedMethod

    # the owner keeps a card for renewals; members never have to

    SavedMethod.objects.create(user=fam.owner, provider="sandbox", token="tok_4242",
                               label="Visa •••• 4242", is_default=True)
    subscription = fam.period.subscription
    subscription.auto_renew = True
    subscription.save()
    clock.set_now(fam.period.ends_at - dt.timedelta(hours=23))
    assert renewals_sweep()["recorded"] == 1
    run_tasks()
    attempt = RenewalAttempt.objects.get(subscription=subscription)
    assert attempt.state == "succeeded", attempt.last_error
    assert attempt.order.user == fam.owner
    second = Period.objects.get(subscription=subscription, sequence=2)
    assert Allowance.objects.get(period=second, kind="data").total == 15 * GB
    assert renewals_sweep()["recorded"] == 0


def test_pool_expiry_reminder_goes_to_the_payer_once(group_plans: None) -> None:
    fam = build_family(2, languages=("zh-hans",))
    clock.set_now(fam.period.ends_at - dt.timedelta(days=2))
    reminders_sweep()
    reminders_sweep()
    mails = Notification.objects.filter(kind="reminder_expiry", channel="email")
    assert [m.user for m in mails] == [fam.owner]
    assert ReminderLog.objects.filter(period=fam.period, kind="expiry:3d").count() == 1


def test_pool_top_up_adds_a_bucket_for_everyone(shop: Shop, group_plans: None) -> None:
    from esimdesk.core.audit import AuditEntry
    from esimdesk.sharedplans.pools import PoolCharge, charge_pool
    from esimdesk.sharedplans.terms import GROUP_TOP_UP
    from tests.sharedplans.conftest import at

    fam = build_family(3)
    groups.set_cap(by=fam.owner, membership=fam.members[2], cap_bytes=1)
    clock.set_now(at(60))
    charge_pool(charges=[PoolCharge(fam.esim_ids()[2], "data", 2, at(1)),
                         PoolCharge(fam.esim_ids()[0], "data", 16 * GB, at(1))])
    top_up = orders.LineRequest(type=GROUP_TOP_UP, group=fam.group.pk, product=TOPUP_5GB)
    member = fam.members[1].user
    with pytest.raises(PermissionDenied):
        orders.price_lines(user=member, lines=[top_up], currency="USD")
    order = orders.create_order(user=fam.owner, lines=[top_up], currency="USD")
    assert order.total == 1799  # priced once for the pool, not per member
    orders.mark_paid(order_id=order.pk, provider="sandbox", method="test", actor="test")
    run_tasks()
    order.refresh_from_db()
    assert order.status == "fulfilled"
    buckets = Allowance.objects.filter(period=fam.period, kind="data").order_by("id")
    assert [(b.source, b.total) for b in buckets] == [("plan", 15 * GB), ("top_up", 5 * GB)]
    outcome = charge_pool(charges=[PoolCharge(fam.esim_ids()[1], "data", 3 * GB, at(2))])
    assert (outcome[0].charged, outcome[0].overage) == (3 * GB, 0)
    # 16 GB asked of a 15 GB pool (less the capped member's byte): the top-up then
    # covers the 3 GB
    assert buckets.get(source="top_up").used == 3 * GB
    applied = AuditEntry.objects.filter(action="esim.pool_top_up_applied")
    assert applied.count() == 2  # not on the eSIM held at its own cap


def test_reminders_arrive_in_the_recipients_language(group_plans: None) -> None:
    from esimdesk.sharedplans.pools import PoolCharge, charge_pool
    from tests.sharedplans.conftest import at

    fam = build_family(2, languages=("zh-hans",))
    fam.owner.language = "zh-hans"
    fam.owner.save()
    member = fam.members[1]
    assert member.user.language == "zh-hans"
    groups.set_cap(by=fam.owner, membership=member, cap_bytes=GB)
    clock.set_now(at(60))
    charge_pool(charges=[PoolCharge(member.esim_id, "data", GB, at(1))])
    near = Notification.objects.get(user=member.user, kind="reminder_member_cap",
                                    channel="email")
    assert near.language == "zh-hans"
    clock.set_now(fam.period.ends_at - dt.timedelta(hours=12))
    reminders_sweep()
    expiry = Notification.objects.get(user=fam.owner, kind="reminder_expiry", channel="email")
    assert expiry.language == "zh-hans"
    assert "2026年4月1日" in expiry.subject  # Django's zh-hans date format


def test_adding_seats_mid_period_grows_the_pool_at_the_larger_groups_price(
        group_plans: None) -> None:
    from esimdesk.sharedplans.terms import GROUP_SEATS

    fam = build_family(2)  # 2 seats: 2 x 12.00, no discount
    more = orders.LineRequest(type=GROUP_SEATS, group=fam.group.pk, members=2)
    [priced] = orders.price_lines(user=fam.owner, lines=[more], currency="USD")
    # 4 seats cost 4 x 12.00 - 15 % = 40.80; 24.00 are paid: 16.80 more
    assert priced.price.amount == 1680
    assert (priced.breakdown or {})["seats_after"] == 4
    order = orders.create_order(user=fam.owner, lines=[more], currency="USD")
    orders.mark_paid(order_id=order.pk, provider="sandbox", method="test", actor="test")
    run_tasks()
    orders.fulfil_order(order_id=order.pk)
    fam.group.refresh_from_db()
    assert fam.group.seats == 4
    assert Allowance.objects.get(period=fam.period, kind="data").total == 20 * GB
    groups.invite(by=fam.owner, group=fam.group, email="third@example.com")
    with pytest.raises(DomainError) as error:
        orders.price_lines(user=fam.owner, lines=[orders.LineRequest(
            type=GROUP_SEATS, group=fam.group.pk, members=3)], currency="USD")
    assert error.value.code == "invalid_member_count"  # 4 + 3 > the plan's 6
