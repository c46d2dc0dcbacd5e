"""The course's 10-day window (docs/rules.md, "The course"): no dose after day 10, the daily task that closes
finished windows, missed doses only inside the window, and the regimen read from the criteria version."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from prescriptions import selectors, services
from prescriptions.course import regimen
from prescriptions.models import Administration, PrescriptionStatus
from prescriptions.tasks import close_course_windows
from registry.audit_actions import AuditAction
from registry.celery import app
from registry.errors import Conflict
from registry.models import AuditEvent
from reports.metrics import with_missed_doses
from tests.browser_support import local_input

from . import factories as f

EVERY_48_H = {"dose_mg": 100, "route": "SC", "interval_hours": 48, "duration_days": 10}
RENAL = {"creatinine_clearance_ml_min": 25, "regimen": EVERY_48_H}


def url(prescription, action: str) -> str:
    return f"/api/v1/prescriptions/{prescription.pk}/{action}/"


def dose_body(days_ago: int) -> dict:
    return {"administered_at": f.days_ago(days_ago).isoformat(), "dose_mg": 100, "route": "SC"}


def window_events(prescription) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            object_type="prescriptions.prescription",
            object_id=str(prescription.pk),
            action=AuditAction.PRESCRIPTION_WINDOW_CLOSE,
        )
    )


# --- The regimen, in one place -------------------------------------------------------------------------------


def test_the_regimen_comes_from_the_criteria_version():
    daily = regimen.regimen_of("L648-2021-10", 24)
    renal = regimen.regimen_of("L648-2021-10", 48)

    assert (daily.window_days, daily.doses, daily.interval_days) == (10, 10, 1)
    assert (renal.window_days, renal.doses, renal.interval_days) == (10, 5, 2)
    assert (daily.dose_mg, daily.route) == (Decimal(100), "SC")


# --- No dose after day 10 ------------------------------------------------------------------------------------


def test_a_dose_dated_after_day_ten_is_refused(demo, client_for):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=12, dose_days_ago=[11, 10, 9])
    nurse = client_for("nurse.milano")

    day_ten = nurse.post(url(prescription, "administrations"), dose_body(2), format="json")  # day 10: still in time
    assert day_ten.status_code == 201, day_ten.json()
    day_eleven = nurse.post(url(prescription, "administrations"), dose_body(1), format="json")

    assert day_eleven.status_code == 409
    assert day_eleven.json()["code"] == "COURSE_WINDOW_ENDED"
    assert Administration.objects.filter(prescription=prescription).count() == 4


def test_a_dose_after_the_window_is_refused_on_the_page_in_italian(demo, client):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=12, dose_days_ago=[11, 10, 9])
    client.force_login(demo["nurse.milano"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "it"

    response = client.post(
        reverse("prescriptions:administer", args=[prescription.pk]),
        {
            "administer-administered_at": local_input(timezone.now()),
            "administer-dose_mg": "100",
            "administer-route": "SC",
        },
    )

    html = response.content.decode()
    assert 'data-code="COURSE_WINDOW_ENDED"' in html
    assert "non si recupera" in html


def test_the_round_does_not_offer_a_course_past_its_window(demo):
    in_window = f.prescription_at(demo, "in_course", prescribed_days_ago=10, dose_days_ago=[9, 8])  # today: day 10
    past = f.prescription_at(demo, "in_course", prescribed_days_ago=12, dose_days_ago=[10, 9])  # today: day 11

    due = set(selectors.doses_due(user=demo["nurse.milano"], day=f.today()))

    assert in_window in due
    assert past not in due


# --- The daily task ------------------------------------------------------------------------------------------


def test_close_course_windows_closes_finished_windows_once_as_the_system(demo):
    finished = f.prescription_at(demo, "in_course", prescribed_days_ago=14, dose_days_ago=[12, 11, 9])
    last_day_today = f.prescription_at(demo, "in_course", prescribed_days_ago=10, dose_days_ago=[9, 8])
    out = io.StringIO()

    call_command("close_course_windows", stdout=out)
    call_command("close_course_windows", stdout=out)  # idempotent

    finished.refresh_from_db()
    last_day_today.refresh_from_db()
    assert finished.status == PrescriptionStatus.COMPLETED
    assert last_day_today.status == PrescriptionStatus.IN_COURSE
    (event,) = window_events(finished)
    assert event.actor_id is None
    assert event.changes["status"] == ["in_course", "completed"]
    assert event.changes["by"] == "system"
    assert window_events(last_day_today) == []
    assert "1 course(s) closed." in out.getvalue() and "0 course(s) closed." in out.getvalue()


def test_a_course_closed_by_its_window_takes_no_dose_and_raises_no_new_alert(demo, client_for):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=14, dose_days_ago=[12, 11])
    services.course_windows_close()
    services.lab_result_record(
        user=demo["nurse.milano"],
        prescription=prescription,
        test="anc",
        value=Decimal("0.9"),
        upper_limit_normal=None,
        collected_at=f.days_ago(1),
    )

    now = {"administered_at": timezone.now().isoformat(), "dose_mg": 100, "route": "SC"}
    dose = client_for("nurse.milano").post(url(prescription, "administrations"), now, format="json")
    detail = client_for("nurse.milano").get(f"/api/v1/prescriptions/{prescription.pk}/").json()

    assert dose.status_code == 409
    assert dose.json()["code"] == "COURSE_WINDOW_ENDED"
    assert detail["status"] == "completed"
    # Days 3 to 10 of the window are missed; the low count after the course raises nothing.
    assert [a["code"] for a in detail["alerts"]] == ["MISSED_DOSE"] * 8


def test_a_stopped_course_is_not_closed_by_the_window(demo):
    prescription = f.prescription_at(demo, "stopped", prescribed_days_ago=20, dose_days_ago=[19, 18])

    assert services.course_windows_close() == []
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.STOPPED


def test_beat_closes_the_windows_daily(demo):
    entry = settings.CELERY_BEAT_SCHEDULE["close-course-windows"]

    assert entry["task"] in app.tasks
    assert entry["schedule"].hour == {0}
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=14, dose_days_ago=[12])
    assert close_course_windows.delay().get() == 1
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.COMPLETED


# --- Missed doses, the page's count and the report's -----------------------------------------------------------


@pytest.mark.parametrize(
    ("dose_days_ago", "renal", "close", "missed"),
    [
        ([20, 19], False, False, 8),  # running past its window, not yet closed: days 3..10
        ([20, 19], False, True, 8),  # the same once closed
        ([5, 4], False, False, 3),  # running: days 3, 4 and 5 of the window (today, day 6, not counted)
        ([20], True, True, 4),  # every 48 h: days 3, 5, 7 and 9
    ],
)
def test_missed_doses_agree_between_the_alerts_and_the_metrics(demo, client_for, dose_days_ago, renal, close, missed):
    options = {"assessment": f.eligible_assessment(**RENAL), "syringes": 5} if renal else {}
    prescription = f.prescription_at(
        demo, "in_course", prescribed_days_ago=dose_days_ago[0] + 1, dose_days_ago=dose_days_ago, **options
    )
    if close:
        services.course_windows_close()
    detail = client_for("nurse.milano").get(f"/api/v1/prescriptions/{prescription.pk}/").json()
    counted = with_missed_doses(type(prescription).objects.filter(pk=prescription.pk), today=f.today()).get()

    assert [a["code"] for a in detail["alerts"]].count("MISSED_DOSE") == missed
    assert counted.missed_doses == missed


def test_the_last_day_of_the_window_is_day_ten_whatever_the_regimen(demo):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=5, dose_days_ago=[4])

    assert regimen.window_last_day(prescription) == f.today() - timedelta(days=4) + timedelta(days=9)


def test_a_dose_in_error_reopens_a_closed_course_until_the_next_closing(demo):
    """A correction may leave room for the right dose, dated inside the window; the next run closes it again."""
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=14, dose_days_ago=[12, 11, 10])
    services.course_windows_close()
    wrong = Administration.objects.filter(prescription=prescription).order_by("administered_on").last()
    services.record_mark_entered_in_error(
        user=demo["nurse.milano"], prescription=prescription, kind="administration", record_id=wrong.pk, reason="x"
    )
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.IN_COURSE

    f.administer(demo["nurse.milano"], prescription, f.days_ago(10, 14))  # the right dose, day 3
    with pytest.raises(Conflict, match="COURSE_WINDOW_ENDED"):
        f.administer(demo["nurse.milano"], prescription, f.days_ago(1))
    assert [p.pk for p in services.course_windows_close()] == [prescription.pk]
    assert len(window_events(prescription)) == 2
