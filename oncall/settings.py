"""Settings, all read from the environment (see README "Configuration" for every variable).

The embedded default needs nothing: SQLite and a filesystem broker under ``DATA_DIR``. Production
sets ``DATABASE_URL`` and ``CELERY_BROKER_URL`` (and ``SECRET_KEY``, ``FIELD_ENCRYPTION_KEYS``).
"""

from __future__ import annotations

import os
import secrets
from ipaddress import ip_network
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from oncall.env import env_bool, env_choice, env_int, env_list, env_networks, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR") or BASE_DIR / "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
# The embedded default: SQLite under DATA_DIR, no database server. Its secrets may be generated
# and kept next to the database (below) whether DEBUG is on or not, so that the README's
# `manage.py ...` commands work as written beside `dev.py up` (which turns DEBUG on).
EMBEDDED = not env_str("DATABASE_URL")


def _kept_secret(name: str) -> str:
    """A secret generated once and kept in DATA_DIR, for DEBUG and the embedded default (the
    database it protects lives there too); a real database needs it set."""
    value = env_str(name)
    if value:
        return value
    if not (DEBUG or EMBEDDED):
        raise ImproperlyConfigured(
            f"{name} is required when DEBUG is off and DATABASE_URL is set "
            f"(set {name} or {name}_FILE)."
        )
    path = DATA_DIR / name.lower()
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _kept_secret("SECRET_KEY")
# Comma-separated: the first key encrypts, every key decrypts (rotation: prepend a new key,
# run `manage.py reencrypt_secrets`, then drop the old one).
FIELD_ENCRYPTION_KEYS = [k.strip() for k in _kept_secret("FIELD_ENCRYPTION_KEYS").split(",")]


def _public_base_url() -> str:
    value = (env_str("PUBLIC_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query:
        raise ImproperlyConfigured(
            f"PUBLIC_BASE_URL={value!r} must be an absolute http(s) URL such as "
            "https://oncall.example.com"
        )
    return value


PUBLIC_BASE_URL = _public_base_url()
_public = urlsplit(PUBLIC_BASE_URL)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
if _public.hostname not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(_public.hostname)
CSRF_TRUSTED_ORIGINS = [f"{_public.scheme}://{_public.netloc}"]
if _public.scheme == "https":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# The local stand-in for the Open Platform (integrations/feishu_sandbox): on in the embedded
# (DEBUG) run, off by default in production, where nobody should be able to fake a tenant.
FEISHU_SANDBOX_ENABLED = env_bool("FEISHU_SANDBOX_ENABLED", DEBUG)
# The DingTalk stand-in (integrations/dingtalk_sandbox): on wherever Feishu's is, unless set.
DINGTALK_SANDBOX_ENABLED = env_bool("DINGTALK_SANDBOX_ENABLED", FEISHU_SANDBOX_ENABLED)

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
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "oncall",
    # The chat platforms' Django apps (CHAT_PLATFORMS lists the platforms themselves).
    "integrations.feishu",
    "integrations.dingtalk",
    # Alert sources that keep state of their own (group g: a heartbeat's last ping).
    "integrations.sources.heartbeat",
    # E-mail sources: their addresses and the messages received (issue 20, part 1).
    "integrations.sources.email",
    # The local Feishu stand-in, with its tables, only where it is enabled.
    *(["integrations.feishu_sandbox"] if FEISHU_SANDBOX_ENABLED else []),
    *(["integrations.dingtalk_sandbox"] if DINGTALK_SANDBOX_ENABLED else []),
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

# Database sessions that look up only keys Django could have issued (oncall/sessions.py).
SESSION_ENGINE = "oncall.sessions"

ROOT_URLCONF = "oncall.urls"
WSGI_APPLICATION = "oncall.wsgi.application"

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


def _postgresql_options() -> dict:
    """Statements bound and prepared on the server. The worker sends the same few dozen
    statements thousands of times a minute: with server-side binding PostgreSQL parses and
    plans each once per connection (after ``DB_PREPARE_THRESHOLD`` runs) instead of on every
    run, and psycopg no longer quotes every parameter into the text. Measured on the ingest
    mix (``tests.benchmarks.statements --mix``): PostgreSQL's CPU per event 0.69 → 0.43 ms for
    the merge and 1.32 → 0.54 ms for escalation, the worker's own 10-20 % less. Behind a
    connection pooler in transaction mode that does not track prepared statements (PgBouncer
    before 1.21, or without ``max_prepared_statements``) set ``DB_PREPARE_THRESHOLD=0``, which
    binds on the server but prepares nothing; ``DB_SERVER_SIDE_BINDING=false`` restores
    Django's default (client-side binding) altogether."""
    if not env_bool("DB_SERVER_SIDE_BINDING", True):
        return {}
    threshold = env_int("DB_PREPARE_THRESHOLD", 2, minimum=0)
    return {"server_side_binding": True, "prepare_threshold": threshold or None}


def _databases() -> dict:
    url = env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'oncall.sqlite3'}"
    try:
        db = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not usable: {exc}") from None
    # Before a request's first query on a kept connection, Django checks it with a SELECT 1 and
    # replaces it if the server closed it meanwhile. Kept for every view but the push URL, whose
    # queries run without it and are retried once on a fresh connection instead
    # (``oncall.reconnect``): a push is the hot path, and its two statements (a lookup and an
    # insert made idempotent by its request id) may safely run twice. Pages, the API and the
    # chat platforms' callbacks write through the lifecycle service in transactions, which
    # cannot be resumed on another connection; for them the round trip is cheap beside the work.
    db["CONN_HEALTH_CHECKS"] = True
    if db["ENGINE"] == "django.db.backends.postgresql":
        db["OPTIONS"] = _postgresql_options()
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # One process writes at a time on SQLite; IMMEDIATE takes the write lock when the
        # transaction starts, so two writers queue instead of deadlocking on lock upgrade.
        db["CONN_MAX_AGE"] = 0
        db["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return {"default": db}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
# The console's language: pages for a browser that asks for none, and cards, chat answers and
# notices unless a chat app or a channel sets its own (``oncall.languages``).
LANGUAGE_CODE = env_choice("ONCALL_LANGUAGE", "en", [code for code, _ in LANGUAGES])
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE") or "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Sign-in for everyone (local accounts, and Feishu through each app's web entry) is allauth's.
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
# Accounts are made by admins (or, when allowed, by signing in with Feishu): no public sign-up.
ACCOUNT_ADAPTER = "oncall.accounts.NoSignupAccountAdapter"
# Staff and superusers are never signed in by an e-mail match (oncall.permissions).
SOCIALACCOUNT_ADAPTER = "oncall.accounts.SocialAccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oncall.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "oncall.api.pagination.PageNumberPagination",
    "DEFAULT_THROTTLE_CLASSES": ["oncall.api.throttling.PerTokenThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env_str("API_THROTTLE_RATE") or "1200/min"},
    # DRF's JSON parser reading with the edge's reader (depth, huge numbers, NUL: a 400).
    "DEFAULT_PARSER_CLASSES": [
        "oncall.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "oncall.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "On-call console API",
    "DESCRIPTION": "Channels, alert sources, routes, incidents, alerts and Feishu apps and "
    "chats. Authenticate with "
    "`Authorization: Token <key>` (or `Bearer <key>`); create a key with "
    "`python manage.py create_api_token <username>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served by the console: no CDN needed
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "SeverityEnum": "oncall.events.Severity",
        "IncidentStatusEnum": "oncall.models.incidents.Incident.Status",
        "AlertStatusEnum": "oncall.models.incidents.Alert.Status",
        "InhibitActionEnum": "oncall.models.inhibition.InhibitRule.Action",
        "PipelineActionEnum": "oncall.models.pipelines.PipelineRule.Action",
    },
}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    # kombu's filesystem transport: a broker that needs no server, for the embedded run.
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Broadcast (worker control) messages; kombu's default is ./control in the checkout.
        "control_folder": str(_broker_dir / "control"),
    }
elif CELERY_BROKER_URL.startswith("redis://"):
    # kombu's Redis transport with one client per channel rather than one per message sent
    # (``oncall.broker``): the same commands on the same connection pool.
    CELERY_BROKER_TRANSPORT = "oncall.broker:Transport"
# Redis for state shared by every process (Feishu rate limits); defaults to a Redis broker.
REDIS_URL = env_str("REDIS_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else None
)
# The cache holds what every process must agree on: Feishu tenant tokens (one fetch per app,
# not per process) and the API's throttle counts. Redis when there is one, else files.
CACHES = {
    "default": (
        {
            "BACKEND": "oncall.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX") or "oncall",
        }
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    )
}
# Several consoles may share one Redis: give each its own queue name.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE") or "oncall"
# Card sends and card updates have a queue of their own (``oncall.celery.route_task``): a burst
# of alerts queues one ingestion and one escalation task per incident, and the cards they cause
# should not wait behind the rest of the burst. Workers may be dedicated to it (``-Q``); a worker
# started without ``-Q`` consumes both queues.
CELERY_CARDS_QUEUE = env_str("CELERY_CARDS_QUEUE") or f"{CELERY_TASK_DEFAULT_QUEUE}-cards"
CELERY_TASK_QUEUES = [
    # Exchange and routing key named after the queue, as Celery makes a queue it routes to.
    Queue(_name, Exchange(_name), routing_key=_name)
    for _name in dict.fromkeys((CELERY_TASK_DEFAULT_QUEUE, CELERY_CARDS_QUEUE))
]
# Outbound webhook deliveries (``oncall.webhooks``) have a queue of their own, deliberately not
# in CELERY_TASK_QUEUES, so that a worker started without ``-Q`` does not consume it: a slow or
# dead receiver holds a worker process up to 15 s per attempt and must never hold ingestion,
# escalation or cards. Run a worker with ``-Q`` this queue (``dev.py up`` does).
CELERY_WEBHOOKS_QUEUE = env_str("CELERY_WEBHOOKS_QUEUE") or f"{CELERY_TASK_DEFAULT_QUEUE}-webhooks"
CELERY_TASK_ROUTES = ("oncall.celery.route_task",)
# Task modules outside INSTALLED_APPS (autodiscovery finds only the apps'): alert sources' own.
CELERY_IMPORTS = (
    "integrations.sources.aws_cloudwatch.tasks",
    "oncall.webhooks.tasks",
    "oncall.custom_actions.tasks",
)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Celery's Django fix-up closes the database connection around every task unless told to reuse
# it: a new PostgreSQL backend per task halves ingestion throughput. Reconnect every 100 tasks.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 100, minimum=1)
CELERY_TASK_IGNORE_RESULT = True
# Tasks are idempotent, so a task whose worker died is delivered again rather than lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"

# --- The product ----------------------------------------------------------------------------
# Inbound alert sources: kind -> its oncall.sources.SourceKind class, one folder per kind under
# integrations/sources/. Explicit so that a grep finds every source; imported when first used.
ALERT_SOURCES = {
    "standard": "integrations.sources.standard.source.StandardSource",
    "alertmanager": "integrations.sources.alertmanager.source.AlertmanagerSource",
    "grafana": "integrations.sources.grafana.source.GrafanaSource",
    "pagerduty": "integrations.sources.pagerduty.source.PagerDutySource",
    # Chinese cloud vendors and their monitoring services (issue 19, parts 1, 2, 3, 5):
    "aliyun_arms": "integrations.sources.aliyun_arms.source.AliyunArmsSource",
    "aliyun_cms_metric": "integrations.sources.aliyun_cms_metric.source.AliyunCmsMetricSource",
    "aliyun_cms_event": "integrations.sources.aliyun_cms_event.source.AliyunCmsEventSource",
    "aliyun_sls": "integrations.sources.aliyun_sls.source.AliyunSlsSource",
    "huawei_ces": "integrations.sources.huawei_ces.source.HuaweiCesSource",
    "huawei_lts": "integrations.sources.huawei_lts.source.HuaweiLtsSource",
    "huawei_apm": "integrations.sources.huawei_apm.source.HuaweiApmSource",
    "baidu_bcm": "integrations.sources.baidu_bcm.source.BaiduBcmSource",
    "ctyun": "integrations.sources.ctyun.source.CtyunSource",
    "guance": "integrations.sources.guance.source.GuanceSource",
    "zstack": "integrations.sources.zstack.source.ZStackSource",
    # Group b (issue 19): Tencent, Volcengine, OceanBase, Zilliz, Jiankongbao.
    "blueking": "integrations.sources.blueking.source.BluekingSource",
    "tencent_cls": "integrations.sources.tencent_cls.source.TencentClsSource",
    "tencent_cm": "integrations.sources.tencent_cm.source.TencentCmSource",
    "tencent_eventbridge": "integrations.sources.tencent_eventbridge.source.TencentEbSource",
    "volc_cm_metric": "integrations.sources.volc_cm_metric.source.VolcCmMetricSource",
    "volc_cm_event": "integrations.sources.volc_cm_event.source.VolcCmEventSource",
    "volc_tls": "integrations.sources.volc_tls.source.VolcTlsSource",
    "volc_cloud_detect": "integrations.sources.volc_cloud_detect.source.VolcCloudDetectSource",
    "oceanbase": "integrations.sources.oceanbase.source.OceanbaseSource",
    "zilliz": "integrations.sources.zilliz.source.ZillizSource",
    "jiankongbao": "integrations.sources.jiankongbao.source.JiankongbaoSource",
    # Group d (issue 19): open-source monitors, log alerters and on-call relays.
    "n9e": "integrations.sources.n9e.source.NightingaleSource",
    "zabbix": "integrations.sources.zabbix.source.ZabbixSource",
    "uptime_kuma": "integrations.sources.uptime_kuma.source.UptimeKumaSource",
    "skywalking": "integrations.sources.skywalking.source.SkyWalkingSource",
    "open_falcon": "integrations.sources.open_falcon.source.OpenFalconSource",
    "graylog": "integrations.sources.graylog.source.GraylogSource",
    "opmanager": "integrations.sources.opmanager.source.OpManagerSource",
    "influxdb": "integrations.sources.influxdb.source.InfluxDBSource",
    "elastalert2": "integrations.sources.elastalert2.source.ElastAlert2Source",
    "keep": "integrations.sources.keep.source.KeepSource",
    "monit": "integrations.sources.monit.source.MonitSource",
    "rum": "integrations.sources.rum.source.RUMSource",
    # Issue 19, clouds and APM (helper c):
    "aws_cloudwatch": "integrations.sources.aws_cloudwatch.source.AwsCloudWatchSource",
    "aws_eventbridge": "integrations.sources.aws_eventbridge.source.AwsEventBridgeSource",
    "azure_monitor": "integrations.sources.azure_monitor.source.AzureMonitorSource",
    "sentry": "integrations.sources.sentry.source.SentrySource",
    "gcp_monitoring": "integrations.sources.gcp_monitoring.source.GcpMonitoringSource",
    "cloudflare": "integrations.sources.cloudflare.source.CloudflareSource",
    "dynatrace": "integrations.sources.dynatrace.source.DynatraceSource",
    "splunk": "integrations.sources.splunk.source.SplunkSource",
    "appdynamics": "integrations.sources.appdynamics.source.AppDynamicsSource",
    "solarwinds": "integrations.sources.solarwinds.source.SolarWindsSource",
    "meraki": "integrations.sources.meraki.source.MerakiSource",
    # Any JSON, by mapping (issue 19, part 4)
    "custom_webhook": "integrations.sources.custom_webhook.source.CustomWebhookSource",
    # Group g: chat-robot formats and heartbeats (issue 20, parts 2 and 4).
    "feishu_robot": "integrations.sources.feishu_robot.source.FeishuRobotSource",
    "dingtalk_robot": "integrations.sources.dingtalk_robot.source.DingTalkRobotSource",
    "heartbeat": "integrations.sources.heartbeat.source.HeartbeatSource",
    # Change events (issue 20, part 3): they record changes, never open incidents.
    "change_custom": "integrations.sources.change_custom.source.CustomChangeSource",
    "change_jira": "integrations.sources.change_jira.source.JiraChangeSource",
    # E-mail in (issue 20): the SMTP listener `manage.py alert_smtpd` and the relay door.
    "email": "integrations.sources.email.source.EmailSource",
}
# E-mail sources (integrations/sources/email): each has the address <mailbox>@ALERT_EMAIL_DOMAIN,
# received by `manage.py alert_smtpd` on ALERT_SMTPD_HOST:ALERT_SMTPD_PORT (README: "E-mail").
ALERT_EMAIL_DOMAIN = (env_str("ALERT_EMAIL_DOMAIN") or _public.hostname or "localhost").lower()
ALERT_SMTPD_HOST = env_str("ALERT_SMTPD_HOST") or "127.0.0.1"
ALERT_SMTPD_PORT = env_int("ALERT_SMTPD_PORT", 2525, minimum=1)
# A larger message is refused with 552 (the knowledge base's limit: 5 MB).
ALERT_EMAIL_MAX_BYTES = env_int("ALERT_EMAIL_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
PUSH_MAX_BODY_BYTES = env_int("PUSH_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
# At most this many alerts in one push: more is refused with a 413 naming the cap, nothing
# stored (``oncall.ingest.TooManyAlerts``; Alertmanager: set the webhook's max_alerts).
PUSH_MAX_ALERTS = env_int("PUSH_MAX_ALERTS", 5000, minimum=1)
# A push is merged at most this many alerts per transaction and task, so that a big push
# holds a worker for a bounded time and other pushes' tasks run between its chunks.
INGEST_CHUNK_ALERTS = env_int("INGEST_CHUNK_ALERTS", 50, minimum=1)
INBOUND_EVENT_RETENTION_DAYS = env_int("INBOUND_EVENT_RETENTION_DAYS", 7, minimum=1)
# An inbound event still unprocessed after this long is handed to a worker again by the sweep.
INBOUND_EVENT_REQUEUE_SECONDS = env_int("INBOUND_EVENT_REQUEUE_SECONDS", 60, minimum=5)
SNOOZE_MAX_MINUTES = env_int("SNOOZE_MAX_MINUTES", 24 * 60, minimum=1)
# People are told this many minutes before a shift of theirs starts, through the chat
# platforms (``oncall.schedules.notices``); 0 sends no notices.
SCHEDULE_NOTICE_MINUTES = env_int("SCHEDULE_NOTICE_MINUTES", 30, minimum=0)

# How long after writing a note its author may edit or delete it (0: never). Long enough to
# fix a typo or take back a note posted on the wrong incident; short enough that what the team
# read during the incident, and may have acted on, stays as it was written.
NOTE_EDIT_WINDOW_MINUTES = env_int("NOTE_EDIT_WINDOW_MINUTES", 15, minimum=0)
# An incident shows the changes of its channel (or of its alerts' ``service``) that were under
# way in this many minutes before it opened: "what changed right before this broke".
CHANGE_LOOKBACK_MINUTES = env_int("CHANGE_LOOKBACK_MINUTES", 60, minimum=1)
# Change events last heard of longer ago than this are purged (daily): a change is a clue for
# the incidents that follow it, and older incidents' pages then show no changes before them.
CHANGE_RETENTION_DAYS = env_int("CHANGE_RETENTION_DAYS", 180, minimum=1)
# The chat platforms the console speaks through (``oncall.platforms``): one class each, by
# dotted path. Escalation, the admin, the API, the pages, the URLs and Celery ask these.
# A platform's Django app is in INSTALLED_APPS above.
CHAT_PLATFORMS = [
    "integrations.feishu.platform.FeishuPlatform",
    "integrations.dingtalk.platform.DingTalkPlatform",
]
# What incidents offer beyond claim / close / snooze (``oncall.offers``): links and actions,
# one provider class each, by dotted path, shown in this order on pages, in the API and on cards,
# before those the chat platforms add (``offer_providers``: Feishu's war rooms).
INCIDENT_OFFERS: list[str] = [
    # The channel's custom actions and link integrations (oncall/custom_actions/).
    "oncall.custom_actions.offers.ChannelOffers",
    # Noise reduction: "Quick silence (24 h)" silences alerts like the incident's own.
    "oncall.noise.quick_silence.QuickSilenceOffers",
]
# How often an open incident list asks for news (seconds); the page pauses while hidden.
INCIDENT_LIST_REFRESH_SECONDS = env_int("INCIDENT_LIST_REFRESH_SECONDS", 10, minimum=1)
# Insights: the time to acknowledge an incident should stay within (the page may ask another),
# and the local hours that count as night in responders' load, [start, end), past midnight.
INSIGHTS_ACK_TARGET_MINUTES = env_int("INSIGHTS_ACK_TARGET_MINUTES", 5, minimum=1)
INSIGHTS_NIGHT_START_HOUR = env_int("INSIGHTS_NIGHT_START_HOUR", 22, minimum=0)
INSIGHTS_NIGHT_END_HOUR = env_int("INSIGHTS_NIGHT_END_HOUR", 8, minimum=0)
if max(INSIGHTS_NIGHT_START_HOUR, INSIGHTS_NIGHT_END_HOUR) > 23 or (
    INSIGHTS_NIGHT_START_HOUR == INSIGHTS_NIGHT_END_HOUR
):
    raise ImproperlyConfigured(
        "INSIGHTS_NIGHT_START_HOUR and INSIGHTS_NIGHT_END_HOUR are different hours, 0 to 23."
    )

# --- Outbound calls to user-set URLs (oncall/outbound.py) -------------------------------------
# Addresses the SSRF guard lets through although they are inward (loopback, private, ...), and
# which may then be reached over plain http: e.g. an egress proxy at 10.1.2.3/32, or the Feishu
# sandbox on loopback (127.0.0.1/32) in development. Networks, not names: DNS can lie.
OUTBOUND_ALLOWED_NETWORKS = env_networks("OUTBOUND_ALLOWED_NETWORKS", [])

# --- Outbound webhooks (oncall/webhooks/) ------------------------------------------------------
# How long a rotated-out signing secret keeps signing besides the new one.
WEBHOOK_SECRET_OVERLAP_HOURS = env_int("WEBHOOK_SECRET_OVERLAP_HOURS", 24, minimum=0)
# Seconds to wait before each retry of a delivery (an answer's Retry-After, if longer, wins):
# 8 attempts over about 20 hours.
WEBHOOK_RETRY_SECONDS = [
    int(value)
    for value in env_list(
        "WEBHOOK_RETRY_SECONDS", ["15", "60", "300", "1800", "7200", "21600", "43200"]
    )
]
# An endpoint whose every attempt failed for this long is disabled, with a notice on its page.
WEBHOOK_DISABLE_AFTER_HOURS = env_int("WEBHOOK_DISABLE_AFTER_HOURS", 24, minimum=1)
# A due delivery this late is presumed lost with its task and handed out again by a sweep.
WEBHOOK_REQUEUE_SECONDS = env_int("WEBHOOK_REQUEUE_SECONDS", 60, minimum=5)
# Delivery records (events, deliveries, attempts) are kept this long.
WEBHOOK_RETENTION_DAYS = env_int("WEBHOOK_RETENTION_DAYS", 30, minimum=1)
# --- Custom incident actions and link integrations (oncall/custom_actions/) ------------------
# How long a rotated-out action secret keeps signing besides the new one.
CUSTOM_ACTION_SECRET_OVERLAP_HOURS = env_int("CUSTOM_ACTION_SECRET_OVERLAP_HOURS", 24, minimum=0)
# How long a click waits for the action's answer (the call runs in a worker) before it answers
# "running; its result goes on the timeline": under the 3 s a chat platform waits for a click.
CUSTOM_ACTION_ANSWER_WAIT_MS = env_int("CUSTOM_ACTION_ANSWER_WAIT_MS", 2000, minimum=0)
# A second click on the same action of the same incident this soon after a call finished is a
# double click (or a retried request): it calls nothing and says what the first call did.
CUSTOM_ACTION_REPEAT_SECONDS = env_int("CUSTOM_ACTION_REPEAT_SECONDS", 5, minimum=0)
# A click no worker took within this long is not called any more (a roll back asked for ten
# minutes ago may no longer be wanted); a call still unfinished this long is recorded as lost.
CUSTOM_ACTION_EXPIRY_SECONDS = env_int("CUSTOM_ACTION_EXPIRY_SECONDS", 60, minimum=20)

# --- Feishu / Lark --------------------------------------------------------------------------
# Where apps whose platform is "Sandbox" send their Open API and OAuth calls.
FEISHU_SANDBOX_BASE_URL = (
    env_str("FEISHU_SANDBOX_BASE_URL") or f"{PUBLIC_BASE_URL}/sandbox/feishu"
).rstrip("/")
# Where the sandbox's long-connection server (manage.py sandbox_socket) listens: host:port.
FEISHU_SANDBOX_SOCKET_ADDRESS = env_str("FEISHU_SANDBOX_SOCKET_ADDRESS") or "127.0.0.1:8766"
# A signed callback whose X-Lark-Request-Timestamp is further than this from now is refused
# (Feishu documents no window; this is ours). Feishu re-sends an unanswered event after about
# 15 s, 5 min, 1 h and 6 h, and a re-send must be accepted (once): 8 h covers the last one even
# counted from the first attempt (7 h 5 min), with margin for clock skew. Receipts of event ids
# are kept for days (FEISHU_CALLBACK_RECEIPT_RETENTION_DAYS), longer than the window, so a
# replay inside it is caught as a repeat and one after it by the window (system check E103).
FEISHU_CALLBACK_MAX_SKEW_SECONDS = env_int("FEISHU_CALLBACK_MAX_SKEW_SECONDS", 8 * 3600, minimum=30)
# manage.py feishu_connect (apps in long-connection mode): how often it records that each
# socket is open and picks up apps added, changed or removed. An app whose last heartbeat is
# older than four of these shows as disconnected.
FEISHU_CONNECT_HEARTBEAT_SECONDS = env_int("FEISHU_CONNECT_HEARTBEAT_SECONDS", 15, minimum=1)
FEISHU_CALLBACK_RECEIPT_RETENTION_DAYS = env_int(
    "FEISHU_CALLBACK_RECEIPT_RETENTION_DAYS", 7, minimum=1
)
FEISHU_CALLBACK_MAX_BODY_BYTES = env_int("FEISHU_CALLBACK_MAX_BODY_BYTES", 256 * 1024, minimum=1024)
FEISHU_CHAT_SYNC_MINUTES = env_int("FEISHU_CHAT_SYNC_MINUTES", 15, minimum=1)
# A card still owed this long after its delivery last moved (plus its backoff) is sent again
# by the sweep: its task was lost with a worker.
FEISHU_DELIVERY_REQUEUE_SECONDS = env_int("FEISHU_DELIVERY_REQUEUE_SECONDS", 120, minimum=10)

# --- Feishu / Lark sign-in and account linking (integrations/feishu/oauth) -------------------
# The provider is built per Feishu app from its own credentials (no SocialApp, nothing to
# register with allauth). A Feishu user nobody has linked yet is matched to the one active
# console user with the same email (addresses the tenant vouches for) ...
FEISHU_LINK_BY_VERIFIED_EMAIL = env_bool("FEISHU_LINK_BY_VERIFIED_EMAIL", True)
# ... and, failing that, gets a new console account (no password) when this is on; when off,
# they sign in to the console once with a local account to link it.
FEISHU_CREATE_ACCOUNTS = env_bool("FEISHU_CREATE_ACCOUNTS", False)
# --- end of Feishu / Lark sign-in ------------------------------------------------------------

# --- DingTalk (integrations/dingtalk; README "DingTalk") -------------------------------------
# Where apps whose platform is "Sandbox" send their API calls.
DINGTALK_SANDBOX_BASE_URL = (
    env_str("DINGTALK_SANDBOX_BASE_URL") or f"{PUBLIC_BASE_URL}/sandbox/dingtalk"
).rstrip("/")
# A signed event push whose timestamp is further than this from now is refused: DingTalk signs
# every push when it sends it, so an honest push is seconds old; the window is the console's
# replay bound, with margin for clock skew. Each signed request and event id is remembered for
# DINGTALK_EVENT_RECEIPT_RETENTION_DAYS, longer than the window (a system check holds it).
DINGTALK_EVENT_MAX_SKEW_SECONDS = env_int("DINGTALK_EVENT_MAX_SKEW_SECONDS", 3600, minimum=30)
DINGTALK_EVENT_RECEIPT_RETENTION_DAYS = env_int(
    "DINGTALK_EVENT_RECEIPT_RETENTION_DAYS", 7, minimum=1
)
DINGTALK_EVENT_MAX_BODY_BYTES = env_int("DINGTALK_EVENT_MAX_BODY_BYTES", 64 * 1024, minimum=1024)
# manage.py dingtalk_connect (apps in Stream mode): how often it looks for apps switched to or
# from Stream mode, or whose credentials changed.
DINGTALK_CONNECT_REFRESH_SECONDS = env_int("DINGTALK_CONNECT_REFRESH_SECONDS", 30, minimum=1)
# Where the DingTalk sandbox's Stream server (manage.py dingtalk_sandbox_stream) listens.
DINGTALK_SANDBOX_STREAM_ADDRESS = env_str("DINGTALK_SANDBOX_STREAM_ADDRESS") or "127.0.0.1:8767"

# --- Metrics (GET /metrics, for Prometheus; README "Metrics") --------------------------------
# Off (404) unless one of these is set; with both set, a scrape must pass both. In the
# development run (DEBUG) a scraper on loopback needs neither.
METRICS_TOKEN = env_str("METRICS_TOKEN") or ""  # Authorization: Bearer <token>


def _metrics_allowed_ips() -> list[str]:
    """Addresses and networks (``10.0.0.0/8``, ``2001:db8::1``) that may scrape."""
    networks = env_list("METRICS_ALLOWED_IPS", [])
    for network in networks:
        try:
            ip_network(network)
        except ValueError as exc:
            raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {exc}") from None
    return networks


METRICS_ALLOWED_IPS = _metrics_allowed_ips()


def _check_metrics_directory() -> None:
    """prometheus_client (not Django) reads PROMETHEUS_MULTIPROC_DIR and writes every
    process's counts there: checked here, so that a missing directory stops the process at
    start rather than failing the first push it counts."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and not (os.path.isdir(directory) and os.access(directory, os.W_OK)):
        raise ImproperlyConfigured(
            f"PROMETHEUS_MULTIPROC_DIR={directory!r} must be an existing, writable directory."
        )


_check_metrics_directory()
# --- end of metrics --------------------------------------------------------------------------

# For the benchmarks (tests/benchmarks): a folder where every process keeps the number of SQL
# statements it ran (oncall.statement_count), so that each benchmark row can say statements
# per event. Unset (the default and in production): nothing is counted.
STATEMENT_COUNT_DIR = env_str("STATEMENT_COUNT_DIR") or ""

LOG_LEVEL = (env_str("LOG_LEVEL") or "INFO").upper()
# Celery's received / sent / succeeded lines about the periodic sweeps: DEBUG unless this is on
# (oncall.quiet_sweeps), so that a dozen sweeps a minute do not bury the lines that matter.
LOG_SWEEPS = env_bool("LOG_SWEEPS", False)
# Every record is redacted where it is made (push tokens, routing keys, Authorization values,
# OAuth codes: oncall.logfilters), whichever handler writes it.
LOGGING_CONFIG = "oncall.logfilters.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "filters": {"quiet_sweeps": {"()": "oncall.quiet_sweeps.QuietSweeps"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # On the loggers themselves, so that the filter holds under Celery's own handlers.
        **{
            name: {"filters": ["quiet_sweeps"]}
            for name in ("celery.worker.strategy", "celery.app.trace", "celery.beat")
        },
        "django.db.backends": {"level": "INFO"},
        # runserver's access log has its own handler; write it in our format instead.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
