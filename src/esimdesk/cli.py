"""The ``esimdesk`` command: run the platform, its parts, and operator chores.

    esimdesk run [--host H] [--port P]   everything on the embedded default
    esimdesk web | realtime | worker | scheduler   one part each, for production
    esimdesk check                       what is configured and what is missing
    esimdesk check --suppliers[=NAMES]   a live handshake with each supplier, one line each
    esimdesk apikey create NAME [--scope S]  a new integration key, printed once
    esimdesk demo                        load the demo data
    esimdesk usage import FILE [--source S]  charge a CDR file (CSV), re-runnable
    esimdesk manage ARGS...              any Django management command
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from esimdesk import __version__

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "esimdesk.settings")


def _django() -> None:
    import django

    from esimdesk.config import ConfigurationError

    try:
        django.setup()
    except ConfigurationError as error:
        sys.exit(f"esimdesk: {error}")


def _manage(*args: str) -> None:
    from django.core.management import call_command

    call_command(*args)


def cmd_check(args: argparse.Namespace) -> int:
    if args.suppliers is not None:
        return check_suppliers(args.suppliers)
    from esimdesk import config

    def show(option: config.Option) -> None:
        # A value staff set in the console's encrypted settings wins over the environment.
        console = config.console_value(option.name)
        value = console if console is not None else os.environ.get(option.name)
        shown = ("(set)" if value else "") if option.secret else " ".join((value or "").split())
        state = "console" if console is not None else "set" if value is not None else "default"
        default = "" if option.secret else f" [default: {option.default or '-'}]"
        print(f"{option.name:34} {state:8} {shown}{default}")

    problems = 0
    try:
        config.secret_key()
    except config.ConfigurationError as error:
        print(f"PROBLEM: {error}")
        problems += 1
    _django()
    # The platform's options, then the suppliers' and providers' own, declared by their
    # adapters (known once the apps are loaded).
    for option in config.options():
        show(option)
    from django.db import connection

    try:
        connection.ensure_connection()
        print(f"database: ok ({connection.vendor})")
    except Exception as error:  # reported, not raised: check must always answer
        print(f"PROBLEM: database unreachable: {error}")
        problems += 1
    from django.core import checks

    # The apps' own checks of what is configured (e.g. supplier callbacks nobody can
    # authenticate): errors count as problems, warnings are shown.
    for message in checks.run_checks(tags=["esimdesk"], include_deployment_checks=True):
        serious = message.is_serious()
        hint = f" ({message.hint})" if message.hint else ""
        print(f"{'PROBLEM' if serious else 'WARNING'}: {message.msg}{hint}")
        problems += serious
    from django.conf import settings

    if settings.PRODUCTION:
        from esimdesk.core.deploy_checks import production_warnings

        for warning in production_warnings():
            print(f"WARNING: {warning}")
    return 1 if problems else 0


def check_suppliers(names: str) -> int:
    """``esimdesk check --suppliers``: each supplier's live handshake (the configured ones
    in failover order, or ``names``, comma-separated), one line each; non-zero when one
    fails or none is configured. Whatever goes wrong is one line, never a traceback."""
    try:
        _django()
        from esimdesk.provisioning import connection

        chosen = [n.strip() for n in names.split(",") if n.strip()] or connection.configured()
        if not chosen:
            print("esimdesk: no supplier configured (ESIMDESK_UPSTREAM_PROVIDERS)")
            return 1
        failed = 0
        for name in chosen:
            result = connection.check(name)
            if result.ok:
                print(f"{name}: ok ({result.duration_ms} ms) {result.detail}")
            else:
                failed += 1
                print(f"{name}: FAILED {result.code}: {result.detail}")
        return 1 if failed else 0
    except Exception as error:  # the check itself must answer in one line
        said = " ".join(str(error).split())
        print(f"esimdesk: cannot check the suppliers: {type(error).__name__}: {said}")
        return 1


def cmd_web(args: argparse.Namespace) -> int:
    # --preload: the master imports the application once and forks ready workers. Without
    # it every worker imports it after the server already answers, so the first requests
    # wait for a worker still starting (over a second, measured under load), and each
    # worker holds its own copy of the code. New code needs a restart, not a HUP.
    # Threaded workers read each request in their event loop before a thread takes it
    # (esimdesk.webserver), so clients that send part of a request and stop hold no thread.
    # --threads 1 keeps gunicorn's sync worker, which accepts a connection only when idle:
    # it has no such defence and belongs behind a buffering proxy (docs/operations.md).
    serve_defaults(args.host, args.port)
    os.execv(sys.executable, web_argv(args))
    return 0


def web_argv(args: argparse.Namespace) -> list[str]:
    worker = ["--worker-class", "esimdesk.webserver.BufferingWorker"] if args.threads > 1 else []
    return [sys.executable, "-m", "gunicorn", "esimdesk.wsgi:application",
            "--bind", f"{args.host}:{args.port}", "--workers", str(args.workers),
            "--threads", str(args.threads), *worker, "--access-logfile", "-",
            "--forwarded-allow-ips", "127.0.0.1", "--preload",
            "--control-socket", control_socket(args.port)]


def control_socket(port: int) -> str:
    """gunicorn's control socket, one per instance: its default is a single path per user
    ($XDG_RUNTIME_DIR/gunicorn.ctl), so a second instance on another port took it over.
    In the data directory, named by port; a path too long for a Unix socket (about 100
    bytes) goes to the temporary directory under a name made from the data directory."""
    from esimdesk import config

    data = config.data_dir()
    path = data / f"gunicorn-{port}.ctl"
    if len(str(path).encode()) <= 100:
        return str(path)
    digest = hashlib.sha256(str(data).encode()).hexdigest()[:16]
    return str(Path(tempfile.gettempdir()) / f"esimdesk-{os.getuid()}-{digest}-{port}.ctl")


def serve_defaults(host: str, port: int) -> None:
    """Links in pages, mail, QR codes and receipts point where this instance listens, unless
    ESIMDESK_PUBLIC_URL says otherwise (set before the settings are read; the child
    processes inherit it)."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104
    if ":" in shown:
        shown = f"[{shown}]"
    os.environ.setdefault("ESIMDESK_PUBLIC_URL", f"http://{shown}:{port}")


def cmd_realtime(args: argparse.Namespace) -> int:
    """WebSockets (live chat, live updates) under /ws/ with uvicorn. Without Redis the channel
    layer is in memory, so only one realtime process may run and it receives the other
    processes' events on its internal publish endpoint."""
    _django()
    import uvicorn
    from django.conf import settings

    from esimdesk.support import realtime

    if args.workers > 1 and not settings.REDIS_URL:
        print("esimdesk: more than one realtime worker needs ESIMDESK_REDIS_URL",
              file=sys.stderr)
        return 1
    realtime.IN_REALTIME_PROCESS = True
    # Chat frames are a few KB: a frame over 1 MiB closes the connection (uvicorn's default
    # lets each one hold 16 MiB); smaller bad frames get an error frame (support/consumers).
    uvicorn.run("esimdesk.asgi:application", host=args.host, port=args.port,
                workers=args.workers, log_level="warning", proxy_headers=True,
                forwarded_allow_ips="127.0.0.1", ws_max_size=1024 * 1024)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _django()
    from esimdesk import config
    from esimdesk.core.heartbeat import beat

    def heartbeat() -> None:
        from django.db import close_old_connections

        while True:
            try:
                beat("worker")
            except Exception as error:  # keep beating; readiness shows the gap
                print(f"esimdesk worker: heartbeat failed: {error}", file=sys.stderr)
            close_old_connections()
            time.sleep(15)

    threading.Thread(target=heartbeat, daemon=True).start()
    _manage("db_worker", "--queue-name", "*", "--interval",
            config.env("ESIMDESK_WORKER_INTERVAL"), "--no-reload", "--no-startup-delay")
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    _django()
    from esimdesk import config, scheduler

    scheduler.loop(float(config.env("ESIMDESK_SCHEDULER_INTERVAL")), once=args.once)
    return 0


def cmd_apikey(args: argparse.Namespace) -> int:
    _django()
    from esimdesk.accounts import services
    from esimdesk.core.errors import DomainError

    try:
        key, plain = services.create_api_key(name=args.name,
                                             scopes=args.scope or ["usage:write"])
    except DomainError as error:
        print(f"esimdesk: cannot create key: {error.code}", file=sys.stderr)
        return 1
    print(plain)
    print(f"(key '{key.name}' created with {', '.join(key.scopes)}; it is shown only this "
          "once)", file=sys.stderr)
    return 0


def cmd_demo(_: argparse.Namespace) -> int:
    _django()
    _manage("load_demo")
    return 0


def cmd_usage_import(args: argparse.Namespace) -> int:
    _django()
    from django.core.management.base import CommandError

    try:
        _manage("usage_import", args.file, "--source", args.source)
    except CommandError as error:
        print(f"esimdesk: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["esimdesk manage", *args.rest])
    return 0


def _prepare() -> None:
    """Migrate, and load the demo data into an empty database."""
    _django()
    from esimdesk import settings

    _manage("migrate", "--no-input", "-v", "0")
    from esimdesk.catalog.models import Plan

    if not Plan.objects.exists() and not settings.PRODUCTION:
        print("esimdesk: empty database, loading demo data", flush=True)
        try:
            _manage("load_demo")
        except Exception as error:  # demo data is a convenience: it never stops a start
            print(f"esimdesk: demo data not (fully) loaded: {type(error).__name__}: {error}",
                  file=sys.stderr, flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    os.environ.setdefault("ESIMDESK_LOG_FORMAT", "console")  # a person is watching
    serve_defaults(args.host, args.port)
    _prepare()
    from django.conf import settings

    exe = [sys.executable, "-m", "esimdesk.cli"]
    realtime_port = args.port + 1
    # The browser reaches the realtime process on the next port; the other processes hand
    # it live events there (no Redis needed on one machine).
    os.environ.setdefault("ESIMDESK_REALTIME_URL", f"ws://{args.host}:{realtime_port}")
    os.environ.setdefault("ESIMDESK_REALTIME_INTERNAL_URL", f"http://127.0.0.1:{realtime_port}")
    # The demo's simulated phones download, install and switch on new eSIMs by themselves,
    # so the order page's live steps and the dashboard move without a real device.
    os.environ.setdefault("ESIMDESK_SIMULATOR_AUTO_PROGRESS", "20")
    # The four processes count into one folder, so /metrics (served by web) adds up what
    # the worker and the scheduler counted too; emptied at each start.
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        counted = Path(settings.DATA_DIR) / "prometheus"
        shutil.rmtree(counted, ignore_errors=True)
        counted.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(counted)
    children = {
        "web": subprocess.Popen([*exe, "web", "--host", args.host, "--port", str(args.port),
                                 "--workers", "2"]),
        "realtime": subprocess.Popen([*exe, "realtime", "--host", args.host,
                                      "--port", str(realtime_port)]),
        "worker": subprocess.Popen([*exe, "worker"]),
        "scheduler": subprocess.Popen([*exe, "scheduler"]),
    }
    print(f"esimdesk: portal http://{args.host}:{args.port}/  "
          f"API http://{args.host}:{args.port}/api/v1/docs  "
          f"staff http://{args.host}:{args.port}/staff/  live ws://{args.host}:{realtime_port}/ws/"
          f"  (data in {settings.DATA_DIR})",
          flush=True)
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"esimdesk: {name} exited with {child.returncode}; stopping",
                      file=sys.stderr)
                stopping, code = True, 1
                break
        time.sleep(0.5)
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for child in children.values():
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    return code


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="esimdesk", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"esimdesk {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="the whole platform on the embedded default")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.set_defaults(func=cmd_run)
    web = sub.add_parser("web", help="pages, API and webhooks (gunicorn)")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    web.add_argument("--workers", type=int, default=4)
    web.add_argument("--threads", type=int, default=2)
    web.set_defaults(func=cmd_web)
    realtime = sub.add_parser("realtime", help="WebSockets under /ws/ (uvicorn)")
    realtime.add_argument("--host", default="127.0.0.1")
    realtime.add_argument("--port", type=int, default=8001)
    realtime.add_argument("--workers", type=int, default=1)
    realtime.set_defaults(func=cmd_realtime)
    sub.add_parser("worker", help="background tasks").set_defaults(func=cmd_worker)
    sched = sub.add_parser("scheduler", help="periodic sweeps")
    sched.add_argument("--once", action="store_true", help="run every sweep once and exit")
    sched.set_defaults(func=cmd_scheduler)
    check = sub.add_parser("check", help="print the configuration")
    check.add_argument("--suppliers", nargs="?", const="", default=None, metavar="NAMES",
                       help="instead, make a live handshake with each configured supplier "
                       "(or those named, comma-separated) and print one line each")
    check.set_defaults(func=cmd_check)
    sub.add_parser("demo", help="load the demo data").set_defaults(func=cmd_demo)
    apikey = sub.add_parser("apikey", help="integration API keys")
    apikey_sub = apikey.add_subparsers(dest="action", required=True)
    create = apikey_sub.add_parser("create", help="create a key and print it once")
    create.add_argument("name")
    create.add_argument("--scope", action="append", choices=["usage:write", "ops:read"],
                        help="what the key may do, once per scope (default: usage:write)")
    create.set_defaults(func=cmd_apikey)
    usage = sub.add_parser("usage", help="usage records")
    usage_sub = usage.add_subparsers(dest="action", required=True)
    usage_import = usage_sub.add_parser("import", help="charge a CDR file (CSV: "
                                        "id,iccid,kind,quantity,occurred_at)")
    usage_import.add_argument("file")
    usage_import.add_argument("--source", default="cdr",
                              help="source the record ids are unique in (default: cdr)")
    usage_import.set_defaults(func=cmd_usage_import)
    manage = sub.add_parser("manage", help="a Django management command")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
