"""The demo travellers (``make run``) see on their dashboard what README promises: the Japan
plan ends in two days, the Europe plan in twelve, whatever the date of ``make run``.

Loads the demo data on purpose (listed in ``test_architecture_tests.DEMO_DATA_TESTS``)."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from esimdesk import config
from esimdesk.core import clock
from esimdesk.demo import load_demo, start_for
from esimdesk.demo_business import customers
from esimdesk.esims.models import Esim
from esimdesk.figures.figures import Window, figures
from esimdesk.portal.templatetags.esimdesk import time_left
from esimdesk.provisioning.models import SupplierCall
from esimdesk.subscriptions.models import Period
from tests import builders
from tests.conftest import run_tasks

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
def test_the_console_opens_on_a_month_of_business(
        db: None, django_capture_on_commit_callbacks: Any) -> None:
    """README: 10 other customers, 21 orders in dollars and yuan over 30 days, one refunded;
    each customer new in the window they first bought in."""
    today = dt.datetime(2026, 12, 7, 6, 40, tzinfo=dt.UTC)
    clock.set_now(today)
    with django_capture_on_commit_callbacks(execute=True):
        load_demo()
    run_tasks()  # the refund goes to the sandbox provider
    after = today + dt.timedelta(minutes=1)  # the refund is confirmed at ``today``
    month = figures(Window.last(dt.timedelta(days=30), until=after))
    assert month.orders.paid == 21 + 2  # and the two demo travellers'
    assert month.customers.new == 10 + 2
    assert month.refunds.count == 1
    assert {money.currency for money in month.revenue.per_currency} == {"USD", "CNY"}
    today_only = figures(Window.last(dt.timedelta(days=1), until=after))
    assert today_only.orders.paid == 2
    readme = README.read_text()
    assert "21 orders in dollars and yuan" in readme and "10 other customers" in readme
    assert len(list(customers())) == 10


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


BROKEN_ES2PLUS = {"ESIMDESK_UPSTREAM_PROVIDERS": "es2plus",
                  "ESIMDESK_ES2PLUS_URL": "https://127.0.0.1:9",
                  "ESIMDESK_ES2PLUS_CA": "/etc/esimdesk/smpd-ca.pem"}  # a typo


@pytest.mark.django_db
def test_the_demo_travellers_never_depend_on_the_configured_supplier(
        settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in BROKEN_ES2PLUS.items():
        monkeypatch.setenv(name, value)
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus"]}
    lines = load_demo()
    assert not [line for line in lines if "not loaded" in line or "no eSIM" in line], lines
    assert set(Esim.objects.values_list("upstream", flat=True)) == {"simulator"}
    assert not SupplierCall.objects.filter(supplier="es2plus").exists()
    assert settings.ESIMDESK["UPSTREAM_PROVIDERS"] == ["es2plus"]  # as configured again


def test_every_process_starts_with_a_misconfigured_supplier(tmp_path: Path) -> None:
    """``esimdesk run``'s preparation (migrations, demo data), the worker, the scheduler and
    the web application all start with ES2+ first and its CA path mistyped."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ESIMDESK_")}
    base.update({"ESIMDESK_DATA_DIR": str(tmp_path),
                 "DJANGO_SETTINGS_MODULE": "esimdesk.settings", **BROKEN_ES2PLUS})

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *args], env=base, capture_output=True,
                              text=True, timeout=300, check=False)

    prepared = run("-c", "from esimdesk import cli; cli._prepare()")
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    assert "traveller: traveller@esimdesk.localhost" in prepared.stdout, prepared.stdout
    worker = run("-m", "esimdesk.cli", "manage", "db_worker", "--queue-name", "*", "--batch",
                 "--no-startup-delay")
    assert worker.returncode == 0, worker.stderr[-3000:]
    scheduler = run("-m", "esimdesk.cli", "scheduler", "--once")
    assert scheduler.returncode == 0, scheduler.stderr[-3000:]
    assert "sweep" in scheduler.stderr + scheduler.stdout
    web = run("-c", "from esimdesk.wsgi import application; print(application)")
    assert web.returncode == 0, web.stderr[-3000:]
