"""Settings from the environment, with defaults that work on a laptop (SQLite, local-memory cache)."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from apikeys.domain.keys import ALGORITHMS, SECRET_FORMATS
from config import env, logs

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env.boolean("DJANGO_DEBUG", False)
# The fallback is for a laptop only; `manage.py check --deploy` flags it in production.
SECRET_KEY = env.string("DJANGO_SECRET_KEY", "django-insecure-development-key-set-DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.comma_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tables2",
    "apikeys",
]

MIDDLEWARE = [
    "apikeys.infra.request_log.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "apikeys.infra.outages.DatabaseUnavailableMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.ConsoleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apikeys.api.middleware.ElasticsearchWireMiddleware",
    "apikeys.infra.security.ContentSecurityPolicyMiddleware",
]
# Run by ConsoleMiddleware, in this order, for every path but the JSON API's (`/_security`): the API knows its
# caller by the Authorization header alone, so it has no use for sessions, CSRF, messages, htmx or static files.
CONSOLE_MIDDLEWARE = [
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "apikeys.User"
# Passwords and the signed-in user (`apikeys.access.accounts`); Django's own backend after it serves sessions
# signed in before it was listed.
AUTHENTICATION_BACKENDS = ["apikeys.access.accounts.Accounts", "django.contrib.auth.backends.ModelBackend"]
# A username is unique within its realm (a constraint on username and realm), not alone; Django's sign-in and
# `createsuperuser` look in the native realm (`RealmUserManager.get_by_natural_key`): Django's check of a unique
# username (auth.E003 with its own backend, auth.W004 with ours) is silenced.
# Sessions, the signed-in user, messages and CSRF are in CONSOLE_MIDDLEWARE, where Django's checks do not look
# (tests/test_console_middleware.py holds the console to them).
SILENCED_SYSTEM_CHECKS = ["auth.E003", "auth.W004", "admin.E408", "admin.E409", "admin.E410", "security.W003"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

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
                "apikeys.console.context_processors.console",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env.string("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=600,
        # Not Django's health check (a `SELECT 1` round trip before every request's first statement): a kept
        # PostgreSQL connection the server has hung up on is closed at each request's start by a poll instead
        # (`outages.drop_hung_up_connections`, issue 22's profile).
        conn_health_checks=False,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE transactions plus a busy timeout make concurrent
    # writers wait their turn instead of failing with "database is locked". A worker keeps its connection between
    # requests: opening one (the file, its pragmas, Django's functions) cost more than a warm API request's whole
    # work (issue 22's profile). Each statement still reads the latest commit, so an invalidation is seen by every
    # worker on its next request (tests/faults/test_revocation.py).
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests use a file, as production does: an in-memory database shares one cache between threads and
    # answers "table is locked" where a real file waits its turn.
    # One file per test process, so two runs in one checkout never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f"test-db-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.string("REDIS_URL")
if REDIS_URL:
    # Redis behind a breaker: an outage makes every cache call a miss, not an error (apikeys/infra/redis_cache.py).
    CACHES = {"default": {"BACKEND": "apikeys.infra.redis_cache.ResilientRedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "apikeys"}}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # Verifies the Elasticsearch hashes given as `password_hash` to the user API (apikeys/domain/passwords.py).
    "apikeys.domain.passwords.ElasticsearchPbkdf2Hasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 6}},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves static files in every mode (no separate web server needed); in tests and on a laptop
# it finds them in place, so `collectstatic` is only a production step.
WHITENOISE_USE_FINDERS = True

# Request bodies larger than this are answered 413 by the JSON API.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.integer("APIKEYS_MAX_BODY_BYTES", 1024 * 1024)

# API keys: "ssha256" (default; secrets are random, so a fast salted hash is safe) or "argon2id".
APIKEYS_HASH_ALGORITHM = env.choice("APIKEYS_HASH_ALGORITHM", ALGORITHMS, "ssha256")
# New keys' secrets: "prefixed" (recognisable by secret scanners, checksummed) or "elasticsearch" (plain).
APIKEYS_SECRET_FORMAT = env.choice("APIKEYS_SECRET_FORMAT", SECRET_FORMATS, "prefixed")
# Leaked keys (`POST /_security/api_key/_leaked`): the reporter's public keys, in GitHub's shape (a JSON file;
# unset: every report is refused), and what a report does to an active key ("invalidate" or "notify").
APIKEYS_SECRET_SCANNING_KEYS = env.string("APIKEYS_SECRET_SCANNING_KEYS")
APIKEYS_LEAK_ACTION = env.choice("APIKEYS_LEAK_ACTION", ("invalidate", "notify"), "invalidate")
# Proxies whose X-Forwarded-For is believed (CIDRs): the client is the nearest address not among them.
APIKEYS_TRUSTED_PROXIES = env.networks("APIKEYS_TRUSTED_PROXIES")
# Invalidated and expired keys are deleted for good after this many days.
APIKEYS_RETENTION_DAYS = env.integer("APIKEYS_RETENTION_DAYS", 7)
# Invalidation triggers a retention purge at most this often (seconds).
APIKEYS_PURGE_INTERVAL_SECONDS = env.integer("APIKEYS_PURGE_INTERVAL_SECONDS", 3600)
# On SQLite, planner statistics are refreshed at most this often after writes to keys (seconds).
APIKEYS_STATISTICS_INTERVAL_SECONDS = env.integer("APIKEYS_STATISTICS_INTERVAL_SECONDS", 3600)
# How long a verified key or password is remembered (seconds).
APIKEYS_AUTH_CACHE_SECONDS = env.integer("APIKEYS_AUTH_CACHE_SECONDS", 20 * 60)
# `last_used` is written at most this often per key (seconds), after the response.
APIKEYS_LAST_USED_INTERVAL_SECONDS = env.integer("APIKEYS_LAST_USED_INTERVAL_SECONDS", 60)
# Failed API authentications per window before answers turn to 429 (a success is never refused).
APIKEYS_AUTH_FAILURE_WINDOW_SECONDS = env.integer("APIKEYS_AUTH_FAILURE_WINDOW_SECONDS", 60)
APIKEYS_AUTH_FAILURES_PER_KEY = env.integer("APIKEYS_AUTH_FAILURES_PER_KEY", 10)
APIKEYS_AUTH_FAILURES_PER_CLIENT = env.integer("APIKEYS_AUTH_FAILURES_PER_CLIENT", 100)
# Failed console sign-ins per username and client before a lock-out of one window.
APIKEYS_SIGN_IN_FAILURES = env.integer("APIKEYS_SIGN_IN_FAILURES", 5)
APIKEYS_SIGN_IN_WINDOW_SECONDS = env.integer("APIKEYS_SIGN_IN_WINDOW_SECONDS", 900)
APIKEYS_CLUSTER_NAME = env.string("APIKEYS_CLUSTER_NAME", "apikeys-console")
# The shared cache's connect/read timeout, and how long a process answers without it after a failure.
APIKEYS_CACHE_TIMEOUT_SECONDS = env.number("APIKEYS_CACHE_TIMEOUT_SECONDS", 0.25)
APIKEYS_CACHE_RETRY_SECONDS = env.number("APIKEYS_CACHE_RETRY_SECONDS", 5.0)
# OAuth2 tokens (`/_security/oauth2/token`): an access token's life, and its refresh token's (single use).
APIKEYS_TOKEN_EXPIRATION_SECONDS = env.integer("APIKEYS_TOKEN_EXPIRATION_SECONDS", 20 * 60)
APIKEYS_REFRESH_TOKEN_EXPIRATION_SECONDS = env.integer("APIKEYS_REFRESH_TOKEN_EXPIRATION_SECONDS", 24 * 3600)
# Key lifetimes, as Elasticsearch durations ("90d"): the expiration a create or grant that names none gets, and
# the longest allowed (a longer one, or none when there is no default, is refused). Both unset: no policy.
APIKEYS_DEFAULT_EXPIRATION = env.string("APIKEYS_DEFAULT_EXPIRATION") or None
APIKEYS_MAX_EXPIRATION = env.string("APIKEYS_MAX_EXPIRATION") or None
# Active keys expiring within this many days are "Expiring soon" (list filter, status tone, owners' digest).
APIKEYS_EXPIRING_SOON_DAYS = env.integer("APIKEYS_EXPIRING_SOON_DAYS", 7)
# Where the console is reached: the links in the expiry digest (`manage.py notify_expiring_api_keys`).
APIKEYS_CONSOLE_URL = env.string("APIKEYS_CONSOLE_URL", "http://127.0.0.1:8000").rstrip("/")

# Signing in with the organisation's OpenID Connect provider (apikeys/infra/oidc.py): off while no issuer is set.
APIKEYS_OIDC_ISSUER = env.string("APIKEYS_OIDC_ISSUER").rstrip("/")
APIKEYS_OIDC_CLIENT_ID = env.string("APIKEYS_OIDC_CLIENT_ID")
APIKEYS_OIDC_CLIENT_SECRET = env.string("APIKEYS_OIDC_CLIENT_SECRET")
APIKEYS_OIDC_NAME = env.string("APIKEYS_OIDC_NAME", "single sign-on")
APIKEYS_OIDC_REALM = env.string("APIKEYS_OIDC_REALM", "oidc1")
APIKEYS_OIDC_SCOPES = env.string("APIKEYS_OIDC_SCOPES", "openid email profile")
APIKEYS_OIDC_TIMEOUT_SECONDS = env.number("APIKEYS_OIDC_TIMEOUT_SECONDS", 10.0)
# The claims that give the username, the groups, the email address and the full name, in that order.
APIKEYS_OIDC_CLAIMS = env.comma_list("APIKEYS_OIDC_CLAIMS", "preferred_username,groups,email,name")
if len(APIKEYS_OIDC_CLAIMS) != 4:
    raise ImproperlyConfigured("APIKEYS_OIDC_CLAIMS: expected four claim names (username, groups, email, full name)")
# `false`: the console signs in only through the provider (the JSON API keeps Basic auth for native users).
APIKEYS_PASSWORD_SIGN_IN = env.boolean("APIKEYS_PASSWORD_SIGN_IN", True)

# Usage per key: counts are kept in each process and added to the database at most this often (and at
# exit; a crash loses at most this much), kept this many days; keys unused this long are "Not used".
APIKEYS_USAGE_FLUSH_SECONDS = env.number("APIKEYS_USAGE_FLUSH_SECONDS", 10.0)
APIKEYS_USAGE_RETENTION_DAYS = env.integer("APIKEYS_USAGE_RETENTION_DAYS", 90)
APIKEYS_UNUSED_DAYS = env.integer("APIKEYS_UNUSED_DAYS", 90)

# Operations (README "Operations"). `/metrics` answers callers holding `monitor`, and `Authorization: Bearer` this
# token when set. What the estate holds (keys by status) is read at most this often, whoever scrapes.
APIKEYS_METRICS_TOKEN = env.string("APIKEYS_METRICS_TOKEN")
APIKEYS_METRICS_STATE_SECONDS = env.number("APIKEYS_METRICS_STATE_SECONDS", 60.0)
# Where gunicorn's workers add up their metrics (prometheus-client's multiprocess mode; config/gunicorn.py makes a
# folder when unset). Unset outside gunicorn: one process counts alone.
PROMETHEUS_MULTIPROC_DIR = env.string("PROMETHEUS_MULTIPROC_DIR")
# `/readyz`: how long the database has to answer before the process counts as not ready.
APIKEYS_READY_TIMEOUT_SECONDS = env.number("APIKEYS_READY_TIMEOUT_SECONDS", 1.0)
# Audit events sent to a webhook as they happen (batched JSON, signed with HMAC-SHA256 of the secret), from an
# outbox written with each event; retried from APIKEYS_AUDIT_WEBHOOK_RETRY_SECONDS, doubling up to five minutes.
APIKEYS_AUDIT_WEBHOOK_URL = env.string("APIKEYS_AUDIT_WEBHOOK_URL")
APIKEYS_AUDIT_WEBHOOK_SECRET = env.string("APIKEYS_AUDIT_WEBHOOK_SECRET")
APIKEYS_AUDIT_WEBHOOK_BATCH = env.integer("APIKEYS_AUDIT_WEBHOOK_BATCH", 100)
APIKEYS_AUDIT_WEBHOOK_TIMEOUT_SECONDS = env.number("APIKEYS_AUDIT_WEBHOOK_TIMEOUT_SECONDS", 10.0)
APIKEYS_AUDIT_WEBHOOK_RETRY_SECONDS = env.number("APIKEYS_AUDIT_WEBHOOK_RETRY_SECONDS", 1.0)

# Email (the expiry digest): printed to the console unless EMAIL_HOST names an SMTP server.
EMAIL_HOST = env.string("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env.integer("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env.string("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "API keys <apikeys@localhost>")

# Logs go to standard error: human-readable lines (`text`), or one JSON object per line (`json`, python-json-logger),
# each request adding one (apikeys/infra/request_log.py). Credentials are scrubbed from every record either way.
LOG_FORMAT = logs.log_format()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "scrub_secrets": {"()": "apikeys.infra.logs.ScrubSecrets"},
        "quiet_refusals": {"()": "apikeys.infra.logs.QuietRefusals"},
        "request_id": {"()": "apikeys.infra.request_log.RequestIdFilter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["scrub_secrets", "request_id"]}},
    "loggers": {"django.request": {"filters": ["quiet_refusals"]}},
    "root": {"handlers": ["console"], "level": env.string("DJANGO_LOG_LEVEL", "INFO")},
}
if LOG_FORMAT == "json":
    LOGGING["formatters"] = {"json": logs.JSON_FORMATTER}
    LOGGING["handlers"]["console"]["formatter"] = "json"
    # Django's own handlers write text: its loggers write through ours instead.
    LOGGING["loggers"]["django"] = {"handlers": [], "level": "INFO"}
    LOGGING["loggers"]["django.server"] = {"handlers": ["console"], "propagate": False}

# Browser hardening. Behind HTTPS (DJANGO_HTTPS=true): secure cookies, HSTS and a redirect to HTTPS.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Sessions are read on every console request: from the cache (Redis in production), written through to the
# database so that a cache restart signs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
HTTPS = env.boolean("DJANGO_HTTPS", False)
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.integer("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = [f"https://{host}" for host in ALLOWED_HOSTS if host not in ("*",)]
