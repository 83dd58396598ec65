"""Settings, read from the environment (django-environ).

PostgreSQL is the one database: with nothing set, development and tests use the
local server's ``cagette`` database (127.0.0.1:5432, user postgres). In
production set at least DEBUG=0, SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL;
see README.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# pytest sets PYTEST_VERSION for the whole run.
TESTING = "PYTEST_VERSION" in os.environ
DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    # The job queue (before the apps whose `tasks` modules it discovers).
    "procrastinate.contrib.django",
    "cagette.jobqueue",
    "cagette",
    "accounts",
    "payments",
    "orders",
    "distributions",
]

MIDDLEWARE = [
    # Marks the request, so that a call to Stripe or a mail server in it is caught.
    "cagette.http.WebRequestScope",
    "django.middleware.security.SecurityMiddleware",
    "cagette.middleware.PagePolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "cagette.middleware.FrenchFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into the login page's message.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cagette.urls"
WSGI_APPLICATION = "cagette.wsgi.application"

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
                "accounts.context_processors.markets",
                "payments.ledger.check_runs.ledger_alarm",
            ],
            "builtins": ["cagette.templatetags.money", "cagette.templatetags.typography"],
        },
    },
]

LOCAL_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/cagette"
if not (DEBUG or TESTING) and "DATABASE_URL" not in os.environ:
    raise ImproperlyConfigured("DATABASE_URL must be set in the environment when DEBUG is off.")
DATABASES = {"default": env.db("DATABASE_URL", default=LOCAL_DATABASE_URL)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database (postgres://...).")
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Production keeps each process's connection open between requests (gunicorn's
# sync workers serve one request at a time, so one persistent connection per
# process is the pool), checked before reuse so a restarted PostgreSQL is no
# error. Development and tests open one per request.
DATABASES["default"].setdefault(
    "CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0 if (DEBUG or TESTING) else 600)
)
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))
# Django binds parameters on the client, and so prepares nothing; the ledger's
# posting statement binds on the server (`payments.ledger.statement`) and is
# prepared at its first use on each connection, with the one plan that suits
# every posting (PostgreSQL would otherwise plan it again each time, as it
# does for an unprepared statement). Behind a pooler in transaction mode, that
# needs one that keeps prepared statements (PgBouncer 1.21 and later); a pooler
# that refuses the connection's startup options wants DB_GENERIC_PLANS=0 and
# the same setting on the database role instead
# (ALTER ROLE … SET plan_cache_mode = force_generic_plan).
_options = DATABASES["default"].setdefault("OPTIONS", {})
_options.setdefault("prepare_threshold", 0)
if env.bool("DB_GENERIC_PLANS", default=True):
    _generic = "-c plan_cache_mode=force_generic_plan"
    _options["options"] = f"{_options.get('options', '')} {_generic}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Refuses any login, right password or not, while the account or the
    # address is locked out after too many failures (django-axes).
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
    # Hashing passwords properly is slow by design; tests log in a lot.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Django's database sessions, read in one plain statement (accounts.access).
SESSION_ENGINE = "accounts.access"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "fr"
# Each language in its own words, whatever the current one.
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Files the app builds (PDF exports), kept a day. Never served as they are:
# no MEDIA_URL route; a download goes through a view that checks the market
# and the role. On several machines, a folder they share (or a shared storage).
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not (DEBUG or TESTING)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Development and tests serve static files straight from the source folders.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="smtp://localhost:25")
EMAIL_HOST = EMAIL_CONFIG["EMAIL_HOST"]
EMAIL_PORT = EMAIL_CONFIG["EMAIL_PORT"]
EMAIL_HOST_USER = EMAIL_CONFIG.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = EMAIL_CONFIG.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = EMAIL_CONFIG.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = EMAIL_CONFIG.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Cagette <noreply@localhost>")
# Seconds before a mail server that does not answer fails the send (the job
# then tries again later: see cagette.jobs).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# Production hardening: on whenever DEBUG is off, except under tests.
_secure = not (DEBUG or TESTING)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_secure)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_secure)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_secure)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _secure else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _secure
SECURE_HSTS_PRELOAD = _secure
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp, on HTML pages): scripts, styles, fonts and images come
# from our own static files only; no inline script, no inline event handler
# (pages ask static/js/app.js for behaviour with data- attributes). Style
# attributes are allowed deliberately (style-src-attr): a few layout widths and
# the payment instructions shared with the HTML emails use them, and they
# cannot run code. Stripe Checkout is a redirect after a form is sent, hence its
# origin in form-action; tests' fake Stripe serves its page on 127.0.0.1.
STRIPE_CHECKOUT_ORIGIN = env("STRIPE_CHECKOUT_ORIGIN", default="https://checkout.stripe.com")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", STRIPE_CHECKOUT_ORIGIN]
        + (["http://127.0.0.1:*"] if TESTING else []),
    },
}

# Failed logins (django-axes): after LOGIN_FAILURE_LIMIT failures for one
# account, or from one address, every login of that account or from that
# address is refused, right password included, until LOGIN_COOLOFF_MINUTES have
# passed without a new failure. The login page says so in French.
AXES_ENABLED = env.bool("LOGIN_THROTTLE", default=not TESTING)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "accounts.throttle.login_username"
AXES_LOCKOUT_CALLABLE = "accounts.throttle.login_locked_out"
AXES_CLIENT_IP_CALLABLE = "cagette.http.client_ip"
# Behind the proxy the README asks for, the client's address is the last one
# the proxy appended to X-Forwarded-For; 0 reads the socket's address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0 if (DEBUG or TESTING) else 1)
# Not written to the access log: one row per login is not needed.
AXES_DISABLE_ACCESS_LOG = True
# Its start-up banner would print on every management command.
AXES_VERBOSE = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # WeasyPrint reports every page and font it handles at INFO.
    "loggers": {
        "weasyprint": {"level": "WARNING"},
        # Its page-by-page reports feed the progress of an export (payments.exports.pdf).
        "weasyprint.progress": {"level": "INFO", "handlers": [], "propagate": False},
        "fontTools": {"level": "WARNING"},
        # The Stripe library reports every request at INFO.
        "stripe": {"level": "WARNING"},
        # The queue says at start-up how it gathered its tasks.
        "procrastinate.blueprints": {"level": "WARNING"},
        # ...and every job deferred, at INFO: the worker's reports are enough.
        "procrastinate.jobs": {"level": "WARNING"},
        "procrastinate.periodic": {"level": "WARNING"},
    },
}

# Online card payments (Stripe Checkout). Without a secret key, online card is
# simply not offered. Tests point the real client library at a local fake
# server through STRIPE_API_BASE; under tests nothing reaches the internet.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env(
    "STRIPE_API_BASE", default="http://127.0.0.1:9" if TESTING else "https://api.stripe.com"
)
# Calls to Stripe are made by jobs, some while rows are locked: at most
# STRIPE_TIMEOUT seconds per try, STRIPE_NETWORK_RETRIES more tries, then the
# job is tried again later (see payments.stripe.gateway).
STRIPE_TIMEOUT = env.float("STRIPE_TIMEOUT", default=4.0)
STRIPE_NETWORK_RETRIES = env.int("STRIPE_NETWORK_RETRIES", default=1)

# The job queue (procrastinate, on the same PostgreSQL): every email and every
# call to Stripe is a job deferred in the transaction that decides it. A job
# failing for a reason worth waiting for is tried again after JOB_RETRY_FIRST
# seconds, then twice as long each time up to JOB_RETRY_LONGEST, until
# JOB_RETRY_FOR_HOURS have passed; see cagette.jobs.
JOB_RETRY_FIRST = env.int("JOB_RETRY_FIRST", default=30)
JOB_RETRY_LONGEST = env.int("JOB_RETRY_LONGEST", default=3600)
JOB_RETRY_FOR_HOURS = env.int("JOB_RETRY_FOR_HOURS", default=26)
# When the periodic jobs are due, in cron syntax, in UTC (a 6th field counts
# seconds: the tests run them every few seconds).
JOB_SCHEDULE_UNSTALL = env("JOB_SCHEDULE_UNSTALL", default="* * * * *")
JOB_SCHEDULE_STRIPE_RECONCILE = env("JOB_SCHEDULE_STRIPE_RECONCILE", default="*/15 * * * *")
JOB_SCHEDULE_TRANSFER_REMINDERS = env("JOB_SCHEDULE_TRANSFER_REMINDERS", default="0 * * * *")
JOB_SCHEDULE_CHECK_LEDGER = env("JOB_SCHEDULE_CHECK_LEDGER", default="0 3 * * *")
JOB_SCHEDULE_EXPORTS_PURGE = env("JOB_SCHEDULE_EXPORTS_PURGE", default="17 * * * *")
PROCRASTINATE_IMPORT_PATHS = ["cagette.jobs"]
# Workers keep each job's last error for the Django admin (cagette.jobqueue).
PROCRASTINATE_ON_APP_READY = "cagette.jobqueue.errors.on_app_ready"
PROCRASTINATE_WORKER_DEFAULTS = {
    "concurrency": env.int("JOB_WORKER_CONCURRENCY", default=4),
    "update_heartbeat_interval": env.float("JOB_HEARTBEAT_SECONDS", default=10.0),
    "stalled_worker_timeout": env.float("JOB_STALLED_SECONDS", default=30.0),
}

# Largest amount accepted by any money field (euros).
MONEY_MAX_AMOUNT = 100_000
