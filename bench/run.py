"""esimdesk benchmarks. Prints figures; record them in docs/PERFORMANCE.md.

    make bench                      # against PostgreSQL at ESIMDESK_BENCH_DATABASE_URL

1. Customer API read, ``GET /api/v1/esims/{iccid}`` with a session token, under gunicorn
   (4 workers x 2 threads, persistent database connections), loaded by wrk with 32
   connections for 15 s (``ESIMDESK_BENCH_WORKERS`` / ``_THREADS`` change the shape).
2. Payment -> eSIM ready: create an order, approve the sandbox payment, poll the order until
   it is fulfilled by the worker (simulator at zero latency); median over 40 purchases.

It needs PostgreSQL (default postgresql://postgres@127.0.0.1:5432/esimdesk_bench, created and
migrated afresh) and wrk (Debian package ``wrk``). Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import psycopg

DB_URL = os.environ.get("ESIMDESK_BENCH_DATABASE_URL",
                        "postgresql://postgres@127.0.0.1:5432/esimdesk_bench")
PORT = int(os.environ.get("ESIMDESK_BENCH_PORT", "8765"))
# Production shape: sessions (API tokens) cached in Redis. Set it empty to bench without.
REDIS_URL = os.environ.get("ESIMDESK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
BASE = f"http://127.0.0.1:{PORT}"
PURCHASES = int(os.environ.get("ESIMDESK_BENCH_PURCHASES", "40"))
# The `esimdesk web` defaults: 4 workers x 2 threads (gthread keeps connections alive; 4 sync
# workers, which close each connection, served half as many requests here).
WORKERS = int(os.environ.get("ESIMDESK_BENCH_WORKERS", "4"))
THREADS = int(os.environ.get("ESIMDESK_BENCH_THREADS", "2"))


def recreate_database() -> None:
    parsed = urlparse(DB_URL)
    name = parsed.path.lstrip("/")
    admin = DB_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def call(method: str, path: str, body: object = None, token: str = "") -> dict:
    request = urllib.request.Request(BASE + path, method=method,
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json",
                                              "X-Session-Token": token})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_ready(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(BASE + "/healthz", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("bench: the web server did not come up")


def payment_to_ready(token: str) -> list[float]:
    timings = []
    for _ in range(PURCHASES):
        order = call("POST", "/api/v1/orders", {"lines": [{"type": "new_esim",
                                                           "plan": "jp-1gb-day"}],
                                                "currency": "USD", "provider": "sandbox"},
                     token)
        started = time.perf_counter()
        call("POST", f"/api/v1/payments/sandbox/{order['payment']['id']}/complete",
             {"outcome": "approve"}, token)
        while call("GET", f"/api/v1/orders/{order['id']}", token=token)["status"] != \
                "fulfilled":
            time.sleep(0.01)
        timings.append(time.perf_counter() - started)
    return timings


def api_read(token: str, iccid: str) -> str:
    script = Path(tempfile.mkdtemp()) / "token.lua"
    script.write_text(f'wrk.headers["X-Session-Token"] = "{token}"\n')
    result = subprocess.run(["wrk", "-t2", "-c32", "-d15s", "--latency", "-s", str(script),
                             f"{BASE}/api/v1/esims/{iccid}"],
                            capture_output=True, text=True, check=True)
    return result.stdout


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("bench: needs wrk (apt-get install wrk)")
    recreate_database()
    data_dir = tempfile.mkdtemp(prefix="esimdesk-bench-")
    env = {**os.environ, "ESIMDESK_DATABASE_URL": DB_URL, "ESIMDESK_DATA_DIR": data_dir,
           "ESIMDESK_PUBLIC_URL": BASE, "ESIMDESK_LOG_FORMAT": "json",
           "ESIMDESK_REDIS_URL": REDIS_URL,
           "ESIMDESK_SECRET_KEY": "bench-secret-key-bench-secret-key-bench"}
    exe = [sys.executable, "-m", "esimdesk.cli"]
    subprocess.run([*exe, "manage", "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([*exe, "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    web = subprocess.Popen([*exe, "web", "--port", str(PORT), "--workers", str(WORKERS),
                            "--threads", str(THREADS)],
                           env={**env, "GUNICORN_CMD_ARGS": "--access-logfile=/dev/null"},
                           **quiet)
    worker = subprocess.Popen([*exe, "worker"], env=env, **quiet)
    try:
        wait_ready()
        login = urllib.request.Request(
            BASE + "/_allauth/app/v1/auth/login", method="POST",
            data=json.dumps({"email": "traveller@esimdesk.localhost",
                             "password": "esimdesk-demo"}).encode(),
            headers={"Content-Type": "application/json"})
        token = json.loads(urllib.request.urlopen(login).read())["meta"]["session_token"]
        iccid = call("GET", "/api/v1/esims", token=token)["items"][0]["iccid"]

        timings = payment_to_ready(token)
        print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
              f"Python {platform.python_version()}, Redis session cache: "
              f"{'yes' if REDIS_URL else 'no'}")
        print(f"payment -> eSIM ready ({PURCHASES} purchases): median "
              f"{statistics.median(timings) * 1000:.0f} ms, p90 "
              f"{statistics.quantiles(timings, n=10)[-1] * 1000:.0f} ms, max "
              f"{max(timings) * 1000:.0f} ms")
        print("GET /api/v1/esims/{iccid}, 32 connections, 15 s:")
        print(api_read(token, iccid))
    finally:
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            process.wait(10)


if __name__ == "__main__":
    main()
