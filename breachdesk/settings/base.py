"""Settings shared by every environment, read from environment variables.

With no variables set BreachDesk runs on embedded defaults: SQLite under ``var/``, a
filesystem Celery broker under ``var/``, console email. ``DATABASE_URL``, ``REDIS_URL`` /
``CELERY_BROKER_URL`` and ``EMAIL_URL`` switch to the real services.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("BREACHDESK_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp_webauthn",
    "breachdesk",
    "incidents",
    "notifications",
    "riskassess",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "breachdesk.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "breachdesk.middleware.IdleTimeoutMiddleware",
    "breachdesk.second_factor.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in.
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy on every response (django-csp): scripts and styles only from
# BreachDesk itself, never inline; the one inline <style> (the report preview) carries the
# request's nonce. No framing, no plugins, forms post only here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

ROOT_URLCONF = "breachdesk.urls"
# Widget templates come from templates/ too (the GOV.UK date input).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
WSGI_APPLICATION = "breachdesk.wsgi.application"

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
                "breachdesk.context_processors.service",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'breachdesk.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of
    # failing with "database is locked" half-way through a transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # A cache the pages can do without (breachdesk/cache.py): short timeouts, misses when down.
    CACHES = {
        "default": {
            "BACKEND": "breachdesk.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
# Django's password check; the person is loaded with their profile and unit in one query.
# django-axes first: after LOGIN_FAILURE_LIMIT failed sign-ins for one username (from any
# address, so spreading guesses over many machines does not help) that username is refused
# for LOGIN_LOCKOUT_MINUTES, on the login page, the admin and the API token endpoint alike.
# A code from an authenticator app after the password, required for the SIRO, DPO, Chief
# Officers, SCS and admin staff (breachdesk/second_factor.py).
SECOND_FACTOR_REQUIRED = env.bool("SECOND_FACTOR_REQUIRED", default=True)
OTP_TOTP_ISSUER = "BreachDesk"
# Signed out after this long without activity (pages refreshing themselves do not count).
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "breachdesk.backends.ProfileBackend"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "breachdesk.security.lockout_response"
AXES_VERBOSE = False
# axes.W006 asks for the address in the lockout key too. Not here: staff behind one office
# address would lock each other out of reporting; a lock on the username alone already
# stops guessing, from however many addresses.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
LOGIN_REDIRECT_URL = "incidents:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
# All clocks run on wall-clock time and are shown in Europe/London (DOMAIN.md s.6).
TIME_ZONE = "Europe/London"
# English only: with translation off, every label and message is used as written rather
# than looked up in a catalogue on each use (about a tenth of a list page's processor time).
# Dates and numbers are still formatted for LANGUAGE_CODE.
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
# Evidence attached to incidents: outside the web root, served only through access checks.
EVIDENCE_ROOT = Path(env.str("EVIDENCE_ROOT", default=str(VAR_DIR / "evidence")))
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=20 * 1024 * 1024)
# Signed daily checkpoints of the audit chain are appended here (one JSON line each): copy
# the file somewhere the database's administrators cannot write. The signing key defaults to
# one derived from SECRET_KEY; AUDIT_CHECKPOINT_KEY sets its own.
AUDIT_CHECKPOINT_FILE = Path(env.str("AUDIT_CHECKPOINT_FILE", default=str(VAR_DIR / "audit-checkpoints.jsonl")))
AUDIT_CHECKPOINT_KEY = env.str("AUDIT_CHECKPOINT_KEY", default="")
# Extracts of lost data sets wait here, as temporary files, only until they are processed;
# web and worker must share it. Django's own temporary upload files go here too.
DATASET_UPLOAD_DIR = Path(env.str("DATASET_UPLOAD_DIR", default=str(VAR_DIR / "uploads")))
DATASET_MAX_BYTES = env.int("DATASET_MAX_BYTES", default=512 * 1024 * 1024)
DATASET_UPLOAD_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
FILE_UPLOAD_TEMP_DIR = str(DATASET_UPLOAD_DIR)
# Formal reports (WeasyPrint): issued versions are frozen here, outside the web root.
REPORTS_ROOT = Path(env.str("REPORTS_ROOT", default=str(VAR_DIR / "reports")))
# The data controller named in reports and letters; blank means the national unit's name.
CONTROLLER_NAME = env.str("CONTROLLER_NAME", default="")
CONTROLLER_ADDRESS = env.str("CONTROLLER_ADDRESS", default="")
# Letters to the people affected: at most this many in one batch.
LETTER_BATCH_MAX = env.int("LETTER_BATCH_MAX", default=100_000)
# How long the SIRO dashboard's figures are kept in the cache at most; any recorded change
# makes them be worked out again sooner (notifications/dashboard.py, figures_key).
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", default=600)
# The same for each person's task lists (notifications/views.py, my_tasks).
TASKS_CACHE_SECONDS = env.int("TASKS_CACHE_SECONDS", default=600)
# Recurrence (DOMAIN.md s.7): similar incidents within this many days of each other.
RECURRENCE_WINDOW_DAYS = env.int("RECURRENCE_WINDOW_DAYS", default=90)

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="breachdesk@localhost")
# A worker keeps its connection to the mail server open between notifications, and closes
# it after this many seconds without one (mail servers drop idle clients after a while).
EMAIL_IDLE_SECONDS = env.int("EMAIL_IDLE_SECONDS", default=30)
SERVICE_BASE_URL = env.str("SERVICE_BASE_URL", default="http://localhost:8000")

# Passkeys (django-otp-webauthn) as a second factor, never instead of the password. They are
# bound to the service's domain name (browsers refuse an IP address: use localhost locally).
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_RP_NAME = "BreachDesk"
OTP_WEBAUTHN_RP_ID = urlsplit(SERVICE_BASE_URL).hostname or "localhost"
OTP_WEBAUTHN_ALLOWED_ORIGINS = ["{0.scheme}://{0.netloc}".format(urlsplit(SERVICE_BASE_URL))]
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = "breachdesk.passkeys"

# Celery: the database rows are the truth for every deadline; the broker only wakes
# workers up (DESIGN.md "Timers that cannot be lost").
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "celery-broker"
    _broker_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Tasks are idempotent (timer tokens, row locks): safe to cancel and redeliver.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TIMEZONE = "UTC"
# Workers and beat log through Django's LOGGING (JSON in production), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "breachdesk.api.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "BreachDesk API",
    "DESCRIPTION": "File and follow personal-data breach incidents.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "DeadlineStateEnum": "notifications.choices.DeadlineState",
        "NotificationStateEnum": "notifications.choices.NotificationState",
        "ApprovalStateEnum": "notifications.choices.ApprovalState",
        "IncidentStatusEnum": "incidents.choices.Status",
        "IncidentEncryptionEnum": "incidents.choices.Encryption",
        "AssessmentEncryptionEnum": "riskassess.choices.AssessmentEncryption",
        "LikelihoodEnum": "riskassess.choices.Likelihood",
        "DecisionKindEnum": "riskassess.choices.DecisionKind",
        "IcoSubmissionKindEnum": "notifications.choices.IcoSubmissionKind",
        "ActionKindEnum": "incidents.choices.ActionKind",
        "ActionStateEnum": "incidents.choices.ActionState",
        "EnquiryKindEnum": "incidents.choices.EnquiryKind",
        "EnquiryOutcomeEnum": "incidents.choices.EnquiryOutcome",
        "ControlKindEnum": "breachdesk.choices.ControlKind",
        "ControlSubjectEnum": "breachdesk.choices.ControlSubject",
    },
}

# Keyed hashing of identifiers of affected people; a development default only with DEBUG.
# PSEUDONYM_KEYS ("1:<key>,2:<key>", oldest first) after a rotation; PSEUDONYM_KEY alone is
# version 1 (riskassess/pseudonym.py).
PSEUDONYM_KEY = env.str("PSEUDONYM_KEY", default="")
PSEUDONYM_KEYS = env.str("PSEUDONYM_KEYS", default="")

PROTECTIVE_MARKING = env.str("PROTECTIVE_MARKING", default="OFFICIAL-SENSITIVE")


def logging_config(log_format: str) -> dict[str, object]:
    """Logs to standard output: plain text, or one JSON object a line (``breachdesk/logs.py``)
    with ``LOG_FORMAT=json``, the production default."""
    formatter = (
        {"()": "breachdesk.logs.JsonFormatter"}
        if log_format == "json"
        else {"format": "%(levelname)s %(name)s %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "default"}},
        "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    }


LOGGING = logging_config(env.str("LOG_FORMAT", default="text"))

# Timers and notifications (notifications/services/timers.py).
TIMER_SWEEP_SECONDS = env.float("TIMER_SWEEP_SECONDS", default=2.0)
TIMER_ETA_HORIZON_SECONDS = env.int("TIMER_ETA_HORIZON_SECONDS", default=3600)
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=5)
NOTIFICATION_RETRY_BASE_SECONDS = env.int("NOTIFICATION_RETRY_BASE_SECONDS", default=30)
ACK_LINK_MAX_AGE_HOURS = env.int("ACK_LINK_MAX_AGE_HOURS", default=7 * 24)
# Reminders to the DPO and SIRO while the ICO clock runs (hours after awareness).
ICO_REMINDER_HOURS = [int(h) for h in env.list("ICO_REMINDER_HOURS", default=["24", "48", "66"])]
# UK GDPR Art 34 says "without undue delay"; this is the clock BreachDesk holds people to.
SUBJECTS_INFORMED_WITHIN_HOURS = env.int("SUBJECTS_INFORMED_WITHIN_HOURS", default=72)
