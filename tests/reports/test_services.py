"""Asking for reports: who may ask for what, the checks on the period, the audit event, the scheduled runs."""

import threading
from datetime import date
from unittest import mock

import pytest
from django.db import IntegrityError, connections, transaction

from registry.errors import InvalidInput
from registry.models import AuditEvent, Region
from registry.permissions import PermissionDenied
from registry.regions import REGIONS
from reports import periods, services
from reports.kinds import MONITORING, QUARTERLY_PATIENTS
from reports.models import ReportRun, ReportStatus

NOVEMBER = {"period_start": date(2021, 11, 1), "period_end": date(2021, 11, 30)}


def _ask(user, region, kind=MONITORING, **period):
    return services.report_request(user=user, kind=kind, region_code=region, **(period or NOVEMBER))


@pytest.mark.parametrize(
    ("username", "region", "allowed"),
    [
        ("officer.lombardia", "030", True),
        ("officer.lombardia", "120", False),
        ("officer.lombardia", None, False),
        ("officer.lazio", "120", True),
        ("aifa", "030", True),
        ("aifa", "120", True),
        ("aifa", None, True),
        ("admin", None, True),
        ("prescriber.milano", "030", False),
        ("pharmacist.milano", "030", False),
        ("nurse.milano", "030", False),
    ],
)
def test_who_may_ask_for_which_report(demo, username, region, allowed):
    if allowed:
        run = _ask(demo[username], region)
        assert (run.status, run.region_id, run.requested_by) == (ReportStatus.QUEUED, region, demo[username])
    else:
        with pytest.raises(PermissionDenied):
            _ask(demo[username], region)
        assert not ReportRun.objects.exists()


def test_the_request_is_audited_in_its_transaction(demo):
    run = _ask(demo["officer.lombardia"], "030")
    event = AuditEvent.objects.get(object_id=str(run.pk))
    assert event.action == "report.request"
    assert event.actor == demo["officer.lombardia"]
    assert event.changes == {
        "kind": "monitoring",
        "region": "030",
        "period_start": "2021-11-01",
        "period_end": "2021-11-30",
        "scheduled": False,
    }


def test_asking_again_makes_a_new_run(demo):
    first, second = _ask(demo["aifa"], "030"), _ask(demo["aifa"], "030")
    assert first.pk != second.pk and ReportRun.objects.count() == 2


def test_the_task_is_queued_only_when_the_request_commits(demo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        _ask(demo["aifa"], "030")
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        _ask(demo["aifa"], "030")
        raise RuntimeError("the request failed after asking")
    assert callbacks == []


@pytest.mark.parametrize(
    ("kind", "region", "period", "field"),
    [
        (MONITORING, "030", {"period_start": date(2021, 11, 30), "period_end": date(2021, 11, 1)}, "period_end"),
        (MONITORING, "030", {"period_start": date(2020, 1, 1), "period_end": date(2022, 1, 31)}, "period_end"),
        (MONITORING, "999", NOVEMBER, "region"),
        ("yearly", "030", NOVEMBER, "kind"),
        (QUARTERLY_PATIENTS, "030", NOVEMBER, "period_start"),
        (
            QUARTERLY_PATIENTS,
            "030",
            {"period_start": date(2021, 10, 1), "period_end": date(2021, 12, 30)},
            "period_start",
        ),
        (QUARTERLY_PATIENTS, None, {"period_start": date(2021, 10, 1), "period_end": date(2021, 12, 31)}, "region"),
    ],
    ids=[
        "end-before-start",
        "over-two-years",
        "region-unknown",
        "kind-unknown",
        "quarterly-a-month",
        "quarterly-short-of-a-day",
        "quarterly-for-the-country",
    ],
)
def test_bad_requests_are_invalid_input(demo, kind, region, period, field):
    with pytest.raises(InvalidInput) as error:
        _ask(demo["aifa"], region, kind, **period)
    assert field in error.value.errors


def test_two_years_are_allowed_and_a_quarter_is_a_calendar_quarter(demo):
    assert _ask(demo["admin"], "030", period_start=date(2020, 1, 1), period_end=date(2021, 12, 31))
    run = _ask(
        demo["officer.lombardia"],
        "030",
        QUARTERLY_PATIENTS,
        period_start=date(2021, 10, 1),
        period_end=date(2021, 12, 31),
    )
    assert run.kind == QUARTERLY_PATIENTS


@pytest.mark.parametrize(
    ("day", "quarter"),
    [
        (date(2021, 1, 1), (date(2021, 1, 1), date(2021, 3, 31))),
        (date(2021, 5, 31), (date(2021, 4, 1), date(2021, 6, 30))),
        (date(2021, 9, 30), (date(2021, 7, 1), date(2021, 9, 30))),
        (date(2021, 12, 31), (date(2021, 10, 1), date(2021, 12, 31))),
    ],
    ids=["q1-first-day", "q2-last-of-may", "q3-last-day", "q4-last-day"],
)
def test_quarter_of(day, quarter):
    assert periods.quarter_of(day) == quarter


def test_a_scheduled_request_returns_the_run_that_exists(demo):
    first = _ask_scheduled(demo["aifa"], None)
    assert _ask_scheduled(demo["aifa"], None) == first
    region = _ask_scheduled(demo["aifa"], "030")
    assert _ask_scheduled(demo["officer.lombardia"], "030") == region
    assert ReportRun.objects.filter(scheduled=True).count() == 2


def _ask_scheduled(user, region):
    return services.report_request(user=user, region_code=region, scheduled=True, **NOVEMBER)


@pytest.mark.parametrize("region", ["030", None])
def test_the_database_refuses_a_second_scheduled_run_for_a_period(demo, region):
    """Backs up the service: the country (region NULL) is covered too, on SQLite as on PostgreSQL."""
    fields = {"kind": MONITORING, "region": Region.objects.get(pk=region) if region else None, **NOVEMBER}
    ReportRun.objects.create(scheduled=True, **fields)
    ReportRun.objects.create(scheduled=False, **fields)  # runs asked for by hand are kept, any number
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportRun.objects.create(scheduled=True, **fields)


def test_scheduled_runs_create_skips_the_regions_that_have_theirs(demo):
    services.report_request(user=demo["aifa"], region_code="030", scheduled=True, **NOVEMBER)
    created = services.scheduled_runs_create(kind=MONITORING, **NOVEMBER)
    assert len(created) == 20 and "030" not in {run.region_id for run in created}
    assert services.scheduled_runs_create(kind=MONITORING, **NOVEMBER) == []
    assert ReportRun.objects.filter(scheduled=True).count() == 21
    assert AuditEvent.objects.filter(action="report.request", actor__isnull=True).count() == 20


@pytest.mark.services
def test_two_beats_racing_make_each_scheduled_run_once(postgresql, transactional_db):
    """Real PostgreSQL, two connections at once: the unique constraint settles the race, nothing fails."""
    for code, name in REGIONS:
        Region.objects.update_or_create(code=code, defaults={"name": name})
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def beat(i):
        try:
            barrier.wait(timeout=30)
            results[i] = services.scheduled_runs_create(kind=MONITORING, **NOVEMBER)
        except BaseException as exc:  # reported below
            results[i] = exc
        finally:
            connections.close_all()

    with mock.patch("reports.messages.send"):
        threads = [threading.Thread(target=beat, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not [result for result in results if isinstance(result, BaseException)], results
    assert len(results[0]) + len(results[1]) == 21
    assert ReportRun.objects.filter(scheduled=True).count() == 21
