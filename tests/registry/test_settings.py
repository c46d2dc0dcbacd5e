"""The settings refuse to start production without real keys, and keep SQLite writers from failing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "s" * 60
PSEUDONYM_KEY = "p" * 40
AUDIT_HMAC_KEY = "a" * 40
PATIENT_DATA_KEYS = "cGF0aWVudC1kYXRhLWtleS1mb3ItdGhlLXRlc3RzISE="
BOTH_KEYS = {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": SECRET_KEY, "PSEUDONYM_KEY": PSEUDONYM_KEY}
THREE_KEYS = {**BOTH_KEYS, "AUDIT_HMAC_KEY": AUDIT_HMAC_KEY}
ALL_KEYS = {**THREE_KEYS, "PATIENT_DATA_KEYS": PATIENT_DATA_KEYS}
PRINT_DATABASE = "import json, registry.settings as s; print(json.dumps(s.DATABASES['default'], default=str))"


def run_settings(environment: dict, code: str = "import registry.settings") -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with only ``environment`` set (plus PATH and HOME)."""
    clean = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    clean.update(environment)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "environment, named",
    [
        ({}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_DEBUG": "false", "PSEUDONYM_KEY": PSEUDONYM_KEY}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "short", "PSEUDONYM_KEY": PSEUDONYM_KEY}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": SECRET_KEY}, "PSEUDONYM_KEY"),
        ({"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": SECRET_KEY, "PSEUDONYM_KEY": "short"}, "PSEUDONYM_KEY"),
        (
            {
                "DJANGO_DEBUG": "false",
                "DJANGO_SECRET_KEY": SECRET_KEY,
                "PSEUDONYM_KEY": "dev-only-insecure-pseudonym-key-648",
            },
            "PSEUDONYM_KEY",
        ),
        (BOTH_KEYS, "AUDIT_HMAC_KEY"),
        ({**BOTH_KEYS, "AUDIT_HMAC_KEY": "short"}, "AUDIT_HMAC_KEY"),
        ({**BOTH_KEYS, "AUDIT_HMAC_KEY": "dev-only-insecure-audit-hmac-key-648"}, "AUDIT_HMAC_KEY"),
        (THREE_KEYS, "PATIENT_DATA_KEYS"),
        ({**THREE_KEYS, "PATIENT_DATA_KEYS": "too-short"}, "PATIENT_DATA_KEYS"),
        (
            {**THREE_KEYS, "PATIENT_DATA_KEYS": f"{PATIENT_DATA_KEYS},ZGV2LW9ubHktaW5zZWN1cmUtcGF0aWVudC1rZXktNjQ="},
            "PATIENT_DATA_KEYS",
        ),
    ],
    ids=[
        "nothing-set",
        "no-secret-key",
        "short-secret-key",
        "no-pseudonym-key",
        "short-pseudonym-key",
        "dev-pseudonym-key",
        "no-audit-key",
        "short-audit-key",
        "dev-audit-key",
        "no-patient-data-key",
        "malformed-patient-data-key",
        "dev-patient-data-key",
    ],
)
def test_production_refuses_to_start_without_real_keys(environment, named):
    result = run_settings(environment)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr


def test_production_starts_with_the_four_keys():
    result = run_settings(
        ALL_KEYS,
        "import registry.settings as s; "
        "print(s.DEBUG, s.PSEUDONYM_KEY == 'p' * 40, s.AUDIT_HMAC_KEY == 'a' * 40, s.SESSION_COOKIE_SECURE)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "True"]


def test_development_starts_without_keys():
    result = run_settings(
        {"DJANGO_DEBUG": "true"},
        "import registry.settings as s; "
        "print(bool(s.PSEUDONYM_KEY), bool(s.AUDIT_HMAC_KEY), bool(s.PATIENT_DATA_KEYS))",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True"]


def test_the_default_sqlite_database_waits_for_the_write_lock():
    result = run_settings(ALL_KEYS, PRINT_DATABASE)
    assert result.returncode == 0, result.stderr
    database = json.loads(result.stdout)
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert database["OPTIONS"]["timeout"] >= 5


def test_the_test_database_runs_with_the_options_of_its_backend():
    if connection.vendor == "sqlite":
        assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
        assert connection.settings_dict["OPTIONS"]["timeout"] >= 5
    else:
        # Persistent connections are checked before reuse, so a restarted server is no 500.
        assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
        assert "transaction_mode" not in connection.settings_dict.get("OPTIONS", {})


# --- Parallel test processes (pytest -n) ---------------------------------------------------------------

PRINT_WORKER_NAMES = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'tests.settings'; "
    "import tests.settings as s; print(s.CACHES['default']['KEY_PREFIX'], s.CELERY_TASK_DEFAULT_QUEUE)"
)


def test_each_xdist_worker_has_its_own_cache_prefix_and_celery_queue():
    names = {}
    for worker in ("gw0", "gw1"):
        result = run_settings(
            {"PYTEST_XDIST_WORKER": worker, "CACHE_URL": "redis://127.0.0.1:6379/2"}, PRINT_WORKER_NAMES
        )
        assert result.returncode == 0, result.stderr
        names[worker] = result.stdout.split()
    assert names["gw0"] == ["registry-test-gw0", "registry-test-gw0"]
    assert names["gw1"] == ["registry-test-gw1", "registry-test-gw1"]


@pytest.mark.services
def test_clearing_the_cache_between_tests_leaves_other_workers_keys(redis_broker_url):
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    from tests.conftest import clear_own_cache

    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        pytest.skip("the cache is in-process here (set CACHE_URL=redis://…): nobody else can see it")
    neighbour = RedisCache(cache._servers[0], {"KEY_PREFIX": "registry-test-neighbour"})
    neighbour.set("throttle", 1, timeout=60)
    cache.set("throttle", 1, timeout=60)
    try:
        clear_own_cache()
        assert cache.get("throttle") is None
        assert neighbour.get("throttle") == 1
    finally:
        neighbour.delete("throttle")


@pytest.mark.parametrize("setting, expected", [(None, "-c jit=off"), ("true", None)])
def test_postgresql_connections_ask_for_no_jit_unless_told(setting, expected):
    environment = {**ALL_KEYS, "DATABASE_URL": "postgres://registry@db.example.org:5432/registry"}
    if setting is not None:
        environment["DATABASE_JIT"] = setting
    result = run_settings(environment, PRINT_DATABASE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout).get("OPTIONS", {}).get("options") == expected


def test_the_test_connection_keeps_jit_off_beside_its_own_option(postgresql):
    with postgresql.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
        cursor.execute("SHOW registry.allow_audit_truncate")
        assert cursor.fetchone()[0] == "on"
