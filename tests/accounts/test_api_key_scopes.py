"""Integration keys hold scopes: each ``/api/v1/ops/`` call needs its own, a key without it
is refused with 403 ``insufficient_scope``; keys made before scopes keep what they did;
staff make keys with scopes in the console and see the key once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from esimdesk.accounts import services as accounts
from esimdesk.accounts.models import ApiKey, ApiScope
from esimdesk.core.errors import Conflict, ValidationFailed
from esimdesk.core.models import AuditEntry
from tests.console.conftest import member

BEFORE = [("accounts", "0003_alter_apikey_options_alter_signincounter_options_and_more")]
AFTER = [("accounts", "0004_api_key_scopes")]


def ingest(key: str) -> dict[str, object]:
    response = Client().post("/api/v1/ops/usage-events", b"[]",
                             content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {key}")
    return {"status": response.status_code, **response.json()}


@pytest.mark.django_db
def test_each_call_needs_its_scope() -> None:
    monitoring = accounts.create_api_key(name="monitoring", scopes=[ApiScope.OPS_READ])[1]
    feed = accounts.create_api_key(name="feed", scopes=[ApiScope.USAGE_WRITE])[1]
    refused = ingest(monitoring)
    assert refused["status"] == 403 and refused["code"] == "insufficient_scope"
    assert refused["detail"] == {"required_scope": "usage:write", "key_scopes": ["ops:read"]}
    assert ingest(feed) == {"status": 200, "accepted": 0, "duplicates": 0, "rejected": []}
    both = accounts.create_api_key(name="both", scopes=["ops:read", "usage:write", "ops:read"])
    assert both[0].scopes == ["usage:write", "ops:read"]  # no repeats, in a fixed order
    assert ingest(both[1])["status"] == 200


@pytest.mark.django_db
@pytest.mark.parametrize(("scopes", "code"), [([], "scopes_required"),
                                              (["ops:write"], "unknown_scope")])
def test_a_key_needs_known_scopes(scopes: list[str], code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        accounts.create_api_key(name="x", scopes=scopes)
    assert refused.value.code == code
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_a_name_is_used_once() -> None:
    accounts.create_api_key(name="feed")
    with pytest.raises(Conflict):
        accounts.create_api_key(name="feed")


@pytest.mark.django_db
def test_staff_make_a_key_with_scopes_in_the_console_and_see_it_once() -> None:
    boss, client = member("boss@example.com", "admin")
    form = client.get("/staff/accounts/apikey/add/").content.decode()
    assert 'value="ops:read"' in form and 'value="usage:write"' in form
    made = client.post("/staff/accounts/apikey/add/", {"name": "grafana",
                                                       "scopes": ["ops:read"]})
    assert made.status_code == 200
    page = made.content.decode()
    key = ApiKey.objects.get(name="grafana")
    assert key.scopes == ["ops:read"]
    plain = made.context["plain_key"]
    assert plain.startswith(f"esk_{key.prefix}_") and plain in page
    assert accounts.authenticate_api_key(plain, scope="ops:read") == key
    audit = AuditEntry.objects.get(action="apikey.create")
    assert audit.actor == f"{boss.pk}:{boss}" and audit.after["scopes"] == ["ops:read"]
    # Seen once: the key's own page shows its prefix and scopes, never the key.
    change = client.get(f"/staff/accounts/apikey/{key.pk}/change/").content.decode()
    assert plain not in change and key.prefix in change
    # A form error, not a key, without a scope or with a name taken.
    for data in ({"name": "no scope"}, {"name": "grafana", "scopes": ["usage:write"]}):
        again = client.post("/staff/accounts/apikey/add/", data)
        assert again.status_code == 200 and again.context["adminform"].form.errors, data
    assert ApiKey.objects.count() == 1


@pytest.mark.django_db
def test_staff_narrow_a_keys_scopes() -> None:
    _boss, client = member("boss@example.com", "admin")
    key, plain = accounts.create_api_key(name="old", scopes=["usage:write", "ops:read"])
    changed = client.post(f"/staff/accounts/apikey/{key.pk}/change/",
                          {"name": "old", "scopes": ["usage:write"]})
    assert changed.status_code == 302, changed.content
    key.refresh_from_db()
    assert key.scopes == ["usage:write"]
    assert ingest(plain)["status"] == 200
    assert Client().get("/api/v1/ops/metrics",
                        HTTP_AUTHORIZATION=f"Bearer {plain}").status_code == 403


@pytest.fixture
def _back_to_the_latest() -> Iterator[None]:
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


@pytest.mark.django_db(transaction=True)
def test_keys_made_before_scopes_keep_what_they_did(_back_to_the_latest: None) -> None:
    old = migrate(BEFORE).loader.project_state(BEFORE).apps
    old.get_model("accounts", "ApiKey").objects.create(
        name="network", prefix="abcd1234", key_hash=ApiKey.hash("esk_abcd1234_x"))
    new = migrate(AFTER).loader.project_state(AFTER).apps
    kept = new.get_model("accounts", "ApiKey").objects.get(name="network")
    assert kept.scopes == ["usage:write", "ops:read"]
