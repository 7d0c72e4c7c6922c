"""Test settings: the real settings, with the database from ESIMDESK_TEST_DATABASE_URL
(PostgreSQL in CI) or an SQLite database, and fast password hashing."""

import os
import tempfile

os.environ.setdefault("ESIMDESK_DATA_DIR", tempfile.mkdtemp(prefix="esimdesk-test-"))
os.environ.setdefault("ESIMDESK_SECRET_KEY", "test-secret-key-that-is-long-enough-for-django")
os.environ.setdefault("ESIMDESK_PUBLIC_URL", "http://testserver")
if os.environ.get("ESIMDESK_TEST_DATABASE_URL"):
    os.environ["ESIMDESK_DATABASE_URL"] = os.environ["ESIMDESK_TEST_DATABASE_URL"]
else:
    os.environ.pop("ESIMDESK_DATABASE_URL", None)

from esimdesk.settings import *  # noqa: F403
from esimdesk.settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ACCOUNT_RATE_LIMITS = False
WHITENOISE_AUTOREFRESH = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Django's SQLite test database is in memory, shared between threads.
    DATABASES["default"]["OPTIONS"].pop("init_command", None)
