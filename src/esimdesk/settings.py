"""Django settings. Every value comes from ``ESIMDESK_*`` environment variables (see config.py)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
import structlog

from esimdesk import config
from esimdesk.accounts.limits import parse_limits as parse_signin_limits
from esimdesk.notifications.email_config import email_settings

BASE_DIR = Path(__file__).resolve().parent
PRODUCTION = config.flag("ESIMDESK_PRODUCTION")
DATA_DIR = config.data_dir()
SECRET_KEY = config.secret_key()
DEBUG = config.flag("ESIMDESK_DEBUG") and not PRODUCTION
PUBLIC_URL = config.env("ESIMDESK_PUBLIC_URL").rstrip("/")
#: the shop's name in account e-mails (allauth's ``current_site.name``; no Sites table)
SITE_NAME = config.env("ESIMDESK_SITE_NAME").strip() or "esimdesk"

_public_host = urlparse(PUBLIC_URL).hostname or "127.0.0.1"
ALLOWED_HOSTS = [h.strip() for h in config.env("ESIMDESK_ALLOWED_HOSTS").split(",") if h.strip()]
if not ALLOWED_HOSTS:
    ALLOWED_HOSTS = [_public_host] if PRODUCTION else [_public_host, "127.0.0.1", "localhost",
                                                       "testserver"]
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL]

INSTALLED_APPS = [
    "esimdesk.core.admin_site.ConsoleAdminConfig",  # django.contrib.admin, names kept
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "heroicons",
    "allauth",
    "allauth.account",
    "allauth.headless",
    "allauth.mfa",
    "django_tasks",
    "django_tasks_db",
    "esimdesk.core",
    "esimdesk.accounts",
    "esimdesk.catalog",
    "esimdesk.groups",
    "esimdesk.esims",
    "esimdesk.subscriptions",
    "esimdesk.orders",
    "esimdesk.payments",
    "esimdesk.sharedplans",
    "esimdesk.provisioning",
    "esimdesk.notifications",
    "esimdesk.usage",
    # The upstream simulator and the sandbox payment provider: optional (ESIMDESK_SANDBOX).
    *(["esimdesk.sandbox"] if config.flag("ESIMDESK_SANDBOX") else []),
    "esimdesk.support",
    "channels",
    # Only for its static flag images (flags/<code>.gif), drawn by portal's {% flag %} tag.
    "django_countries",
    "esimdesk.portal",
    "esimdesk.staff",
    "esimdesk.figures",
    "esimdesk.api",
    "esimdesk.console",
    # The API docs page (/api/v1/docs) with Swagger UI from django-ninja's own static files
    # (no CDN, no inline script), so it works under the Content-Security-Policy.
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "esimdesk.core.security_headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Before CSRF: refuses NUL bytes, oversized and over-deep bodies before anything reads them.
    "esimdesk.core.boundary.InputBoundary",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "esimdesk.accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "esimdesk.accounts.middleware.KeepNextMiddleware",
    "esimdesk.accounts.middleware.StaffSecondFactorMiddleware",
]

ROOT_URLCONF = "esimdesk.urls"
# Paths whose errors are answered as JSON {"code", "message", "detail"} (core.error_pages).
BOUNDARY_JSON_PATHS = ("/api/", "/_allauth/", "/hooks/", "/simulator/")
CSRF_FAILURE_VIEW = "esimdesk.core.error_pages.csrf_failure"
WSGI_APPLICATION = "esimdesk.wsgi.application"
ASGI_APPLICATION = "esimdesk.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "esimdesk.portal.context.site",
                "esimdesk.core.security_headers.csp_nonce",
            ],
            # ``capfirst`` that leaves "eSIM" as it is, in every template (the admin's too).
            "builtins": ["esimdesk.core.templatetags.names"],
        },
    },
]


def _database() -> dict:
    url = config.env("ESIMDESK_DATABASE_URL") or f"sqlite:///{DATA_DIR / 'esimdesk.sqlite3'}"
    db = dj_database_url.parse(url, conn_max_age=0 if url.startswith("sqlite") else 600,
                               conn_health_checks=not url.startswith("sqlite"))
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets web, worker and scheduler processes share the file; IMMEDIATE transactions
        # take the write lock up front, so two writers queue instead of failing with
        # "database is locked" on a lock upgrade.
        db["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return db


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "esimdesk_language"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = not PRODUCTION
MEDIA_ROOT = DATA_DIR / "media"

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "portal:home"

# Security headers (docs/operations.md, "Security headers and cookies"): the
# Content-Security-Policy and Permissions-Policy come from core.security_headers, the rest
# from SecurityMiddleware.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    # Browsers then refuse plain HTTP to this host (and its subdomains) for a year. Sent
    # only on requests Django sees as HTTPS: behind a TLS proxy, see ESIMDESK_PROXY_SSL_HEADER.
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
_proxy_ssl_header = config.proxy_ssl_header()
if _proxy_ssl_header is not None:
    SECURE_PROXY_SSL_HEADER = _proxy_ssl_header
# Cookies: never readable by scripts (the CSRF cookie excepted: the allauth headless browser
# client reads it, and Django's forms carry the token anyway), sent on top-level navigation
# from other sites but not on their posts or frames, and only over HTTPS in production.
SESSION_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600

# Background work: tasks are rows in the database, enqueued inside the transaction of the
# state change that needs them, and run by `esimdesk worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# E-mail: the embedded default delivers into the staff outbox; ESIMDESK_EMAIL_URL picks SMTP
# or a hosted provider through django-anymail (see notifications/email_config.py).
DEFAULT_FROM_EMAIL = config.env("ESIMDESK_EMAIL_FROM")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_email = email_settings(config.env("ESIMDESK_EMAIL_URL"))
EMAIL_BACKEND = _email.pop("EMAIL_BACKEND")
ANYMAIL = _email.pop("ANYMAIL")
globals().update(_email)  # EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, … for SMTP

# Accounts (django-allauth): e-mail or phone number, no user names.
ACCOUNT_ADAPTER = "esimdesk.accounts.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email", "phone"}
ACCOUNT_SIGNUP_FIELDS = ["email", "phone", "password1*", "password2*"]
# Sign-up always confirms the e-mail address by a link (accounts/adapter.py: that is what
# lets it answer the same for an address that already has an account). This option is for
# signing in with an address never confirmed (accounts made by staff or an import): asked
# to confirm it first (mandatory), or not. allauth itself is told "optional" (or "none"):
# its "mandatory" would also require an e-mail address at every sign-up, and travellers may
# sign up with a phone number alone.
SIGNIN_EMAIL_VERIFICATION = config.env("ESIMDESK_EMAIL_VERIFICATION")
ACCOUNT_EMAIL_VERIFICATION = "none" if SIGNIN_EMAIL_VERIFICATION == "none" else "optional"
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"{SITE_NAME} · "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = urlparse(PUBLIC_URL).scheme or "http"
ACCOUNT_FORMS = {"signup": "esimdesk.accounts.forms.SignupForm",
                 "reset_password": "esimdesk.accounts.forms.ResetPasswordForm",
                 "request_login_code": "esimdesk.accounts.forms.RequestLoginCodeForm"}
# The portal's sign-up form and the API's sign-up input are both built on this class: the
# sign-up limits and the "e-mail or phone" rule are checked there, before an account exists.
ACCOUNT_SIGNUP_FORM_CLASS = "esimdesk.accounts.signup_base.SignupChecks"
# Sign-up never tells whether an address has an account: a taken address gets the same
# "we sent you an e-mail, follow its link" answer and its owner an e-mail instead
# (allauth's enumeration prevention, kept for every setting above). By link, not by code:
# allauth allows codes only with "mandatory" above. A lost text can be sent again.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_PHONE_VERIFICATION_SUPPORTS_RESEND = True
# Following the link in the browser that signed up finishes the sign-up there (allauth signs
# in only that session, never whoever else opens the link).
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# One sign-in policy (accounts/signin_policy.py) counts failed sign-ins, resets, codes and
# sign-ups for every door; allauth's own counters for those actions are switched off so
# there is one count, one answer. Its other limits (changing a password or an address,
# re-authentication) stay, in the shared cache below.
ACCOUNT_RATE_LIMITS = {"login": "", "login_failed": "", "signup": "", "reset_password": "",
                       "request_login_code": "", "verify_phone": "", "confirm_email": ""}
SIGNIN_LIMITS = config.env("ESIMDESK_SIGNIN_LIMITS")
parse_signin_limits(SIGNIN_LIMITS)  # a mistake stops the start, with what is wrong
# In production every staff member signs in with a second factor (TOTP): one without it is
# sent to set it up before any /staff/ page (accounts/middleware.py).
STAFF_MFA_REQUIRED = PRODUCTION
# allauth warns when no login method is a required sign-up field; our sign-up form requires
# an e-mail address or a phone number (either one), which that check cannot express.
SILENCED_SYSTEM_CHECKS = ["account.W001"]
# Production deployment checks (`esimdesk check`): the TLS proxy redirects plain HTTP to
# HTTPS (a redirect here would also loop behind a proxy that does not say the request was
# HTTPS, and break plain-HTTP health probes), and joining the browsers' HSTS preload list is
# the operator's own decision, not a default.
SILENCED_SYSTEM_CHECKS += ["security.W008", "security.W021"]
HEADLESS_CLIENTS = ("app", "browser")
HEADLESS_TOKEN_STRATEGY = "allauth.headless.tokens.strategies.sessions.SessionTokenStrategy"
# Codes sent by SMS are typed on a phone keypad: six digits.
ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_LOGIN_BY_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "esimdesk"

REDIS_URL = config.env("ESIMDESK_REDIS_URL")
if REDIS_URL:
    # A cache shared by every process: sessions (and so API session tokens) are read from
    # it instead of the database on each request; writes still go to the database.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL, "KEY_PREFIX": "esimdesk"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    # Every process (web workers, realtime, worker) shares the database, so a cache kept
    # there is seen by all of them; its table is created after migrations
    # (accounts/apps.py). Entries expire; the limit only bounds a flood.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                          "LOCATION": "esimdesk_cache",
                          "OPTIONS": {"MAX_ENTRIES": 1_000_000}}}
# The sign-in policy's counters: Redis when configured, else a table of their own.
SIGNIN_COUNTERS_REDIS_URL = REDIS_URL

# Live chat and live updates: Django Channels, served by `esimdesk realtime` (uvicorn) under
# /ws/. With Redis every realtime process shares one layer; without it the layer is in
# memory, and the other processes hand their events to the realtime process over its
# internal publish endpoint (see support/realtime.py).
ASGI_APPLICATION = "esimdesk.asgi.application"
if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                  "CONFIG": {"hosts": [REDIS_URL], "prefix": "esimdesk"}}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
REALTIME_URL = config.env("ESIMDESK_REALTIME_URL")
REALTIME_INTERNAL_URL = config.env("ESIMDESK_REALTIME_INTERNAL_URL")

# Logs: structlog, one JSON object per line (ESIMDESK_LOG_FORMAT=console for people).
_log_chain = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
structlog.configure(
    processors=[*_log_chain, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
    logger_factory=structlog.stdlib.LoggerFactory(),
    cache_logger_on_first_use=True,
)
_renderer = (structlog.dev.ConsoleRenderer(colors=False)
             if config.env("ESIMDESK_LOG_FORMAT") == "console"
             else structlog.processors.JSONRenderer())
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"structured": {"()": structlog.stdlib.ProcessorFormatter,
                                  "processors": [
                                      structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                                      structlog.processors.format_exc_info, _renderer],
                                  "foreign_pre_chain": _log_chain}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

ESIMDESK = {
    "SUPPORT_EMAIL": config.env("ESIMDESK_SUPPORT_EMAIL"),
    "SUPPORT_PHONE": config.env("ESIMDESK_SUPPORT_PHONE"),
    "PAYMENT_PROVIDERS": [p.strip() for p in config.env("ESIMDESK_PAYMENT_PROVIDERS").split(",")
                          if p.strip()],
    "UPSTREAM_PROVIDERS": [p.strip() for p in config.env("ESIMDESK_UPSTREAM_PROVIDERS").split(",")
                           if p.strip()],
    "SMS_BACKEND": config.env("ESIMDESK_SMS_BACKEND"),
}
