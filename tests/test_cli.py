"""The esimdesk command as an operator runs it (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def esimdesk(*args: str, env: dict[str, str] | None = None,
             tmp: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ESIMDESK_")}
    base.update({"ESIMDESK_DATA_DIR": str(tmp), "DJANGO_SETTINGS_MODULE": "esimdesk.settings"})
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "esimdesk.cli", *args], env=base,
                          capture_output=True, text=True, timeout=120, check=False)


def test_production_refuses_a_missing_or_default_secret_key(tmp_path: Path) -> None:
    for key in ("", "esimdesk-insecure-default-secret-key"):
        result = esimdesk("check", tmp=tmp_path, env={"ESIMDESK_PRODUCTION": "1",
                                                      "ESIMDESK_SECRET_KEY": key})
        assert result.returncode != 0
        assert "ESIMDESK_SECRET_KEY" in result.stdout + result.stderr


def test_embedded_default_generates_a_secret_key_once(tmp_path: Path) -> None:
    result = esimdesk("check", tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    esimdesk("check", tmp=tmp_path)
    assert (tmp_path / "secret_key").read_text() == key
    assert "ESIMDESK_DATABASE_URL" in result.stdout
    assert "database: ok" in result.stdout


@pytest.mark.django_db
def test_apikey_create_prints_a_working_key_once(tmp_path: Path) -> None:
    from esimdesk.accounts import services

    key, plain = services.create_api_key(name="network")
    assert services.authenticate_api_key(plain) == key
    assert plain not in str(key.__dict__)
    assert services.authenticate_api_key(plain + "x") is None
    result = esimdesk("manage", "migrate", "-v", "0", tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    created = esimdesk("apikey", "create", "billing", tmp=tmp_path)
    assert created.returncode == 0 and created.stdout.startswith("esk_")
    assert "created with usage:write;" in created.stderr
    monitoring = esimdesk("apikey", "create", "grafana", "--scope", "ops:read", tmp=tmp_path)
    assert monitoring.returncode == 0 and "created with ops:read;" in monitoring.stderr
    again = esimdesk("apikey", "create", "billing", tmp=tmp_path)
    assert again.returncode == 1
    assert again.stderr.strip() == "esimdesk: cannot create key: api_key_exists"


@pytest.mark.django_db
def test_sweep_command_and_readiness(tmp_path: Path) -> None:
    from django.core.management import call_command
    from django.test import Client

    from esimdesk.core.heartbeat import beat

    call_command("sweep", "all")
    assert Client().get("/readyz").status_code == 503
    beat("worker")
    ready = Client().get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["worker"] == "ok"
    assert Client().get("/healthz").json() == {"status": "ok"}


def test_links_follow_the_port_unless_the_public_url_is_set(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from esimdesk import cli

    monkeypatch.delenv("ESIMDESK_PUBLIC_URL", raising=False)
    cli.serve_defaults("127.0.0.1", 8100)
    assert os.environ["ESIMDESK_PUBLIC_URL"] == "http://127.0.0.1:8100"
    monkeypatch.delenv("ESIMDESK_PUBLIC_URL")
    cli.serve_defaults("0.0.0.0", 8101)
    assert os.environ["ESIMDESK_PUBLIC_URL"] == "http://127.0.0.1:8101"
    monkeypatch.setenv("ESIMDESK_PUBLIC_URL", "https://shop.example")
    cli.serve_defaults("127.0.0.1", 8102)
    assert os.environ["ESIMDESK_PUBLIC_URL"] == "https://shop.example"


def test_the_public_url_reaches_the_settings_of_a_run_on_another_port(tmp_path: Path) -> None:
    code = ("import os, sys; from esimdesk import cli; cli.serve_defaults('127.0.0.1', 8123); "
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.PUBLIC_URL, settings.CSRF_TRUSTED_ORIGINS[0])")
    base = {k: v for k, v in os.environ.items() if not k.startswith("ESIMDESK_")}
    base.update({"ESIMDESK_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "esimdesk.settings"})
    result = subprocess.run([sys.executable, "-c", code], env=base, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.stdout.split() == ["http://127.0.0.1:8123"] * 2, result.stderr


def test_two_instances_have_their_own_gunicorn_control_socket(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from esimdesk import cli

    monkeypatch.setenv("ESIMDESK_DATA_DIR", str(tmp_path))
    sockets = []
    for port in (8100, 8200):
        argv = cli.web_argv(argparse.Namespace(host="127.0.0.1", port=port, workers=2,
                                               threads=4))
        sockets.append(argv[argv.index("--control-socket") + 1])
    assert sockets[0] != sockets[1]
    assert all(s.startswith(str(tmp_path)) for s in sockets)
    deep = tmp_path / ("d" * 120)
    monkeypatch.setenv("ESIMDESK_DATA_DIR", str(deep))
    long_path = cli.control_socket(8100)
    assert len(long_path.encode()) <= 100 and long_path != cli.control_socket(8200)


def test_check_suppliers_says_one_line_each_and_exits_non_zero_on_a_failure(
        tmp_path: Path) -> None:
    bad = esimdesk("check", "--suppliers", tmp=tmp_path, env={
        "ESIMDESK_UPSTREAM_PROVIDERS": "simulator,es2plsu",
        "ESIMDESK_SIMULATOR_ICCID_PREFIX": "89x"})
    assert bad.returncode == 1
    assert bad.stdout.splitlines() == [
        "simulator: FAILED simulator_misconfigured: ESIMDESK_SIMULATOR_ICCID_PREFIX must be "
        "2-9 digits",
        "es2plsu: FAILED unknown_upstream: unknown upstream provider 'es2plsu'"]
    assert "Traceback" not in bad.stderr
    # A database not migrated yet: the simulator cannot read its books, in one line.
    unmigrated = esimdesk("check", "--suppliers", tmp=tmp_path)
    assert unmigrated.returncode == 1 and "Traceback" not in unmigrated.stderr
    assert unmigrated.stdout.startswith("simulator: FAILED unexpected_error: OperationalError")
    assert esimdesk("manage", "migrate", "-v", "0", tmp=tmp_path).returncode == 0
    good = esimdesk("check", "--suppliers", tmp=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.startswith("simulator: ok (")
    assert "books readable (0 profiles issued)" in good.stdout
    named = esimdesk("check", "--suppliers=esimgo", tmp=tmp_path)
    assert named.returncode == 1 and named.stdout.startswith("esimgo: FAILED ")
    assert "Traceback" not in named.stderr


@pytest.mark.django_db
def test_check_says_which_options_staff_set_in_the_console(
        capsys: pytest.CaptureFixture[str], console_settings_on: None) -> None:
    from esimdesk import cli
    from esimdesk.core.console_settings import encrypt
    from esimdesk.core.models import ConsoleSetting

    ConsoleSetting.objects.create(name="ESIMDESK_ES2PLUS_URL",
                                  value_encrypted=encrypt("https://smdp.console.test"))
    ConsoleSetting.objects.create(name="ESIMDESK_ES2PLUS_CLIENT_KEY",
                                  value_encrypted=encrypt("-----BEGIN PRIVATE KEY-----\nx"))
    cli.main(["check"])
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines["ESIMDESK_ES2PLUS_URL"].split()[1:3] == ["console", "https://smdp.console.test"]
    assert lines["ESIMDESK_ES2PLUS_CLIENT_KEY"].split()[1:] == ["console", "(set)"]
