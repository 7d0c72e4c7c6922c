"""Reminder / renewal sweep over 1,000,000 periods on PostgreSQL.

    .venv/bin/python bench/renewal_sweep.py [--periods 1000000]

Creates a fresh database (ESIMDESK_BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/esimdesk_bench_sweep), migrates it, loads the demo
catalog, then generates subscriptions with four periods each (one ended, one running, some
queued, validity spread over four months) and a data allowance per period, a third of them
with auto-renew on. It times one full scheduler run of every sweep (periods, renewals,
reminders, expiry, payments) twice — the second run shows the idempotent steady state — and
prints the figures. The reminders' and renewals' own sending happens in tasks, not here.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlparse

import psycopg

DB_URL = os.environ.get("ESIMDESK_BENCH_DATABASE_URL",
                        "postgresql://postgres@127.0.0.1:5432/esimdesk_bench_sweep")


def recreate_database() -> None:
    name = urlparse(DB_URL).path.lstrip("/")
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


GENERATE = """
INSERT INTO accounts_user (password, is_superuser, email, phone, phone_verified, name, language,
                           time_zone, preferred_currency, is_staff, is_active, date_joined)
SELECT '!', false, 'bench' || g || '@example.com', NULL, false, '', 'en', 'UTC', 'USD', false,
       true, now()
  FROM generate_series(1, %(subs)s / 50) g;

INSERT INTO esims_esim (iccid, eid, owner_id, label, status, smdp_address, matching_id,
                        confirmation_code, upstream, upstream_reference, created_at)
SELECT '8999' || lpad(g::text, 15, '0'), '',
       (SELECT min(id) FROM accounts_user) + (g %% (%(subs)s / 50)),
       '', 'in_use', 'smdp.simulator.esimdesk.test', 'M' || g, '', 'simulator', '', now()
  FROM generate_series(1, %(subs)s) g;

INSERT INTO subscriptions_subscription (esim_id, group_id, plan_id, auto_renew, created_at)
SELECT e.id, NULL, (SELECT id FROM catalog_plan WHERE code = 'jp-10gb-month'), e.id %% 3 = 0,
       now()
  FROM esims_esim e;

-- Four periods each: one ended, the current one ending within the next ten days (one in ten
-- already ended: lapsed), and two queued for half of them (renewed ahead).
INSERT INTO subscriptions_period (subscription_id, sequence, plan_id, starts_at, ends_at, state,
                                  extra_days, starts_on_data_out, created_at)
SELECT s.id, k, s.plan_id,
       c.current_end + (k - 3) * interval '30 days',
       c.current_end + (k - 2) * interval '30 days',
       CASE WHEN k = 1 THEN 'ended' WHEN k = 2 THEN 'active' ELSE 'scheduled' END, 0, false,
       now()
  FROM subscriptions_subscription s
  CROSS JOIN LATERAL (SELECT CASE WHEN s.id %% 10 = 0
                                  THEN now() - (s.id %% 1440) * interval '1 minute'
                                  ELSE now() + (s.id %% 2880) * interval '5 minutes' END
                             AS current_end) c
  CROSS JOIN generate_series(1, 4) k
 WHERE k <= 2 OR s.id %% 2 = 0;

INSERT INTO subscriptions_allowance (period_id, kind, source, total, used, overage)
SELECT p.id, 'data', 'plan', 10737418240, (p.id * 7919) %% 10737418240, 0
  FROM subscriptions_period p;
ANALYZE;
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--periods", type=int, default=1_000_000)
    args = parser.parse_args()
    subs = args.periods // 3  # 2 periods each, and 2 more for half of them
    recreate_database()
    env = {**os.environ, "ESIMDESK_DATABASE_URL": DB_URL,
           "ESIMDESK_DATA_DIR": tempfile.mkdtemp(prefix="esimdesk-bench-"),
           "ESIMDESK_SECRET_KEY": "bench-secret-key-bench-secret-key-bench",
           "ESIMDESK_LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "esimdesk.settings"}
    exe = [sys.executable, "-m", "esimdesk.cli"]
    subprocess.run([*exe, "manage", "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([*exe, "manage", "shell", "-c",
                    "from esimdesk.catalog.demo import load_catalog; load_catalog()"],
                   env=env, check=True)
    started = time.perf_counter()
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        for statement in GENERATE.split(";\n"):
            if statement.strip():
                conn.execute(statement.replace("%(subs)s", str(subs)).replace("%%", "%"))
        periods = conn.execute("SELECT count(*) FROM subscriptions_period").fetchone()[0]
    print(f"generated {periods:,} periods for {subs:,} eSIMs in "
          f"{time.perf_counter() - started:.1f} s")
    os.environ.update(env)
    import django

    django.setup()
    from esimdesk.scheduler import SWEEPS

    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    for run in ("first", "second"):
        total = 0.0
        for name, sweep in SWEEPS.items():
            begun = time.perf_counter()
            result = sweep()
            took = time.perf_counter() - begun
            total += took
            print(f"  {run} run  {name:10} {took:7.2f} s  {result}")
        print(f"{run} full sweep: {total:.2f} s over {periods:,} periods")


if __name__ == "__main__":
    main()
