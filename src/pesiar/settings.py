"""Django settings for Pesiar, read from the environment.

DATABASE_URL     database (default: SQLite file next to the data directory)
PESIAR_DATA_DIR  where register snapshots (Parquet) and generated files live (default ./var/data)
SECRET_KEY       signing key (default: a random key kept in <var>/secret_key, made on first use)
DEBUG            1/true for development (default off)
ALLOWED_HOSTS    comma-separated host names (default localhost,127.0.0.1)
PESIAR_SESSION_HOURS, PESIAR_SSL_REDIRECT, PESIAR_BEHIND_PROXY, PESIAR_PROXY_COUNT,
PESIAR_HSTS_SECONDS, PESIAR_SECURE_COOKIES: sessions and HTTPS (see README, Configuration)
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("PESIAR_DATA_DIR") or "var/data").resolve()
VAR_DIR = DATA_DIR.parent


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_urlsafe(50))
        tmp.chmod(0o600)
        os.replace(tmp, path)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "pesiar.ops",  # before django_tasks_db: its `db_worker` adds heartbeats and leases
    "django_tasks",
    "django_tasks_db",
    "axes",
    "auditlog",
    "pesiar.accounts",
    "pesiar.regions",
    "pesiar.registers",
    "pesiar.linkage",
    "pesiar.coverage",
    "pesiar.sweep",
    "pesiar.field",
    "pesiar.campaigns",
    "pesiar.monev",
    "pesiar.demo",
]

MIDDLEWARE = [
    "pesiar.ops.requestlog.RequestLogMiddleware",  # first: times the whole request
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "pesiar.urls"
WSGI_APPLICATION = "pesiar.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'pesiar.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", "timeout": 30}
    )
    # A write transaction takes the write lock when it begins (waiting up to `timeout`
    # seconds for it), instead of failing with "database is locked" when a read transaction
    # later tries to write while another writer holds the lock.
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Accounts: roles and region scopes (pesiar.accounts). Login throttling with django-axes:
# after AXES_FAILURE_LIMIT failed logins for one username from one address, that pair is
# locked out for the cool-off time.
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "pesiar.accounts.backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.5  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("PESIAR_PROXY_COUNT") or 0) or None
SESSION_COOKIE_AGE = int(float(os.environ.get("PESIAR_SESSION_HOURS") or 8) * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Bahasa Indonesia")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Jakarta"
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("PESIAR_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # HTTPS only. Behind a proxy that ends TLS, set PESIAR_BEHIND_PROXY=1 (it must set
    # X-Forwarded-Proto); PESIAR_SSL_REDIRECT=0 when the proxy itself redirects to https.
    SECURE_SSL_REDIRECT = env_bool("PESIAR_SSL_REDIRECT", True)
    if env_bool("PESIAR_BEHIND_PROXY"):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("PESIAR_HSTS_SECONDS") or 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # The health check answers over plain http too, for local probes and load balancers.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"pesiar": {"handlers": ["console"], "level": "INFO"}},
}
# Structured request logs (pesiar.ops.requestlog): one JSON line per request on stdout.
PESIAR_REQUEST_LOG = env_bool("PESIAR_REQUEST_LOG", True)
LOGGING["formatters"] = {"json": {"()": "pesiar.ops.requestlog.JsonFormatter"}}
LOGGING["handlers"]["json"] = {
    "class": "logging.StreamHandler",
    "formatter": "json",
    "stream": "ext://sys.stdout",
}
LOGGING["loggers"]["pesiar.requests"] = {"handlers": ["json"], "level": "INFO", "propagate": False}

# Background work (register imports from the web) runs in a worker process: `pesiar db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

PESIAR = {
    # RPJMN targets: coverage (registered / residents) and activity (active / residents), in %.
    "TARGET_COVERAGE_PCT": float(os.environ.get("PESIAR_TARGET_COVERAGE") or 98),
    "TARGET_ACTIVE_PCT": float(os.environ.get("PESIAR_TARGET_ACTIVE") or 75),
    # UHC class of a region by coverage %: the first threshold it reaches, highest first.
    "UHC_CLASSES": [(98, "PARIPURNA"), (95, "UTAMA"), (80, "MADYA"), (0, "PRATAMA")],
    # Probabilistic linkage: links at or above UPPER are accepted; [LOWER, UPPER) go to review.
    "LINK_UPPER": 0.95,
    "LINK_LOWER": 0.50,
    # Sisir (sweep): who is flagged, and what a PBI-APBD person costs the Pemda.
    "SWEEP": {
        "POOR_DECILE_MAX": 4,  # welfare decile at or below this: poor
        "LAYOFF_MONTHS": 6,  # laid off within this many months before as_of
        "ELDERLY_AGE": 60,
        "PBI_PREMIUM_MONTHLY": int(os.environ.get("PESIAR_PBI_PREMIUM") or 42_000),  # Rupiah
    },
    # Advokasi/Registrasi: an exported registration no membership snapshot shows within this
    # many weeks becomes UNCONFIRMED.
    "FIELD": {
        "UNCONFIRMED_WEEKS": int(os.environ.get("PESIAR_UNCONFIRMED_WEEKS") or 8),
        # days the offline app keeps the worklist on a phone before clearing it
        "OFFLINE_DAYS": int(os.environ.get("PESIAR_OFFLINE_DAYS") or 7),
    },
    # The task worker (pesiar.ops.conf.WorkerSettings): heartbeat, lease, run-time limit.
    "WORKER": {
        "heartbeat_seconds": float(os.environ.get("PESIAR_WORKER_HEARTBEAT") or 5),
        "lease_seconds": float(os.environ.get("PESIAR_JOB_LEASE") or 60),
        "time_limit_seconds": float(os.environ.get("PESIAR_JOB_TIME_LIMIT") or 3600),
        "upload_orphan_hours": float(os.environ.get("PESIAR_UPLOAD_ORPHAN_HOURS") or 6),
    },
    # `pesiar serve` (pesiar.ops.conf.ServerSettings): gunicorn's address, workers, threads.
    "SERVER": {
        "bind": os.environ.get("PESIAR_BIND") or "127.0.0.1:8000",
        "workers": int(os.environ.get("PESIAR_WEB_WORKERS") or 2),
        "threads": int(os.environ.get("PESIAR_WEB_THREADS") or 4),
        "timeout": int(os.environ.get("PESIAR_WEB_TIMEOUT") or 120),
    },
    # DuckDB's memory limit for every connection (import, sweep, field, churn); beyond it,
    # it spills to disk. The map, run by `pesiar map` outside the worker, has its own: at 10M
    # residents its tables alone take about 3 GB, which at 3GB went to the spill disk.
    "DUCKDB_MEMORY": os.environ.get("PESIAR_DUCKDB_MEMORY") or "3GB",
    "MAP_DUCKDB_MEMORY": os.environ.get("PESIAR_MAP_DUCKDB_MEMORY") or "6GB",
    # The map's engine: "duckdb" (one machine) or "spark" (a Spark cluster, or local[N]).
    "ENGINE": os.environ.get("PESIAR_ENGINE") or "duckdb",
    "SPARK": {
        "MASTER": os.environ.get("PESIAR_SPARK_MASTER") or "local[2]",
        "DRIVER_MEMORY": os.environ.get("PESIAR_SPARK_DRIVER_MEMORY") or "2g",
        # Partitions after a shuffle: a few per core of the cluster.
        "PARTITIONS": int(os.environ.get("PESIAR_SPARK_PARTITIONS") or 8),
    },
    # Monev: villages with fewer residents are left out of the lowest/highest lists, and
    # viewers see no percentages of them (small-count disclosure).
    "MONEV": {"SMALL_COUNT": int(os.environ.get("PESIAR_SMALL_COUNT") or 20)},
}

# Register imports are bounded: the upload's size, what an XLSX (a zip) unpacks to, and the
# rows read. Each refusal says which limit and how to change it.
PESIAR["IMPORT"] = {
    "MAX_UPLOAD_MB": int(os.environ.get("PESIAR_MAX_UPLOAD_MB") or 200),
    "MAX_UNCOMPRESSED_MB": int(os.environ.get("PESIAR_MAX_UNCOMPRESSED_MB") or 2000),
    "MAX_ROWS": int(os.environ.get("PESIAR_MAX_ROWS") or 20_000_000),
    # an upload previewed but not started within this many hours is removed
    "PREVIEW_HOURS": float(os.environ.get("PESIAR_PREVIEW_HOURS") or 24),
}

# Files and folders Pesiar creates (the SQLite file, snapshots, rejects, batch files,
# uploads) are readable by its own user only.
os.umask(0o077)
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# The API docs page uses the swagger-ui shipped in django-ninja, not a CDN.
INSTALLED_APPS += ["ninja"]
