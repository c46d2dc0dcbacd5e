"""Settings of the registry, read only from the environment.

Every setting is listed in the README. Without any environment the registry
refuses to start unless ``DJANGO_DEBUG`` is on: production must give a real
``DJANGO_SECRET_KEY``, ``PSEUDONYM_KEY``, ``AUDIT_HMAC_KEY`` and ``PATIENT_DATA_KEYS``.
"""

import base64
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production-648"  # noqa: S105
_DEV_PSEUDONYM_KEY = "dev-only-insecure-pseudonym-key-648"
_DEV_AUDIT_HMAC_KEY = "dev-only-insecure-audit-hmac-key-648"
_DEV_PATIENT_DATA_KEY = "ZGV2LW9ubHktaW5zZWN1cmUtcGF0aWVudC1rZXktNjQ="  # 32 bytes, base64: dev only

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
# Keyed pseudonyms of fiscal codes (HMAC-SHA256). Changing it orphans every patient.
PSEUDONYM_KEY = env.str("PSEUDONYM_KEY", default=_DEV_PSEUDONYM_KEY if DEBUG else "")
# Keys the audit trail's hash chains and anchors (HMAC-SHA256): whoever can write the database but does not hold
# this key cannot recompute a hash. Kept outside the database; changing it makes the trail unverifiable.
AUDIT_HMAC_KEY = env.str("AUDIT_HMAC_KEY", default=_DEV_AUDIT_HMAC_KEY if DEBUG else "")
# AES-256-GCM keys of the patients' identity (fiscal code, names, ward, bed, admission number), each 32 bytes in
# base64, comma-separated: the first encrypts, every one decrypts (rotation: put the new key first, then run
# ``manage.py rotate_patient_keys``, then drop the old one). Kept outside the database.
PATIENT_DATA_KEYS = env.list("PATIENT_DATA_KEYS", default=[_DEV_PATIENT_DATA_KEY] if DEBUG else [])

if not DEBUG:
    if not SECRET_KEY or SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set to a random value of at least 50 characters when DJANGO_DEBUG is off."
        )
    if not PSEUDONYM_KEY or PSEUDONYM_KEY == _DEV_PSEUDONYM_KEY or len(PSEUDONYM_KEY) < 32:
        raise ImproperlyConfigured(
            "PSEUDONYM_KEY must be set to a random value of at least 32 characters when DJANGO_DEBUG is off."
        )
    if not AUDIT_HMAC_KEY or AUDIT_HMAC_KEY == _DEV_AUDIT_HMAC_KEY or len(AUDIT_HMAC_KEY) < 32:
        raise ImproperlyConfigured(
            "AUDIT_HMAC_KEY must be set to a random value of at least 32 characters when DJANGO_DEBUG is off."
        )
    if not PATIENT_DATA_KEYS or _DEV_PATIENT_DATA_KEY in PATIENT_DATA_KEYS:
        raise ImproperlyConfigured(
            "PATIENT_DATA_KEYS must be set to one or more random 32-byte keys in base64 when DJANGO_DEBUG is off."
        )
for _key in PATIENT_DATA_KEYS:
    try:
        _key_length = len(base64.urlsafe_b64decode(_key.strip().replace("+", "-").replace("/", "_")))
    except ValueError:
        _key_length = 0
    if _key_length != 32:
        raise ImproperlyConfigured("Each key of PATIENT_DATA_KEYS must be 32 bytes in base64 (44 characters).")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "registry",
    "prescriptions",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # NUL in a path → 404; JSON 404/413 under /api/; database down → 503 (registry/middleware.py).
    "registry.middleware.RobustRequestMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "registry.auth.middleware.SessionLifetimeMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "registry.auth.middleware.SecondFactorRequiredMiddleware",
    "registry.auth.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Every display of a patient's decrypted identity, in the read-access log (one insert per response).
    "registry.middleware.PatientIdentityDisplayLogMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a lockout flagged during authentication into the 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "registry.urls"
WSGI_APPLICATION = "registry.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "registry.context_processors.staff",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'registry.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take the lock when their transaction starts (no deadlocking
    # upgrade from a read lock) and wait for it instead of failing with
    # "database is locked"; WAL lets readers go on while one writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # The covering indexes' INCLUDE columns are a PostgreSQL speed-up; SQLite (the demo) builds the same indexes
    # without them, which is all the demo needs: the warning would only fill `make run`'s first screen.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    if not env.bool("DATABASE_JIT", default=False):
        # PostgreSQL's JIT compiles a query whose estimated cost passes jit_above_cost: for the registry's
        # sub-second report queries that compilation (a second or more) is most of their time.
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (login throttling, idempotency hints) ----------------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://registry")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    # Older hashes still verify, and are upgraded to Argon2 at the next login.
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    # First: refuses a username and address that are locked out, before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "it"
LANGUAGES = [("it", _("Italian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["registry.formats"]  # dates as each language writes them (registry/formats/)
TIME_ZONE = "Europe/Rome"  # a course day is a calendar day in Rome
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Report files: never served by a public URL, only through a scoped view.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))

# --- Security ---------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Absolute lifetime of a signed-in session (seconds since sign-in), and the idle time that ends it sooner.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)

# Addresses (or networks) of the reverse proxies whose X-Forwarded-For is believed; none by default.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# Lockout (django-axes): failures are counted per username AND client address together, in the database,
# so an attacker elsewhere cannot lock a clinician out and the count survives a cache outage.
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_ENABLED = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = LOGIN_MAX_FAILURES
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts during a lockout are refused without being counted: the lock ends LOGIN_LOCKOUT_MINUTES after it began.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "registry.http.client_ip"
AXES_USERNAME_CALLABLE = "registry.auth.lockout.lockout_username"
AXES_LOCKOUT_CALLABLE = "registry.auth.lockout.lockout_response"
AXES_VERBOSE = False
# Every failure is also kept in a log of its own, unknown usernames included (the audit trail has no object for them).
AXES_ENABLE_ACCESS_FAILURE_LOG = True

# API tokens: stored as a SHA-256 digest, valid this many hours after they are issued.
TOKEN_TTL_HOURS = env.int("TOKEN_TTL_HOURS", default=12)

# Second factor (TOTP, with single-use backup codes). Off only for development.
OTP_REQUIRED = env.bool("OTP_REQUIRED", default=not DEBUG)
OTP_TOTP_ISSUER = "Registro 648"
# The demo users (published password, no device) are let through only on a development machine.
OTP_EXEMPT_USERNAMES = (
    [
        "prescriber.milano",
        "prescriber.roma",
        "prescriber.expired",
        "pharmacist.milano",
        "pharmacist.roma",
        "nurse.milano",
        "officer.lombardia",
        "officer.lazio",
        "aifa",
        "admin",
    ]
    if DEBUG
    else []
)

# Content-Security-Policy: no inline script anywhere, nothing loaded from another site.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Progress bars set their width in a style attribute; <style> elements stay forbidden.
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- REST framework -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "registry.auth.tokens.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    # JSON bounded by DATA_UPLOAD_MAX_MEMORY_SIZE (413) and JSON_MAX_DEPTH (400).
    "DEFAULT_PARSER_CLASSES": ["registry.api.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "registry.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": env.str("LOGIN_THROTTLE_RATE", default="10/min")},
}
# Arrays and objects in a request body nest at most this deep (deeper: 400, never a RecursionError).
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=32)
# Each check of /health/ (database, cache, broker) is cut after this many seconds.
HEALTH_CHECK_TIMEOUT = env.float("HEALTH_CHECK_TIMEOUT", default=2.0)
SPECTACULAR_SETTINGS = {
    "TITLE": "Registro 648 — anakinra COVID-19",
    "DESCRIPTION": "Prescriptions of anakinra for COVID-19 under Law 648/96: eligibility, "
    "dispensing, the 10-day course, safety and monitoring.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets that share a name ("status", "reason"), each named apart: report runs, quarterly submissions,
    # the stock's write-offs (issues 19, 20).
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": ["queued", "running", "done", "failed"],  # reports.models.ReportStatus
        "SubmissionStatusEnum": "reports.models.SubmissionStatus",
        "WriteOffReasonEnum": "prescriptions.stock.models.WriteOffReason",
    },
    # Every operation's error responses (400/401/403/404/409/413/429/503) with their bodies (registry/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "registry.api.schema.add_error_responses",
    ],
}

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Unset broker: tasks run in-process, so `make run` needs no Redis or worker.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    # In-process tasks still open a (memory) producer: with a host named, kombu logs no "No hostname" warning.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Schedules defined in code; django-celery-beat's scheduler shows them in the admin.
CELERY_BEAT_SCHEDULE = {
    # A signed anchor of every audit chain head changed since the last one (table + AUDIT_ANCHOR_DIR file).
    "audit-anchor": {
        "task": "registry.tasks.anchor_audit_trail",
        # Every minute by default: an event is anchored within a minute of being written (issue 17).
        "schedule": crontab(minute=f"*/{env.int('AUDIT_ANCHOR_EVERY_MINUTES', default=1)}"),
    },
    "verify-audit-trail-nightly": {
        "task": "registry.tasks.verify_audit_trail",
        "schedule": crontab(hour=2, minute=30),
    },
    # Notifications' e-mails a broker outage left unsent (each is sent once: registry.notifications).
    "notification-emails-sweep": {
        "task": "registry.tasks.send_notification_emails",
        "schedule": crontab(minute="*/5"),
    },
    # Authorisations to prescribe ending within 30 days: the prescriber and the region's officers are told once.
    "notify-expiring-authorisations": {
        "task": "registry.tasks.notify_expiring_authorisations",
        "schedule": crontab(hour=7, minute=0),
    },
    # The day-28 outcomes now due: each course's prescriber is told once.
    "notify-outcomes-due": {
        "task": "prescriptions.tasks.notify_outcomes_due",
        "schedule": crontab(hour=7, minute=10),
    },
    # Every course whose 10-day window ended yesterday or before is closed as completed (after midnight in Rome).
    "close-course-windows": {
        "task": "prescriptions.tasks.close_course_windows",
        "schedule": crontab(hour=0, minute=15),
    },
    # Pharmacies keeping stock whose days of cover fell below their threshold: their people told, once a day.
    "stock-cover-check": {
        "task": "prescriptions.tasks.check_stock_cover",
        "schedule": crontab(minute=40),
    },
    # FHIR bulk exports past FHIR_BULK_EXPORT_TTL_HOURS: their files and jobs are deleted (issue 21).
    "fhir-bulk-purge": {
        "task": "prescriptions.tasks.purge_bulk_exports",
        "schedule": crontab(minute=40),
    },
    # Each region's monitoring report of the month just ended (reports.tasks; never made twice).
    "reports-monthly-monitoring": {
        "task": "reports.tasks.schedule_monthly_reports",
        "schedule": crontab(day_of_month=1, hour=3, minute=0),
    },
    # The L.648 quarterly per-patient report of the quarter just ended, per region.
    "reports-quarterly-per-patient": {
        "task": "reports.tasks.schedule_quarterly_reports",
        "schedule": crontab(month_of_year="1,4,7,10", day_of_month=1, hour=3, minute=30),
    },
    # The reports' sweep: runs never sent (broker down), whose message was lost or whose worker died are sent.
    "reports-requeue-stale-runs": {
        "task": "reports.tasks.requeue_stale_report_runs",
        "schedule": env.float("REPORTS_SWEEP_SECONDS", default=30.0),
    },
}
# Where each audit anchor is also appended, one JSON line per anchor (anchors.jsonl); empty: the table only, which
# only development allows (``check --deploy`` refuses it: registry/checks.py). Point it at storage the database's
# owner cannot rewrite (another host, a WORM bucket mount).
AUDIT_ANCHOR_DIR = env.str("AUDIT_ANCHOR_DIR", default="")
# Report cells below this count are shown as "<N" where a report leaves the region (whole-country runs).
REPORTS_SUPPRESS_BELOW = env.int("REPORTS_SUPPRESS_BELOW", default=3)
# A worker generating a report shows life this often; a holder silent for REPORTS_STALE_AFTER_SECONDS is taken
# for dead and its run handed to another worker by the sweep (so recovery takes about a minute).
REPORTS_HEARTBEAT_SECONDS = env.float("REPORTS_HEARTBEAT_SECONDS", default=10.0)
REPORTS_STALE_AFTER_SECONDS = env.float("REPORTS_STALE_AFTER_SECONDS", default=45.0)
# A run queued this long and never sent (the broker was down when asked for) is sent by the sweep.
REPORTS_QUEUED_GRACE_SECONDS = env.float("REPORTS_QUEUED_GRACE_SECONDS", default=60.0)
# With tasks in-process (no broker): generate a requested report in a thread after the response, not inside it.
REPORTS_IN_PROCESS_THREAD = env.bool("REPORTS_IN_PROCESS_THREAD", default=True)

# --- Stock of the pharmacies (issue 20) -----------------------------------------
# The officer and the pharmacists are told when a pharmacy's days of cover drop below this (a pharmacy may set its
# own); the regional page flags lots expiring within these days.
STOCK_COVER_THRESHOLD_DAYS = env.int("STOCK_COVER_THRESHOLD_DAYS", default=7)
STOCK_EXPIRY_WARNING_DAYS = (30, 60)

# --- E-mail (notices and notifications) ------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="registro648@localhost")

# --- FHIR (prescriptions/interop) ----------------------------------------------
# The public address of the registry's FHIR base: the registry's own code systems' canonical URLs are
# {FHIR_BASE_URL}/CodeSystem/{name} and must resolve there, so production sets it to its own public URL.
FHIR_BASE_URL = env.str("FHIR_BASE_URL", default="http://localhost:8000/fhir")
# The registry's public address (its root, with the path prefix if it is served under one): the absolute links of
# the e-mailed notifications (to the prescription, the report, the notifications page), written by the workers.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# E2B(R3) ICSR exports (prescriptions/interop/e2b.py): the message's sender (N.1.3 / N.2.r.2) and receiver
# (N.1.4 / N.2.r.3) identifiers. EVHUMAN: EudraVigilance's human-medicines production receiver.
E2B_SENDER_ID = env.str("E2B_SENDER_ID", default="IT-REGISTRO648")
E2B_RECEIVER_ID = env.str("E2B_RECEIVER_ID", default="EVHUMAN")
# A bulk export's files are kept this long after it finished, then deleted.
FHIR_BULK_EXPORT_TTL_HOURS = env.int("FHIR_BULK_EXPORT_TTL_HOURS", default=24)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
