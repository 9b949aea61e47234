"""Daily Papers settings: one module, configured from the environment.

With nothing set but DEBUG=1 the site runs on an embedded default (SQLite in var/,
local-memory cache, Celery tasks in-process, mail to the console). DATABASE_URL and
REDIS_URL switch on PostgreSQL, Redis and real workers. Every variable is listed in
docs/configuration.md.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DAILYPAPERS_VAR_DIR") or BASE_DIR / "var")

env = environ.Env()

# --- Core -------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY, or DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"

SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000" if DEBUG else "")
if not SITE_URL:
    raise ImproperlyConfigured("SITE_URL is not set (e.g. https://papers.example.org).")
SITE_URL = SITE_URL.rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="Daily Papers")

_site_host = urlsplit(SITE_URL).hostname or ""
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS",
    default=["localhost", "127.0.0.1", "[::1]", _site_host] if DEBUG else [_site_host],
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.orcid",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.mfa",
    "accounts",
    "papers",
    "ingest",
    "digests",
    "search",
    "library",
    "discussion",
    "moderation",
    "notifications",
    "thumbnails",
    "codesignals",
    "semantic",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.QueryTimeoutMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # HTML and JSON gzipped (static files come compressed from WhiteNoise, above it, and
    # skip this). Before every middleware that writes the body (the page cache swaps
    # each visitor's CSRF token into cached pages) so it compresses the final bytes.
    # BREACH: the CSRF token in a page is masked afresh for every response, and Django's
    # GZipMiddleware pads each response with 0-100 random bytes (Heal the Breach), so a
    # reflected guess can't be measured against it. See README, Security.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.SettingsPolicyCSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.signin.HtmxLoginRedirectMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.RateLimitStatusMiddleware",
    # Last: it reads the user and the messages, and serves cached pages to anonymous
    # visitors before the view runs (papers.pagecache).
    "papers.pagecache.AnonymousPageCacheMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "config.context_processors.site",
                # After Django's csrf processor: pages being cached get a placeholder.
                "papers.pagecache.csrf_placeholder",
            ],
            # {% url %} and {% static %} with their answers remembered (issue 16: the
            # page shell's URLs). Our templates don't {% load static %}, which would
            # put Django's own tag back.
            "builtins": ["papers.templatetags.remembered_urls"],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Database ---------------------------------------------------------------

VAR_DIR.mkdir(exist_ok=True)
# WhiteNoise warns on every start if its root is missing (before `collectstatic`).
(VAR_DIR / "static").mkdir(exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
USING_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if USING_POSTGRES:
    # PostgreSQL restarting or unreachable: fail the request (a 503 page, see
    # papers.views.server_error) within seconds rather than hang a worker.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
    # A statement timeout (milliseconds, 0 = none) keeps one slow query from holding a
    # web worker; gunicorn's config sets it for web processes only.
    _timeout = env.int("DATABASE_STATEMENT_TIMEOUT", default=0)
    _options = [f"-c statement_timeout={_timeout}"] if _timeout else []
    # Parallel query workers help one big report, not a web server answering many small
    # requests on two cores: gunicorn's config turns them off for web processes (0).
    _parallel = env.str("DATABASE_PARALLEL_WORKERS", default="")
    if _parallel:
        _options.append(f"-c max_parallel_workers_per_gather={int(_parallel)}")
    # A search for a common word ranks the first few thousand matches a sequential scan
    # finds (search.matching). With synchronized scans each such scan began where the
    # last one had stopped, so the same query gave other results on every request (and
    # page 2 came from another set than page 1): scans start at the table's beginning.
    _options.append("-c synchronize_seqscans=off")
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = " ".join(_options)

# --- Cache and Celery (Redis) -------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, except that an unreachable Redis is a cache miss
            # (logged), not an error page: see config/cache.py.
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dp",
            # Seconds: a Redis that stopped answering costs a request this much per
            # cache call at most, instead of hanging the worker.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# How long anonymous visitors may be served a cached page (papers.pagecache): how late
# a vote or a new paper may show to them. 0 turns the page cache off.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=5)

CELERY_BROKER_URL = REDIS_URL or "memory://"
# Without a broker, tasks run in-process so the embedded default needs no worker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=50 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60 * 60)
# Redis re-delivers a task that is not acknowledged within the visibility timeout. With
# acks_late a task is acknowledged when it ends, so the timeout must exceed the longest
# task (the hard time limit) and the longest retry countdown, or a running task runs twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3 * 60 * 60)
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Email --------------------------------------------------------------------

vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <noreply@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# Where people write when they are stuck (shown where allauth says "contact us": an
# inactive account, a reset or verification mail that never came). Empty: not shown.
CONTACT_EMAIL = env.str("CONTACT_EMAIL", default="")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# --- Static files ---------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files need `collectstatic`; off by default in DEBUG.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Uploaded and generated files (thumbnails): the default storage above, under
# MEDIA_ROOT. Several web machines share one store: set the default storage to S3 with
# django-storages (README, "Thumbnails") and MEDIA_URL to its public address.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
# Django serves MEDIA_ROOT at MEDIA_URL itself (thumbnails.views.media): the embedded
# default and a single machine. Off when a web server or S3 serves them.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=MEDIA_URL.startswith("/"))
# Thumbnails on another origin (S3, a CDN) must be allowed by the CSP's img-src.
_media = urlsplit(MEDIA_URL)
_MEDIA_ORIGIN = [f"{_media.scheme}://{_media.netloc}"] if _media.netloc else []

# --- Internationalisation ----------------------------------------------------------

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
# Our wording of allauth's English strings (sentence case): locale/en/LC_MESSAGES.
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

# --- Security -------------------------------------------------------------------
# Production defaults are the safe ones; a plain-HTTP local deployment (make serve)
# switches the HTTPS-only ones off through the environment.

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Django's database sessions, read with one statement (accounts/sessions.py).
SESSION_ENGINE = "accounts.sessions"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# As cookiecutter-django does: the header consents to preloading; submitting the domain
# to the preload list stays a manual step. Set SECURE_HSTS_PRELOAD=0 to withhold it.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# No script reads the CSRF cookie: htmx gets the token from the hx-headers attribute in
# base.html, forms from their hidden field. So it is HTTP-only too (wapiti flagged it).
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])
if not USING_POSTGRES:
    # The embedded default (SQLite) lacks two PostgreSQL index features the models use
    # for speed, not correctness: covering columns (W040) and NULLS NOT DISTINCT (W047,
    # the duplicate-comment guard, which the form also checks). Django's warning about
    # each would greet every `make run`.
    SILENCED_SYSTEM_CHECKS += ["models.W040", "models.W047"]

# Content-Security-Policy (django-csp): scripts and styles only from our own origin, no
# inline script, no eval. htmx runs with allowEval off and without its indicator style
# (the htmx-config meta tag in base.html); the swap-on-error handlers live in
# static/js/site.js. KaTeX sets its styles through the DOM (element.style), which CSP
# does not govern, so style-src needs no 'unsafe-inline' either; only the digest's
# "view in browser" page (an email's inlined styles) relaxes it (digests.views).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *_MEDIA_ORIGIN],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Accounts (django-allauth) ---------------------------------------------------------
# Sign-in is by email; the username is the public handle (/u/<username>/). Every address
# must be verified before the account can sign in (and so vote).

AUTHENTICATION_BACKENDS = [
    # Django's and allauth's, reading the signed-in user with one compiled statement.
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = urlsplit(SITE_URL).scheme or "https"
ACCOUNT_USERNAME_BLACKLIST = ["admin", "settings", "accounts", "api", "static", "u"]
ACCOUNT_ALLOW_SIGNUP = env.bool("ACCOUNT_ALLOW_SIGNUP", default=True)
# allauth's rate limits (login failures, sign-ups, password resets, confirmation mails)
# stay at their defaults (ACCOUNT_RATE_LIMITS unset); they count in the cache, which is
# Redis when REDIS_URL is set.
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_QUERY_EMAIL = True
SOCIALACCOUNT_STORE_TOKENS = False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME

# Each provider is on only when both its client id and secret are set; the sign-in
# page shows buttons for those alone.
_SOCIAL_PROVIDERS = {
    "github": ("GITHUB", "GitHub", {"SCOPE": ["read:user", "user:email"]}),
    "google": (
        "GOOGLE",
        "Google",
        {"SCOPE": ["openid", "profile", "email"], "AUTH_PARAMS": {"access_type": "online"}},
    ),
    "orcid": ("ORCID", "ORCID", {"BASE_DOMAIN": env.str("ORCID_BASE_DOMAIN", default="orcid.org")}),
}
SOCIALACCOUNT_PROVIDERS = {}
for _provider, (_prefix, _name, _options) in _SOCIAL_PROVIDERS.items():
    _id, _secret = env.str(f"{_prefix}_CLIENT_ID", ""), env.str(f"{_prefix}_CLIENT_SECRET", "")
    if _id and _secret:
        SOCIALACCOUNT_PROVIDERS[_provider] = _options | {
            "APPS": [{"client_id": _id, "secret": _secret, "key": "", "name": _name}]
        }
_hf_id, _hf_secret = env.str("HUGGINGFACE_CLIENT_ID", ""), env.str("HUGGINGFACE_CLIENT_SECRET", "")
if _hf_id and _hf_secret:
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": "huggingface",
                "name": "Hugging Face",
                "client_id": _hf_id,
                "secret": _hf_secret,
                "settings": {
                    "server_url": env.str("HUGGINGFACE_SERVER_URL", "https://huggingface.co"),
                    "scope": ["openid", "profile", "email"],
                },
            }
        ]
    }

# Rate limits count in the cache. While Redis is unreachable the cache keeps nothing
# (config/cache.py) and requests are let through rather than all refused; this covers
# django-ratelimit's other way of failing (a count it couldn't read).
RATELIMIT_FAIL_OPEN = True

# Sign-in with a provider POSTs here and is redirected to the provider: browsers apply
# CSP's form-action to that redirect, so each configured provider's origin is allowed.
_PROVIDER_ORIGINS = {
    "github": "https://github.com",
    "google": "https://accounts.google.com",
    "orcid": f"https://{SOCIALACCOUNT_PROVIDERS.get('orcid', {}).get('BASE_DOMAIN', 'orcid.org')}",
}
for _provider in SOCIALACCOUNT_PROVIDERS:
    _origin = _PROVIDER_ORIGINS.get(_provider)
    if _provider == "openid_connect":
        _server = urlsplit(SOCIALACCOUNT_PROVIDERS[_provider]["APPS"][0]["settings"]["server_url"])
        _origin = f"{_server.scheme}://{_server.netloc}"
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(_origin)

# Upvotes a signed-in user may cast or withdraw (django-ratelimit syntax).
VOTE_RATE_LIMIT = env.str("VOTE_RATE_LIMIT", default="60/m")
# Author claims a signed-in user may file: each one waits for a moderator.
CLAIM_RATE_LIMIT = env.str("CLAIM_RATE_LIMIT", default="10/h")

# --- Discussion (issue 14) ----------------------------------------------------------

# Comments and replies a signed-in user may post, and flags they may raise.
COMMENT_RATE_LIMIT = env.str("COMMENT_RATE_LIMIT", default="6/m")
FLAG_RATE_LIMIT = env.str("FLAG_RATE_LIMIT", default="20/h")
COMMENT_MAX_LENGTH = env.int("COMMENT_MAX_LENGTH", default=10_000)
# Seconds after posting during which its author may edit a comment.
COMMENT_EDIT_WINDOW = env.int("COMMENT_EDIT_WINDOW", default=15 * 60)
# Accounts younger than this (seconds), or without a verified email, post no links
# and at most NEW_ACCOUNT_COMMENTS_PER_DAY comments a day.
COMMENT_MIN_ACCOUNT_AGE = env.int("COMMENT_MIN_ACCOUNT_AGE", default=3 * 24 * 60 * 60)
NEW_ACCOUNT_COMMENTS_PER_DAY = env.int("NEW_ACCOUNT_COMMENTS_PER_DAY", default=3)

# --- Papers -----------------------------------------------------------------------

# Days of featured papers that the trending list ranks.
TRENDING_DAYS = env.int("TRENDING_DAYS", default=7)
PAPERS_PER_PAGE = env.int("PAPERS_PER_PAGE", default=30)

# --- Benchmarks (bench/load.py) ------------------------------------------------------

# /bench/constant/, the minimal view the pages are measured against. Off by default.
BENCHMARK_VIEWS = env.bool("BENCHMARK_VIEWS", default=False)
# An X-SQL-Queries header on every response. Off by default.
# bench/load.py measures pages uncached: a request header turns the page cache off.
BENCH_PAGE_CACHE_BYPASS = env.bool("BENCH_COUNT_QUERIES", default=False)
if env.bool("BENCH_COUNT_QUERIES", default=False):
    MIDDLEWARE.insert(0, "config.bench.QueryCountMiddleware")

# --- Logging ------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
    },
}

# --- Ingestion ----------------------------------------------------------------------------
# Sources of papers (ingest/) and how the periodic tasks fetch them
# (config/celery.py). The URLs are settings so tests point them at a local server.

ARXIV_API_URL = env.str("ARXIV_API_URL", default="https://export.arxiv.org/api/query")
ARXIV_OAI_URL = env.str("ARXIV_OAI_URL", default="https://oaipmh.arxiv.org/oai")
HF_DAILY_PAPERS_URL = env.str(
    "HF_DAILY_PAPERS_URL", default="https://huggingface.co/api/daily_papers"
)
# Categories the periodic arXiv fetch asks for.
ARXIV_CATEGORIES = env.list(
    "ARXIV_CATEGORIES", default=["cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML"]
)
# New papers in these categories join the daily list on their own (besides papers that
# users submit and Hugging Face features). Empty: the daily list is curated only.
DAILY_CATEGORIES = env.list("DAILY_CATEGORIES", default=[])
# "New" for DAILY_CATEGORIES: first submitted at most this many days ago.
DAILY_NEW_DAYS = env.int("DAILY_NEW_DAYS", default=3)
# The periodic arXiv fetch looks back this far (overlapping runs cost nothing: upsert).
ARXIV_LOOKBACK_DAYS = env.int("ARXIV_LOOKBACK_DAYS", default=2)
ARXIV_PAGE_SIZE = env.int("ARXIV_PAGE_SIZE", default=200)
# arXiv's terms: no more than one request every three seconds.
ARXIV_REQUEST_INTERVAL = env.float("ARXIV_REQUEST_INTERVAL", default=3.0)
HF_MAX_PAGES = env.int("HF_MAX_PAGES", default=10)
INGEST_USER_AGENT = env.str(
    "INGEST_USER_AGENT",
    default=f"{SITE_NAME}/0.1 (+{SITE_URL}; self-hosted Daily Papers; mailto:"
    f"{DEFAULT_FROM_EMAIL.rsplit('<', 1)[-1].rstrip('>')})",
)
INGEST_HTTP_TIMEOUT = env.float("INGEST_HTTP_TIMEOUT", default=60.0)
# A 503/429 asking to wait at most this long is waited out in the request loop (OAI
# flow control), up to INGEST_RETRY_AFTER_WAITS times; longer waits go to Celery retry.
INGEST_MAX_RETRY_AFTER = env.float("INGEST_MAX_RETRY_AFTER", default=120.0)
INGEST_RETRY_AFTER_WAITS = env.int("INGEST_RETRY_AFTER_WAITS", default=3)
# Task retries on network errors, HTTP 5xx and 429: exponential backoff starting at
# INGEST_RETRY_BACKOFF seconds, capped at INGEST_RETRY_BACKOFF_MAX, at most
# INGEST_MAX_RETRIES times.
INGEST_RETRY_BACKOFF = env.int("INGEST_RETRY_BACKOFF", default=60)
INGEST_RETRY_BACKOFF_MAX = env.int("INGEST_RETRY_BACKOFF_MAX", default=30 * 60)
INGEST_MAX_RETRIES = env.int("INGEST_MAX_RETRIES", default=5)
# Submitting papers (/submit/): per user.
SUBMIT_RATE_LIMIT = env.str("SUBMIT_RATE_LIMIT", default="10/h")
# The library (issue 15), per user: saves and read marks, new collections, imports, and
# edits of collections (notes, order, items).
LIBRARY_SAVE_RATE_LIMIT = env.str("LIBRARY_SAVE_RATE_LIMIT", default="120/m")
LIBRARY_COLLECTION_RATE_LIMIT = env.str("LIBRARY_COLLECTION_RATE_LIMIT", default="30/h")
LIBRARY_IMPORT_RATE_LIMIT = env.str("LIBRARY_IMPORT_RATE_LIMIT", default="10/h")
LIBRARY_EDIT_RATE_LIMIT = env.str("LIBRARY_EDIT_RATE_LIMIT", default="300/h")
# The user watches the page while a submission is fetched: a failed fetch is tried again
# SUBMIT_FETCH_RETRIES times, after SUBMIT_RETRY_DELAY seconds then twice that (or a
# Retry-After, if it fits), and a submission still pending after SUBMIT_PENDING_TIMEOUT
# seconds is failed with a message. Without a worker (tasks in-process) it is not retried.
SUBMIT_FETCH_RETRIES = env.int("SUBMIT_FETCH_RETRIES", default=2)
SUBMIT_RETRY_DELAY = env.int("SUBMIT_RETRY_DELAY", default=10)
SUBMIT_PENDING_TIMEOUT = env.int("SUBMIT_PENDING_TIMEOUT", default=5 * 60)

# acks_late: Redis re-delivers a task that isn't acknowledged within the visibility
# timeout. A retry is a new message that a worker holds, unacknowledged, through its
# countdown and then its run: so the timeout must exceed the longest countdown plus the
# longest task (3 h > 30 min + 1 h by default), or a task runs twice.
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= (
    CELERY_TASK_TIME_LIMIT + INGEST_RETRY_BACKOFF_MAX
):
    raise ImproperlyConfigured(
        "CELERY_VISIBILITY_TIMEOUT must exceed CELERY_TASK_TIME_LIMIT + "
        "INGEST_RETRY_BACKOFF_MAX, or Redis re-delivers tasks that are still running."
    )

# --- Digests (digests) ---------------------------------------------------------
# The trending-papers email. Times are local to each subscriber (their time zone, or
# DIGEST_TIME_ZONE); see docs/digests.md for the sending design.

DIGEST_FROM_EMAIL = env.str("DIGEST_FROM_EMAIL", default=DEFAULT_FROM_EMAIL)
DIGEST_SEND_HOUR = env.int("DIGEST_SEND_HOUR", default=7)
DIGEST_TIME_ZONE = env.str("DIGEST_TIME_ZONE", default="UTC")
DIGEST_WEEKLY_DAY = env.int("DIGEST_WEEKLY_DAY", default=0)  # 0 = Monday
DIGEST_TRENDING_COUNT = env.int("DIGEST_TRENDING_COUNT", default=10)
DIGEST_PERSONAL_COUNT = env.int("DIGEST_PERSONAL_COUNT", default=5)  # per section
# Subscriptions per batch task; each batch shares one SMTP connection and one render of
# the shared sections.
DIGEST_BATCH_SIZE = env.int("DIGEST_BATCH_SIZE", default=200)
# A delivery claimed longer ago than this without being sent (its worker died) may be
# claimed again. Longer than a batch takes; a shorter lease costs work, never a duplicate.
DIGEST_CLAIM_LEASE = env.int("DIGEST_CLAIM_LEASE", default=15 * 60)
# A batch task whose rows were queued this long ago without it starting (its message was
# lost) is queued again by the planner. Longer than a backlog lasts: a shorter one costs
# a task that finds nothing to claim, never a duplicate mail.
DIGEST_QUEUE_LEASE = env.int("DIGEST_QUEUE_LEASE", default=60 * 60)
DIGEST_MAX_ATTEMPTS = env.int("DIGEST_MAX_ATTEMPTS", default=6)
# Seconds before a retry after a lost SMTP connection, doubling up to the maximum.
DIGEST_RETRY_BACKOFF = env.int("DIGEST_RETRY_BACKOFF", default=60)
DIGEST_RETRY_BACKOFF_MAX = env.int("DIGEST_RETRY_BACKOFF_MAX", default=30 * 60)
# Added to each retry's countdown (digests.sending), so the retry doesn't come
# before the rows' next_attempt_at, set from another clock.
DIGEST_RETRY_MARGIN = 1
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= (
    CELERY_TASK_TIME_LIMIT + DIGEST_RETRY_BACKOFF_MAX + DIGEST_RETRY_MARGIN
):
    raise ImproperlyConfigured(  # see the same check under Ingestion
        "CELERY_VISIBILITY_TIMEOUT must exceed CELERY_TASK_TIME_LIMIT + "
        "DIGEST_RETRY_BACKOFF_MAX + 1 s, or Redis re-delivers tasks that are still running."
    )
# Personal sections offer papers first published on arXiv in the issue's window or up to
# this many days before it: arXiv announces a submission a day or more after its v1 date
# (three over a weekend), and an issue may go out before that day's announcement. A paper
# already sent is never sent again, so the overlap costs nothing.
DIGEST_NEW_LOOKBACK_DAYS = env.int("DIGEST_NEW_LOOKBACK_DAYS", default=3)
DIGEST_CONFIRM_MAX_AGE = env.int("DIGEST_CONFIRM_MAX_AGE", default=7 * 24 * 3600)
DIGEST_CONFIRM_RESEND_HOURS = env.int("DIGEST_CONFIRM_RESEND_HOURS", default=12)
DIGEST_CONFIRM_MAX_SENDS = env.int("DIGEST_CONFIRM_MAX_SENDS", default=3)
DIGEST_SUBSCRIBE_RATE_IP = env.str("DIGEST_SUBSCRIBE_RATE_IP", default="10/h")
DIGEST_SUBSCRIBE_RATE_EMAIL = env.str("DIGEST_SUBSCRIBE_RATE_EMAIL", default="3/h")
# Behind a reverse proxy every request comes from the proxy's address, which would put
# all visitors in one rate-limit bucket: name the header holding the client's address
# (one address, e.g. HTTP_X_REAL_IP from nginx). Used by django-ratelimit everywhere.
RATELIMIT_IP_META_KEY = env.str("RATELIMIT_IP_META_KEY", default="") or None

# --- Thumbnails and code signals (issue 13) -----------------------------------------------

# PDFs come from arXiv's export mirror, the API's host: one throttle for both.
ARXIV_PDF_URL = env.str("ARXIV_PDF_URL", default="https://export.arxiv.org/pdf/{arxiv_id}")
# Queue thumbnails as papers join a daily list. Off without a worker (the embedded
# default): `manage.py render_thumbnails --missing` then.
THUMBNAILS_AUTO = env.bool("THUMBNAILS_AUTO", default=not CELERY_TASK_ALWAYS_EAGER)
# 3 columns of ~240 CSS px at 2x: 480 px wide; a letter or A4 page is then ~620-680 high.
THUMBNAIL_WIDTH = env.int("THUMBNAIL_WIDTH", default=480)
THUMBNAIL_MAX_HEIGHT = env.int("THUMBNAIL_MAX_HEIGHT", default=4 * 480)
THUMBNAIL_QUALITY = env.int("THUMBNAIL_QUALITY", default=70)
# The card's own rendition of the page's top: its slot (.card-thumb in site.css) is
# 4.25rem wide at 4:3, 68 x 51 CSS px, so 2x is 136 x 102 (a few kB, not the page's ~50).
THUMBNAIL_CARD_WIDTH = env.int("THUMBNAIL_CARD_WIDTH", default=136)
THUMBNAIL_CARD_HEIGHT = env.int("THUMBNAIL_CARD_HEIGHT", default=102)
# Refused without parsing past this size (arXiv's own limit for a submission is 50 MB).
THUMBNAIL_MAX_PDF_BYTES = env.int("THUMBNAIL_MAX_PDF_BYTES", default=50 * 1024 * 1024)
# The renderer's process: address space (MB) and wall-clock seconds (CPU seconds too).
THUMBNAIL_MEMORY_LIMIT_MB = env.int("THUMBNAIL_MEMORY_LIMIT_MB", default=512)
THUMBNAIL_RENDER_TIMEOUT = env.float("THUMBNAIL_RENDER_TIMEOUT", default=20.0)
# The periodic sweep: featured papers of the last days without a thumbnail, at most
# this many per run; a PDF that could not be fetched is tried this many times.
THUMBNAIL_SWEEP_DAYS = env.int("THUMBNAIL_SWEEP_DAYS", default=7)
THUMBNAIL_SWEEP_LIMIT = env.int("THUMBNAIL_SWEEP_LIMIT", default=200)
THUMBNAIL_MAX_ATTEMPTS = env.int("THUMBNAIL_MAX_ATTEMPTS", default=4)

# GitHub's REST API for stars. A token (no scopes needed) raises the limit from 60 to
# 5,000 requests an hour; each run asks about at most GITHUB_REFRESH_LIMIT repositories.
GITHUB_API_URL = env.str("GITHUB_API_URL", default="https://api.github.com")
GITHUB_TOKEN = env.str("GITHUB_TOKEN", default="")
GITHUB_REFRESH_LIMIT = env.int("GITHUB_REFRESH_LIMIT", default=1000 if GITHUB_TOKEN else 50)
# Star velocity: stars gained over this many days (StarCount rows, one a day).
STAR_VELOCITY_DAYS = env.int("STAR_VELOCITY_DAYS", default=7)
# Trending: each star gained in STAR_VELOCITY_DAYS counts as this many upvotes (0: stars
# play no part, the published formula as before). See papers.ranking and /about/ranking/.
TRENDING_STAR_WEIGHT = env.float("TRENDING_STAR_WEIGHT", default=0.0)
# Hugging Face's models, datasets and Spaces citing a paper (GET /api/arxiv/{id}/repos).
HF_API_URL = env.str("HF_API_URL", default="https://huggingface.co/api")
HF_REQUEST_INTERVAL = env.float("HF_REQUEST_INTERVAL", default=1.0)
HF_REPOS_REFRESH_LIMIT = env.int("HF_REPOS_REFRESH_LIMIT", default=200)
# Items of each kind kept for the paper page (the counts are the full ones).
HF_REPOS_KEPT = env.int("HF_REPOS_KEPT", default=20)

# --- Search by meaning (semantic/) ----------------------------------------------
# The sentence model (semantic.encoder.MODELS), or any BERT model's directory with
# config.json, model.safetensors and tokenizer.json in EMBEDDING_MODEL_DIR. Changing it
# re-embeds every paper (each vector stores its model's key).
EMBEDDING_MODEL = env.str("EMBEDDING_MODEL", default="all-MiniLM-L6-v2")
EMBEDDING_MODEL_DIR = env.str("EMBEDDING_MODEL_DIR", default="")
EMBEDDING_POOLING = env.str("EMBEDDING_POOLING", default="mean")
# The int8 ONNX graph built from the weights at first use, and the vector index file.
EMBEDDING_CACHE_DIR = env.str("EMBEDDING_CACHE_DIR", default=str(VAR_DIR / "models"))
SEMANTIC_INDEX_DIR = env.str("SEMANTIC_INDEX_DIR", default=str(VAR_DIR / "index"))
# Vectors not yet in the index that a web worker scans exactly, newest first (each holds
# them in memory: 1.5 kB apiece); older unindexed ones wait for the worker's build.
SEMANTIC_EXACT_SCAN_MAX = env.int("SEMANTIC_EXACT_SCAN_MAX", default=20_000)
EMBEDDING_THREADS = env.int("EMBEDDING_THREADS", default=2)
# Past this, a query's embedding is abandoned and the page shows keyword results.
EMBEDDING_QUERY_TIMEOUT = env.float("EMBEDDING_QUERY_TIMEOUT", default=1.0)
# Hybrid search: the keyword search's best HYBRID_KEYWORD_TOP and the nearest
# HYBRID_VECTOR_TOP by meaning, merged by reciprocal rank fusion with constant
# HYBRID_RRF_K, the vector list's ranks weighing HYBRID_VECTOR_WEIGHT (the keyword's 1).
# Hugging Face's values; `bench/search_quality.py --sweep` tries others (docs/search.md).
HYBRID_KEYWORD_TOP = env.int("HYBRID_KEYWORD_TOP", default=50)
HYBRID_VECTOR_TOP = env.int("HYBRID_VECTOR_TOP", default=50)
HYBRID_RRF_K = env.float("HYBRID_RRF_K", default=60.0)
HYBRID_VECTOR_WEIGHT = env.float("HYBRID_VECTOR_WEIGHT", default=1.0)
# /for-you/ recommends papers first published within this many days.
FOR_YOU_DAYS = env.int("FOR_YOU_DAYS", default=14)
