"""A worker killed (SIGKILL) in the middle of a report: another worker finishes the run, once.

Real processes: ``celery -A registry worker`` subprocesses on the Redis broker (``CELERY_BROKER_URL``) and the
PostgreSQL test database (SQLite's in-memory test database is not shared between processes). Generation is
slowed down by ``REPORTS_TEST_RENDER_DELAY_SECONDS`` so that the first worker dies with some files written; the
heartbeat and stale threshold are shortened through the same settings production reads.

What recovers the run is what runs in production: the sweep (beat's ``requeue_stale_report_runs``, or
``manage.py sweep_report_runs``; here its function) hands the dead holder's run to a new message, which the
second worker takes.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connection

from registry.celery import app
from registry.models import AuditEvent
from reports import runs, services
from reports.models import ReportFile, ReportRun, ReportStatus

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_SECONDS = 1
STALE_AFTER_SECONDS = 4
RENDER_DELAY_SECONDS = 1.5


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def worker_env(postgresql, transactional_db, redis_broker_url, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.REPORTS_STALE_AFTER_SECONDS = STALE_AFTER_SECONDS
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_broker_url,
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        "REPORTS_TEST_RENDER_DELAY_SECONDS": str(RENDER_DELAY_SECONDS),
        "REPORTS_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        "REPORTS_STALE_AFTER_SECONDS": str(STALE_AFTER_SECONDS),
        "PYTHONPATH": str(ROOT),
    }
    return env


@pytest.fixture
def workers(worker_env, redis_broker_url):
    """Start ``celery worker`` subprocesses (each in its own process group); kill what is left at the end."""
    started: list[subprocess.Popen] = []

    def start(name: str, log: Path) -> subprocess.Popen:
        command = [sys.executable, "-m", "celery", "-A", "registry", "worker", "--pool", "solo", "-n", f"{name}@%h"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"]
        process = subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env=worker_env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(process)
        return process

    previous_eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    app.conf.broker_write_url = redis_broker_url
    app._pool = None
    app.amqp._producer_pool = None
    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    app.conf.task_always_eager = previous_eager
    app.conf.broker_write_url = None
    app._pool = None
    app.amqp._producer_pool = None
    # The killed worker's unacknowledged message stays in this test's broker db: remove it (this db's keys only).
    import redis

    redis.Redis.from_url(redis_broker_url).delete("celery", "unacked", "unacked_index", "unacked_mutex")


@pytest.mark.services
def test_a_run_whose_worker_was_killed_is_finished_once_by_another_worker(demo, workers, tmp_path):
    first = workers("first", tmp_path / "first.log")
    run = services.report_request(
        user=demo["officer.lombardia"], region_code="030", period_start=date(2021, 11, 1), period_end=date(2021, 11, 30)
    )
    run_id = str(run.pk)

    # The first worker takes the run and writes some of its files; then it is killed, without a word.
    _wait_for(lambda: ReportFile.objects.filter(run_id=run_id).count() >= 2, 60, "the first worker's files")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    held = ReportRun.objects.get(pk=run_id)
    assert held.status == ReportStatus.RUNNING and held.progress < 100

    # Another worker comes; the sweep hands the dead holder's run over once its heartbeat is stale.
    workers("second", tmp_path / "second.log")
    _wait_for(lambda: _sweep() == 1, 30, "the sweep to hand the run over")
    assert _sweep() == 0  # handed over once: a second sweep sends nothing

    done = _wait_for(
        lambda: ReportRun.objects.filter(pk=run_id, status__in=[ReportStatus.DONE, ReportStatus.FAILED]).first(),
        60,
        "the second worker to finish the run",
    )
    assert done.status == ReportStatus.DONE, done.error
    files = ReportFile.objects.filter(run_id=run_id)
    assert files.count() == 6  # one set: the region's three and the national three
    assert sorted(default_storage.listdir(f"reports/{run_id}")[1]) == sorted(
        Path(f.file.name).name for f in files
    )  # and nothing the dead worker left behind
    assert AuditEvent.objects.filter(object_id=run_id, action="report.finish").count() == 1
    assert not AuditEvent.objects.filter(object_id=run_id, action="report.fail").exists()


def _sweep() -> int:
    """What beat's sweep (and ``manage.py sweep_report_runs``) does: how many runs it sent."""
    return runs.sweep()
