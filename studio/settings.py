"""Django settings for Studio, every value read from the environment with a safe default.

The defaults are the embedded first run: SQLite, a local media folder, a Celery broker on
the filesystem (no Redis needed) and the offline renderer. docker/.env.example lists every
variable.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
import django_stubs_ext

from studio.env import env_bool, env_float, env_int, env_list, env_str

# Lets admin and form classes be written with their type arguments (ModelAdmin[Plan]).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("STUDIO_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or "insecure-dev-key-set-SECRET_KEY-in-production"
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
    "accounts",
    "generations",
    "delivery",
    "providers.offline",
    "providers.openai_compat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

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

# --- Per-request cost ---------------------------------------------------------------------
# A cache shared by every web process (redis://...) holds sessions in front of the database
# and the signed-in user (accounts.backends), so a job-card poll is one query. Empty means
# this process's memory, which is not shared: sessions and users are then read from the
# database on every request (a cached copy in one gunicorn worker would outlive a logout
# or a password change made through another).
STUDIO_CACHE_URL = env_str("STUDIO_CACHE_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": STUDIO_CACHE_URL,
    }
    if STUDIO_CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
STUDIO_CACHE_SHARED = STUDIO_CACHE_URL.startswith(("redis://", "rediss://", "unix://"))
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if STUDIO_CACHE_SHARED
    else "django.contrib.sessions.backends.db"
)
AUTHENTICATION_BACKENDS = ["accounts.backends.CachedModelBackend"]
# Seconds a signed-in user stays in the shared cache (saving or deleting a user drops it).
STUDIO_USER_CACHE_SECONDS = env_int("STUDIO_USER_CACHE_SECONDS", 300)
