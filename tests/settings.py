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
OTP_REQUIRED = False  # the second factor's own tests turn it on
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405

# Tasks run in-process unless a test starts a real worker (the `live_celery_worker` fixture
# turns this off): a test never leaves messages behind in a shared broker.
CELERY_TASK_ALWAYS_EAGER = True
