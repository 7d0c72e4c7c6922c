"""The demo travellers (``make run``) see on their dashboard what README promises: the Japan
plan ends in two days, the Europe plan in twelve, whatever the date of ``make run``.

Loads the demo data on purpose (listed in ``test_architecture_tests.DEMO_DATA_TESTS``)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from esimdesk import config
from esimdesk.core import clock
from esimdesk.demo import load_demo, start_for
from esimdesk.portal.templatetags.esimdesk import time_left
from esimdesk.subscriptions.models import Period
from tests import builders

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.django_db
@pytest.mark.parametrize("today", [dt.datetime(2026, 12, 7, 6, 40, tzinfo=dt.UTC),
                                   dt.datetime(2027, 3, 1, 23, 50, tzinfo=dt.UTC)])
def test_the_demo_plans_end_when_readme_says(db: None, today: dt.datetime) -> None:
    clock.set_now(today)
    load_demo()
    left = {}
    for email in ("traveller@esimdesk.localhost", "lvke@esimdesk.localhost"):
        period = Period.objects.get(subscription__esim__owner__email=email)
        assert period.ends_at is not None
        left[email] = time_left(period.ends_at, today)
    assert left == {"traveller@esimdesk.localhost": "2 days 6 hours left",
                    "lvke@esimdesk.localhost": "12 days left"}
    readme = README.read_text()
    assert "**expires in two days**" in readme and "Europe plan, 12 days left" in readme


@pytest.mark.django_db
def test_a_month_plan_starts_on_the_same_day_of_the_month_before(db: None) -> None:
    month = builders.plan(unit="month", count=1)
    for ends in (dt.datetime(2026, 12, 9, 12, tzinfo=dt.UTC),
                 dt.datetime(2027, 3, 1, 0, 5, tzinfo=dt.UTC),
                 dt.datetime(2026, 12, 30, 12, tzinfo=dt.UTC)):
        assert month.ends_at(start_for(month, ends)) == ends
    # No start ends on 30 March (February is shorter): the 1st of April, the nearest after.
    late = start_for(month, dt.datetime(2027, 3, 30, 12, tzinfo=dt.UTC))
    assert month.ends_at(late) == dt.datetime(2027, 4, 1, tzinfo=dt.UTC)
    day = builders.plan(unit="day", count=7)
    assert day.ends_at(start_for(day, dt.datetime(2027, 3, 30, tzinfo=dt.UTC))) == \
        dt.datetime(2027, 3, 30, tzinfo=dt.UTC)


def test_readme_states_the_low_data_thresholds_of_the_code() -> None:
    default = config.option("ESIMDESK_LOW_DATA_REMINDERS")
    assert default is not None
    percents = default.default.split(",")
    shown = " / ".join(percents)
    assert f"at {shown} % data used" in re.sub(r"\s+", " ", README.read_text())
