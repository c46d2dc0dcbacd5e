"""Test settings: the registry's own settings with safe defaults for tests.

Everything still comes from the environment (DATABASE_URL picks PostgreSQL in CI);
only the keys that production must set get throwaway values here.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-" + "x" * 40)
os.environ.setdefault("PSEUDONYM_KEY", "test-pseudonym-key-" + "y" * 40)
os.environ.setdefault("AUDIT_HMAC_KEY", "test-audit-hmac-key-" + "z" * 40)
os.environ.setdefault("PATIENT_DATA_KEYS", "dGVzdC1wYXRpZW50LWRhdGEta2V5LTMyLWJ5dGVzLiE=")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from registry.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests
OTP_REQUIRED = False  # the second factor's own tests turn it on
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405

# Tasks run in-process unless a test starts a real worker (the `live_celery_worker` fixture
# turns this off): a test never leaves messages behind in a shared broker.
CELERY_TASK_ALWAYS_EAGER = True

# `pytest -n N` (pytest-xdist) runs N processes side by side against the same Redis: each names its own
# cache keys and Celery queue after its worker id (gw0, gw1, …), so one worker's live Celery worker never takes
# another's tasks and clearing the cache between tests removes only this worker's keys. (pytest-django already
# gives each worker its own test database, test_<name>_gw0, …)
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
CACHES["default"]["KEY_PREFIX"] = f"registry-test-{XDIST_WORKER}"  # noqa: F405
CELERY_TASK_DEFAULT_QUEUE = f"registry-test-{XDIST_WORKER}"

# PostgreSQL refuses TRUNCATE of the audit trail (migration registry 0005) except in a test database whose
# connection asks for it: pytest-django empties the tables with TRUNCATE between transactional tests.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    _options = DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
    _options["options"] = f"{_options.get('options', '')} -c registry.allow_audit_truncate=on".strip()

# Reports: in-process runs happen inside the test (not in a thread after it); a worker started by a test may be
# slowed down (tests/reports/test_worker_killed.py) to be killed in the middle of a report.
REPORTS_IN_PROCESS_THREAD = False
REPORTS_TEST_RENDER_DELAY_SECONDS = float(os.environ.get("REPORTS_TEST_RENDER_DELAY_SECONDS", "0"))
REPORTS_STALE_AFTER_SECONDS = float(os.environ.get("REPORTS_STALE_AFTER_SECONDS", "45"))
REPORTS_HEARTBEAT_SECONDS = float(os.environ.get("REPORTS_HEARTBEAT_SECONDS", "10"))
