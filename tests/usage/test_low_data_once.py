"""One low-data reminder per threshold per period, and one message when several thresholds
were crossed before any was sent, whichever path (live ingestion, the sweep) recorded them."""

from __future__ import annotations

import datetime as dt

import pytest

from esimdesk.core import clock
from esimdesk.notifications.models import Notification
from esimdesk.subscriptions import reminders
from esimdesk.subscriptions.models import ReminderLog
from esimdesk.usage.services import ingest
from tests.builders import make_esim, period_of
from tests.conftest import run_tasks
from tests.usage.helpers import START, rec

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now(db: None) -> None:
    clock.set_now(START)


def _low_data_messages() -> list[tuple[str, str]]:
    return sorted(Notification.objects.filter(kind="reminder_low_data")
                  .values_list("channel", "body_text"))


def _period_at(percent_used: int) -> tuple[str, int]:
    esim = make_esim(n=1, data=1000)
    clock.set_now(AT + dt.timedelta(seconds=30))
    ingest(source="net", records=[rec("a", esim.iccid, percent_used * 10, AT)])
    return esim.iccid, period_of(esim).pk


AT = START + dt.timedelta(minutes=1)


def test_thresholds_crossed_before_sending_send_one_message_per_channel() -> None:
    number, period = _period_at(60)  # the live path records low_data:50
    reminders.reminders_sweep()      # and the sweep finds nothing more to record
    ingest(source="net", records=[rec("b", number, 170, AT)])  # 77 %: low_data:75
    reminders.reminders_sweep()
    run_tasks()
    assert set(ReminderLog.objects.filter(period_id=period).values_list("kind", flat=True)) \
        == {"low_data:50", "low_data:75"}
    assert ReminderLog.objects.filter(period_id=period, sent_at__isnull=True).count() == 0
    messages = _low_data_messages()
    assert [channel for channel, _ in messages] == ["email", "inapp"]
    assert all("77%" in text for _, text in messages)


def test_each_threshold_reached_after_the_last_message_is_told() -> None:
    number, _ = _period_at(60)
    run_tasks()
    ingest(source="net", records=[rec("b", number, 170, AT)])
    run_tasks()
    texts = [text for channel, text in _low_data_messages() if channel == "inapp"]
    name = f"Japan eSIM …{number[-4:]}"  # named by the trip, with the ICCID's last digits
    assert sorted(texts) == [f"{name}: 60% of your data used", f"{name}: 77% of your data used"]


def test_two_senders_of_the_same_pending_reminders_send_once() -> None:
    """Two workers sending the same pending reminders (both thresholds), one after the other
    as if they had read the rows together: the unique message key keeps one per channel."""
    number, _ = _period_at(60)
    ingest(source="net", records=[rec("b", number, 170, AT)])
    pending = list(ReminderLog.objects.filter(sent_at__isnull=True))
    for reminder in [*pending, *reversed(pending)]:
        reminders._send(reminder)
    assert [channel for channel, _ in _low_data_messages()] == ["email", "inapp"]
