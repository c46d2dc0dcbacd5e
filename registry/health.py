"""The checks behind ``GET /health/``: database, cache and broker, each cut at ``HEALTH_CHECK_TIMEOUT``.

Each check runs in its own daemon thread so that a service that hangs (a firewall dropping packets rather
than refusing them) costs the load balancer at most the timeout, never a stuck worker. A check's answer is
``ok``, ``down`` (it raised; the reason goes to the log, never to the caller), ``timeout`` or, for the broker
when tasks run in-process, ``not used``.
"""

import logging
import secrets
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connections

logger = logging.getLogger(__name__)

OK = "ok"
DOWN = "down"
TIMEOUT = "timeout"
NOT_USED = "not used"


def check_database() -> str:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # The thread's own connection: closed here, never left for a thread that is gone.
        connections.close_all()
    return OK


def check_cache() -> str:
    key = f"health:{secrets.token_hex(8)}"
    value = secrets.token_hex(8)
    cache.set(key, value, timeout=30)
    try:
        if cache.get(key) != value:
            raise RuntimeError("the cache did not return what was stored")
    finally:
        cache.delete(key)
    return OK


def _tasks_in_process() -> bool:
    return bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))


def _broker_url() -> str:
    return settings.CELERY_BROKER_URL


def check_broker() -> str:
    if _tasks_in_process():
        return NOT_USED
    from kombu import Connection

    timeout = _timeout()
    with Connection(_broker_url(), connect_timeout=timeout, transport_options={"socket_timeout": timeout}) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
    return OK


CHECKS: dict[str, Callable[[], str]] = {"database": check_database, "cache": check_cache, "broker": check_broker}


def _timeout() -> float:
    return float(getattr(settings, "HEALTH_CHECK_TIMEOUT", 2.0))


def _run(name: str, check: Callable[[], str], results: dict[str, str]) -> None:
    try:
        results[name] = check()
    except Exception:  # any failure of the service is "down"; the reason is for the operator's log
        logger.warning("health check %s failed", name, exc_info=True)
        results[name] = DOWN


def run_checks() -> dict[str, str]:
    """Every check in parallel; each one not done within the timeout is reported as ``timeout``."""
    results: dict[str, str] = {}
    threads = [
        threading.Thread(target=_run, args=(name, check, results), name=f"health-{name}", daemon=True)
        for name, check in CHECKS.items()
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + _timeout()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {name: results.get(name, TIMEOUT) for name in CHECKS}


def health_report() -> tuple[bool, dict]:
    """``(healthy, body)``: healthy when no check is down or timed out."""
    checks = run_checks()
    healthy = all(result in (OK, NOT_USED) for result in checks.values())
    return healthy, {"status": "ok" if healthy else "degraded", "checks": checks}
