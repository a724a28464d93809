"""Settings for the isms portal (DJANGO_SETTINGS_MODULE=isms.settings, which re-exports them).

Everything that differs between a laptop, CI and the city's servers is read from the
environment (see README, "Configuration"). With nothing set, the portal runs on SQLite with
Celery tasks executed eagerly, which is what the demo command uses. The test suite runs with
isms.settings.test, which starts from these.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

# For the demo (DEBUG) and the tests (isms/settings/test.py) only. With DEBUG off and no
# SECRET_KEY set, the key stays empty and the portal refuses to start (isms/apps.py): not
# here, so that the test settings can start from these.
DEVELOPMENT_SECRET_KEY = "development-only-key-never-use-in-production-0123456789abcdef"
SECRET_KEY = env("SECRET_KEY", default="") or (DEVELOPMENT_SECRET_KEY if DEBUG else "")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# How many reverse proxies in front of the portal append to X-Forwarded-For. The client
# address (throttles, django-axes, the audit trail, acknowledgements) is REMOTE_ADDR when 0,
# otherwise the entry the outermost of them appended (isms.clientip). BEHIND_PROXY=1, the
# older switch, means one proxy.
NUM_PROXIES = env.int("NUM_PROXIES", default=1 if env.bool("BEHIND_PROXY", default=False) else 0)
if NUM_PROXIES < 0:
    raise ImproperlyConfigured("NUM_PROXIES must be 0 or more (see README, Configuration).")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "csp",
    "pgtrigger",
    "isms",
    "acknowledgements",
    "training",
    "assets",
    "audits",
    "incidents",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Above WhiteNoise, so that static files carry the Permissions-Policy header too.
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "isms.middleware.NoStoreWhenSignedInMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "isms.middleware.JapaneseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Keeps each signed-in session's "last seen" for the person's session list.
    "isms.sessions.SessionActivityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Axes must come last: it inspects the outcome of the login views above it.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "isms.urls"
WSGI_APPLICATION = "isms.wsgi.application"

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
                "isms.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Keep connections between requests (a new PostgreSQL connection per request cost a third of
# the acknowledgement throughput in bench/ack_throughput.py); checked before reuse.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The portal's queries are short: PostgreSQL's JIT never pays off for them, and when the
    # statistics are stale (many dead rows, no vacuum) it compiled permission-filtered lists
    # for 18-32 s each (bench/README.md, audit lists).
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = (options.get("options", "") + " -c jit=off").strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "isms.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "isms.local_signin.LocalPasswordBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "public-policy"

# Login throttling: five failures lock the username from that address for 30 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Failures and lockouts live in PostgreSQL, not in the cache: a Redis outage neither lifts a
# lockout nor forgets a failure (which is what lets the API throttle fall back, see
# isms/api/throttling.py). The address is the portal's one client address (isms.clientip).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_CLIENT_IP_CALLABLE = "isms.clientip.client_ip"

# Sign-in through the directory or the identity provider (isms/accounts.py): a person the
# portal does not know yet is refused unless this is on (the personnel import creates them).
SIGNIN_CREATE_UNKNOWN_PEOPLE = env.bool("SIGNIN_CREATE_UNKNOWN_PEOPLE", default=False)
# How the audit trail names each way in (the session's authentication backend).
SIGNIN_METHOD_NAMES = {
    "django.contrib.auth.backends.ModelBackend": "local",
    "isms.local_signin.LocalPasswordBackend": "local",
}

# Directory sign-in (LDAP / Active Directory, isms/ldap_signin.py; README, "Signing in with
# the city's directory"). Off unless LDAP_SERVER_URI is set; then the directory is asked
# before the local passwords, which stay for the break-glass admin. The defaults suit Active
# Directory; plain values here, so that the portal imports python-ldap only when it is on.
LDAP_SERVER_URI = env("LDAP_SERVER_URI", default="")
LDAP_START_TLS = env.bool("LDAP_START_TLS", default=False)
LDAP_CA_FILE = env("LDAP_CA_FILE", default="")
# A directory that does not answer costs a sign-in this many seconds at most.
LDAP_TIMEOUT_SECONDS = env.int("LDAP_TIMEOUT_SECONDS", default=5)
# Bind as the person ("uid=%(user)s,ou=people,dc=city,dc=example"), or, when empty, search
# for them with the service account and then bind as them.
LDAP_USER_DN_TEMPLATE = env("LDAP_USER_DN_TEMPLATE", default="")
LDAP_BIND_DN = env("LDAP_BIND_DN", default="")
LDAP_BIND_PASSWORD = env("LDAP_BIND_PASSWORD", default="")
LDAP_USER_SEARCH_BASE = env("LDAP_USER_SEARCH_BASE", default="")
LDAP_USER_SEARCH_FILTER = env("LDAP_USER_SEARCH_FILTER", default="(sAMAccountName=%(user)s)")
LDAP_ATTR_USERNAME = env("LDAP_ATTR_USERNAME", default="sAMAccountName")
LDAP_ATTR_DISPLAY_NAME = env("LDAP_ATTR_DISPLAY_NAME", default="displayName")
LDAP_ATTR_EMAIL = env("LDAP_ATTR_EMAIL", default="mail")
LDAP_ATTR_STAFF_NUMBER = env("LDAP_ATTR_STAFF_NUMBER", default="employeeID")
LDAP_ATTR_SECTION_CODE = env("LDAP_ATTR_SECTION_CODE", default="department")
# A disabled account: Active Directory's userAccountControl with bit 0x2 set, or an entry
# that LDAP_DISABLED_FILTER matches (empty: no such filter).
LDAP_ACCOUNT_CONTROL_ATTR = env("LDAP_ACCOUNT_CONTROL_ATTR", default="userAccountControl")
LDAP_DISABLED_FILTER = env("LDAP_DISABLED_FILTER", default="")
# Groups that give roles: "group DN=role" pairs separated by ";" (empty: no role comes from
# the directory).
LDAP_GROUP_SEARCH_BASE = env("LDAP_GROUP_SEARCH_BASE", default="")
LDAP_GROUP_SEARCH_FILTER = env(
    "LDAP_GROUP_SEARCH_FILTER", default="(|(objectClass=group)(objectClass=groupOfNames))"
)
LDAP_GROUP_ROLES = {
    group.strip(): role.strip()
    for group, _separator, role in (
        pair.rpartition("=") for pair in env("LDAP_GROUP_ROLES", default="").split(";")
    )
    if group.strip()
}
if LDAP_SERVER_URI:
    AUTHENTICATION_BACKENDS.insert(
        AUTHENTICATION_BACKENDS.index("isms.local_signin.LocalPasswordBackend"),
        "isms.ldap_signin.DirectoryBackend",
    )
SIGNIN_METHOD_NAMES["isms.ldap_signin.DirectoryBackend"] = "ldap"

# Local accounts (isms/local_signin.py): who may still sign in with a portal password when
# the city signs staff in through its directory or identity provider. "all" (the demo),
# "superusers" (and the login names in LOCAL_PASSWORD_USERS: the break-glass admin) or
# "listed" (only those names).
LOCAL_PASSWORDS = env("LOCAL_PASSWORDS", default="all")
if LOCAL_PASSWORDS not in ("all", "superusers", "listed"):
    raise ImproperlyConfigured("LOCAL_PASSWORDS must be all, superusers or listed (see README).")
LOCAL_PASSWORD_USERS = env.list("LOCAL_PASSWORD_USERS", default=[])
# Password reset by e-mail: requests allowed per address and per client address within
# the window, known addresses or not.
PASSWORD_RESET_PER_ADDRESS = env.int("PASSWORD_RESET_PER_ADDRESS", default=3)
PASSWORD_RESET_PER_IP = env.int("PASSWORD_RESET_PER_IP", default=20)
PASSWORD_RESET_WINDOW_MINUTES = env.int("PASSWORD_RESET_WINDOW_MINUTES", default=60)
# How long a reset link stays valid (Django's setting, in seconds): one hour, not three days.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_MINUTES", default=60) * 60

# Sign-in through an OpenID Connect identity provider (isms/oidc_signin.py, README "Signing
# in with OpenID Connect"): on only when OIDC_ISSUER and OIDC_CLIENT_ID are set. Endpoints
# left empty come from the issuer's discovery document.
OIDC_ISSUER = env("OIDC_ISSUER", default="")
OIDC_CLIENT_ID = env("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env("OIDC_CLIENT_SECRET", default="")
# Client authentication at the token endpoint: client_secret_post, or HTTP Basic when on.
OIDC_TOKEN_USE_BASIC_AUTH = env.bool("OIDC_TOKEN_USE_BASIC_AUTH", default=False)
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", default="")
OIDC_SCOPES = env("OIDC_SCOPES", default="openid email profile")
OIDC_SIGN_ALGO = env("OIDC_SIGN_ALGO", default="RS256")
OIDC_AUTHORIZATION_ENDPOINT = env("OIDC_AUTHORIZATION_ENDPOINT", default="")
OIDC_TOKEN_ENDPOINT = env("OIDC_TOKEN_ENDPOINT", default="")
OIDC_USERINFO_ENDPOINT = env("OIDC_USERINFO_ENDPOINT", default="")
OIDC_JWKS_ENDPOINT = env("OIDC_JWKS_ENDPOINT", default="")
OIDC_END_SESSION_ENDPOINT = env("OIDC_END_SESSION_ENDPOINT", default="")
OIDC_POST_LOGOUT_REDIRECT_URL = env("OIDC_POST_LOGOUT_REDIRECT_URL", default="")
OIDC_CA_BUNDLE = env("OIDC_CA_BUNDLE", default="")
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT", default=10)
OIDC_CLAIM_USERNAME = env("OIDC_CLAIM_USERNAME", default="preferred_username")
OIDC_CLAIM_DISPLAY_NAME = env("OIDC_CLAIM_DISPLAY_NAME", default="name")
OIDC_CLAIM_EMAIL = env("OIDC_CLAIM_EMAIL", default="email")
OIDC_CLAIM_STAFF_NUMBER = env("OIDC_CLAIM_STAFF_NUMBER", default="staff_number")
OIDC_CLAIM_SECTION = env("OIDC_CLAIM_SECTION", default="section")
# An ID token whose amr names one of these (RFC 8176), or whose acr is one of
# OIDC_MFA_ACR_VALUES, counts as the person's second factor (isms.second_factor, "idp").
OIDC_MFA_AMR_VALUES = env.list(
    "OIDC_MFA_AMR_VALUES",
    default=["mfa", "mca", "otp", "hwk", "swk", "sc", "fpt", "face", "iris", "retina"],
)
OIDC_MFA_ACR_VALUES = env.list("OIDC_MFA_ACR_VALUES", default=[])
# The provider's answer comes back as a GET (/oidc/callback/): a person refused there typed
# no password here, so django-axes does not count it, nor lock the address out (a whole
# office behind one address would lose the provider's sign-in). Password forms are POSTs.
AXES_NEVER_LOCKOUT_GET = True
if OIDC_ISSUER and OIDC_CLIENT_ID:
    AUTHENTICATION_BACKENDS.insert(-1, "isms.oidc_signin.ProviderBackend")
SIGNIN_METHOD_NAMES["isms.oidc_signin.ProviderBackend"] = "oidc"

# Multi-factor authentication (isms/second_factor.py): who must use a second factor, and
# how recent it must be for publishing, role changes, closing findings and API tokens.
# The demo (DEBUG, bin/demo) asks for none unless MFA_ENABLED=1 says so: its personas share
# one published password and have no authenticator (README, "Two-step verification").
MFA_ENABLED = env.bool("MFA_ENABLED", default=not DEBUG)
MFA_REQUIRED_ROLES = env.list(
    "MFA_REQUIRED_ROLES",
    default=["programme_admin", "ciso", "auditor", "department_head", "section_chief"],
)
MFA_REQUIRED_FOR_ADMIN = env.bool("MFA_REQUIRED_FOR_ADMIN", default=True)
MFA_STEP_UP_MINUTES = env.int("MFA_STEP_UP_MINUTES", default=15)

# Two-step verification (isms/mfa.py): django-otp's TOTP and static (recovery code) devices
# and django-otp-webauthn's passkeys. The middleware asks for the second factor below
# AuthenticationMiddleware (it needs the person) and MessageMiddleware (it leaves a message).
INSTALLED_APPS += [
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware") + 1,
    "isms.mfa.SecondFactorMiddleware",
)
# The Django admin lists devices (to delete those of someone who lost theirs, README) but
# never shows a secret or a QR code: a superuser must not be able to copy a person's app.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# The issuer the authenticator app shows next to the code.
OTP_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="ISMS")
# Passkeys belong to the portal's host name (the RP ID): changing it loses every passkey.
# Both default to the portal's own address (PORTAL_BASE_URL, below).
_portal_url = env("PORTAL_BASE_URL", default="http://localhost:8000")
OTP_WEBAUTHN_RP_ID = env("MFA_WEBAUTHN_RP_ID", default=urlsplit(_portal_url).hostname)
OTP_WEBAUTHN_RP_NAME = env("MFA_WEBAUTHN_RP_NAME", default="ISMS")
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list(
    "MFA_WEBAUTHN_ORIGINS",
    default=[f"{urlsplit(_portal_url).scheme}://{urlsplit(_portal_url).netloc}"],
)
# A passkey is the second step after the password (or the directory) sign-in, never a way
# in on its own: every sign-in goes through the LoginView and its backends.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = "isms.mfa"
# API tokens (isms/tokens.py): the lifetime a token gets unless its owner asks for less, the
# longest they may ask for, and how many unexpired tokens a person may hold at once.
API_TOKEN_LIFETIME_DAYS = env.int("API_TOKEN_LIFETIME_DAYS", default=90)
API_TOKEN_MAX_LIFETIME_DAYS = env.int("API_TOKEN_MAX_LIFETIME_DAYS", default=365)
API_TOKEN_MAX_PER_PERSON = env.int("API_TOKEN_MAX_PER_PERSON", default=20)

GUARDIAN_RAISE_403 = True
ANONYMOUS_USER_NAME = None  # no guardian anonymous user: anonymous visitors hold no rights

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Installed by npm from package.json (bin/setup-python), served by the portal: no CDN.
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
    ("vendor/lucide", BASE_DIR / "node_modules" / "lucide-static" / "icons"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # The evidence store (isms.evidence): files that prove compliance, served only through
    # permission-checked views. Local by default; see EVIDENCE_S3_BUCKET below.
    "evidence": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG


def evidence_s3_storage(*, bucket, endpoint_url="", access_key="", secret_key="", region=""):
    """STORAGES["evidence"] on an S3-compatible object store (docs/evidence-store.md). The
    objects stay private: downloads stream through the portal's permission-checked views
    (isms.evidence.download_response), never from the store's own URL."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            # Empty: AWS itself, and boto3's own credentials (environment, instance role).
            "endpoint_url": endpoint_url or None,
            "access_key": access_key or None,
            "secret_key": secret_key or None,
            "region_name": region or "us-east-1",
            # No ACL header (some servers refuse one): objects keep the bucket's private access.
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            # On-premises servers (MinIO and the like) answer at one host name, not per bucket.
            "addressing_style": "path",
            "signature_version": "s3v4",
        },
    }


# A bucket shared by several web servers instead of each one's local media folder.
if env("EVIDENCE_S3_BUCKET", default=""):
    STORAGES["evidence"] = evidence_s3_storage(
        bucket=env("EVIDENCE_S3_BUCKET"),
        endpoint_url=env("EVIDENCE_S3_ENDPOINT_URL", default=""),
        access_key=env("EVIDENCE_S3_ACCESS_KEY", default=""),
        secret_key=env("EVIDENCE_S3_SECRET_KEY", default=""),
        region=env("EVIDENCE_S3_REGION", default="us-east-1"),
    )
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))

# Redis is optional: without REDIS_URL the cache is per process and Celery runs tasks inline.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis host that stops answering costs a request two seconds at most; the
            # callers decide what a cache error means (the throttle counts locally).
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# Fail fast when Redis is down: pages must not wait for the broker (isms.notify.enqueue).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "max_retries": 0,
    # A task whose worker vanished (SIGKILL, a lost container) without acknowledging it
    # goes back to its queue after this many seconds, when a worker next looks (at start and
    # every 100 s). Redis's default is an hour. It must exceed the longest task: a task still
    # running after it is delivered a second time (harmless for the reminder jobs, whose
    # ledger sends nothing twice, but not free). The portal queues no delayed (eta) tasks.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=900),
}
CELERY_TASK_ACKS_LATE = True  # every task is idempotent: a task lost with its worker reruns
# A worker reserves one task at a time: a killed worker holds back nothing else.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# One beat schedule for the whole portal (Japan time). Every job is idempotent, so a run
# that repeats or overlaps another sends nothing twice.
CELERY_BEAT_SCHEDULE = {
    # Revisions published ahead of their effective date (施行日) become current at midnight.
    "activate-due-revisions": {
        "task": "isms.tasks.activate_due_revisions",
        "schedule": crontab(minute="*/15"),
    },
    # Chains the audit events of the last minute into the tamper-evident trail.
    "seal-audit-trail": {
        "task": "isms.tasks.seal_audit_trail",
        "schedule": crontab(minute="*"),
    },
    # Personnel batches (the April transfer) on their effective date, from just after
    # midnight; every hour, so that a missed run is caught up the same day.
    "apply-due-personnel-batches": {
        "task": "isms.tasks.apply_due_personnel_batches",
        "schedule": crontab(minute=1),
    },
    "deactivate-leavers": {
        "task": "isms.tasks.deactivate_leavers",
        "schedule": crontab(hour=0, minute=5),
    },
    "sync-enrolments": {
        "task": "training.tasks.sync_enrolments",
        "schedule": crontab(hour=6, minute=0),
    },
    "remind-acknowledgements": {
        "task": "acknowledgements.tasks.remind_acknowledgements",
        "schedule": crontab(hour=8, minute=0),
    },
    "remind-training": {
        "task": "training.tasks.remind_training",
        "schedule": crontab(hour=8, minute=10),
    },
    "remind-corrective-actions": {
        "task": "audits.tasks.remind_corrective_actions",
        "schedule": crontab(hour=8, minute=20),
    },
    "remind-reporting-clocks": {
        "task": "incidents.tasks.remind_reporting_clocks",
        "schedule": crontab(minute=5),
    },
    "remind-drills": {
        "task": "incidents.tasks.remind_drills",
        "schedule": crontab(hour=8, minute=45),
    },
    "remind-self-inspections": {
        "task": "audits.tasks.remind_self_inspections",
        "schedule": crontab(hour=8, minute=30),
    },
    "remind-asset-reviews": {
        "task": "assets.tasks.remind_asset_reviews",
        "schedule": crontab(hour=8, minute=40, day_of_week="mon"),
    },
    "weekly-summary": {
        "task": "isms.tasks.weekly_summary",
        "schedule": crontab(hour=8, minute=50, day_of_week="mon"),
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
if EMAIL_CONFIG["EMAIL_BACKEND"].endswith(".filebased.EmailBackend"):
    # django-environ drops the path's leading slash (filemail:///var/mail/isms would write
    # to var/mail/isms under the current directory): the mail directory is always absolute.
    EMAIL_CONFIG["EMAIL_FILE_PATH"] = "/" + EMAIL_CONFIG["EMAIL_FILE_PATH"].lstrip("/")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="isms@localhost")
# Links in e-mail point here.
PORTAL_BASE_URL = env("PORTAL_BASE_URL", default="http://localhost:8000")

REST_FRAMEWORK = {
    # Token first: DRF answers an anonymous caller with the first class's WWW-Authenticate
    # challenge, 401 (session authentication has none, which made it 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "isms.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"token": "10/min"},
    # DRF's own idea of the client address agrees with isms.clientip.client_ip.
    "NUM_PROXIES": NUM_PROXIES,
    "DATETIME_FORMAT": "iso-8601",
    "DATE_FORMAT": "iso-8601",
    "EXCEPTION_HANDLER": "isms.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "isms API",
    "DESCRIPTION": "Information security portal: organisation, policy, acknowledgements.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "isms.api.schema.document_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RevisionStatusEnum": "isms.models.policy.RevisionStatus",
        "AssetStatusEnum": "assets.models.AssetStatus",
        "InspectionStatusEnum": "audits.models.SubmissionStatus",
        "FindingStatusEnum": "audits.models.FindingStatus",
        "FindingSeverityEnum": "audits.models.Severity",
        "IncidentStatusEnum": "incidents.models.Status",
        "IncidentSeverityEnum": "incidents.models.Severity",
        "ReportStageStatusEnum": "incidents.models.StageStatus",
        "ObligationDecisionEnum": "incidents.models.Decision",
        "PersonnelBatchKindEnum": "isms.models.personnel.BatchKind",
    },
}

# Security headers. The portal lives on a closed network: nothing is loaded from elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Signing out after an OpenID Connect sign-in posts the logout form, which redirects to the
# provider's end-session endpoint: browsers hold that redirect to form-action too.
if OIDC_ISSUER and OIDC_CLIENT_ID:
    for _address in (OIDC_ISSUER, OIDC_END_SESSION_ENDPOINT):
        if _address:
            _origin = "{0.scheme}://{0.netloc}".format(urlsplit(_address))
            CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(_origin)
# Powerful browser features no page of the portal uses are switched off for every page,
# so an injected script or a framed page could not ask for them either.
PERMISSIONS_POLICY = {
    feature: []
    for feature in [
        "accelerometer",
        "autoplay",
        "bluetooth",
        "browsing-topics",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    ]
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 60 * 60  # one working day


def https_settings(https):
    """The settings that follow from serving over HTTPS or not (the test settings apply
    them again with HTTPS off by default)."""
    return {
        "HTTPS": https,
        "SECURE_SSL_REDIRECT": https,
        "SESSION_COOKIE_SECURE": https,
        "CSRF_COOKIE_SECURE": https,
        "SECURE_HSTS_SECONDS": 31536000 if https else 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": https,
        "SECURE_HSTS_PRELOAD": https,
    }


# HTTPS is on by default in production; a TLS-terminating proxy sets X-Forwarded-Proto.
vars().update(https_settings(env.bool("HTTPS", default=not DEBUG)))
# Health checks (docker, the load balancer) talk plain HTTP to the container itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if NUM_PROXIES:
    # The proxy terminates TLS and says so; without a proxy the header is the client's word.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Portal rules that a city may tune without a code change.
ACKNOWLEDGEMENT_DEADLINE_DAYS = env.int("ACKNOWLEDGEMENT_DEADLINE_DAYS", default=30)
# New staff: days after joining by which their courses are due.
NEW_STAFF_COURSE_DAYS = env.int("NEW_STAFF_COURSE_DAYS", default=30)
# Reminders: "due soon" this many days before a deadline; escalate to the person's
# department head this many days after it.
REMINDER_DUE_SOON_DAYS = env.int("REMINDER_DUE_SOON_DAYS", default=7)
ESCALATION_AFTER_DAYS = env.int("ESCALATION_AFTER_DAYS", default=7)
# The reports to the authorities run on days, not weeks: their reminders start this many
# hours before the deadline (incidents.tasks.remind_reporting_clocks, hourly).
INCIDENT_REPORT_DUE_SOON_HOURS = env.int("INCIDENT_REPORT_DUE_SOON_HOURS", default=48)
# Month and day of the fiscal year by which every asset must have had its annual review.
ASSET_REVIEW_DEADLINE = tuple(
    int(part) for part in env("ASSET_REVIEW_DEADLINE", default="09-30").split("-")
)
# Largest import file accepted (bytes); 100,000 rows of CSV fit well within it.
ASSET_IMPORT_MAX_BYTES = env.int("ASSET_IMPORT_MAX_BYTES", default=50 * 1024 * 1024)
# An imported date more than this many years after today is a typing error (9999-12-31).
IMPORT_DATE_HORIZON_YEARS = env.int("IMPORT_DATE_HORIZON_YEARS", default=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Largest evidence file for audits (bytes).
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=20 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
