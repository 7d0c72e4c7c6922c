"""Supplier settings in the console's encrypted settings, as payment keys are: the ES2+ and
eSIM Go options may be set there (PEM certificates and keys over several lines), each change
is audited without a secret's value, and a change reaches the next supplier call within the
console settings' cache time, since adapters are made per call."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.test import Client

from esimdesk import config
from esimdesk.core import console_settings
from esimdesk.core.models import AuditEntry, ConsoleSetting
from esimdesk.provisioning import registry
from tests.console.conftest import member
from tests.provisioning.probe_supplier import ProbeSupplier, probe  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

ADD = "/staff/core/consolesetting/add/"
LIST = "/staff/core/consolesetting/"
PEM = ("-----BEGIN CERTIFICATE-----\r\nMIIBszCCAVmgAwIBAgIUQ2Vy\r\ndGlmaWNhdGUgZm9yIHRlc3Rz\r\n"
       "-----END CERTIFICATE-----\r\n")
KEY = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEG\n-----END PRIVATE KEY-----"


@pytest.fixture
def boss(console_settings_on: None) -> Client:
    return member("boss@example.com", "admin")[1]


def test_the_suppliers_options_may_be_set_in_the_console(boss: Client) -> None:
    html = boss.get(ADD).content.decode()
    for name in ("ESIMDESK_ES2PLUS_URL", "ESIMDESK_ES2PLUS_REQUESTER_ID", "ESIMDESK_ES2PLUS_CA",
                 "ESIMDESK_ES2PLUS_CLIENT_CERT", "ESIMDESK_ES2PLUS_CLIENT_KEY",
                 "ESIMDESK_ES2PLUS_ICCIDS", "ESIMDESK_ES2PLUS_CALLBACK_TOKEN",
                 "ESIMDESK_ESIMGO_API_KEY", "ESIMDESK_ESIMGO_API_BASE",
                 "ESIMDESK_ESIMGO_CALLBACK_SECRET", "ESIMDESK_STRIPE_SECRET_KEY"):
        assert f'<option value="{name}"' in html, name
    # Options the ES2+ adapter adds are console settings by their prefix.
    for name in ("ESIMDESK_ES2PLUS_SMDP_ADDRESS", "ESIMDESK_ES2PLUS_CLIENT_KEY_PASSPHRASE",
                 "ESIMDESK_ES2PLUS_TLS_MIN_VERSION", "ESIMDESK_ES2PLUS_TIMEOUT_SECONDS"):
        assert config.console_editable(name)
    assert '<option value="ESIMDESK_SIMULATOR_SMDP_HOST"' not in html
    assert '<option value="ESIMDESK_SECRET_KEY"' not in html


def test_a_pem_certificate_is_entered_over_several_lines(boss: Client) -> None:
    form = boss.get(ADD + "?name=ESIMDESK_ES2PLUS_CA").content.decode()
    box = re.search(r"<textarea[^>]*name=\"value\"[^>]*>", form)
    assert box and 'rows="14"' in box.group(0)
    response = boss.post(ADD, {"name": "ESIMDESK_ES2PLUS_CA", "value": PEM})
    assert response.status_code == 302
    assert config.env("ESIMDESK_ES2PLUS_CA") == PEM.replace("\r\n", "\n").strip()
    assert config.env_text_or_file("ESIMDESK_ES2PLUS_CA").count("\n") == 3
    listing = boss.get(LIST).content.decode()
    assert "4 lines" in listing and "MIIBszCCAVmg" not in listing
    entry = AuditEntry.objects.get(action="console_setting.set")
    assert entry.after["name"] == "ESIMDESK_ES2PLUS_CA"
    assert entry.after["value"].startswith("sha256:") and "MIIB" not in str(entry.after)
    # A one-line option refuses a value over several lines (a stray line break in a key).
    refused = boss.post(ADD, {"name": "ESIMDESK_ES2PLUS_URL",
                              "value": "https://smdp.example.com\r\n/gsma"})
    assert refused.status_code == 200 and "This setting takes one line." in \
        refused.content.decode()
    assert not ConsoleSetting.objects.filter(name="ESIMDESK_ES2PLUS_URL").exists()


def test_every_change_is_audited_and_a_secret_never_written(boss: Client) -> None:
    assert boss.post(ADD, {"name": "ESIMDESK_ES2PLUS_CLIENT_KEY", "value": KEY}).status_code \
        == 302
    assert boss.post(ADD, {"name": "ESIMDESK_ES2PLUS_URL",
                           "value": "https://smdp.one.test"}).status_code == 302
    url = ConsoleSetting.objects.get(name="ESIMDESK_ES2PLUS_URL")
    change = f"{LIST}{url.pk}/change/"
    assert "https://smdp.one.test" in boss.get(change).content.decode()  # not a secret
    key = ConsoleSetting.objects.get(name="ESIMDESK_ES2PLUS_CLIENT_KEY")
    assert "MIGHAgEA" not in boss.get(f"{LIST}{key.pk}/change/").content.decode()
    assert boss.post(change, {"name": "ESIMDESK_ES2PLUS_URL",
                              "value": "https://smdp.two.test"}).status_code == 302
    listing = boss.get(LIST).content.decode()
    assert "MIGHAgEA" not in listing and "•••• (set)" in listing
    entries = list(AuditEntry.objects.filter(action="console_setting.set").order_by("pk"))
    assert [e.after["name"] for e in entries] == ["ESIMDESK_ES2PLUS_CLIENT_KEY",
                                                  "ESIMDESK_ES2PLUS_URL",
                                                  "ESIMDESK_ES2PLUS_URL"]
    assert entries[0].after["value"] == "••••" and "MIGHAgEA" not in str(entries[0].after)
    assert (entries[2].before["value"], entries[2].after["value"]) == (
        "https://smdp.one.test", "https://smdp.two.test")
    assert all(e.actor_type == "staff" and e.actor.endswith("boss@example.com")
               for e in entries)
    # Deleting, one by one or several at once from the list, is audited too.
    response = boss.post(LIST, {"action": "delete_selected", "post": "yes",
                                "_selected_action": [key.pk, url.pk]})
    assert response.status_code == 302 and not ConsoleSetting.objects.exists()
    deleted = AuditEntry.objects.filter(action="console_setting.delete").order_by("pk")
    assert [(e.before["name"], e.before["value"]) for e in deleted] == [
        ("ESIMDESK_ES2PLUS_CLIENT_KEY", "••••"), ("ESIMDESK_ES2PLUS_URL", "https://smdp.two.test")]


def test_a_change_reaches_the_next_supplier_call_within_the_cache_time(
        boss: Client, probe: type[ProbeSupplier],  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert registry.get("probe") is not registry.get("probe")  # made per call
    assert registry.get("probe").check_connection() == "reached https://probe.example.test"
    # Set in this process's console: the next call reads it at once.
    assert boss.post(ADD, {"name": "ESIMDESK_PROBE_URL",
                           "value": "https://console.example.test"}).status_code == 302
    assert registry.get("probe").check_connection() == "reached https://console.example.test"
    # Set by another process: this one reads it once its cache (CACHE_SECONDS) is stale.
    now = time.monotonic()
    monkeypatch.setattr(console_settings.time, "monotonic", lambda: now)
    console_settings.forget()
    assert registry.get("probe").url == "https://console.example.test"
    ConsoleSetting.objects.filter(name="ESIMDESK_PROBE_URL").update(
        value_encrypted=console_settings.encrypt("https://elsewhere.example.test"))
    later: Any = lambda: now + console_settings.CACHE_SECONDS - 0.1  # noqa: E731
    monkeypatch.setattr(console_settings.time, "monotonic", later)
    assert registry.get("probe").url == "https://console.example.test"
    stale: Any = lambda: now + console_settings.CACHE_SECONDS + 0.1  # noqa: E731
    monkeypatch.setattr(console_settings.time, "monotonic", stale)
    assert registry.get("probe").url == "https://elsewhere.example.test"


def test_a_database_hiccup_keeps_the_settings_last_read(
        console_settings_on: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import DatabaseError

    ConsoleSetting.objects.create(name="ESIMDESK_ES2PLUS_URL",
                                  value_encrypted=console_settings.encrypt("https://smdp.test"))
    assert config.env("ESIMDESK_ES2PLUS_URL") == "https://smdp.test"

    class Away:
        def values_list(self, *_args: Any) -> Any:
            raise DatabaseError("current transaction is aborted")

    monkeypatch.setattr(ConsoleSetting, "objects", Away())
    console_settings.forget()
    assert config.env("ESIMDESK_ES2PLUS_URL") == "https://smdp.test"


def test_the_settings_form_says_what_the_setting_is_for_in_the_readers_language(
        console_settings_on: None) -> None:
    user, client = member("zhang@example.com", "admin")
    form = client.get(ADD + "?name=ESIMDESK_ESIMGO_TIMEOUT_SECONDS").content.decode()
    assert "Seconds to wait for an eSIM Go answer (connecting: at most 5)." in form
    user.language = "zh-hans"
    user.save(update_fields=["language"])
    chinese = client.get(ADD + "?name=ESIMDESK_ESIMGO_TIMEOUT_SECONDS").content.decode()
    assert "等待 eSIM Go 应答的秒数（建立连接：最多 5 秒）。" in chinese
