"""Test settings: the registry's own settings with safe defaults for tests.

Everything still comes from the environment (DATABASE_URL picks PostgreSQL in CI);
only the keys that production must set get throwaway values here.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-" + "x" * 40)
os.environ.setdefault("PSEUDONYM_KEY", "test-pseudonym-key-" + "y" * 40)
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from registry.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405

# Tasks run in-process unless a test starts a real worker (the `live_celery_worker` fixture
# turns this off): a test never leaves messages behind in a shared broker.
CELERY_TASK_ALWAYS_EAGER = True

# Reports: in-process runs happen inside the test (not in a thread after it); a worker started by a test may be
# slowed down (tests/reports/test_worker_killed.py) to be killed in the middle of a report.
REPORTS_IN_PROCESS_THREAD = False
REPORTS_TEST_RENDER_DELAY_SECONDS = float(os.environ.get("REPORTS_TEST_RENDER_DELAY_SECONDS", "0"))
REPORTS_STALE_AFTER_SECONDS = float(os.environ.get("REPORTS_STALE_AFTER_SECONDS", "45"))
REPORTS_HEARTBEAT_SECONDS = float(os.environ.get("REPORTS_HEARTBEAT_SECONDS", "10"))
