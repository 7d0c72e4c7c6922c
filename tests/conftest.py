from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.servers.basehttp import WSGIServer
from django.db import connection
from django.test import Client
from django.utils import translation
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from esimdesk.core import clock

# Property tests share a machine with parallel workers: time is no measure of their inputs
# (speed is shown by the benchmarks, never by tests).
hypothesis_settings.register_profile("esimdesk", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("esimdesk")

# The live test server accepts bursts of parallel requests (the concurrency tests send 40 at
# once); the socketserver default backlog of a few connections would reset them.
WSGIServer.request_queue_size = 128


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    on_postgres = connection.vendor == "postgresql"
    skip = pytest.mark.skip(reason="needs PostgreSQL (set ESIMDESK_TEST_DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _english_to_start() -> Iterator[None]:
    """Each test starts in the default language, whatever the one before it activated (a
    request in Chinese leaves its language active in the worker's thread)."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _outbox_mail(settings: Any) -> None:
    """Deliver mail to the outbox, as the embedded default does (pytest-django would
    otherwise swap in Django's in-memory test backend)."""
    settings.EMAIL_BACKEND = "esimdesk.notifications.backends.OutboxEmailBackend"


@pytest.fixture(autouse=True)
def _no_console_settings() -> Iterator[None]:
    """Provider options come from the environment in tests (adapter tests run without a
    database); tests of the staff console switch the console lookup on with
    ``console_settings_on``."""
    from esimdesk import config

    config.set_console_lookup(None)
    yield
    config.set_console_lookup(None)


@pytest.fixture
def console_settings_on(db: Any) -> None:
    from esimdesk import config
    from esimdesk.core import console_settings

    console_settings.forget()
    config.set_console_lookup(console_settings.lookup)


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def shop(db: Any) -> Any:
    """The tests' own small shop (``tests.builders.shop``): plans and top-ups in Japan."""
    from tests.builders import shop as make_shop

    return make_shop()


def run_tasks(max_tasks: int = 200) -> int:
    """Run every queued background task, as `esimdesk worker` does, until none is left.

    Uses the worker's own ``run_task`` but not its loop, whose connection housekeeping would
    close the test's transaction. A task that fails fails the test, with its traceback.
    """
    from django.db import transaction
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    worker = Worker(queue_names=["*"], interval=0, batch=True, backend_name="default",
                    startup_delay=False, max_tasks=None, worker_id="test-worker",
                    excluded_queue_names=[])
    for count in range(max_tasks):
        with transaction.atomic():
            task = DBTaskResult.objects.ready().get_locked()
            if task is None:
                return count
            task.claim(worker.worker_id)
        worker.run_task(task)
        task.refresh_from_db()
        if task.status == "FAILED":
            raise AssertionError(f"task {task.task_path} failed:\n{task.traceback}")
    raise AssertionError(f"more than {max_tasks} tasks: a task keeps re-enqueuing itself?")


@pytest.fixture
def tasks() -> Any:
    return run_tasks


class Api:
    """A JSON client for /api/v1 that signs up through the allauth headless app flow."""

    def __init__(self, client: Client, token: str | None = None,
                 language: str = "en") -> None:
        self.client = client
        self.token = token
        self.language = language

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"HTTP_ACCEPT_LANGUAGE": self.language}
        if self.token:
            headers["HTTP_X_SESSION_TOKEN"] = self.token
        for key, value in (extra or {}).items():
            headers["HTTP_" + key.upper().replace("-", "_")] = value
        return headers

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **self.headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, body: Any = None, *, raw: bytes | None = None,
             headers: dict[str, str] | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body or {})
        return self.client.post(path, data=data, content_type="application/json",
                                **self.headers(headers))

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(path, data=json.dumps(body), content_type="application/json",
                                 **self.headers())

    @classmethod
    def signup(cls, email: str, password: str = "correct-horse-battery-42",
               language: str = "en") -> Api:
        client = Client()
        response = client.post("/_allauth/app/v1/auth/signup",
                               data=json.dumps({"email": email, "password": password}),
                               content_type="application/json")
        token = response.json().get("meta", {}).get("session_token")
        if response.status_code == 401:  # sign-up confirms the address: the mailed link's key
            response = client.post("/_allauth/app/v1/auth/email/verify",
                                   data=json.dumps({"key": mailed_key(email)}),
                                   content_type="application/json",
                                   HTTP_X_SESSION_TOKEN=token)
        assert response.status_code == 200, response.content
        token = response.json()["meta"]["session_token"]
        return cls(client, token, language)


def verified_email(user: Any) -> None:
    """Mark the user's e-mail address verified, as signing up does (users made directly in
    the database would otherwise be asked for a code at their first sign-in)."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.get_or_create(user=user, email=user.email,
                                       defaults={"verified": True, "primary": True})


def mailed_key(to: str) -> str:
    """The key of the last e-mail confirmation link queued for ``to``, read before delivery."""
    import re

    from esimdesk.notifications.models import Notification

    message = Notification.objects.filter(to=to).order_by("-id").first()
    assert message is not None, f"nothing was sent to {to}"
    return re.search(r"/accounts/confirm-email/([^/\s]+)/", message.body_text).group(1)


def mailed_code(to: str) -> str:
    """The last 6-digit code queued for ``to`` (e-mail or SMS), read before delivery."""
    import re

    from esimdesk.notifications.models import Notification

    message = Notification.objects.filter(to=to).order_by("-id").first()
    assert message is not None, f"nothing was sent to {to}"
    return re.search(r"\b(\d{6})\b", message.body_text).group(1)


@pytest.fixture
def api(shop: Any) -> Api:
    """A signed-up traveller, and the tests' shop to buy from."""
    return Api.signup("alex@example.com")


@pytest.fixture
def other_api(shop: Any) -> Api:
    return Api.signup("sam@example.com")
