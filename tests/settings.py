"""Settings for the test suite: the real settings with test-only secrets and an eager-free
Celery (tests call task functions directly or capture on-commit callbacks)."""

import os
import tempfile

from tests.xdist_databases import redis_url_for_worker

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "test-encryption-key")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="oncall-test-"))
# Under pytest-xdist every process gets a data folder of its own (the file cache, the broker's
# folders, SQLite's files): the processes inherit the first one's environment, and sharing them
# lets one process's cache.clear() empty another's throttle counts and card versions. (A
# subprocess a test starts inherits the folder already chosen and keeps it.)
os.environ["DATA_DIR"] = (
    os.environ["DATA_DIR"]
    if os.environ["DATA_DIR"].endswith(os.sep + os.environ.get("PYTEST_XDIST_WORKER", "-"))
    else os.path.join(os.environ["DATA_DIR"], os.environ.get("PYTEST_XDIST_WORKER", ""))
).rstrip(os.sep)
# ... and, on Redis, a database of its own (the broker's queues, the cache, the rate limits): one
# process's cache.clear() would otherwise empty the queues another's real worker is reading.
# gw0 keeps the given database (0 when the URL names none), gw1 the one below it, and so on,
# wrapping from 0 to 15 (Redis has 16 databases unless configured otherwise), so that 15, the
# one dev.py gives, is followed by 14. The URL as first given is kept in the environment: a
# subprocess (a test's Celery worker) inherits it and PYTEST_XDIST_WORKER, and so computes the
# same database as the process that started it. REDIS_URL, when set apart from the broker's,
# gets the same treatment.
for _name in ("CELERY_BROKER_URL", "REDIS_URL"):
    if os.environ.get(_name, "").startswith(("redis://", "rediss://")):
        os.environ[_name] = redis_url_for_worker(
            os.environ.setdefault(f"ONCALL_TEST_{_name}_BASE", os.environ[_name]),
            os.environ.get("PYTEST_XDIST_WORKER", "gw0"),
        )
os.environ.setdefault("PUBLIC_BASE_URL", "https://oncall.example.com")
os.environ.setdefault("FEISHU_SANDBOX_ENABLED", "true")

# The settings read the environment set above when imported.
from oncall.env import env_bool  # noqa: E402
from oncall.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast user creation

# On PostgreSQL, transactional tests end with a DELETE of every table instead of a TRUNCATE
# (tests/postgresql_backend/base.py: 20-50 ms instead of 1.5-2.5 s per test).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"]["ENGINE"] = "tests.postgresql_backend"  # noqa: F405

# Tasks enqueued on commit run inline when a test executes the captured callbacks
# (django_capture_on_commit_callbacks(execute=True)); the real-worker test turns this off.
# A test worker runs the tasks its tasks send inline too, unless its test says otherwise.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)
CELERY_TASK_EAGER_PROPAGATES = True

# The suite runs with DEBUG off and the sandbox on, on purpose: it is the warning's case.
SILENCED_SYSTEM_CHECKS = ["oncall.W101", "oncall.W111"]

# A test-only chat platform with targets of its own (tests/stub_platform): its table exists in
# every test database; the tests that exercise it list it in CHAT_PLATFORMS.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.stub_platform"]  # noqa: F405

# What incidents offer (``oncall.offers``): none unless a test lists its providers (the console's
# default lists ``oncall.custom_actions.offers.ChannelOffers``, which reads a channel's actions
# and links: one query each per page or card, counted in tests/custom_actions/test_links.py), so
# that the pages' and cards' own query counts are measured alone.
INCIDENT_OFFERS: list[str] = []
