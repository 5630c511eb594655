"""Django settings for the wellbeat hub, read from ``WELLBEAT_*`` environment variables.

Imports with no variable set: the data directory then defaults to ``./wellbeat-data`` and the
application records to SQLite inside it. Every variable is documented in docs/hub.md; a test
fails when one is read here but not documented there.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from wellbeat.lake.store import LakeError, lake_time_zone
from wellbeat.web.env import (
    SettingError,
    cache_from_url,
    database_from_url,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_path,
    env_rate,
    env_str,
    hub_time_zone,
    sqlite_database,
)

PACKAGE_DIR = Path(__file__).resolve().parent

DATA_DIR = env_path("WELLBEAT_DATA_DIR", Path("wellbeat-data"))
"""The hub's data directory (docs/data-directory.md): lake, quarantine, SQLite file."""

DEBUG = env_bool("WELLBEAT_DEBUG", False)
WELLBEAT_DEMO = env_bool("WELLBEAT_DEMO", False)
"""Demo mode: allows `wellbeat.web.demo_logins.seed_demo` to create users with known passwords."""


def _secret_key() -> str:
    configured = env_str("WELLBEAT_SECRET_KEY", "")
    if configured:
        if len(configured) < 32:
            raise ValueError("WELLBEAT_SECRET_KEY: expected at least 32 characters")
        return configured
    key_file = DATA_DIR / "secret_key"
    if key_file.is_file():
        return key_file.read_text(encoding="utf-8").strip()
    # No key configured and none written by `wellbeat serve` yet: a per-process key, so
    # sessions do not survive a restart (acceptable for tests and one-off commands).
    return secrets.token_urlsafe(50)


SECRET_KEY = _secret_key()

FIELD_ENCRYPTION_KEY = env_str("WELLBEAT_FIELD_KEY", "")
"""Key text for secrets stored encrypted in the database (TOTP secrets); without it,
``DATA_DIR/field_key`` (written in demo mode only). See wellbeat.web.accounts.encryption."""
if FIELD_ENCRYPTION_KEY and len(FIELD_ENCRYPTION_KEY) < 32:
    raise ValueError("WELLBEAT_FIELD_KEY: expected at least 32 characters")

ALLOWED_HOSTS = env_list("WELLBEAT_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("WELLBEAT_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "wellbeat.web.accounts",
    "wellbeat.web.audit",
    "wellbeat.web.hub",
    "wellbeat.web.governance",
    "wellbeat.web.surveillance",
    "wellbeat.web.care",
    "wellbeat.web.indicators",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "wellbeat.web.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "wellbeat.web.accounts.middleware.SessionPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wellbeat.web.api.errors.ApiErrorShapeMiddleware",
]

ROOT_URLCONF = "wellbeat.web.urls"
WSGI_APPLICATION = "wellbeat.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wellbeat.web.nav.navigation",
            ],
        },
    }
]

_database_url = env_str("WELLBEAT_DATABASE_URL", "")
DATABASES = {
    "default": database_from_url(_database_url)
    if _database_url
    else sqlite_database(DATA_DIR / "wellbeat.sqlite3")
}
_test_database_name = env_str("WELLBEAT_TEST_DATABASE_NAME", "")
if _test_database_name:
    DATABASES["default"]["TEST"] = {"NAME": _test_database_name}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "hub:home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
try:
    _lake_zone = lake_time_zone(DATA_DIR)
except LakeError as exc:
    raise SettingError(f"WELLBEAT_DATA_DIR={str(DATA_DIR)!r}: {exc}") from exc
TIME_ZONE = hub_time_zone(_lake_zone)
"""The lake's time zone (``lake/settings.json``); ``WELLBEAT_TIME_ZONE`` may only repeat it."""
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = None  # nothing to collect: see WHITENOISE_USE_FINDERS
# Assets ship inside the package and are served by WhiteNoise straight from the apps'
# static folders: no collectstatic step, no CDN, no separate web server.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Sessions and cookies (CJIS Security Policy 5.5.5: session lock after inactivity) ---
SESSION_IDLE_SECONDS = env_int("WELLBEAT_SESSION_IDLE_SECONDS", 900, minimum=60)
SESSION_COOKIE_AGE = env_int("WELLBEAT_SESSION_MAX_SECONDS", 12 * 3600, minimum=300)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_SAVE_EVERY_REQUEST = False
_secure_cookies = env_bool("WELLBEAT_SECURE_COOKIES", True)
SESSION_COOKIE_SECURE = _secure_cookies
CSRF_COOKIE_SECURE = _secure_cookies
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "wellbeat.web.api.errors.csrf_failure"

# --- Login policy ---
LOGIN_MAX_FAILURES = env_int("WELLBEAT_LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("WELLBEAT_LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
INVITATION_VALID_HOURS = env_int("WELLBEAT_INVITATION_VALID_HOURS", 72, minimum=1, maximum=720)
"""How long a new user's invitation link stays valid (it is also single-use)."""
SECOND_FACTOR_PENDING_SECONDS = 300
"""How long the password step stays valid while the user types the TOTP code."""

# --- Security headers ---
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("WELLBEAT_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("WELLBEAT_HSTS_SECONDS", 0, minimum=0)
if env_bool("WELLBEAT_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    # Plotly and Swagger UI set styles at run time; scripts stay strictly same-origin.
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# --- Audit checkpoints (wellbeat.web.audit.checkpoints) ---
AUDIT_SIGNING_KEY_FILE = env_str("WELLBEAT_AUDIT_SIGNING_KEY", "")
"""Ed25519 key signing checkpoints of the audit chain; default ``DATA_DIR/audit_signing_key``."""
AUDIT_CHECKPOINT_FILE = env_str("WELLBEAT_AUDIT_CHECKPOINT_FILE", "")
"""Append-only JSON-lines file of signed checkpoints; default
``DATA_DIR/audit_checkpoints.jsonl``."""
AUDIT_CHECKPOINT_EVERY = env_int("WELLBEAT_AUDIT_CHECKPOINT_EVERY", 100, minimum=0)
"""Sign a checkpoint automatically after every this many audit entries (0: only on demand)."""
AUDIT_WITNESS_URL = env_str("WELLBEAT_AUDIT_WITNESS_URL", "")
"""Where `wellbeat audit checkpoint` also POSTs each checkpoint (a partner or witness)."""

# --- API ---
API_UPLOAD_MAX_BYTES = env_int("WELLBEAT_UPLOAD_MAX_BYTES", 512 * 1024 * 1024, minimum=1024)
API_RATES: dict[str, str | None] = {
    "token": env_rate("WELLBEAT_API_RATE_TOKEN", "600/min"),
    "user": env_rate("WELLBEAT_API_RATE_USER", "300/min"),
    "anon": env_rate("WELLBEAT_API_RATE_ANON", "60/min"),
}
"""Requests allowed per agency API token, per signed-in user and per address of an
unauthenticated client (wellbeat.web.api.throttling); None: no limit."""
CACHES = {"default": cache_from_url(env_str("WELLBEAT_CACHE_URL", ""))}
"""Where the rate limits count requests: local memory by default (each server process
counts on its own), a shared directory or Redis for one count across processes (docs/api.md)."""
NINJA_NUM_PROXIES = env_int("WELLBEAT_PROXY_COUNT", 0, minimum=0, maximum=10)
"""Proxies in front of the hub that append to X-Forwarded-For: the client's address for the
unauthenticated rate limit is read that many entries from the end (0: the connection's)."""
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        # A refused request (403, 404, …) is logged in one line, without a traceback.
        "no_traceback_for_client_errors": {
            "()": "wellbeat.web.logfilters.NoTracebackForClientErrors"
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"filters": ["no_traceback_for_client_errors"]}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("WELLBEAT_LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR"]),
    },
}
