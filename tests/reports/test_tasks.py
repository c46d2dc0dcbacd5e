"""Generating runs: figures, files, idempotence, retries, failures, the national fan-out and the schedules.

Tasks run in-process here (eager) with the on-commit hooks executed; ``test_worker.py`` runs them on a real
worker. Files go to a temporary MEDIA_ROOT.
"""

import hashlib
import os
from datetime import date, timedelta
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone, translation

from registry.celery import app
from registry.models import AuditEvent, Region
from reports import messages, periods, runs, services, tasks
from reports.kinds import MONITORING, QUARTERLY_COLUMNS, QUARTERLY_PATIENTS
from reports.metrics import monitoring_metrics
from reports.models import ReportFile, ReportRun, ReportStatus
from reports.renderers import quarterly_text

from .test_cohort import LOMBARDIA, build_cohort, per_centre_figures


@pytest.fixture
def cohort(demo):
    return build_cohort(demo)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def request_run(demo, django_capture_on_commit_callbacks):
    """Ask for a run as ``username`` and let its task run (in-process) once the request commits."""

    def make(username: str, region: str | None, period_start: date, period_end: date, kind: str = MONITORING):
        with django_capture_on_commit_callbacks(execute=True):
            run = services.report_request(
                user=demo[username],
                kind=kind,
                region_code=region,
                period_start=period_start,
                period_end=period_end,
            )
        run.refresh_from_db()
        return run

    return make


def _files(run: ReportRun, audience: str | None = None) -> dict[str, ReportFile]:
    """The run's files by format, in the form of ``audience`` (default: the run's own)."""
    audience = audience or ("national" if run.region_id is None else "region")
    return {f.format: f for f in ReportFile.objects.filter(run=run, audience=audience)}


def _read(report_file: ReportFile) -> bytes:
    with report_file.file.open("rb") as handle:
        return handle.read()


def test_a_regional_run_stores_its_figures_and_three_hashed_files(cohort, request_run):
    run = request_run("officer.lombardia", "030", cohort.period_start, cohort.period_end)

    assert run.status == ReportStatus.DONE, run.error
    assert run.progress == 100
    assert run.error == ""
    assert run.data_as_of is not None and run.started_at <= run.finished_at
    assert per_centre_figures(run.metrics) == LOMBARDIA
    files = _files(run)
    assert set(files) == {"csv", "xlsx", "pdf"}
    for fmt, report_file in files.items():
        content = _read(report_file)
        assert report_file.file.name.startswith(f"reports/{run.pk}/"), report_file.file.name
        assert report_file.file.name.endswith(f".{fmt}")
        assert report_file.size == len(content) > 0
        assert report_file.sha256 == hashlib.sha256(content).hexdigest()
    assert _read(files["pdf"]).startswith(b"%PDF")
    assert _read(files["xlsx"]).startswith(b"PK")
    csv_text = _read(files["csv"]).decode("utf-8-sig")
    assert "Ospedale Demo Milano" in csv_text and "Ospedale Demo Roma" not in csv_text
    assert AuditEvent.objects.filter(object_id=str(run.pk), action="report.request").count() == 1


def test_delivering_the_task_twice_makes_one_set_of_files(cohort, request_run):
    run = request_run("officer.lombardia", "030", cohort.period_start, cohort.period_end)
    before = {(f.pk, f.sha256, f.file.name) for f in ReportFile.objects.filter(run=run)}

    assert tasks.generate_report.delay(str(run.pk)).get() == "skipped"

    again = ReportRun.objects.get(pk=run.pk)
    assert {(f.pk, f.sha256, f.file.name) for f in ReportFile.objects.filter(run=run)} == before
    assert again.metrics == run.metrics and again.finished_at == run.finished_at
    assert ReportRun.objects.count() == 1
    assert len(default_storage.listdir(f"reports/{run.pk}")[1]) == 6  # the region's three and AIFA's three


def test_a_run_held_by_a_live_delivery_is_left_alone_until_its_holder_is_stale(cohort, demo):
    run = ReportRun.objects.create(
        kind=MONITORING,
        region=Region.objects.get(pk="030"),
        period_start=cohort.period_start,
        period_end=cohort.period_end,
        status=ReportStatus.RUNNING,
        claimed_by="another-delivery:0",
        heartbeat_at=timezone.now(),
    )
    assert tasks.generate_report.delay(str(run.pk)).get() == "skipped"
    assert ReportRun.objects.get(pk=run.pk).status == ReportStatus.RUNNING

    ReportRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - runs.stale_after() - timedelta(1))
    assert tasks.generate_report.delay(str(run.pk)).get() == "done"
    assert ReportRun.objects.get(pk=run.pk).status == ReportStatus.DONE


def test_a_run_that_died_midway_restarts_cleanly(cohort, demo):
    """A worker lost after one file: its file row, the file and a stray file are gone before the new attempt."""
    run = ReportRun.objects.create(
        kind=MONITORING,
        region=Region.objects.get(pk="030"),
        period_start=cohort.period_start,
        period_end=cohort.period_end,
        status=ReportStatus.RUNNING,
        progress=60,
        claimed_by="lost-worker:0",
        heartbeat_at=timezone.now() - runs.stale_after() - timedelta(minutes=1),
        metrics={"stale": True},
    )
    partial = ReportFile(run=run, format="csv", sha256="0" * 64, size=7)
    partial.file.save("partial.csv", ContentFile(b"partial"), save=True)
    default_storage.save(f"reports/{run.pk}/stray.xlsx", ContentFile(b"half a workbook"))
    partial_path = partial.file.path

    assert tasks.generate_report.delay(str(run.pk)).get() == "done"

    run.refresh_from_db()
    assert run.status == ReportStatus.DONE and "stale" not in run.metrics
    assert not ReportFile.objects.filter(pk=partial.pk).exists()
    names = sorted(default_storage.listdir(f"reports/{run.pk}")[1])
    assert len(names) == 6 and "stray.xlsx" not in names and "partial.csv" not in names
    assert not os.path.exists(partial_path)
    assert ReportRun.objects.count() == 1


def test_a_failing_renderer_fails_the_run_with_its_error_and_leaves_no_partial_file(cohort, demo):
    real = runs._render_monitoring

    def pdf_breaks(context, fmt, out):
        if fmt == "pdf":
            raise ValueError("the PDF engine broke")
        real(context, fmt, out)

    run = services.report_request(
        user=demo["officer.lombardia"],
        region_code="030",
        period_start=cohort.period_start,
        period_end=cohort.period_end,
    )
    with mock.patch.object(runs, "_render_monitoring", pdf_breaks):
        assert tasks.generate_report.delay(str(run.pk)).get() == "failed"
    run.refresh_from_db()
    assert run.status == ReportStatus.FAILED
    assert run.error == "ValueError: the PDF engine broke"
    assert not run.files.exists()
    assert default_storage.listdir(f"reports/{run.pk}")[1] == []

    # Delivered again (or re-run by hand), the same run starts over and completes.
    assert tasks.generate_report.delay(str(run.pk)).get() == "done"
    run.refresh_from_db()
    assert run.status == ReportStatus.DONE and run.error == "" and run.files.count() == 6
    assert ReportRun.objects.count() == 1


def test_a_transient_database_error_is_retried_and_the_retry_takes_the_run_over(cohort, demo):
    run = services.report_request(
        user=demo["admin"], region_code="030", period_start=cohort.period_start, period_end=cohort.period_end
    )
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return monitoring_metrics(**kwargs)

    with mock.patch.object(runs, "monitoring_metrics", flaky):
        result = tasks.generate_report.delay(str(run.pk))
    assert result.get() == "done"
    assert len(calls) == 2
    run.refresh_from_db()
    assert run.status == ReportStatus.DONE and run.claimed_by.endswith(":1")


def test_a_database_that_stays_down_fails_the_run_after_the_retries(cohort, demo):
    run = services.report_request(
        user=demo["admin"], region_code="030", period_start=cohort.period_start, period_end=cohort.period_end
    )
    down = mock.Mock(side_effect=OperationalError("could not connect to server"))
    with mock.patch.object(runs, "monitoring_metrics", down):
        assert tasks.generate_report.delay(str(run.pk)).get() == "failed"
    assert down.call_count == tasks.MAX_RETRIES + 1
    run.refresh_from_db()
    assert run.status == ReportStatus.FAILED and "could not connect to server" in run.error


def test_the_whole_country_fans_out_one_part_per_region_then_joins(cohort, request_run):
    run = request_run("admin", None, cohort.period_start, cohort.period_end)

    assert run.status == ReportStatus.DONE, run.error
    assert run.progress == 100
    parts = list(run.children.order_by("region_id"))
    assert [part.region_id for part in parts] == list(Region.objects.order_by("code").values_list("pk", flat=True))
    assert len(parts) == 21
    assert all(part.status == ReportStatus.DONE and part.files.count() == 6 for part in parts)
    lombardia = next(part for part in parts if part.region_id == "030")
    assert per_centre_figures(lombardia.metrics) == LOMBARDIA
    # The country's figures are computed once in the database: exactly the country's, not a mix.
    expected = monitoring_metrics(
        region_code=None,
        period_start=cohort.period_start,
        period_end=cohort.period_end,
        today=timezone.localtime(run.data_as_of).date(),
    )
    assert run.metrics == expected
    assert run.metrics["prescriptions_submitted"] == sum(p.metrics["prescriptions_submitted"] for p in parts) == 13
    assert set(_files(run)) == {"csv", "xlsx", "pdf"}
    assert ReportRun.objects.count() == 22

    # A redelivered country task changes nothing and makes no new part.
    assert tasks.generate_report.delay(str(run.pk)).get() == "skipped"
    assert ReportRun.objects.count() == 22


def test_a_country_run_redelivered_while_its_parts_run_makes_no_second_part(
    cohort, demo, django_capture_on_commit_callbacks
):
    run = services.report_request(
        user=demo["admin"], region_code=None, period_start=cohort.period_start, period_end=cohort.period_end
    )
    # The first delivery fans out, but its parts' messages are lost (broker restarted).
    with mock.patch.object(messages, "group"):
        assert tasks.generate_report.delay(str(run.pk)).get() == "waiting"
    assert run.children.count() == 21
    assert ReportRun.objects.get(pk=run.pk).claimed_by == runs.WAITING_FOR_PARTS

    # Picked up again (beat's stale-run recovery): the same parts are queued, then joined.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.generate_report.delay(str(run.pk)).get() == "waiting"
    run.refresh_from_db()
    assert run.status == ReportStatus.DONE, run.error
    assert run.children.count() == 21 and ReportRun.objects.count() == 22


def test_a_quarterly_run_renders_the_per_patient_files(demo, request_run):
    start, end = periods.previous_quarter(timezone.localdate())
    run = request_run("officer.lombardia", "030", start, end, kind=QUARTERLY_PATIENTS)
    assert run.status == ReportStatus.DONE, run.error
    assert run.metrics == {"patients": 0}
    assert set(_files(run)) == {"csv", "xlsx", "pdf"}
    header = _read(_files(run)["csv"]).decode("utf-8-sig").splitlines()[0]
    with translation.override(run.language):  # the files speak the language of whoever asked
        assert header == ";".join(quarterly_text.column_label(column) for column in QUARTERLY_COLUMNS)


# --- Schedules ------------------------------------------------------------------------------


def test_scheduled_runs_are_made_once_per_region_and_period(demo):
    start, end = date(2021, 11, 1), date(2021, 11, 30)
    created = services.scheduled_runs_create(kind=MONITORING, period_start=start, period_end=end)
    assert len(created) == 21 and all(run.scheduled and run.requested_by is None for run in created)
    assert services.scheduled_runs_create(kind=MONITORING, period_start=start, period_end=end) == []
    assert ReportRun.objects.filter(scheduled=True).count() == 21
    # Another kind or another period is another run.
    q4 = services.scheduled_runs_create(
        kind=QUARTERLY_PATIENTS, period_start=date(2021, 10, 1), period_end=date(2021, 12, 31)
    )
    assert len(q4) == 21


@pytest.mark.parametrize(
    ("today", "month", "quarter"),
    [
        (date(2022, 1, 1), (date(2021, 12, 1), date(2021, 12, 31)), (date(2021, 10, 1), date(2021, 12, 31))),
        (date(2022, 3, 1), (date(2022, 2, 1), date(2022, 2, 28)), (date(2021, 10, 1), date(2021, 12, 31))),
        (date(2024, 3, 1), (date(2024, 2, 1), date(2024, 2, 29)), (date(2023, 10, 1), date(2023, 12, 31))),
        (date(2022, 4, 1), (date(2022, 3, 1), date(2022, 3, 31)), (date(2022, 1, 1), date(2022, 3, 31))),
        (date(2022, 7, 15), (date(2022, 6, 1), date(2022, 6, 30)), (date(2022, 4, 1), date(2022, 6, 30))),
    ],
    ids=["new-year", "march-1st", "leap-year-march", "april-1st", "mid-july"],
)
def test_the_schedules_pick_the_month_and_the_quarter_just_ended(today, month, quarter):
    assert periods.previous_month(today) == month
    assert periods.previous_quarter(today) == quarter


def test_the_schedule_tasks_make_the_runs_of_the_period_just_ended_once(demo):
    with mock.patch.object(tasks, "rome_today", return_value=date(2022, 4, 1)):
        assert tasks.schedule_monthly_reports.delay().get() == 21
        assert tasks.schedule_quarterly_reports.delay().get() == 21
        assert tasks.schedule_monthly_reports.delay().get() == 0
        assert tasks.schedule_quarterly_reports.delay().get() == 0
    runs = ReportRun.objects.filter(scheduled=True)
    assert set(runs.values_list("kind", "period_start", "period_end")) == {
        (MONITORING, date(2022, 3, 1), date(2022, 3, 31)),
        (QUARTERLY_PATIENTS, date(2022, 1, 1), date(2022, 3, 31)),
    }


def test_beat_knows_the_report_schedules(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    monthly = schedule["reports-monthly-monitoring"]
    quarterly = schedule["reports-quarterly-per-patient"]
    for entry in (monthly, quarterly, schedule["reports-requeue-stale-runs"]):
        assert entry["task"] in app.tasks
    assert monthly["schedule"].day_of_month == {1}
    assert quarterly["schedule"].day_of_month == {1}
    assert quarterly["schedule"].month_of_year == {1, 4, 7, 10}


def test_setup_report_schedules_installs_the_periodic_tasks_once(demo):
    from django_celery_beat.models import PeriodicTask

    call_command("setup_report_schedules", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("setup_report_schedules", stdout=open("/dev/null", "w"))  # noqa: SIM115
    installed = PeriodicTask.objects.filter(task__startswith="reports.")
    assert set(installed.values_list("name", flat=True)) == {
        "reports-monthly-monitoring",
        "reports-quarterly-per-patient",
        "reports-requeue-stale-runs",
    }
    quarterly = installed.get(name="reports-quarterly-per-patient").crontab
    assert (quarterly.day_of_month, quarterly.month_of_year) == ("1", "1,4,7,10")


def test_the_sweep_sends_runs_never_sent_or_with_a_dead_holder_and_leaves_the_others(cohort, demo):
    region = Region.objects.get(pk="030")
    now = timezone.now()
    period = {
        "kind": MONITORING,
        "region": region,
        "period_start": cohort.period_start,
        "period_end": cohort.period_end,
    }
    never_sent = ReportRun.objects.create(**period)  # the broker was down when it was asked for
    just_asked = ReportRun.objects.create(**period)  # its request may still be sending it
    sent = ReportRun.objects.create(**period, dispatched_at=now)  # in the queue, waiting for a worker
    dead = ReportRun.objects.create(
        **period, status=ReportStatus.RUNNING, claimed_by="dead:0", heartbeat_at=now - runs.stale_after() - timedelta(1)
    )
    alive = ReportRun.objects.create(**period, status=ReportStatus.RUNNING, claimed_by="alive:0", heartbeat_at=now)
    ReportRun.objects.filter(pk__in=[never_sent.pk, sent.pk, dead.pk, alive.pk]).update(
        created_at=now - runs.queued_grace() - timedelta(seconds=1)
    )

    assert tasks.requeue_stale_report_runs.delay().get() == 2

    status = dict(ReportRun.objects.values_list("pk", "status"))
    assert status[never_sent.pk] == status[dead.pk] == ReportStatus.DONE
    assert status[just_asked.pk] == status[sent.pk] == ReportStatus.QUEUED
    assert status[alive.pk] == ReportStatus.RUNNING
    assert ReportFile.objects.filter(run=dead).count() == 6


def test_two_sweeps_send_a_run_once(cohort, demo):
    """The claim is a conditional UPDATE: a second sweep (beat and the command together) finds nothing to send."""
    run = ReportRun.objects.create(
        kind=MONITORING,
        region=Region.objects.get(pk="030"),
        period_start=cohort.period_start,
        period_end=cohort.period_end,
        status=ReportStatus.RUNNING,
        claimed_by="dead:0",
        heartbeat_at=timezone.now() - runs.stale_after() - timedelta(1),
    )
    first = runs.runs_to_send()
    second = runs.runs_to_send()
    assert [run_id for run_id, _stamp in first] == [str(run.pk)] and second == []
    run.refresh_from_db()
    assert run.claimed_by.startswith(runs.HANDED_OVER)
    # Handed over, the run is taken at once by the message the sweep sent (no wait for a stale heartbeat).
    assert tasks.generate_report.delay(str(run.pk)).get() == "done"


def test_a_holder_taken_for_dead_that_wakes_up_stops_without_touching_the_run(cohort, demo):
    run = ReportRun.objects.create(
        kind=MONITORING,
        region=Region.objects.get(pk="030"),
        period_start=cohort.period_start,
        period_end=cohort.period_end,
    )
    real = runs._render_monitoring

    def taken_over_midway(context, fmt, out):
        # While this delivery renders, the sweep hands the run to another delivery, which holds it.
        ReportRun.objects.filter(pk=run.pk).update(claimed_by="successor:0", heartbeat_at=timezone.now())
        real(context, fmt, out)

    with mock.patch.object(runs, "_render_monitoring", taken_over_midway):
        assert runs.generate(str(run.pk), "sleeper:0", heartbeat=False) == "skipped"
    run.refresh_from_db()
    assert (run.status, run.claimed_by) == (ReportStatus.RUNNING, "successor:0")
    assert not run.files.exists()
    assert not AuditEvent.objects.filter(object_id=str(run.pk), action="report.finish").exists()


def test_a_finished_run_is_audited_once_with_its_files(cohort, request_run):
    run = request_run("officer.lombardia", "030", cohort.period_start, cohort.period_end)
    tasks.generate_report.delay(str(run.pk)).get()  # delivered again: skipped

    finished = AuditEvent.objects.filter(object_id=str(run.pk), action="report.finish")
    assert finished.count() == 1
    files = finished.get().changes["files"]
    assert {(f["audience"], f["format"]) for f in files} == {
        (audience, fmt) for audience in ("region", "national") for fmt in ("csv", "xlsx", "pdf")
    }
    assert {f["sha256"] for f in files} == set(ReportFile.objects.filter(run=run).values_list("sha256", flat=True))


def test_a_region_whose_centre_refused_no_request_gets_its_files(cohort, request_run):
    # Lazio before D-12: one course in progress, no refused request (an empty refusals breakdown).
    run = request_run("officer.lazio", "120", cohort.period_start, cohort.today - timedelta(days=13))

    assert run.status == ReportStatus.DONE, run.error
    assert run.metrics["by_centre"][0]["rejections_by_criterion"] == {}
    assert set(_files(run)) == {"csv", "xlsx", "pdf"}
    assert "{}" not in _read(_files(run)["csv"]).decode("utf-8-sig")


def test_a_scheduled_monthly_run_of_a_centre_with_no_refusal_is_done(cohort, django_capture_on_commit_callbacks):
    start, end = cohort.period_start, cohort.today - timedelta(days=13)
    with django_capture_on_commit_callbacks(execute=True):
        services.scheduled_runs_create(kind=MONITORING, period_start=start, period_end=end)
    lazio = ReportRun.objects.get(region_id="120", scheduled=True)
    assert lazio.status == ReportStatus.DONE, lazio.error
    assert not ReportRun.objects.filter(status=ReportStatus.FAILED).exists()


def test_a_country_run_whose_regional_part_failed_fails_naming_the_region(cohort, request_run):
    real = runs.monitoring_metrics

    def lazio_breaks(**kwargs):
        if kwargs["region_code"] == "120":
            raise ValueError("Lazio's figures broke")
        return real(**kwargs)

    with mock.patch.object(runs, "monitoring_metrics", lazio_breaks):
        run = request_run("admin", None, cohort.period_start, cohort.period_end)

    assert run.status == ReportStatus.FAILED
    assert "Lazio" in run.error and "120" in run.error
    assert "Lombardia" not in run.error
    assert not run.files.exists()
    assert run.children.get(region_id="120").status == ReportStatus.FAILED
    assert run.children.get(region_id="030").status == ReportStatus.DONE
