"""A report asked for while the broker (Redis) is down: accepted, kept queued, sent by the sweep once it is back.

The broker is a real one at a closed port (connection refused), not a mock: what kombu raises is what production
sees. The last test sends the swept run to the real Redis (``CELERY_BROKER_URL``, skipped without it).
"""

import os
import socket
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from registry.celery import app
from reports import runs
from reports.models import ReportRun, ReportStatus

URL = "/api/v1/reports/"
BODY = {"region": "030", "period_start": "2021-11-01", "period_end": "2021-11-30"}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free once closed: nothing listens there


def _use_broker(url: str | None) -> None:
    """Point the Celery app at ``url`` for sending (its connection pools are made again). The write URL, as a
    CELERY_BROKER_URL in the environment wins over ``broker_url``."""
    app.conf.broker_write_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_at(settings, demo):
    """Send tasks to a real broker at the given URL (not in-process), once the demo is seeded; restores the app."""
    previous_eager = app.conf.task_always_eager

    def point(url: str) -> None:
        app.conf.task_always_eager = False
        settings.CELERY_TASK_ALWAYS_EAGER = False
        _use_broker(url)

    yield point
    app.conf.task_always_eager = previous_eager
    _use_broker(None)


@pytest.fixture
def broker_down(broker_at):
    broker_at(f"redis://127.0.0.1:{_closed_port()}/0")


@pytest.fixture
def committed(transactional_db):
    """Requests commit for real, so the run is sent right after its commit, inside the request, as in production."""


def _ask(client_for, **headers):
    # Messages read in English (the default language is Italian).
    return client_for("officer.lombardia").post(URL, BODY, format="json", headers={"Accept-Language": "en", **headers})


def test_a_report_asked_for_with_the_broker_down_is_accepted_queued_and_delayed(committed, broker_down, client_for):
    response = _ask(client_for)

    assert response.status_code == 202, response.content
    data = response.json()
    assert data["status"] == "queued" and data["delayed"] is True
    assert "delayed" in data["detail"]
    assert response["Location"] == data["url"]
    run = ReportRun.objects.get(pk=data["id"])
    assert run.status == ReportStatus.QUEUED and run.dispatched_at is None
    detail = client_for("officer.lombardia").get(f"{URL}{run.pk}/").json()
    assert (detail["status"], detail["delayed"]) == ("queued", True)


def test_a_retry_with_the_same_idempotency_key_makes_no_second_run(committed, broker_down, client_for):
    first = _ask(client_for, **{"Idempotency-Key": "monthly-030-2021-11"})
    again = _ask(client_for, **{"Idempotency-Key": "monthly-030-2021-11"})

    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert ReportRun.objects.count() == 1
    other_body = client_for("officer.lombardia").post(
        URL, {**BODY, "period_end": "2021-11-29"}, format="json", headers={"Idempotency-Key": "monthly-030-2021-11"}
    )
    assert other_body.status_code == 422


def test_the_sweep_leaves_the_run_to_send_while_the_broker_stays_down(committed, broker_down, client_for):
    run_id = _ask(client_for).json()["id"]
    ReportRun.objects.filter(pk=run_id).update(created_at=timezone.now() - runs.queued_grace() - timedelta(1))

    assert runs.sweep() == 0

    run = ReportRun.objects.get(pk=run_id)
    assert run.status == ReportStatus.QUEUED and run.dispatched_at is None  # still one to send, next time


def test_a_run_just_asked_for_is_not_swept_before_its_grace(demo, broker_down):
    run = ReportRun.objects.create(region_id="030", period_start=BODY["period_start"], period_end="2021-11-30")
    assert runs.runs_to_send() == []
    assert ReportRun.objects.get(pk=run.pk).dispatched_at is None


@pytest.mark.services
def test_once_redis_is_back_the_sweep_command_sends_the_run_once(committed, broker_at, client_for, redis_broker_url):
    broker_at(f"redis://127.0.0.1:{_closed_port()}/0")
    first = _ask(client_for).json()
    assert first["delayed"] is True
    run_id = first["id"]
    ReportRun.objects.filter(pk=run_id).update(created_at=timezone.now() - runs.queued_grace() - timedelta(1))

    broker_at(redis_broker_url)  # the broker is back
    import redis
    from django.conf import settings

    queue_name = settings.CELERY_TASK_DEFAULT_QUEUE  # one per xdist worker (tests/settings.py)
    queue = redis.Redis.from_url(redis_broker_url)
    before = queue.llen(queue_name)
    call_command("sweep_report_runs", stdout=open(os.devnull, "w"))  # noqa: SIM115
    call_command("sweep_report_runs", stdout=open(os.devnull, "w"))  # noqa: SIM115

    run = ReportRun.objects.get(pk=run_id)
    assert run.dispatched_at is not None and run.status == ReportStatus.QUEUED
    assert queue.llen(queue_name) == before + 1  # one message, whoever sweeps
    queue.delete(queue_name)  # this test's own broker db: nothing left for a worker


def test_the_page_says_the_report_is_delayed_when_the_broker_is_down(committed, broker_down, demo, client, settings):
    client.force_login(demo["officer.lombardia"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.post("/reports/", {"kind": "monitoring", "region": "030", **BODY})

    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "its generation is delayed: the task queue cannot be reached" in page
    assert "Delayed: the task queue cannot be reached" in page
    assert "Being generated" not in page
