"""End to end on a real Celery worker consuming from Redis: the API asks, the worker generates, the API serves.

Needs Redis (``CELERY_BROKER_URL=redis://…``); skipped otherwise unless REQUIRE_SERVICES=1. Transactional: the
worker's own database connection sees only what the request committed, as in production.
"""

import hashlib
import os
import threading

import pytest
from celery.signals import task_postrun
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from registry.auth.tokens import token_issue
from reports.models import ReportRun, ReportStatus
from reports.tasks import generate_report

from .test_cohort import LOMBARDIA, build_cohort, per_centre_figures

URL = "/api/v1/reports/"


class FinishedRuns:
    """The runs the worker has finished (done or failed), told by Celery's task_postrun signal.

    Waiting on the worker's own signal rather than polling the database keeps the test's thread from
    competing with the worker for SQLite's in-memory test database (whose table locks do not wait).
    """

    def __init__(self):
        self.finished: set[str] = set()
        self.condition = threading.Condition()

    def __call__(self, task=None, args=None, retval=None, **kwargs):
        if getattr(task, "name", None) == generate_report.name and retval in ("done", "failed"):
            with self.condition:
                self.finished.add(str(args[0]))
                self.condition.notify_all()

    def wait_for(self, run_id: str, timeout: float) -> bool:
        with self.condition:
            return self.condition.wait_for(lambda: run_id in self.finished, timeout)


@pytest.fixture
def finished_runs(live_celery_worker):
    finished = FinishedRuns()
    task_postrun.connect(finished, weak=False)
    yield finished
    task_postrun.disconnect(finished)


@pytest.fixture
def users(live_celery_worker, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    call_command("seed_demo", force=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return {user.username: user for user in get_user_model().objects.all()}


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")
    return client


@pytest.mark.services
def test_a_worker_generates_a_regional_report_asked_through_the_api(users, finished_runs):
    cohort = build_cohort(users)
    officer = _client(users["officer.lombardia"])

    response = officer.post(
        URL,
        {"region": "030", "period_start": str(cohort.period_start), "period_end": str(cohort.period_end)},
        format="json",
    )
    assert response.status_code == 202

    run_id = response.json()["id"]
    assert finished_runs.wait_for(run_id, timeout=90), "the worker did not finish the run"
    data = officer.get(f"{URL}{run_id}/").json()
    assert data["status"] == "done", data["error"]
    assert per_centre_figures(data["metrics"]) == LOMBARDIA
    run = ReportRun.objects.get(pk=data["id"])
    for fmt, url in data["files"].items():
        download = officer.get(url)
        assert download.status_code == 200
        expected = run.files.get(format=fmt, audience="region").sha256  # the region's own form, for its officer
        assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == expected
    assert _client(users["officer.lazio"]).get(data["files"]["csv"]).status_code == 404


@pytest.mark.services
def test_a_worker_fans_a_country_report_out_to_every_region_and_joins_it(users, finished_runs):
    cohort = build_cohort(users)
    # The administrator: AIFA asks for whole calendar months only, and the cohort's period is not one.
    aifa = _client(users["admin"])

    response = aifa.post(
        URL,
        {"region": None, "period_start": str(cohort.period_start), "period_end": str(cohort.period_end)},
        format="json",
    )
    assert response.status_code == 202

    run_id = response.json()["id"]
    # The country run finishes when the last regional part has queued its join, and the join is done.
    assert finished_runs.wait_for(run_id, timeout=180), "the worker did not finish the country run"
    data = aifa.get(f"{URL}{run_id}/").json()
    assert data["status"] == "done", data["error"]
    assert len(data["parts"]) == 21 and {part["status"] for part in data["parts"]} == {"done"}
    # The figures as computed (the API shows the country's form, with small counts hidden).
    assert ReportRun.objects.get(pk=run_id).metrics["prescriptions_submitted"] == 13
    assert set(data["files"]) == {"csv", "xlsx", "pdf"}
    assert ReportRun.objects.count() == 22
    assert not ReportRun.objects.exclude(status=ReportStatus.DONE).exists()
