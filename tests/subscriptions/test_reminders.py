"""Reminders are sent exactly once, at the right instant, whatever the customer's time zone,
across daylight-saving changes and month ends."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esimdesk.accounts.models import User
from esimdesk.catalog.models import GB, Plan
from esimdesk.core import clock
from esimdesk.core.ids import iccid_with_check_digit
from esimdesk.esims import services as esims
from esimdesk.notifications.models import Notification
from esimdesk.subscriptions import services
from esimdesk.subscriptions.models import Allowance, Period, ReminderLog
from esimdesk.subscriptions.reminders import reminders_sweep
from tests.builders import DAY, MONTH, Shop
from tests.conftest import run_tasks

ZONES = ["UTC", "Asia/Shanghai", "America/Los_Angeles"]


def subscribe(user: User, plan_code: str, n: int = 1) -> Period:
    esim = esims.create_esim(owner=user, iccid=iccid_with_check_digit(f"89991{n:013d}"),
                             smdp_address="smdp.example.com", matching_id=f"M-{n}",
                             upstream="simulator")
    return services.subscribe_esim(esim=esim, plan=Plan.objects.get(code=plan_code))


def sweep_every(step: dt.timedelta, until: dt.datetime) -> None:
    while clock.now() < until:
        reminders_sweep()
        clock.advance(step)
    reminders_sweep()


def expiry_kinds(period: Period) -> list[str]:
    return list(ReminderLog.objects.filter(period=period, kind__startswith="expiry")
                .order_by("created_at").values_list("kind", flat=True))


@pytest.mark.parametrize("zone", ZONES)
def test_expiry_reminders_once_each_at_the_right_instant(shop: Shop, zone: str) -> None:
    # A monthly plan bought on 31 January ends on 28 February; in Los Angeles the clocks
    # change on 8 March, so a plan bought on 1 March crosses the change: both cases here.
    user = User.objects.create_user("tz@example.com", "x-long-password-1", time_zone=zone)
    clock.set_now(dt.datetime(2026, 1, 31, 18, 30, tzinfo=dt.UTC))
    first = subscribe(user, MONTH)
    assert first.ends_at == dt.datetime(2026, 2, 28, 18, 30, tzinfo=dt.UTC)
    sweep_every(dt.timedelta(hours=1), until=first.ends_at + dt.timedelta(hours=30))
    assert expiry_kinds(first) == ["expiry:7d", "expiry:3d", "expiry:1d", "expiry:0h"]
    moments = {r.kind: r.created_at for r in ReminderLog.objects.filter(period=first)}
    for kind, before in (("expiry:7d", 7), ("expiry:3d", 3), ("expiry:1d", 1)):
        due = first.ends_at - dt.timedelta(days=before)
        assert due <= moments[kind] < due + dt.timedelta(hours=1), kind
    assert first.ends_at <= moments["expiry:0h"] < first.ends_at + dt.timedelta(hours=1)
    run_tasks()
    sent = Notification.objects.filter(user=user, kind="reminder_expiry", channel="email")
    assert sent.count() == 4
    assert len({n.dedupe_key for n in sent}) == 4
    # Sweeping again, even twice at once, sends nothing more.
    before = Notification.objects.filter(user=user).count()
    reminders_sweep()
    reminders_sweep()
    run_tasks()
    assert Notification.objects.filter(user=user).count() == before


def test_across_the_daylight_saving_change_instants_stay_exact(shop: Shop) -> None:
    user = User.objects.create_user("la@example.com", "x-long-password-1",
                                    time_zone="America/Los_Angeles", language="zh-hans")
    clock.set_now(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))  # 00:00 PST
    period = subscribe(user, MONTH)
    assert period.ends_at == dt.datetime(2026, 4, 2, 8, 0, tzinfo=dt.UTC)  # 01:00 PDT
    sweep_every(dt.timedelta(minutes=30), until=period.ends_at)
    created = ReminderLog.objects.get(period=period, kind="expiry:7d").created_at
    assert period.ends_at - dt.timedelta(days=7) <= created < \
        period.ends_at - dt.timedelta(days=7, minutes=-30)
    run_tasks()
    reminder = ReminderLog.objects.get(period=period, kind="expiry:7d")
    mail = Notification.objects.get(dedupe_key=f"reminder:{period.pk}:{reminder.kind}:email")
    # the end, shown in Los Angeles, in Chinese, with the zone in words
    assert "2026年4月2日 01:00（洛杉矶时间）" in mail.body_text
    assert "America/Los_Angeles" not in mail.body_text


def test_a_renewed_period_is_not_reminded(shop: Shop) -> None:
    user = User.objects.create_user("ren@example.com", "x-long-password-1")
    clock.set_now(dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    period = subscribe(user, MONTH)
    services.add_period(subscription=period.subscription, plan=period.plan)
    clock.set_now(period.ends_at - dt.timedelta(hours=2))
    reminders_sweep()
    assert expiry_kinds(period) == []


def test_late_sweep_sends_only_the_nearest_reminder(shop: Shop) -> None:
    user = User.objects.create_user("late@example.com", "x-long-password-1")
    clock.set_now(dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    period = subscribe(user, MONTH)
    clock.set_now(period.ends_at - dt.timedelta(days=2))  # the scheduler was down for weeks
    reminders_sweep()
    assert expiry_kinds(period) == ["expiry:3d"]


def test_low_data_reminders_once_per_threshold_and_period(shop: Shop) -> None:
    user = User.objects.create_user("data@example.com", "x-long-password-1")
    clock.set_now(dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    period = subscribe(user, MONTH)
    data = Allowance.objects.get(period=period, kind="data")
    for used, expected in ((4 * GB, []), (7 * GB, ["low_data:50"]),
                           (int(7.6 * GB), ["low_data:50", "low_data:75"]),
                           (int(9.5 * GB), ["low_data:50", "low_data:75", "low_data:90"]),
                           (10 * GB, ["low_data:50", "low_data:75", "low_data:90",
                                      "low_data:100"])):
        Allowance.objects.filter(pk=data.pk).update(used=used)
        reminders_sweep()
        reminders_sweep()
        kinds = set(ReminderLog.objects.filter(period=period, kind__startswith="low_data")
                    .values_list("kind", flat=True))
        assert kinds == set(expected)
        run_tasks()  # each threshold's message goes out before the next is reached
    assert Notification.objects.filter(kind="reminder_low_data", channel="email").count() == 4


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31),
                          timezones=st.just(dt.UTC)),
       step_minutes=st.integers(min_value=5, max_value=240))
@pytest.mark.django_db
def test_property_each_expiry_reminder_at_most_once(shop: Shop, start: dt.datetime,
                                                     step_minutes: int) -> None:
    ReminderLog.objects.all().delete()
    Period.objects.all().delete()
    user = User.objects.get_or_create(email="prop@example.com")[0]
    clock.set_now(start)
    from esimdesk.esims.models import Esim

    period = subscribe(user, DAY, n=Esim.objects.count() + 5000)
    sweep_every(dt.timedelta(minutes=step_minutes), until=period.ends_at + dt.timedelta(hours=25))
    kinds = expiry_kinds(period)
    assert len(kinds) == len(set(kinds))
    assert kinds[-1] == "expiry:0h"
    clock.reset()
