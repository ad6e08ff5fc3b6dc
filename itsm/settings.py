"""The one settings module. Every value that differs between machines comes from the environment
(or a `.env` file beside manage.py); README.md lists each variable.

Embedded defaults (no variable set): SQLite in var/, a filesystem Celery broker in var/broker, mail written
to files in var/mail. With DATABASE_URL and REDIS_URL set, the same code runs on PostgreSQL and Redis.
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("ITSM_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
env.read_env(str(BASE_DIR / ".env"))  # optional; variables already set win

# --- Core -----------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
_DEV_KEY = "django-insecure-dev-only-key-change-me-for-any-real-deployment-0123456789"
SECRET_KEY = env("DJANGO_SECRET_KEY", default=_DEV_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("ITSM_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_filters",
    "django_htmx",
    "template_partials",
    "csp",
    # our apps, in dependency order
    "accounts",
    "catalog",
    "classification",
    "tickets",
    "sla",
    "communications",
    "assignment",
    "mail",
    "escalations",
    "reporting",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "itsm.lib.middleware.RejectNulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "itsm.urls"
WSGI_APPLICATION = "itsm.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "tickets:list"
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
                "csp.context_processors.nonce",
                "accounts.context_processors.roles",
                "escalations.context_processors.escalations",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: WAL lets readers run beside the writer, IMMEDIATE takes the
    # write lock when a transaction starts, so read-modify-write services are serialized, not deadlocked.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery ---------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 3600}
else:
    # Embedded mode: a cache and a broker that several processes on one machine can share, no server.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    CELERY_BROKER_URL = "filesystem://"
    _broker = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker / "queue"),
        "data_folder_out": str(_broker / "queue"),
        "control_folder": str(_broker / "control"),
        "store_processed": False,
        "polling_interval": 0.2,  # seconds between looks at the folder (kombu's default, 1 s, adds a second a task)
    }
    for _folder in ("queue", "control"):
        (_broker / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Mail -----------------------------------------------------------------------------------------
if env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Service Desk <servicedesk@itsm.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ITSM_MAIL_DOMAIN = env("ITSM_MAIL_DOMAIN", default="itsm.localhost")

# --- Files ----------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media-not-served/"  # attachments are served only through the permission-checking view
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o640

# --- I18N -----------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("it", "Italiano")]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
ITSM_DISPLAY_TIME_ZONE = env("ITSM_DISPLAY_TIME_ZONE", default="UTC")

# --- Auth -----------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Security (strict unless DEBUG; each can be relaxed explicitly, e.g. behind a TLS proxy) --------
HTTPS = env.bool("DJANGO_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_PROXY", False) else None
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'nonce'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
# --- REST API ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "itsm.lib.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"auth": env("ITSM_AUTH_THROTTLE", default="20/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ITSM API",
    "DESCRIPTION": "Tickets, their lifecycle, conversation and audit trail.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"TicketStatusEnum": "tickets.choices.TicketStatus"},
}

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- The product's own settings (ITSM_*) ------------------------------------------------------------
# How long a customer has to reject a resolution before the ticket closes by itself.
ITSM_ACCEPTANCE_WINDOW = timedelta(days=env.float("ITSM_ACCEPTANCE_WINDOW_DAYS", default=3))
# Largest attachment accepted from the UI, the API or (issue 3) mail.
ITSM_MAX_ATTACHMENT_BYTES = env.int("ITSM_MAX_ATTACHMENT_BYTES", default=10 * 1024 * 1024)
# Outbound mail: how often a temporary failure is retried, and the first back-off.
ITSM_OUTBOX_MAX_ATTEMPTS = env.int("ITSM_OUTBOX_MAX_ATTEMPTS", default=8)
ITSM_OUTBOX_BACKOFF_SECONDS = env.int("ITSM_OUTBOX_BACKOFF_SECONDS", default=60)
# Password given to every demo login by `manage.py seed_demo`.
ITSM_DEMO_PASSWORD = env("ITSM_DEMO_PASSWORD", default="demo-itsm-2026")

# Mail intake (mail/): the largest message and attachment taken in; larger attachments are dropped with a
# note on the ticket, larger messages are quarantined (their raw bytes kept).
ITSM_MAIL_MAX_MESSAGE_BYTES = env.int("ITSM_MAIL_MAX_MESSAGE_BYTES", default=25 * 1024 * 1024)
ITSM_MAIL_MAX_ATTACHMENT_BYTES = env.int("ITSM_MAIL_MAX_ATTACHMENT_BYTES", default=ITSM_MAX_ATTACHMENT_BYTES)
# Acknowledgements to one sender: at most this many per window (seconds).
ITSM_MAIL_ACK_RATE_LIMIT = env.int("ITSM_MAIL_ACK_RATE_LIMIT", default=5)
ITSM_MAIL_ACK_RATE_WINDOW = env.int("ITSM_MAIL_ACK_RATE_WINDOW", default=3600)
# How long a mailbox poll may hold its lease (seconds) before another worker may poll it again.
ITSM_MAIL_POLL_LEASE = env.int("ITSM_MAIL_POLL_LEASE", default=600)
# A poll hands what it stored to the workers in this many tasks, split by conversation (more tasks: more workers
# take one mailbox in at once; 0: the polling task processes them itself).
ITSM_MAIL_INTAKE_PARTITIONS = env.int("ITSM_MAIL_INTAKE_PARTITIONS", default=8)
# A stored message still waiting this many seconds later (its task was lost) is processed by the beat task.
ITSM_MAIL_WAITING_RETRY_AFTER = env.int("ITSM_MAIL_WAITING_RETRY_AFTER", default=300)
# Network timeout of IMAP/POP3 connections, seconds.
ITSM_MAIL_TIMEOUT = env.int("ITSM_MAIL_TIMEOUT", default=60)
# Days the accept/reject links of a resolution notice stay valid.
ITSM_RESOLUTION_LINK_DAYS = env.int("ITSM_RESOLUTION_LINK_DAYS", default=30)
