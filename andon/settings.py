"""Settings, all read from the environment.

``DEBUG`` is off unless set. With ``DEBUG=1`` and nothing else (``make demo``) Andon runs on an
SQLite file, an in-memory channel layer and eager in-process Celery tasks, with a demo secret
key. With ``DATABASE_URL`` and ``REDIS_URL`` the same code runs on PostgreSQL, the Redis
channel layer and a real Celery broker. With ``DEBUG`` off a real ``SECRET_KEY`` is required
and the secure defaults make ``manage.py check --deploy`` clean.
"""

import hashlib
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Off unless set: `make demo` (and a developer's shell) sets DEBUG=1; production never does.
DEBUG = env.bool("DEBUG", default=False)
_DEMO_SECRET = "django-insecure-andon-demo-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=_DEMO_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
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
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "simple_history",
    "django_celery_beat",
    "axes",
]
# Andon's own apps, in dependency order: each contributes its pages, API routes, websocket
# routes, admin, events, subscribers, notifications, roles, periodic tasks and demo data
# (andon.discovery). The project package comes last: it wires them together.
ANDON_APPS = [
    "mes",
    "exceptions",
    "quality",
    "integrations.erp",
    "integrations.opcua",
    "integrations.legacy",
]
# Plug-in apps (and the tests' probes) join without editing this file.
ANDON_APPS += env.list("ANDON_EXTRA_APPS", default=[])
INSTALLED_APPS += [*ANDON_APPS, "andon"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "mes.middleware.RequestIdMiddleware",
    "mes.middleware.RejectNulMiddleware",
    "mes.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mes.middleware.AdminTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: answers a locked-out sign-in (django-axes) with the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "andon.urls"
WSGI_APPLICATION = "andon.wsgi.application"
ASGI_APPLICATION = "andon.asgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'andon.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections for the WSGI workers (make run sets CONN_MAX_AGE=60 for gunicorn),
# checked before reuse; the ASGI server keeps 0 (Django's async requests close theirs).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The key of the audit chains (mes.audit, docs/audit.md): never stored in the database. Set
# AUDIT_KEY in production and keep it: history written under another key fails verification.
AUDIT_KEY = (
    env.str("AUDIT_KEY", default="")
    or hashlib.sha256(b"andon-audit:" + SECRET_KEY.encode()).hexdigest()
)
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # PostgreSQL hashes each history row as it is inserted (a trigger) with this key, which
    # every connection brings in its start-up options (not a statement anyone can list).
    _key = AUDIT_KEY.encode()
    _key = _key if len(_key) <= 64 else hashlib.sha256(_key).digest()
    _key = _key.ljust(64, b"\0")
    _pads = {
        name: bytes(k ^ pad for k in _key).hex() for name, pad in (("ipad", 0x36), ("opad", 0x5C))
    }
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = " ".join(
        [_options.get("options", ""), *(f"-c andon.audit_{n}={v}" for n, v in _pads.items())]
    ).strip()
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo serves ASGI with several threads; wait for the write lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a sign-in while its user is locked out from that address.
    "axes.backends.AxesStandaloneBackend",
    # Django's, except that service accounts (the ERP's) never sign in with a password.
    "mes.backends.PersonBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Brute force (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one user from one
# address, that user is refused from that address for LOGIN_COOLOFF_MINUTES. Per user *and*
# address: a guesser cannot lock out a whole shift behind the plant's NAT, nor one user from
# everywhere. Attempts are kept in the database; `manage.py axes_reset_username NAME` unlocks.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLE_ADMIN = False  # attempts name users of every site: not a manager's page
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "mes.middleware.client_address"
# Behind reverse proxies: how many of them append to X-Forwarded-For (0: the peer address is
# the client's; a client-sent X-Forwarded-For is then ignored).
ANDON_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Where pages open websockets when the ASGI server is not behind the pages' own origin
# (make run: ws://HOST:WS_PORT); empty: the same origin (a reverse proxy routes /ws/).
ANDON_WEBSOCKET_URL = env("WEBSOCKET_URL", default="").rstrip("/")
if ANDON_WEBSOCKET_URL and not ANDON_WEBSOCKET_URL.startswith(("ws://", "wss://")):
    raise ImproperlyConfigured("WEBSOCKET_URL is ws://host[:port] or wss://host[:port].")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
GUARDIAN_RAISE_403 = True
# History is read in the admin; a change is made on the change page, through a service.
SIMPLE_HISTORY_REVERT_DISABLED = True
ANONYMOUS_USER_NAME = None  # guardian: no anonymous object permissions

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("pl", _("Polish")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "mes" / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"

# --- Security: strict whenever DEBUG is off --------------------------------------------
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous request is answered 401 with `WWW-Authenticate: Token`.
        "mes.api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["mes.api.permissions.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "mes.api.pagination.BoundedLimitOffsetPagination",
    "DEFAULT_PARSER_CLASSES": [
        "mes.api.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "mes.api.schema.AndonAutoSchema",
    "EXCEPTION_HANDLER": "mes.api.errors.json_exception_handler",
    # Views that hand out credentials (tokens, websocket tickets) name a scope here.
    "DEFAULT_THROTTLE_RATES": {
        "credentials": env.str("CREDENTIALS_THROTTLE", default="20/min"),
    },
    "NON_FIELD_ERRORS_KEY": "non_field_errors",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Andon API",
    "DESCRIPTION": (
        "Execution layer between the ERP and the shop floor. Authenticate with "
        "`Authorization: Token <token>` (`manage.py issue_token USERNAME`). Errors are "
        '`{"code": ..., "detail": ...}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "WorkOrderStatusEnum": "mes.choices.WorkOrderStatus",
        "OperationStatusEnum": "mes.choices.OperationStatus",
        "LotStatusEnum": "mes.choices.LotStatus",
        "SeverityEnum": "exceptions.choices.Severity",
        "ItemKindEnum": "mes.choices.ItemKind",
        "WorkCenterKindEnum": "mes.choices.WorkCenterKind",
        "UnitEnum": "mes.choices.Unit",
        "HoldDecisionKindEnum": "quality.models.HoldDecision.Kind",
        "NcActionKindEnum": "quality.models.NcAction.Kind",
        "ImportKindEnum": "integrations.legacy.models.ImportJob.Kind",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Redis: channel layer and Celery broker ---------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# One cache for every process (throttles, counters of wrong tokens): Redis when there is one.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CHANNEL_PREFIX", default="andon"),
        }
    }


def redis_channel_layer(url: str, prefix: str = "asgi") -> dict:
    """The production channel layer on Redis (a function so tests build the same one)."""
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # Each connected websocket may hold a Redis connection while it waits: size the
            # pool for the sockets one ASGI process holds (redis-py's default is 100).
            "hosts": [
                {
                    "address": url,
                    "max_connections": env.int("CHANNEL_MAX_CONNECTIONS", default=2000),
                    # redis-py 8 reads with a 5 s timeout by default, the same 5 s that
                    # channels_redis blocks in BZPOPMIN: on a busy loop the read times out
                    # and the consumer dies. Leave the blocking pop room.
                    "socket_timeout": 30,
                }
            ],
            # A prefix of its own lets several deployments (or test runs) share one Redis.
            "prefix": prefix,
            # All sockets of one ASGI process share one Redis list ("specific" channels), and
            # its capacity is a channel's: a fan-out to 500 users in a burst would overflow
            # the default of 100 and drop pushes silently.
            "capacity": env.int("CHANNEL_CAPACITY", default=10000),
        },
    }


if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": redis_channel_layer(REDIS_URL, env.str("CHANNEL_PREFIX", default="asgi"))
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The schedule is what the apps declare (PERIODIC_TASKS in their tasks.py): andon.periodic.

# --- Andon ------------------------------------------------------------------------------
# Events older than this and still undelivered are relayed again by the sweep.
ANDON_OUTBOX_SWEEP_AFTER = timedelta(seconds=env.int("OUTBOX_SWEEP_AFTER_SECONDS", default=10))
# Exception attachments (photos from the floor).
ANDON_ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "mes.uploads.SizeLimitedUploadHandler",  # the size limit, while the body streams in
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
ANDON_ATTACHMENT_TYPES = env.list(
    "ATTACHMENT_TYPES", default=["image/jpeg", "image/png", "image/webp", "application/pdf"]
)
# ERP delivery: first retry after about this many seconds, doubling up to 10 minutes.
ANDON_ERP_BACKOFF = env.float("ERP_BACKOFF_SECONDS", default=2.0)
# The longest an ERP call may take, whatever an endpoint says (a worker waits that long).
ANDON_ERP_TIMEOUT_MAX = env.int("ERP_TIMEOUT_MAX_SECONDS", default=30)
# Calls to one endpoint a worker makes at once (one per work order: in order within one).
ANDON_ERP_CALLS_AT_ONCE = env.int("ERP_CALLS_AT_ONCE", default=16)
# ERP endpoints never call this machine or a private network, except the hosts and networks
# listed here (e.g. "erp.plant.local,10.20.0.0/16"): integrations.erp.destinations.
ANDON_ERP_ALLOWED_HOSTS = env.list("ERP_ALLOWED_HOSTS", default=[])
# API tokens: the longest a token may live, and wrong keys a minute per address before 429.
ANDON_TOKEN_MAX_DAYS = env.int("TOKEN_MAX_DAYS", default=90)
ANDON_TOKEN_FAILURE_LIMIT = env.int("TOKEN_FAILURE_LIMIT", default=30)
# Accounts of every kind but employee expire within this many days (and are extended so).
ANDON_ACCOUNT_MAX_DAYS = env.int("ACCOUNT_MAX_DAYS", default=90)
# Extra modules imported at start-up that register outbox subscribers (plug-ins, test probes).
ANDON_SUBSCRIBER_MODULES = env.list("ANDON_SUBSCRIBER_MODULES", default=[])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "asyncua": {"level": "WARNING"},  # a line per request and per subscription otherwise
    },
}
