"""The Celery application of the registry.

Configuration comes from Django's settings (keys prefixed ``CELERY_``). Without
``CELERY_BROKER_URL`` tasks run in-process (eager), so a new user needs nothing
but Python; with it, a real broker (Redis) and workers are used.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

app = Celery("registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
