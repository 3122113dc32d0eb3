"""Settings for the test suite: the real settings with test-only secrets and an eager-free
Celery (tests call task functions directly or capture on-commit callbacks)."""

import os
import tempfile

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
# gw0 keeps the given database, gw1 the one below it, and so on; a subprocess (a test's Celery
# worker) inherits the base and so computes the same one.
if os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
    _base = os.environ.setdefault("ONCALL_TEST_BROKER_BASE", os.environ["CELERY_BROKER_URL"])
    _url, _, _db = _base.rpartition("/")
    if not _db.isdigit():  # redis://host:port, no database named: database 0
        _url, _db = _base.rstrip("/"), "0"
    _worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    os.environ["CELERY_BROKER_URL"] = f"{_url}/{int(_db or 0) - _worker}"
os.environ.setdefault("PUBLIC_BASE_URL", "https://oncall.example.com")
os.environ.setdefault("FEISHU_SANDBOX_ENABLED", "true")

from oncall.env import env_bool
from oncall.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast user creation

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
