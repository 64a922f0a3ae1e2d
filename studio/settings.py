"""Django settings for Studio, every value read from the environment with a safe default.

The defaults are the embedded first run: SQLite, a local media folder, a Celery broker on
the filesystem (no Redis needed) and the offline renderer. docker/.env.example lists every
variable.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from studio.env import env_bool, env_float, env_int, env_list, env_str
from studio.logs import logging_config

# Lets admin and form classes be written with their type arguments (ModelAdmin[Plan]).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("STUDIO_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Studio will not run in production (DEBUG=0) with a "
            "key anyone could read: set SECRET_KEY to a long random string (for example "
            "the output of `python -c 'import secrets; print(secrets.token_urlsafe(50))'`),"
            " or DEBUG=1 for a local trial."
        )
    SECRET_KEY = "insecure-dev-key-only-for-DEBUG-1"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "audit",
    "policy",
    "accounts",
    "teams",
    "generations",
    "delivery",
    "library",
    "api",
    "providers.offline",
    "providers.openai_compat",
    "providers.hosted",
    "providers.runway",
    "providers.luma",
    "providers.fal",
    "providers.replicate",
    "providers.veo",
]

MIDDLEWARE = [
    "studio.health.HealthMiddleware",  # /healthz and /readyz, before host checks and redirects
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "studio.logs.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "audit.middleware.AuditRequestMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"

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
                "policy.context_processors.notices",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'studio.sqlite3'}"),
        # Keep connections between requests (a new PostgreSQL connection cost more CPU than
        # the job-card poll itself), checked once per request before reuse.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web server and worker share the file: wait for locks instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    # A file, not memory, so that a worker process in the tests can share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-studio.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out login before the password is checked.
# django-axes first (it refuses a locked-out login), then Django's model backend with the
# signed-in user cached (accounts.backends).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesBackend",
    "accounts.backends.CachedModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
# Serve static files from the app folders too, so a first run needs no collectstatic.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Media is never a public folder: every file goes through an access-checked view.
MEDIA_URL = "/files/"
STORAGES: dict[str, dict[str, object]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Object storage (S3, MinIO, R2...): STUDIO_STORAGE=s3. Credentials are boto3's own
# (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or an instance role). Files are never public:
# the access-checked views answer with a short-lived presigned redirect, or stream.
STUDIO_STORAGE = env_str("STUDIO_STORAGE", "local")
STUDIO_S3_SERVE = env_str("STUDIO_S3_SERVE", "redirect")  # redirect | stream
if STUDIO_STORAGE not in {"local", "s3"}:
    raise ImproperlyConfigured(f"STUDIO_STORAGE is {STUDIO_STORAGE!r}: use local or s3.")
if STUDIO_S3_SERVE not in {"redirect", "stream"}:
    raise ImproperlyConfigured(f"STUDIO_S3_SERVE is {STUDIO_S3_SERVE!r}: use redirect or stream.")
if STUDIO_STORAGE == "s3":
    if not env_str("STUDIO_S3_BUCKET"):
        raise ImproperlyConfigured("STUDIO_STORAGE=s3 needs STUDIO_S3_BUCKET.")
    STORAGES["default"] = {
        "BACKEND": "core.objectstore.StudioS3Storage",
        "OPTIONS": {
            "bucket_name": env_str("STUDIO_S3_BUCKET"),
            "endpoint_url": env_str("STUDIO_S3_ENDPOINT_URL") or None,
            "region_name": env_str("STUDIO_S3_REGION") or None,
            "location": env_str("STUDIO_S3_PREFIX").strip("/"),
            # Where browsers reach the bucket, when it differs from where Studio does
            # (compose: Studio talks to http://minio:9000, browsers to the host's port).
            "public_endpoint_url": env_str("STUDIO_S3_PUBLIC_ENDPOINT_URL") or None,
            "querystring_expire": env_int("STUDIO_S3_URL_SECONDS", 300),
            "file_overwrite": False,
            "default_acl": None,
            "signature_version": "s3v4",
            "addressing_style": env_str("STUDIO_S3_ADDRESSING_STYLE") or None,
        },
    }

# --- Production security: on by default whenever DEBUG is off; each has an override. --------
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
# Behind a proxy that ends TLS and says so in X-Forwarded-Proto (without it such a proxy
# would see an endless redirect to https).
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Content Security Policy (Django's own middleware): scripts, styles, media and frames only
# from this site; no plugins, no inline script. htmx adds one inline <style> for its
# indicators, hence 'unsafe-inline' for styles only.
SECURE_CSP: dict[str, list[str]] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "media-src": [CSP.SELF, "blob:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if STUDIO_STORAGE == "s3" and STUDIO_S3_SERVE == "redirect":
    # Players and posters follow the access-checked views' presigned redirects to the bucket.
    _bucket_url = env_str("STUDIO_S3_PUBLIC_ENDPOINT_URL") or env_str("STUDIO_S3_ENDPOINT_URL")
    _bucket_origin = (
        "{0.scheme}://{0.netloc}".format(urlsplit(_bucket_url))
        if _bucket_url
        else "https://*.amazonaws.com"
    )
    SECURE_CSP["img-src"].append(_bucket_origin)
    SECURE_CSP["media-src"].append(_bucket_origin)

# --- Request size: refused before the body is buffered -------------------------------------
# Form fields (everything but files) held in memory at most; more is a 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
# A file up to this size is kept in memory while the request is read, larger ones on disk.
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
DATA_UPLOAD_MAX_NUMBER_FILES = 10
# core.uploads stops a file past STUDIO_UPLOAD_MAX_MB before the next handlers store it.
FILE_UPLOAD_HANDLERS = [
    "core.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Login throttling (django-axes): both login pages, the creators' and the admin's -------
AXES_ENABLED = env_bool("STUDIO_LOGIN_THROTTLE", True)
# Failed logins before a lockout, and how long it lasts.
AXES_FAILURE_LIMIT = env_int("STUDIO_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("STUDIO_LOGIN_LOCKOUT_MINUTES", 15.0))
# What is counted: each name ("username", "ip_address") on its own, or "a+b" together.
AXES_LOCKOUT_PARAMETERS: list[str | list[str]] = [
    item.split("+") if "+" in item else item
    for item in env_list("STUDIO_LOGIN_LOCKOUT_BY", ["username", "ip_address"])
]
AXES_RESET_ON_SUCCESS = True
# No start-up banner on every manage.py and worker start; lockouts are still logged.
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"

# json: one object per line, with the job's ids (production); plain: readable text
# (./dev run, where DEBUG=1). studio/logs.py.
LOG_FORMAT = env_str("LOG_FORMAT") or ("plain" if DEBUG else "json")
LOGGING = logging_config(fmt=LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO"))

# --- Celery -------------------------------------------------------------------------------
# An empty CELERY_BROKER_URL means the embedded default: a broker in files under VAR_DIR,
# so the first run needs no Redis. Production sets redis://.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"


def filesystem_broker_options(var_dir: Path) -> dict[str, object]:
    """Transport options for the embedded broker kept in files under ``var_dir``."""
    folder = var_dir / "broker"
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
        # The transport polls its folder; the default second made every hop a second.
        "polling_interval": 0.1,
    }


CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = (
    filesystem_broker_options(VAR_DIR)
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "standard"
CELERY_TASK_ROUTES = {
    "delivery.tasks.finish_generation": {"queue": "media"},
    "delivery.tasks.make_delivery": {"queue": "media"},
    "providers.offline.tasks.render_offline_job": {"queue": "media"},
    "generations.tasks.reap_generations": {"queue": "standard"},
}
CELERY_BEAT_SCHEDULE = {
    "reap-generations": {
        "task": "generations.tasks.reap_generations",
        "schedule": env_float("STUDIO_REAPER_INTERVAL", 30.0),
    },
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Studio -------------------------------------------------------------------------------
STUDIO_DEFAULT_PROVIDER = env_str("STUDIO_DEFAULT_PROVIDER", "offline")
# Redis for the GPU workers' announcements and cancel flags; empty means the broker's.
STUDIO_DIFFUSION_REDIS_URL = env_str("STUDIO_DIFFUSION_REDIS_URL")
STUDIO_WORK_DIR = Path(env_str("STUDIO_WORK_DIR", str(VAR_DIR / "work")))
STUDIO_PROMPT_MAX_CHARS = env_int("STUDIO_PROMPT_MAX_CHARS", 2000)
STUDIO_UPLOAD_MAX_BYTES = env_int("STUDIO_UPLOAD_MAX_MB", 50) * 1024 * 1024
STUDIO_UPLOAD_MAX_PIXELS = env_int("STUDIO_UPLOAD_MAX_MEGAPIXELS", 40) * 1_000_000
STUDIO_UPLOAD_MAX_SECONDS = env_float("STUDIO_UPLOAD_MAX_SECONDS", 60.0)
# A job that has not ended this long after it was queued is failed by the reaper.
STUDIO_JOB_DEADLINE_SECONDS = env_int("STUDIO_JOB_DEADLINE_SECONDS", 3600)
# A job whose row has not moved for this long is handed to a worker again by the reaper.
STUDIO_JOB_STALL_SECONDS = env_float("STUDIO_JOB_STALL_SECONDS", 120.0)
# Poll intervals: start short, back off to the ceiling.
STUDIO_POLL_MIN_SECONDS = env_float("STUDIO_POLL_MIN_SECONDS", 1.0)
STUDIO_POLL_MAX_SECONDS = env_float("STUDIO_POLL_MAX_SECONDS", 30.0)
# Bearer token Prometheus sends to /metrics; empty turns the endpoint off (404).
STUDIO_METRICS_TOKEN = env_str("STUDIO_METRICS_TOKEN")
STUDIO_GALLERY_PAGE_SIZE = env_int("STUDIO_GALLERY_PAGE_SIZE", 24)
# Content Credentials: the signing chain is generated on first use in this folder (outside
# the repo and the media folder), unless the operator names a certificate chain and key.
STUDIO_C2PA_DIR = Path(env_str("STUDIO_C2PA_DIR", str(VAR_DIR / "c2pa")))
STUDIO_C2PA_CERT = env_str("STUDIO_C2PA_CERT")
STUDIO_C2PA_KEY = env_str("STUDIO_C2PA_KEY")
# OpenAI-compatible /v1/videos servers: a JSON list of endpoints, each with the keys of the
# admin's Video endpoints (slug, name, base_url, api_key, model_ids, sizes, seconds, ...).
STUDIO_OPENAI_ENDPOINTS = env_str("STUDIO_OPENAI_ENDPOINTS")
# Seconds one call to such a server may take before it counts as a timeout.
STUDIO_OPENAI_TIMEOUT_SECONDS = env_float("STUDIO_OPENAI_TIMEOUT_SECONDS", 60.0)
# How long after completion a server's video stays downloadable when it names no expiry.
STUDIO_OPENAI_DOWNLOAD_WINDOW_SECONDS = env_float("STUDIO_OPENAI_DOWNLOAD_WINDOW_SECONDS", 3600.0)

# --- Library ---------------------------------------------------------------------------------
# An imported archive may unpack to at most this much (a zip bomb is refused before anything
# is stored); each file in it is held to the upload limits above.
STUDIO_ARCHIVE_MAX_BYTES = env_int("STUDIO_ARCHIVE_MAX_MB", 2048) * 1024 * 1024
# Requests per minute one client address may make to the public share pages (0: no limit).
STUDIO_SHARE_RATE_LIMIT = env_int("STUDIO_SHARE_RATE_LIMIT", 120)

# --- Errors ---------------------------------------------------------------------------------
# Optional Sentry: errors from web and workers. No prompt text is sent unless allowed.
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    from studio.errors import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
        send_prompts=env_bool("STUDIO_SENTRY_SEND_PROMPTS", False),
        traces_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
    )

# After a create whose answer was lost, how long Studio looks for its job in the server's
# list (which may lag behind its creates) before failing it rather than sending it again.
STUDIO_OPENAI_RECONCILE_GRACE_SECONDS = env_float("STUDIO_OPENAI_RECONCILE_GRACE_SECONDS", 30.0)

# --- Running Studio for others (sign-up e-mail, moderation, audit) -------------------------
# E-mail (invitations, verification, approvals): printed to the console with DEBUG=1 (./dev
# run), else sent over SMTP (EMAIL_HOST...); EMAIL_BACKEND names another.
_mail_backend = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend"
)
_smtp_options: dict[str, object] = {
    "host": env_str("EMAIL_HOST", "localhost"),
    "port": env_int("EMAIL_PORT", 25),
    "username": env_str("EMAIL_HOST_USER"),
    "password": env_str("EMAIL_HOST_PASSWORD"),
    "use_tls": env_bool("EMAIL_USE_TLS", False),
}
MAILERS = {
    "default": {
        "BACKEND": _mail_backend,
        "OPTIONS": _smtp_options if _mail_backend.endswith(".smtp.EmailBackend") else {},
    }
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "studio@localhost")
# The key for the moderation endpoint named in admin (Policy settings); empty sends none.
STUDIO_MODERATION_API_KEY = env_str("STUDIO_MODERATION_API_KEY")
# Behind a proxy: the request header holding the client's address for the audit trail
# (e.g. HTTP_X_FORWARDED_FOR); empty trusts only REMOTE_ADDR.
STUDIO_CLIENT_IP_HEADER = env_str("STUDIO_CLIENT_IP_HEADER")

# --- Pipeline faults (issue 15) ----------------------------------------------------------
STUDIO_REAPER_INTERVAL = env_float("STUDIO_REAPER_INTERVAL", 30.0)
# Each worker runs the reaper itself (besides any beat) where no beat can be counted on: by
# default with the embedded broker, and always in `manage.py generate --with-worker`.
STUDIO_WORKER_REAPER = env_bool("STUDIO_WORKER_REAPER", CELERY_BROKER_URL.startswith("filesystem"))
CELERY_BEAT_SCHEDULE["sweep-orphans"] = {
    "task": "generations.tasks.sweep_orphans",
    "schedule": env_float("STUDIO_ORPHAN_SWEEP_INTERVAL", 3600.0),
}

# --- API (/v1/videos, keys, outgoing webhooks) ----------------------------------------------
# The cache holds the API's per-key rate-limit counters and its stills: Redis
# (redis://...) so that every web process shares them; empty means this process's memory.

# --- Per-request cost ---------------------------------------------------------------------
# A cache shared by every web process (redis://...) holds sessions in front of the database
# and the signed-in user (accounts.backends), so a job-card poll is one query. Empty means
# this process's memory, which is not shared: sessions and users are then read from the
# database on every request (a cached copy in one gunicorn worker would outlive a logout
# or a password change made through another).
STUDIO_CACHE_URL = env_str("STUDIO_CACHE_URL")
CACHES = {
    "default": {
        "BACKEND": "core.cache.StudioRedisCache",
        "LOCATION": STUDIO_CACHE_URL,
    }
    if STUDIO_CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
# Webhooks to loopback, private and link-local addresses are refused unless this is set.
STUDIO_WEBHOOK_ALLOW_PRIVATE = env_bool("STUDIO_WEBHOOK_ALLOW_PRIVATE", False)
STUDIO_WEBHOOK_TIMEOUT_SECONDS = env_float("STUDIO_WEBHOOK_TIMEOUT_SECONDS", 10.0)
# Seconds before each retry of a failed delivery (about a day in all), comma-separated.
STUDIO_WEBHOOK_RETRY_SECONDS = env_str(
    "STUDIO_WEBHOOK_RETRY_SECONDS", "5,300,1800,7200,18000,28800,28800"
)
CELERY_BEAT_SCHEDULE["sweep-webhooks"] = {"task": "api.tasks.sweep_webhooks", "schedule": 60.0}

# --- Hosted video providers (issue 14). Each is offered only when it has a key, from its
# admin page or from these variables; a blank base URL means the provider's own API.
STUDIO_PROVIDER_TIMEOUT_SECONDS = env_float("STUDIO_PROVIDER_TIMEOUT_SECONDS", 60.0)
STUDIO_RUNWAY_API_KEY = env_str("RUNWAYML_API_SECRET")
STUDIO_RUNWAY_BASE_URL = env_str("STUDIO_RUNWAY_BASE_URL")
STUDIO_RUNWAY_MODELS = env_str("STUDIO_RUNWAY_MODELS")
STUDIO_LUMA_API_KEY = env_str("LUMAAI_API_KEY")
STUDIO_LUMA_BASE_URL = env_str("STUDIO_LUMA_BASE_URL")
STUDIO_LUMA_MODELS = env_str("STUDIO_LUMA_MODELS")
# Luma's callback_url points here (this Studio's public address), when set.
STUDIO_PUBLIC_URL = env_str("STUDIO_PUBLIC_URL")
STUDIO_FAL_API_KEY = env_str("FAL_KEY")
STUDIO_FAL_QUEUE_URL = env_str("STUDIO_FAL_QUEUE_URL")
STUDIO_FAL_MODELS = env_str("STUDIO_FAL_MODELS")
STUDIO_REPLICATE_API_KEY = env_str("REPLICATE_API_TOKEN")
STUDIO_REPLICATE_BASE_URL = env_str("STUDIO_REPLICATE_BASE_URL")
STUDIO_REPLICATE_MODELS = env_str("STUDIO_REPLICATE_MODELS")
STUDIO_REPLICATE_WEBHOOK_SECRET = env_str("STUDIO_REPLICATE_WEBHOOK_SECRET")
STUDIO_VEO_PROJECT = env_str("STUDIO_VEO_PROJECT")
STUDIO_VEO_LOCATION = env_str("STUDIO_VEO_LOCATION", "us-central1")
STUDIO_VEO_CREDENTIALS_FILE = env_str("GOOGLE_APPLICATION_CREDENTIALS")
STUDIO_VEO_BASE_URL = env_str("STUDIO_VEO_BASE_URL")
STUDIO_VEO_MODELS = env_str("STUDIO_VEO_MODELS")
# Attempts per poll with the SDK's backoff (0: none); creates are never retried.
STUDIO_VEO_RETRY_ATTEMPTS = env_int("STUDIO_VEO_RETRY_ATTEMPTS", 0)
# A gs:// folder Veo writes its videos to (empty: they come back inline), and the Cloud
# Storage JSON API Studio reads them from with the same service account.
STUDIO_VEO_OUTPUT_GCS_URI = env_str("STUDIO_VEO_OUTPUT_GCS_URI")
STUDIO_VEO_STORAGE_URL = env_str("STUDIO_VEO_STORAGE_URL", "https://storage.googleapis.com")

STUDIO_CACHE_SHARED = STUDIO_CACHE_URL.startswith(("redis://", "rediss://", "unix://"))
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if STUDIO_CACHE_SHARED
    else "django.contrib.sessions.backends.db"
)
# Seconds a signed-in user stays in the shared cache (saving or deleting a user drops it).
STUDIO_USER_CACHE_SECONDS = env_int("STUDIO_USER_CACHE_SECONDS", 300)
