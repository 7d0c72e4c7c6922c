"""The sandbox is optional: a deployment with ``ESIMDESK_SANDBOX=0`` starts and serves without
it, the real suppliers and payment providers it configures still resolve, and nothing outside
the sandbox imports it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import esimdesk
from tests.test_cli import esimdesk as esimdesk_command

WITHOUT_SANDBOX = {"ESIMDESK_SANDBOX": "0", "ESIMDESK_UPSTREAM_PROVIDERS": "esimgo",
                   "ESIMDESK_PAYMENT_PROVIDERS": "stripe",
                   "ESIMDESK_ESIMGO_API_KEY": "esimgo-key",
                   "ESIMDESK_ESIMGO_CALLBACK_SECRET": "callback-secret"}

# Run in a fresh interpreter: the test process has the sandbox installed.
PROBE = """
import sys
import django
django.setup()
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.urls import resolve

from esimdesk import config, scheduler
from esimdesk.payments import registry as providers
from esimdesk.provisioning import registry as suppliers

assert not apps.is_installed("esimdesk.sandbox")
call_command("migrate", verbosity=0)
call_command("check")
assert type(suppliers.get("esimgo")).__name__ == "EsimGoProvider"
assert not suppliers.known("simulator")
assert providers.enabled_names() == ["stripe"]
assert providers.provider_class("stripe").__name__ == "StripeProvider"
assert "sandbox" not in providers.PROVIDERS
names = {option.name for option in config.options()}
assert {"ESIMDESK_ESIMGO_API_KEY", "ESIMDESK_ES2PLUS_URL"} <= names, names
assert not {"ESIMDESK_SIMULATOR_API_KEY", "ESIMDESK_SANDBOX_CURRENCIES"} & names, names
assert "usage_simulation" not in scheduler.SWEEPS
client = Client()
assert client.get("/healthz").status_code == 200
assert client.get("/").status_code == 200
assert client.get("/staff/").status_code == 302
assert client.post("/hooks/upstream/simulator").status_code == 404
assert client.post("/hooks/upstream/esimgo", data=b"{}",
                   content_type="application/json").status_code == 400  # bad signature
assert client.get("/pay/sandbox/x/").status_code == 404
assert client.get("/simulator/v1/profiles/1").status_code == 404
assert resolve("/staff/simulator/").url_name != "staff_simulator"
assert not any(name.startswith("esimdesk.sandbox") for name in sys.modules), "imported"
print("served without the sandbox")
"""


def _environment(tmp: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ESIMDESK_")}
    base.update({"ESIMDESK_DATA_DIR": str(tmp), "DJANGO_SETTINGS_MODULE": "esimdesk.settings",
                 **WITHOUT_SANDBOX})
    return base


def test_the_site_starts_and_serves_without_the_sandbox(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], env=_environment(tmp_path),
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "served without the sandbox" in result.stdout


def test_esimdesk_check_passes_without_the_sandbox(tmp_path: Path) -> None:
    result = esimdesk_command("check", tmp=tmp_path, env=WITHOUT_SANDBOX)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ESIMDESK_ESIMGO_API_KEY" in result.stdout
    assert "ESIMDESK_SIMULATOR" not in result.stdout


def test_the_sandbox_lists_its_own_options_when_installed(tmp_path: Path) -> None:
    result = esimdesk_command("check", tmp=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ESIMDESK_SIMULATOR_API_KEY" in result.stdout
    assert "ESIMDESK_SANDBOX_CURRENCIES" in result.stdout


# Where a module may name the sandbox: itself, and what decides whether it is installed.
ALLOWED = {"settings.py", "cli.py", "demo.py"}


def test_nothing_outside_the_sandbox_imports_it() -> None:
    root = Path(esimdesk.__file__).parent
    importing = re.compile(r"^\s*(from esimdesk\.sandbox\b|from esimdesk import sandbox\b"
                           r"|import esimdesk\.sandbox\b)", re.M)
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.py")
                 if path.relative_to(root).parts[0] != "sandbox"
                 and str(path.relative_to(root)) not in ALLOWED
                 and importing.search(path.read_text())]
    assert offenders == []
