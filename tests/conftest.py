"""Shared fixtures: demo data, API clients per role, and the real services.

PostgreSQL, Redis, Celery and Chromium are the real ones.

Tests needing a service skip with the reason when it is missing, unless
REQUIRE_SERVICES=1 (CI), which turns the skip into a failure.
"""

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests import fast_flush

fast_flush.install()

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
DEMO_PASSWORD = "demo-password-648"


def need(condition: bool, reason: str) -> None:
    """Skip (or, with REQUIRE_SERVICES=1, fail) when a real service is missing."""
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def postgresql(db):
    from django.db import connection

    need(connection.vendor == "postgresql", "these tests need PostgreSQL (set DATABASE_URL=postgres://…)")
    return connection


@pytest.fixture(scope="session")
def redis_broker_url():
    url = os.environ.get("CELERY_BROKER_URL", "")
    need(url.startswith("redis://"), "these tests need Redis (set CELERY_BROKER_URL=redis://127.0.0.1:6379/0)")
    need(_reachable(url), f"Redis is not reachable at {url}")
    return url


@pytest.fixture
def live_celery_worker(redis_broker_url, transactional_db, settings):
    """A real Celery worker thread consuming from Redis, with tasks no longer eager.

    The test must be transactional: the worker's own database connection sees only
    committed rows, as in production.
    """
    from celery.contrib.testing.worker import start_worker

    from registry.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    app.conf.broker_url = redis_broker_url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
            yield worker
    finally:
        app.conf.task_always_eager = previous


@pytest.fixture(scope="session")
def chromium_path():
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    need(bool(path), "browser tests need Debian's chromium (apt-get install chromium)")
    from tests.browser_support import settle_every_click

    settle_every_click()
    return path


@pytest.fixture
def demo(db):
    """The demo data of API.md (seed_demo), as ``{username: user}``.

    The command runs once per test process; later tests get a copy of the rows it wrote (tests/demo_snapshot.py).
    """
    from django.contrib.auth import get_user_model

    from tests.demo_snapshot import demo_build

    demo_build()

    return {user.username: user for user in get_user_model().objects.all()}


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_for(demo):
    """An API client authenticated with a token, for a demo username."""
    from registry.auth.tokens import token_issue

    def make(username: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=demo[username])}")
        return client

    return make


def clear_own_cache() -> None:
    """Empty this test process's cache without touching the keys of other processes sharing the Redis db.

    Django's ``cache.clear()`` on Redis is FLUSHDB, which would wipe a parallel worker's throttle counters
    mid-test; here only the keys under this process's KEY_PREFIX (tests/settings.py) are deleted.
    """
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    cache = caches["default"]  # the backend itself (django.core.cache.cache is a proxy)
    if not isinstance(cache, RedisCache):
        cache.clear()  # in-process (locmem): nobody else sees it
        return
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _clear_cache():
    clear_own_cache()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the registry's language, as a fresh process does.

    The test client's requests activate their language on the test's own thread (LocaleMiddleware) and nothing
    switches it back: a test asking for a page in English left the next test of the process in English, and a report
    it generated came out in the wrong language (test_spending_report after test_stock_pages).
    """
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield


assert settings.TIME_ZONE == "Europe/Rome"
