"""Settings for Amani, read from the environment (and an optional ``.env`` file).

Every variable is listed with a comment in ``.env.example``. Defaults are the production-safe
ones: DEBUG is off unless asked for, and without DEBUG the process refuses to start with no
SECRET_KEY or no ALLOWED_HOSTS. With no DATABASE_URL, an embedded PostgreSQL is started
(``amani/embedded_db.py``); there is no SQLite path, because RLS, CHECK constraints and row locks
are the point.
"""

import os
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
import environ
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

from amani.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".data"

env = environ.Env()
# The environment wins over the file. ENV_FILE (environment only) names another file, or none
# when empty: tests that check what the settings do unconfigured run without a developer's .env.
ENV_FILE = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).exists():
    env.read_env(ENV_FILE)

# pytest-django imports settings before any test code runs; tests need no hand-made secret.
TESTING = "pytest" in sys.modules

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Development only: a random key kept in the git-ignored data folder, so sessions survive a
    # restart. Never used in production, where the check above refuses to start.
    key_file = DATA_DIR / "dev-secret-key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(get_random_secret_key())
    SECRET_KEY = key_file.read_text().strip()

LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if DEBUG or TESTING:
    # A development server always answers on this machine, whatever a copied .env.example says.
    ALLOWED_HOSTS += [host for host in LOCAL_HOSTS if host not in ALLOWED_HOSTS]
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "escrow.apps.EscrowAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "procrastinate.contrib.django",
    "axes",
    "escrow",
]

MIDDLEWARE = [
    # First: the request's id, its one log line and its metrics cover everything below
    # (amani/middleware.py), and every answer carries X-Request-ID.
    "amani.middleware.RequestLogMiddleware",
    # Then: it answers CORS preflights itself (no token, no view), and adds the CORS headers to
    # every /api/ answer, errors included, so a browser app can read a 401 or a 429.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (the console's, Swagger UI's from drf-spectacular-sidecar) from the app itself,
    # after `collectstatic`: no separate file server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 (escrow.logins.lockout_response).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "amani.urls"
WSGI_APPLICATION = "amani.wsgi.application"
ASGI_APPLICATION = "amani.asgi.application"

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
            ],
        },
    },
]

# Database: DATABASE_URL (a local server, Supabase's direct connection or session pooler), or
# the embedded server. PostgreSQL only.
DATABASE_URL = env.str("DATABASE_URL", default="")
if not DATABASE_URL:
    from amani.embedded_db import embedded_database_url

    DATABASE_URL = embedded_database_url(DATA_DIR / "pg")
# Connections: a pool per process by default (psycopg_pool through Django's OPTIONS["pool"]), so no
# request pays for a new connection (docs/operations.md, Connections). DB_POOL_MAX_SIZE is per
# process: a sync gunicorn worker serves one request at a time and needs one connection; threads
# need one each. The pool checks nothing per request (a dead connection is replaced when it is
# returned broken); DB_POOL=false goes back to Django's connection per request, or with
# DB_CONN_MAX_AGE, a persistent one per thread, checked at each request's first query.
DB_POOL = env.bool("DB_POOL", default=True)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=0 if DB_POOL else env.int("DB_CONN_MAX_AGE", default=0),
        conn_health_checks=not DB_POOL,
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...).")
if DB_POOL:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=4),
        # A request waits this long for a free connection, then fails (a 500), rather than hang.
        "timeout": env.float("DB_POOL_TIMEOUT_SECONDS", default=10.0),
        # Connections are replaced after this long (psycopg_pool's default is an hour), so a
        # database's failover or a pooler's restart is picked up without a restart of ours.
        "max_lifetime": env.float("DB_POOL_MAX_LIFETIME_SECONDS", default=1800.0),
    }
# Supabase's transaction pooler (port 6543, Supavisor) or PgBouncer in transaction mode gives each
# transaction any server connection: a server-side cursor (iterator() outside a transaction)
# would not survive. Set DB_DISABLE_SERVER_SIDE_CURSORS=true there (docs/operations.md).
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DB_DISABLE_SERVER_SIDE_CURSORS", default=False)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "escrow.User"
# django-axes first: a locked-out account or address is refused before its password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing strength is not under test; a fast hasher keeps the suite quick.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Shared by every app process (throttling, the Supabase JWKS): the database by default.
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://amani_cache")}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = DEBUG  # development serves from the apps' folders, without collectstatic

# Escrow rules (the engine reads these).
ESCROW_COMMISSION_PERCENT = Decimal(env.str("ESCROW_COMMISSION_PERCENT", default="2.5"))
# Default inspection period for new projects, in days (0: no automatic approval).
ESCROW_INSPECTION_DAYS = env.int("ESCROW_INSPECTION_DAYS", default=0)

# --- Dispute cases (docs/engine.md#disputes-as-cases) ---------------------------------------------
# Days the parties have to answer a new dispute; when they pass, the operators are told.
ESCROW_DISPUTE_RESPONSE_DAYS = env.int("ESCROW_DISPUTE_RESPONSE_DAYS", default=7)
# Largest evidence file accepted (bytes); the type is read from the content (PDF, PNG, JPEG, GIF, WebP).
ESCROW_EVIDENCE_MAX_BYTES = env.int("ESCROW_EVIDENCE_MAX_BYTES", default=10 * 1024 * 1024)

# Evidence files go through Django's storage API: local files under MEDIA_ROOT by default (never
# served by a URL: only the API's download, after its access check), or an S3-compatible bucket
# (AWS S3, Supabase Storage's S3 endpoint, MinIO...) when STORAGE_S3_BUCKET is set.
MEDIA_ROOT = env.str("MEDIA_ROOT", default="") or str(BASE_DIR / ".media")  # empty = the default
if env.str("STORAGE_S3_BUCKET", default=""):
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("STORAGE_S3_BUCKET"),
            "endpoint_url": env.str("STORAGE_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("STORAGE_S3_REGION", default="") or None,
            "access_key": env.str("STORAGE_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("STORAGE_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("STORAGE_S3_PREFIX", default=""),
            "default_acl": None,  # private objects: the bucket's own policy, never public-read
            "querystring_auth": True,  # any URL the storage makes is signed and expires
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None}}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- API -----------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "escrow.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the browsable API
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "escrow.api.pagination.Pagination",
    # Request bodies are JSON only (a view that takes files sets its own parsers): what the schema
    # says, so generated clients send one content type.
    "DEFAULT_PARSER_CLASSES": ["escrow.api.fields.DecimalJSONParser"],
    # DRF's JSON, rendered by orjson (escrow/api/renderers.py); the browsable API for browsers.
    "DEFAULT_RENDERER_CLASSES": ["escrow.api.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_SCHEMA_CLASS": "escrow.api.schema.EscrowAutoSchema",
    "EXCEPTION_HANDLER": "escrow.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Amani escrow API",
    "DESCRIPTION": "Escrow between a buyer and a seller: projects, milestones, funding, releases, withdrawals.",
    "VERSION": "1",
    "CONTACT": {"name": "Amani"},
    "SERVERS": [{"url": "http://127.0.0.1:8000", "description": "make run (use your deployment's origin)"}],
    "SERVE_INCLUDE_SCHEMA": False,
    # 3.1 for the ``webhooks`` section (the outbound webhooks, escrow/api/webhook_schema.py).
    "OAS_VERSION": "3.1.0",
    "WEBHOOKS": ["escrow.api.webhook_schema.escrow_event"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "escrow.api.schema.shared_enums",
                             "escrow.api.webhook_schema.webhook_signature",
                             "escrow.api.webhook_schema.openapi_31_nullable"],
    # Swagger UI and Redoc from the drf-spectacular-sidecar package (static files), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ProjectStatusEnum": "escrow.models.choices.ProjectStatus",
        "MilestoneStatusEnum": "escrow.models.choices.MilestoneStatus",
        "TransactionTypeEnum": "escrow.models.choices.TransactionType",
        "TransactionStatusEnum": "escrow.models.choices.TransactionStatus",
        "FeeBearerEnum": "escrow.models.choices.FeeBearer",
        "DisputeStatusEnum": "escrow.models.disputes.DisputeStatus",
        "DisputeOutcomeEnum": "escrow.models.disputes.DisputeOutcome",
        "OfferStatusEnum": "escrow.models.disputes.OfferStatus",
    },
}

# CORS: browser apps on these origins (scheme://host[:port], comma-separated) may call /api/. Empty:
# none may. Bearer tokens only, no cookies (CORS_ALLOW_CREDENTIALS stays off): the admin's
# session cookie is never sent cross-origin.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "idempotency-key")
# Response headers a browser app may read. X-Request-ID: set by the request logging, if present.
CORS_EXPOSE_HEADERS = ("idempotent-replayed", "retry-after", "x-request-id")
CORS_PREFLIGHT_MAX_AGE = 3600

# How many reverse proxies in front of the app append to X-Forwarded-For. 0: the header is not
# believed and the client is the connection's address (escrow/logins.py).
TRUSTED_PROXY_COUNT = max(env.int("TRUSTED_PROXY_COUNT", default=0), 0)
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT  # any DRF throttle other than ours

# Login, refresh and registration attempts per client address (in the shared cache).
AUTH_THROTTLE_RATE = env.str("AUTH_THROTTLE_RATE", default="10/min")

# Failed logins (API token endpoint and operator console), django-axes on the database: after
# AUTH_LOCKOUT_FAILURES wrong passwords for one account, or from one address, further attempts are
# refused (429) without checking the password until AUTH_LOCKOUT_MINUTES after the last failure.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = max(env.int("AUTH_LOCKOUT_FAILURES", default=10), 1)
AXES_COOLOFF_TIME = timedelta(minutes=max(env.int("AUTH_LOCKOUT_MINUTES", default=15), 1))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]  # either one reaching the limit locks
AXES_USERNAME_FORM_FIELD = "username"  # the admin form's field, and what our token view passes
AXES_USERNAME_CALLABLE = "escrow.logins.attempted_account"
AXES_CLIENT_IP_CALLABLE = "escrow.logins.client_ip"
AXES_LOCKOUT_CALLABLE = "escrow.logins.lockout_response"
# Attempts during a lockout are neither checked nor recorded, so the lockout ends on time and an
# attacker cannot extend it forever; and a success does not wipe the counts (which would let anyone
# with an account of their own reset the count of the address they spray from).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False  # no banner on every manage.py command

# Our own tokens (HS256). The signing key defaults to SECRET_KEY.
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY
JWT_ISSUER = env.str("JWT_ISSUER", default="amani")
JWT_ACCESS_TTL_SECONDS = env.int("JWT_ACCESS_TTL_SECONDS", default=15 * 60)
JWT_REFRESH_TTL_SECONDS = env.int("JWT_REFRESH_TTL_SECONDS", default=7 * 24 * 3600)
# A refresh token is exchanged once. Presented again, the session is revoked (a replay). A grace
# of a few seconds (only refused, not revoked, that soon after its use) spares a user whose two
# tabs refresh at once; strict (0) by default, as the issue asks.
JWT_REFRESH_REUSE_GRACE_SECONDS = max(env.int("JWT_REFRESH_REUSE_GRACE_SECONDS", default=0), 0)
# Supabase sessions: asymmetric keys from <SUPABASE_URL>/auth/v1/.well-known/jwks.json, and the
# legacy HS256 secret if the project still has one.
SUPABASE_URL = env.str("SUPABASE_URL", default="").rstrip("/")
SUPABASE_JWT_SECRET = env.str("SUPABASE_JWT_SECRET", default="")
SUPABASE_JWKS_CACHE_SECONDS = min(env.int("SUPABASE_JWKS_CACHE_SECONDS", default=600), 600)
# Supabase's anonymous sign-ins (is_anonymous: true) are refused unless this is on.
SUPABASE_ALLOW_ANONYMOUS = env.bool("SUPABASE_ALLOW_ANONYMOUS", default=False)

# Every authenticated API request runs as the `authenticated` role under RLS. Turning it off
# exists only for `make bench` to measure what RLS costs; never in production.
API_RLS = env.bool("API_RLS", default=True)

# Idempotency keys are kept at least this long (the purge command removes older ones).
IDEMPOTENCY_KEY_TTL_HOURS = max(env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48), 24)
IDEMPOTENCY_LEASE_SECONDS = max(env.int("IDEMPOTENCY_LEASE_SECONDS", default=60), 1)  # a crashed request's claim on its key lasts this long

# --- Jobs (procrastinate) -------------------------------------------------------------------------
# Jobs are rows in PostgreSQL, deferred in the transaction of the ledger row that needs them. The
# worker (`manage.py procrastinate worker`) needs a session connection for LISTEN/NOTIFY: the
# direct or session-pooler URL, never Supabase's transaction pooler.
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = ""
PROCRASTINATE_IMPORT_PATHS = ["escrow.jobs", "escrow.payments.jobs", "escrow.notify.jobs"]
PROCRASTINATE_ON_APP_READY = "escrow.worker.on_app_ready"
# A job whose worker sent no heartbeat for this long is put back in the queue (its worker died).
JOBS_STALLED_AFTER_SECONDS = env.int("JOBS_STALLED_AFTER_SECONDS", default=60)
# Jobs a worker runs at once, each in a thread with its own database connection (taken from the
# process's pool: keep DB_POOL_MAX_SIZE at least this). An e-mail or a webhook mostly waits on
# the network; one at a time, a slow mail server would hold up every other job.
JOBS_WORKER_CONCURRENCY = env.int("JOBS_WORKER_CONCURRENCY", default=4)

# --- Outbound webhooks (docs/webhooks.md) ---------------------------------------------------------
# Networks a webhook URL may resolve to although they are not public (private, loopback,
# link-local...): none in production. A receiver on this machine in development: 127.0.0.1/32.
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Retries: base × 2^(n−1) seconds, capped, for at least WEBHOOK_RETRY_HOURS (never less than 24).
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=5.0)
WEBHOOK_RETRY_CAP_SECONDS = env.float("WEBHOOK_RETRY_CAP_SECONDS", default=6 * 3600)
WEBHOOK_RETRY_HOURS = max(env.float("WEBHOOK_RETRY_HOURS", default=24), 24)
# An endpoint that accepted nothing for this long is disabled at its next failure.
WEBHOOK_DISABLE_AFTER_HOURS = env.float("WEBHOOK_DISABLE_AFTER_HOURS", default=5 * 24)
WEBHOOK_MAX_ENDPOINTS = env.int("WEBHOOK_MAX_ENDPOINTS", default=10)

# --- E-mail (docs/notifications.md) ----------------------------------------------------------------
# EMAIL_URL (django-environ): smtp://user:password@host:587 (STARTTLS: smtp+tls://, TLS: smtp+ssl://).
# Unset: the console backend in development (DEBUG), Django's SMTP default (localhost:25) otherwise.
# A provider's API (Postmark, SES, Mailgun...) through django-anymail: install it and set
# EMAIL_BACKEND_OVERRIDE to its backend (anymail.backends.postmark.EmailBackend) and ANYMAIL per its docs.
_email_default = "consolemail://" if DEBUG else "smtp://localhost:25"
vars().update(env.email_url_config(env.str("EMAIL_URL", default="") or _email_default))  # empty = unset
if env.str("EMAIL_BACKEND_OVERRIDE", default=""):
    EMAIL_BACKEND = env.str("EMAIL_BACKEND_OVERRIDE")
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT_SECONDS", default=10.0)  # a hung server must not hold a worker
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Amani <no-reply@localhost>")
# Retries of a notification the server refused or could not take: base × 2^(n−1) seconds, capped.
EMAIL_RETRY_BASE_SECONDS = env.float("EMAIL_RETRY_BASE_SECONDS", default=30.0)
EMAIL_RETRY_MAX_ATTEMPTS = env.int("EMAIL_RETRY_MAX_ATTEMPTS", default=12)
# The buyer is reminded this many hours before a delivery's inspection period ends.
NOTIFY_INSPECTION_REMINDER_HOURS = env.int("NOTIFY_INSPECTION_REMINDER_HOURS", default=24)
# Days an invitation (a counterparty named by e-mail, docs/api.md) stays open; a resend starts them again.
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=14)

# --- FinCra ---------------------------------------------------------------------------------------

FINCRA_BASE_URL = env.str("FINCRA_BASE_URL", default="").rstrip("/")  # sandbox: https://sandboxapi.fincra.com
FINCRA_SECRET_KEY = env.str("FINCRA_SECRET_KEY", default="")  # sent as `api-key`
FINCRA_PUBLIC_KEY = env.str("FINCRA_PUBLIC_KEY", default="")  # sent as `x-pub-key`
FINCRA_BUSINESS_ID = env.str("FINCRA_BUSINESS_ID", default="")  # sent as `x-business-id`
FINCRA_WEBHOOK_SECRET = env.str("FINCRA_WEBHOOK_SECRET", default="")  # HMAC-SHA512 key of `signature`
FINCRA_TIMEOUT_SECONDS = env.float("FINCRA_TIMEOUT_SECONDS", default=10.0)
# Where FinCra's checkout sends the buyer back. FinCra requires a valid URI when the field is sent,
# so it is omitted when unset (development); production with FinCra keys refuses to start without it.
FINCRA_REDIRECT_URL = env.str("FINCRA_REDIRECT_URL", default="")
if FINCRA_SECRET_KEY and not (DEBUG or TESTING) and not FINCRA_REDIRECT_URL.startswith("https://"):
    raise ImproperlyConfigured("FINCRA_REDIRECT_URL must be set to an https:// URL when FinCra keys are set.")
# USD payouts (payouts/united-states.mdx): FinCra needs our business as the sender of every payout
# and a supporting document per payout, which Amani serves at a signed URL under PUBLIC_BASE_URL.
# Without the sender (name, country, ID number) and PUBLIC_BASE_URL, USD withdrawals are refused (400).
FINCRA_SENDER_NAME = env.str("FINCRA_SENDER_NAME", default="")  # our registered business name
FINCRA_SENDER_TYPE = env.str("FINCRA_SENDER_TYPE", default="corporate")  # corporate | individual
FINCRA_SENDER_COUNTRY = env.str("FINCRA_SENDER_COUNTRY", default="").upper()  # of incorporation (ISO alpha-2)
FINCRA_SENDER_ID_TYPE = env.str("FINCRA_SENDER_ID_TYPE", default="business_registration_number")
FINCRA_SENDER_ID_NUMBER = env.str("FINCRA_SENDER_ID_NUMBER", default="")  # e.g. the RC number, <= 30 characters
FINCRA_SENDER_EMAIL = env.str("FINCRA_SENDER_EMAIL", default="")
FINCRA_SENDER_ADDRESS = env.str("FINCRA_SENDER_ADDRESS", default="")  # free text
if FINCRA_SENDER_TYPE not in ("corporate", "individual"):
    raise ImproperlyConfigured("FINCRA_SENDER_TYPE must be corporate or individual.")
if FINCRA_SENDER_ID_TYPE not in ("national_id", "international_passport", "drivers_license",
                                 "business_registration_number"):
    raise ImproperlyConfigured("FINCRA_SENDER_ID_TYPE must be one of FinCra's Sender.idType values.")
# The service's public origin (https://api.example.com), for absolute URLs given to others: the
# supporting document of a USD payout, which FinCra fetches. Production refuses a non-https one.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").rstrip("/")
if PUBLIC_BASE_URL and not (DEBUG or TESTING) and not PUBLIC_BASE_URL.startswith("https://"):
    raise ImproperlyConfigured("PUBLIC_BASE_URL must be an https:// URL.")
# How long a payout document's signed URL stays readable (FinCra's review may come days later).
PAYOUT_DOCUMENT_MAX_AGE_DAYS = max(env.int("PAYOUT_DOCUMENT_MAX_AGE_DAYS", default=30), 1)
# With DEBUG and no FinCra keys, the app talks to the bundled simulator (`make run` starts it),
# with keys generated once in the git-ignored data folder.
FINCRA_SIMULATED = DEBUG and not FINCRA_SECRET_KEY
FINCRA_SIMULATOR_PORT = env.int("FINCRA_SIMULATOR_PORT", default=8001)
FINCRA_SIMULATOR_WEBHOOK_URL = env.str(
    "FINCRA_SIMULATOR_WEBHOOK_URL", default="http://127.0.0.1:8000/api/v1/webhooks/fincra/"
)
if FINCRA_SIMULATED:
    import json
    import secrets

    keys_file = DATA_DIR / "fincra-simulator.json"
    simulator_keys = json.loads(keys_file.read_text()) if keys_file.exists() else {}
    if len(simulator_keys.get("business_id", "")) != 24:  # FinCra's business ids are 24 characters
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        simulator_keys = {name: secrets.token_hex(16) for name in ("secret_key", "public_key", "webhook_secret")}
        simulator_keys["business_id"] = secrets.token_hex(12)
        keys_file.write_text(json.dumps(simulator_keys))
    FINCRA_BASE_URL = f"http://127.0.0.1:{FINCRA_SIMULATOR_PORT}"
    FINCRA_SECRET_KEY, FINCRA_PUBLIC_KEY = simulator_keys["secret_key"], simulator_keys["public_key"]
    FINCRA_BUSINESS_ID, FINCRA_WEBHOOK_SECRET = simulator_keys["business_id"], simulator_keys["webhook_secret"]
    # USD payouts against the simulator: a stand-in sender, documents served by `make run`'s server.
    FINCRA_SENDER_NAME = FINCRA_SENDER_NAME or "Amani (development)"
    FINCRA_SENDER_COUNTRY = FINCRA_SENDER_COUNTRY or "NG"
    FINCRA_SENDER_ID_NUMBER = FINCRA_SENDER_ID_NUMBER or "DEV-0000000"
    PUBLIC_BASE_URL = PUBLIC_BASE_URL or "http://127.0.0.1:8000"

# Production hardening: on unless DEBUG.
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
if BEHIND_TLS_PROXY:
    # Every client reaches the service over TLS at the proxy: plain HTTP is redirected, and browsers
    # are told to stay on HTTPS (HSTS). Without the proxy (development) neither applies: with no
    # X-Forwarded-Proto every request would look insecure and redirect forever.
    SECURE_SSL_REDIRECT = True
    # The load balancer's and the orchestrator's probes, and Prometheus' scrapes, may come over
    # plain HTTP from inside the network without X-Forwarded-Proto.
    SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/$", r"^livez$", r"^readyz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    # Covers names *under* the host serving Amani only (api.example.com → *.api.example.com).
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is the domain owner's commitment (browsers' lists, for the registrable domain,
        # slow to undo), not this service's: off unless asked for, and `check --deploy` told so.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
SESSION_COOKIE_SECURE = not DEBUG and not TESTING
CSRF_COOKIE_SECURE = not DEBUG and not TESTING
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Logs, metrics, errors (docs/operations.md) -----------------------------------------------------
# One line per log record on stderr, JSON (one object a line) or text; text by default with DEBUG.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
# Every logger goes through the root's one handler. Django's own configuration (applied first)
# gives `django` a console handler of its own under DEBUG and `django.server` another: with ours
# on the root each django line was printed twice. Naming them here replaces their handlers (an
# empty list: it propagates to the root). `django.server` (runserver's access line) is dropped:
# the request line of amani.middleware says the same with the request's id.
LOGGING = logging_config(LOG_FORMAT, env.str("LOG_LEVEL", default="INFO"))
LOGGING["loggers"] = {
    "django": {"handlers": [], "level": "INFO", "propagate": True},
    "django.server": {"handlers": ["null"], "propagate": False},
    "pgserver": {"level": "WARNING"},
    # One line per periodic task, and per blueprint, at every start of every command.
    "procrastinate.periodic": {"level": "WARNING"},
    "procrastinate.blueprints": {"level": "WARNING"},
}
# X-Request-ID from the proxy (or the client) is kept when it is well-formed (8 to 128 letters,
# digits, `.` `_` `:` `-`); off: every request gets a new id.
REQUEST_ID_FROM_HEADER = env.bool("REQUEST_ID_FROM_HEADER", default=True)
# /metrics answers only with `Authorization: Bearer <METRICS_TOKEN>`; unset, it is a 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Sentry, when set; personal data is scrubbed before an event leaves (amani/sentry.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from amani.sentry import init_sentry

    init_sentry(SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)
