"""Usage ingestion over HTTP on PostgreSQL, against a database-only probe.

    .venv/bin/python bench/usage_ingest.py [--esims 100000] [--records 1000000]

Creates a fresh database (ESIMDESK_BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/esimdesk_bench_usage) with ``--esims`` active eSIMs
(one running period each, data / voice / SMS buckets; then ``VACUUM ANALYZE``, as autovacuum
does to a production database after such a load, whatever the cluster's own autovacuum
setting), starts ``esimdesk web`` (gunicorn, 6 sync workers) and posts ``--records``
distinct records from this separate process, in JSON batches of 10,000 over 4 connections
(batches serialised, and every worker warmed by a small post, before the clock starts).
``ESIMDESK_BENCH_CLIENTS`` / ``_WORKERS`` / ``_THREADS`` change that shape. Prints:

- events/s over HTTP (deduplicated, charged, balances updated before each 200);
- record -> visible balance: while the load runs, a probe posts one record every 100 ms for
  an eSIM of its own and polls PostgreSQL every 10 ms until the balance shows it; p50 / p99;
- peak RSS of the gunicorn workers (VmHWM);
- a database-only probe: the same database path (``usage.ingest_pg.charge_batch``: COPY,
  deduplication, charging, balances, then the reminder / depletion statements; one
  transaction per batch) run in-process over 4 connections on fresh records whose COPY
  data is built before the clock starts, so without HTTP, JSON or validation; and the
  HTTP / probe ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import orjson
import psycopg
from stdnum import luhn

DB_URL = os.environ.get("ESIMDESK_BENCH_DATABASE_URL",
                        "postgresql://postgres@127.0.0.1:5432/esimdesk_bench_usage")
PORT = int(os.environ.get("ESIMDESK_BENCH_PORT", "8766"))
BASE = f"http://127.0.0.1:{PORT}"
BATCH = 10_000
CLIENTS = int(os.environ.get("ESIMDESK_BENCH_CLIENTS", "4"))
# Two sync workers more than there are posting clients: a sync worker takes a connection
# only when it is idle, so a small post (the latency probe's) never queues behind a batch
# of 10,000 as it can in a busy gthread worker (measured: p99 3.5 s with 4 x 2 threads).
# With only one spare, a client's next batch sometimes takes it just before the probe's
# post arrives, which then waits for a batch to finish (p99 535 ms against 248 ms with two
# spares, same code). An idle sync worker costs memory, not CPU.
WORKERS = int(os.environ.get("ESIMDESK_BENCH_WORKERS", str(CLIENTS + 2)))
# How often the latency probe reads the balance: a finer poll would measure more finely
# but takes CPU from the two cores under test (at 2 ms, ~400 reads/s).
POLL_SECONDS = 0.01
THREADS = int(os.environ.get("ESIMDESK_BENCH_THREADS", "1"))

GENERATE = """
INSERT INTO accounts_user (password, is_superuser, email, phone, phone_verified, name, language,
                           time_zone, preferred_currency, is_staff, is_active, date_joined)
SELECT '!', false, 'bench' || g || '@example.com', NULL, false, '', 'en', 'UTC', 'USD', false,
       true, now()
  FROM generate_series(1, 2000) g;
UPDATE esims_esim SET owner_id = (SELECT min(id) FROM accounts_user) + id % 2000;
INSERT INTO subscriptions_subscription (esim_id, group_id, plan_id, auto_renew, created_at)
SELECT e.id, NULL, (SELECT id FROM catalog_plan WHERE code = 'jp-10gb-month'), false, now()
  FROM esims_esim e;
INSERT INTO subscriptions_period (subscription_id, sequence, plan_id, starts_at, ends_at, state,
                                  extra_days, starts_on_data_out, created_at)
SELECT s.id, 1, s.plan_id, now() - interval '1 day', now() + interval '29 days', 'active',
       0, false, now()
  FROM subscriptions_subscription s;
INSERT INTO subscriptions_allowance (period_id, kind, source, total, used, overage)
SELECT p.id, k.kind, 'plan', k.total, 0, 0
  FROM subscriptions_period p
 CROSS JOIN (VALUES ('data', 10737418240), ('voice', 6000), ('sms', 100)) k(kind, total);
VACUUM ANALYZE
"""


def recreate_database() -> None:
    name = urlparse(DB_URL).path.lstrip("/")
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def iccid(n: int) -> str:
    body = f"8999077{n:011d}"
    return body + luhn.calc_check_digit(body)


def generate(esims: int) -> None:
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        owner = conn.execute("SELECT id FROM accounts_user ORDER BY id LIMIT 1").fetchone()
        assert owner is not None
        with conn.cursor() as cur, cur.copy(
                "COPY esims_esim (iccid, eid, owner_id, label, status, smdp_address, "
                "matching_id, confirmation_code, upstream, upstream_reference, created_at) "
                "FROM STDIN") as copy:
            for n in range(esims + 1):  # number 0 is the latency probe's own
                copy.write_row((iccid(n), "", owner[0], "", "in_use", "smdp.bench.test",
                                f"M{n}", "", "simulator", "", dt.datetime.now(dt.UTC)))
        for statement in GENERATE.split(";\n"):
            conn.execute(statement)


def records(start: int, count: int, esims: int, rng: random.Random) -> list[dict[str, Any]]:
    now = dt.datetime.now(dt.UTC)
    out = []
    for i in range(start, start + count):
        kind = "data" if i % 20 else ("voice" if i % 40 else "sms")
        out.append({"id": f"b{i}", "iccid": iccid(rng.randint(1, esims)), "kind": kind,
                    "quantity": rng.randint(1, 5_000_000) if kind == "data" else 1,
                    "occurred_at": (now - dt.timedelta(seconds=rng.randint(0, 3600)))
                    .isoformat()})
    return out


def post(body: bytes, key: str) -> dict[str, Any]:
    request = urllib.request.Request(BASE + "/api/v1/ops/usage-events", data=body,
                                     method="POST",
                                     headers={"Authorization": f"Bearer {key}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        return orjson.loads(response.read())


def latency_probe(key: str, stop: threading.Event, out: list[float]) -> None:
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        n = 0
        while not stop.is_set():
            n += 1
            before = conn.execute(
                "SELECT COALESCE(SUM(a.used + a.overage), 0) FROM subscriptions_allowance a "
                "JOIN subscriptions_period p ON p.id = a.period_id "
                "JOIN subscriptions_subscription s ON s.id = p.subscription_id "
                "JOIN esims_esim e ON e.id = s.esim_id WHERE e.iccid = %s AND a.kind = 'data'",
                [iccid(0)]).fetchone()[0]
            record = {"id": f"probe{n}", "iccid": iccid(0), "kind": "data", "quantity": 1,
                      "occurred_at": dt.datetime.now(dt.UTC).isoformat()}
            started = time.perf_counter()
            threading.Thread(target=post, args=(orjson.dumps([record]), key),
                             daemon=True).start()
            while True:
                seen = conn.execute(
                    "SELECT COALESCE(SUM(a.used + a.overage), 0) FROM subscriptions_allowance a "
                    "JOIN subscriptions_period p ON p.id = a.period_id "
                    "JOIN subscriptions_subscription s ON s.id = p.subscription_id "
                    "JOIN esims_esim e ON e.id = s.esim_id "
                    "WHERE e.iccid = %s AND a.kind = 'data'", [iccid(0)]).fetchone()[0]
                if seen > before:
                    out.append(time.perf_counter() - started)
                    break
                if time.perf_counter() - started > 30:
                    out.append(30.0)
                    break
                time.sleep(POLL_SECONDS)
            time.sleep(0.1)


def worker_rss_kb(master: int) -> list[int]:
    rss = []
    children = Path(f"/proc/{master}/task/{master}/children")
    for pid in children.read_text().split() if children.exists() else []:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                rss.append(int(line.split()[1]))
    return rss


def warm_up(key: str) -> None:
    """One small post per worker before the clock starts, as on a server that has been
    running: a worker's first request opens its database connection and fills the
    backend's catalog caches (about 20 ms idle, measured at 0.3-0.5 s when it lands on
    cold workers at the moment the load starts, which alone made the p99)."""
    def one(n: int) -> None:
        post(orjson.dumps([{"id": f"warm{n}", "iccid": iccid(0), "kind": "data", "quantity": 1,
                            "occurred_at": dt.datetime.now(dt.UTC).isoformat()}]), key)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(WORKERS * 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def http_run(key: str, batches: list[bytes]) -> tuple[float, int, list[float]]:
    queue = list(reversed(batches))
    lock = threading.Lock()
    accepted = [0]
    latencies: list[float] = []
    stop = threading.Event()

    def client() -> None:
        while True:
            with lock:
                if not queue:
                    return
                body = queue.pop()
            answer = post(body, key)
            with lock:
                accepted[0] += answer["accepted"]

    probe = threading.Thread(target=latency_probe, args=(key, stop, latencies))
    started = time.perf_counter()
    probe.start()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - started
    stop.set()
    probe.join()
    return took, accepted[0], latencies


def db_only_run(count: int, esims: int) -> float:
    """The service's database path in-process: no HTTP, no JSON, no validation."""
    import django

    django.setup()
    from django.db import connection, transaction

    from esimdesk.core import clock
    from esimdesk.subscriptions.reminders import low_data_thresholds
    from esimdesk.usage import ingest_pg
    from esimdesk.usage.services import _after_charging, late_grace

    rng = random.Random(2)
    raw = records(10_000_000, count, esims, rng)
    # Ready-made COPY data: the probe spends no Python time on the records themselves.
    chunks = [ingest_pg.prepare([(i, r["id"], r["iccid"], r["kind"], r["quantity"],
                                  dt.datetime.fromisoformat(r["occurred_at"]))
                                 for i, r in enumerate(raw[s:s + BATCH])])[0]
              for s in range(0, count, BATCH)]
    near = min([100, *low_data_thresholds()])
    queue = list(reversed(chunks))
    lock = threading.Lock()

    def client() -> None:
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    chunk = queue.pop()
                now = dt.datetime.now(dt.UTC)
                with transaction.atomic(), connection.cursor() as cursor:
                    _, _, _, touched = ingest_pg.charge_batch(
                        cursor, cursor.cursor, source="probe", data=chunk,
                        at=clock.db_value(now), grace=late_grace(), near_percent=near)
                    if touched:
                        _after_charging(sorted(touched), now)
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--esims", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--probe-records", type=int, default=300_000)
    args = parser.parse_args()
    recreate_database()
    env = {**os.environ, "ESIMDESK_DATABASE_URL": DB_URL,
           "ESIMDESK_DATA_DIR": tempfile.mkdtemp(prefix="esimdesk-bench-"),
           "ESIMDESK_SECRET_KEY": "bench-secret-key-bench-secret-key-bench",
           "ESIMDESK_PUBLIC_URL": BASE, "ESIMDESK_LOG_FORMAT": "json",
           "DJANGO_SETTINGS_MODULE": "esimdesk.settings"}
    exe = [sys.executable, "-m", "esimdesk.cli"]
    subprocess.run([*exe, "manage", "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([*exe, "manage", "shell", "-c",
                    "from esimdesk.catalog.demo import load_catalog; load_catalog()"],
                   env=env, check=True)
    # The first user owns the eSIMs until GENERATE spreads them over 2,000 users.
    subprocess.run([*exe, "manage", "shell", "-c",
                    "from esimdesk.accounts.models import User; "
                    "User.objects.create_user('bench0@example.com', 'x-long-password-1')"],
                   env=env, check=True)
    began = time.perf_counter()
    generate(args.esims)
    print(f"generated {args.esims:,} active eSIMs in {time.perf_counter() - began:.1f} s")
    key = subprocess.run([*exe, "apikey", "create", "bench"], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    rng = random.Random(1)
    batches = [orjson.dumps(records(s, min(BATCH, args.records - s), args.esims, rng))
               for s in range(0, args.records, BATCH)]
    web = subprocess.Popen([*exe, "web", "--port", str(PORT), "--workers", str(WORKERS),
                            "--threads", str(THREADS)],
                           env={**env, "GUNICORN_CMD_ARGS": "--access-logfile=/dev/null"},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(BASE + "/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("bench: the web server did not come up")
                time.sleep(0.2)
        warm_up(key)
        took, accepted, latencies = http_run(key, batches)
        rss = worker_rss_kb(web.pid)
    finally:
        web.terminate()
        web.wait(20)
    http_rate = accepted / took
    os.environ.update(env)
    probe_rate = db_only_run(args.probe_records, args.esims)
    quantiles = statistics.quantiles(latencies, n=100)
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"HTTP: {accepted:,} records accepted in {took:.1f} s = {http_rate:,.0f} records/s "
          f"({len(batches)} requests of {BATCH:,}, {CLIENTS} connections, gunicorn "
          f"{WORKERS} workers x {THREADS} threads)")
    print(f"record -> visible balance under load ({len(latencies)} probes): "
          f"p50 {quantiles[49] * 1000:.0f} ms, p99 {quantiles[98] * 1000:.0f} ms")
    print(f"gunicorn workers peak RSS: max {max(rss or [0]) / 1024:.0f} MiB, "
          f"sum {sum(rss) / 1024:.0f} MiB ({len(rss)} workers)")
    print(f"database-only probe: {probe_rate:,.0f} records/s; HTTP / probe = "
          f"{http_rate / probe_rate:.0%}")


if __name__ == "__main__":
    main()
