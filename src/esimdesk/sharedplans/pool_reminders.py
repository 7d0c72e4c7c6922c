"""Reminders of pools. The payer (the group's owner) hears when the pool's data runs low
and before the pool's period ends without a renewal; a member hears when they near their
own cap. Each is a ``ReminderLog`` of the pool's period, unique on (period, kind), recorded
and sent in one go (``sent_at`` set at once, so the personal reminder sender, which reads
eSIM periods only, never picks them up): a sweep run twice, or two batches at once, remind
once. Which reminder is due is decided by ``reminder_rule.due_reminders``, the rule of
personal periods too. A pool waiting for its first member's first use (and a renewal
queued behind it) has no end yet: no reminder about expiry, and nothing drawn on it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse

from esimdesk.core import clock
from esimdesk.groups.models import Membership
from esimdesk.notifications import services as notifications
from esimdesk.sharedplans.models import MemberUsage
from esimdesk.subscriptions.models import Period, ReminderLog, Subscription
from esimdesk.subscriptions.reminder_rule import due_reminders, level_reached
from esimdesk.subscriptions.reminders import (
    ACTIVATION_NOTICE,
    expiry_thresholds,
    low_data_thresholds,
)

NEAR_CAP_PERCENT = 90


def _record(period_id: int, kind: str, instant: dt.datetime) -> ReminderLog | None:
    """The reminder's row if this call made it, None if it existed already."""
    try:
        with transaction.atomic():
            return ReminderLog.objects.create(period_id=period_id, kind=kind,
                                              created_at=instant, sent_at=instant)
    except IntegrityError:
        return None


def _sent(period_ids: list[int]) -> defaultdict[int, set[str]]:
    """The kinds of reminder recorded so far for each of the periods."""
    sent: defaultdict[int, set[str]] = defaultdict(set)
    for period_id, kind in ReminderLog.objects.filter(period_id__in=period_ids).values_list(
            "period_id", "kind"):
        sent[period_id].add(kind)
    return sent


def group_url(group_id: int) -> str:
    return settings.PUBLIC_URL + reverse("portal:group", args=[group_id])


def _data_of(period: Period) -> dict[str, int]:
    rows = list(period.allowances.filter(kind="data"))
    total, used = sum(a.total for a in rows), sum(a.used for a in rows)
    return {"total": total, "used": used, "remaining": max(0, total - used),
            "used_percent": 100 if total == 0 else min(100, used * 100 // total)}


def after_pool_charging(*, period_ids: list[int], tallies: list[MemberUsage],
                        now: dt.datetime) -> None:
    """Called by ``pools.charge_pool`` in its transaction, with the pool's rows locked."""
    percents = low_data_thresholds()
    periods = Period.objects.select_related("plan", "subscription__group__owner").in_bulk(
        period_ids)
    pool_data = {pk: _data_of(period) for pk, period in periods.items()}
    sent = _sent(period_ids)
    for period in periods.values():
        if period.starts_at is None or period.ends_at is None:
            continue  # not started: nothing is charged to it
        data = pool_data[period.pk]
        due = due_reminders(starts_at=period.starts_at, ends_at=period.ends_at, now=now,
                            total=data["total"], used=data["used"], sent=sent[period.pk],
                            expiry=(), low_data=percents).low_data
        if due is None:
            continue
        level = due.percent
        reminder = _record(period.pk, due.kind, now)
        if reminder is None:
            continue
        group = period.subscription.group
        assert group is not None
        notifications.notify(
            user=group.owner, kind="reminder_low_data", template="pool_low_data",
            context={"group": group, "period": period, "plan": period.plan, "level": level,
                     "allowance": data, "auto_renew": period.subscription.auto_renew,
                     "group_url": group_url(group.pk)},
            dedupe_key=f"reminder:{reminder.pk}")
    members = Membership.objects.select_related("user", "group").in_bulk(
        {t.membership_id for t in tallies})
    for tally in tallies:
        member = members[tally.membership_id]
        pool_period = periods.get(tally.period_id)
        if pool_period is None:
            continue
        cap = member.cap_for(pool_data[pool_period.pk]["total"])
        if cap is None or level_reached(total=cap, used=tally.used,
                                        percents=(NEAR_CAP_PERCENT,)) is None:
            continue
        reminder = _record(pool_period.pk, f"cap:{NEAR_CAP_PERCENT}:m{member.pk}", now)
        if reminder is None:
            continue
        notifications.notify(
            user=member.user, kind="reminder_member_cap", template="member_near_cap",
            context={"group": member.group, "period": pool_period, "cap": cap,
                     "used": tally.used, "remaining": max(0, cap - tally.used),
                     "used_percent": min(100, tally.used * 100 // cap),
                     "group_url": group_url(member.group_id)},
            dedupe_key=f"reminder:{reminder.pk}")


def pool_expiry_sweep(*, now: dt.datetime | None = None) -> int:
    """Before a pool's last period ends (and at its end), remind the payer, nearest
    threshold only, as for personal plans. Pools are few, so this reads them plainly."""
    instant = now or clock.now()
    thresholds = expiry_thresholds()
    sent = 0
    # From the pools' subscriptions (few; the unique index on group_id finds them), never a
    # scan of every period: the sweep runs over millions of personal ones.
    pools = list(Subscription.objects.filter(group__isnull=False).values_list("pk", flat=True))
    latest = (Period.objects.filter(subscription_id__in=pools)
              .exclude(state=Period.State.CANCELLED).values("subscription_id")
              .annotate(seq=Max("sequence")))
    candidates = [Period.objects.select_related("plan", "subscription__group__owner")
                  .get(subscription_id=row["subscription_id"], sequence=row["seq"])
                  for row in latest]
    recorded = _sent([period.pk for period in candidates])
    for period in candidates:
        if period.state == Period.State.PENDING:
            sent += _activation_notice(period, recorded[period.pk], instant)
            continue
        if period.starts_at is None or period.ends_at is None:
            continue  # waits behind a pool that has not started: it has no end yet
        # The pool's latest period: the last of its subscription by construction.
        due = due_reminders(starts_at=period.starts_at, ends_at=period.ends_at, now=instant,
                            total=0, used=0, sent=recorded[period.pk], expiry=thresholds,
                            low_data=()).expiry
        if due is None:
            continue
        label = due.label
        with transaction.atomic():
            reminder = _record(period.pk, due.kind, instant)
            if reminder is None:
                continue
            group = period.subscription.group
            assert group is not None
            notifications.notify(
                user=group.owner, kind="reminder_expiry", template="pool_expiry_reminder",
                context={"group": group, "period": period, "plan": period.plan,
                         "level": label, "auto_renew": period.subscription.auto_renew,
                         "group_url": group_url(group.pk)},
                dedupe_key=f"reminder:{reminder.pk}")
            sent += 1
    return sent


def _activation_notice(period: Period, sent: set[str], instant: dt.datetime) -> int:
    """A pool no member has used yet, a week before it starts by itself: tell the payer
    once (the same notice and timing as for a personal plan)."""
    kind = "activate_by:7d"
    if kind in sent or period.activate_by is None or not (
            instant < period.activate_by <= instant + ACTIVATION_NOTICE):
        return 0
    with transaction.atomic():
        reminder = _record(period.pk, kind, instant)
        if reminder is None:
            return 0
        group = period.subscription.group
        assert group is not None
        notifications.notify(
            user=group.owner, kind="reminder_activate_by", template="pool_activation_reminder",
            context={"group": group, "period": period, "plan": period.plan,
                     "group_url": group_url(group.pk)},
            dedupe_key=f"reminder:{reminder.pk}")
    return 1
