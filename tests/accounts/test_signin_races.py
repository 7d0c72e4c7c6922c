"""The sign-in policy's counts hold under real parallel requests (PostgreSQL only: SQLite
serialises writers, so it cannot show these races), and in a second process."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from django.db import connection

from esimdesk.accounts import counters, signin_policy
from esimdesk.accounts.models import SmsResetCode, User
from esimdesk.notifications.models import Notification
from tests.conftest import verified_email
from tests.e2e.test_concurrency import Http, in_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-42"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _sms_reset_form(base: str, phone: str) -> Any:
    """One browser: fetch the form (its CSRF cookie and token), ready to post it."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect)
    page = opener.open(base + "/account/reset/sms/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "phone": phone}).encode()

    def post() -> str:
        try:
            answer = opener.open(base + "/account/reset/sms/", data=data, timeout=30)
            text = answer.read().decode()
            return "refused" if "Too many attempts" in text else f"{answer.status}"
        except urllib.error.HTTPError as error:
            return f"{error.code}"

    return post


@pytest.mark.parametrize("registered", [True, False])
def test_twenty_concurrent_sms_resets_send_exactly_the_limit(live_server: Any, db: None,
                                                             registered: bool) -> None:
    phone = "+447911123480"
    if registered:
        User.objects.create_user(None, PASSWORD, phone=phone)
    posts = [_sms_reset_form(live_server.url, phone) for _ in range(20)]
    answers = in_parallel(*posts)
    # The same answers whether or not the number has an account.
    assert sorted(answers) == ["302"] * 5 + ["refused"] * 15
    assert SmsResetCode.objects.count() == (5 if registered else 0)
    assert Notification.objects.filter(to=phone).count() == (5 if registered else 0)


def test_twenty_concurrent_email_resets_send_exactly_the_limit(live_server: Any,
                                                               db: None) -> None:
    verified_email(User.objects.create_user("burst@example.com", PASSWORD))
    http = Http(live_server.url)
    answers = in_parallel(*[
        lambda: http.call("POST", "/_allauth/app/v1/auth/password/request",
                          {"email": "burst@example.com"})[0] for _ in range(20)])
    assert sorted(answers) == [200] * 5 + [429] * 15
    assert Notification.objects.filter(to="burst@example.com",
                                       kind="account:password_reset_key").count() == 5


def test_twenty_concurrent_guesses_check_only_the_limit(live_server: Any,
                                                        db: None) -> None:
    verified_email(User.objects.create_user("guessed@example.com", PASSWORD))
    http = Http(live_server.url)

    def login(password: str) -> int:
        return http.call("POST", "/_allauth/app/v1/auth/login",
                         {"email": "guessed@example.com", "password": password})[0]

    answers = in_parallel(*[lambda n=n: login(f"guess-{n}") for n in range(20)])
    assert sorted(answers) == [400] * 5 + [429] * 15  # only five passwords were tried
    assert login(PASSWORD) == 429


def test_concurrent_hits_on_one_counter_each_get_their_own_count(db: None) -> None:
    store = counters.DatabaseCounters()
    counts = in_parallel(*[lambda: store.hit("race:one", 60).hits for _ in range(20)])
    assert sorted(counts) == list(range(1, 21))


def test_a_lock_is_seen_and_lifted_in_another_process(db: None) -> None:
    """Another process (as another web worker is) reads the same lock, and staff's unlock."""
    user = User.objects.create_user("elsewhere@example.com", PASSWORD)
    for _ in range(5):
        signin_policy.record_failure(account=signin_policy.signin_account(user=user),
                                     address="192.0.2.5")
    db = connection.settings_dict
    url = f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    script = ("import django; django.setup(); import sys\n"
              "from esimdesk.accounts import signin_policy\n"
              f"print(signin_policy.locked_for(account='user:{user.pk}'))\n"
              "if sys.argv[1:] == ['unlock']:\n"
              "    from esimdesk.accounts import lockout\n"
              "    from esimdesk.accounts.models import User\n"
              f"    lockout.unlock(user=User.objects.get(pk={user.pk}), actor='staff:2',"
              " reason='by phone')\n")

    def other_process(*args: str) -> int:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
               "ESIMDESK_TEST_DATABASE_URL": url, "ESIMDESK_REDIS_URL": ""}
        done = subprocess.run([sys.executable, "-c", script, *args], env=env, check=True,
                              capture_output=True, text=True, cwd=os.getcwd())
        return int(done.stdout.split()[-1])

    assert other_process("unlock") > 0  # it saw the lock, then lifted it
    assert signin_policy.locked_for(account=f"user:{user.pk}") == 0
    assert other_process() == 0
    assert json.loads(json.dumps(signin_policy.locks_of(user=user))) == []
