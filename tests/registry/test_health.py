"""``GET /health/``: database, cache and broker reported separately; 503 as soon as one is down (issue 9, 4)."""

import os
import threading

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

from registry import health

URL = "/health/"


def test_all_up_is_200_ok_and_in_process_tasks_need_no_broker(client, db):
    response = client.get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "not used"},
    }
    assert response["Cache-Control"] == "no-store"


@pytest.fixture
def database_down(db):
    original = BaseDatabaseWrapper.cursor

    def refuse(self, *args, **kwargs):
        raise OperationalError("connection refused")

    BaseDatabaseWrapper.cursor = refuse
    yield
    BaseDatabaseWrapper.cursor = original


def test_a_database_down_is_503_degraded(client, database_down):
    response = client.get(URL)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == "down"
    assert body["checks"]["cache"] == "ok"


def test_a_cache_down_is_503_degraded(client, db, settings):
    settings.HEALTH_CHECK_TIMEOUT = 30  # a refused connection is "down" however busy the machine (not "timeout")
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }

    response = client.get(URL)

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "cache": "down", "broker": "not used"}


def test_a_broker_down_is_503_degraded(client, db, settings, monkeypatch):
    settings.HEALTH_CHECK_TIMEOUT = 30  # a refused connection is "down" however busy the machine (not "timeout")
    monkeypatch.setattr(health, "_tasks_in_process", lambda: False)
    monkeypatch.setattr(health, "_broker_url", lambda: "redis://127.0.0.1:1/0")

    response = client.get(URL)

    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "down"


def test_a_check_that_hangs_is_cut_at_the_timeout(client, db, settings, monkeypatch):
    settings.HEALTH_CHECK_TIMEOUT = 0.2
    release = threading.Event()

    def hang():
        release.wait(30)

    monkeypatch.setitem(health.CHECKS, "cache", hang)
    try:
        response = client.get(URL)
    finally:
        release.set()

    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "timeout"
    assert response.json()["checks"]["database"] == "ok"


def test_health_takes_no_other_method(client, db):
    assert client.post(URL).status_code == 405


@pytest.mark.services
def test_a_real_redis_broker_and_cache_are_ok(client, db, settings, redis_broker_url, monkeypatch):
    cache_url = os.environ.get("CACHE_URL", redis_broker_url)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": cache_url}}
    monkeypatch.setattr(health, "_tasks_in_process", lambda: False)
    monkeypatch.setattr(health, "_broker_url", lambda: redis_broker_url)

    response = client.get(URL)

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}
