"""The lock of an approved quarter: every write dated inside it is refused with 409 ``PERIOD_LOCKED``, through the
API and through the pages, until the officer reopens the quarter (API.md, "Quarterly transmission to AIFA").

Each case builds a Milano prescription at the stage its write needs, with the write dated today; the officer of
Lombardia then approves the quarter holding today. The write is refused, leaves nothing (no record, no audit
event); after the reopening the very same write goes through.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from prescriptions import services
from prescriptions.models import Prescription, PrescriptionStatus
from registry.calendar import rome_date, rome_today
from registry.errors import Conflict
from registry.models import AuditEvent, PeriodLock
from tests.browser_support import local_input, prescription_fields
from tests.conftest import DEMO_PASSWORD
from tests.prescriptions import factories as f

SUBMISSIONS = "/api/v1/quarterly-submissions/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def lock_quarter(client_for):
    """Approve Lombardia's quarter holding today (the officer, through the API); returns a function reopening it."""

    def lock():
        today = rome_today()
        officer = client_for("officer.lombardia")
        opened = officer.post(
            SUBMISSIONS, {"region": "030", "year": today.year, "quarter": (today.month - 1) // 3 + 1}, format="json"
        )
        submission_id = opened.json()["id"]
        approved = officer.post(
            f"{SUBMISSIONS}{submission_id}/approve/",
            {"password": DEMO_PASSWORD, "statement_accepted": True},
            format="json",
        )
        assert approved.status_code == 200, approved.content
        assert PeriodLock.objects.filter(region_id="030").exists()

        def reopen():
            response = officer.post(f"{SUBMISSIONS}{submission_id}/reopen/", {"reason": "A dose to add"}, format="json")
            assert response.status_code == 200, response.content
            assert not PeriodLock.objects.exists()

        return reopen

    return lock


def minutes_ago(minutes: int = 1):
    return timezone.now() - timedelta(minutes=minutes)


def _lab_result(demo, prescription):
    return services.lab_result_record(
        user=demo["nurse.milano"],
        prescription=prescription,
        test="anc",
        value=Decimal("2.5"),
        upper_limit_normal=None,
        collected_at=minutes_ago(2),
    )


def trail() -> int:
    return AuditEvent.objects.count()


def records(prescription: Prescription | None) -> tuple:
    if prescription is None:
        return (Prescription.objects.count(),)
    prescription.refresh_from_db()
    return (
        prescription.status,
        prescription.syringes_dispensed,
        prescription.doses_administered,
        prescription.lab_results.filter(entered_in_error_at__isnull=True).count(),
        prescription.adverse_events.count(),
        prescription.outcomes.count(),
        prescription.concomitant_medications.count(),
    )


# --- Through the API ------------------------------------------------------------------------------------------

# write: (stage, who, path, body(prescription, record)); "prescriptions" is the (late) registration itself.
API_WRITES = {
    "dispensation": (
        "awaiting_dispensing",
        "pharmacist.milano",
        "dispensations",
        lambda p, r: {"syringes": 3, "lot_number": "L1", "expiry_date": (f.today() + timedelta(days=200)).isoformat()},
    ),
    "refusal": ("awaiting_dispensing", "pharmacist.milano", "refusal", lambda p, r: {"reason": "Out of stock."}),
    "hold": ("awaiting_dispensing", "pharmacist.milano", "hold", lambda p, r: {"reason": "out_of_stock"}),
    "dose": (
        "dispensed",
        "nurse.milano",
        "administrations",
        lambda p, r: {"administered_at": minutes_ago().isoformat(), "dose_mg": 100, "route": "SC"},
    ),
    "stop": ("in_course", "prescriber.milano", "stop", lambda p, r: {"reason": "discharge"}),
    "lab result": (
        "in_course",
        "nurse.milano",
        "lab-results",
        lambda p, r: {"test": "anc", "value": "3.0", "collected_at": minutes_ago().isoformat()},
    ),
    "adverse event": (
        "in_course",
        "nurse.milano",
        "adverse-events",
        lambda p, r: {
            "category": "injection_site_reaction",
            "serious": False,
            "onset_date": f.today().isoformat(),
            "description": "Erythema.",
            "reported_to_pharmacovigilance": False,
        },
    ),
    "outcome": (
        "completed",
        "prescriber.milano",
        "outcomes",
        lambda p, r: {"day": 14, "who_cps": 4, "assessed_on": f.today().isoformat()},
    ),
    "co-medication": (
        "in_course",
        "nurse.milano",
        "concomitant-medications",
        lambda p, r: {"name": "Clexane", "started_on": f.today().isoformat(), "dose": "4000 UI"},
    ),
    "correction": (
        "in_course",
        "nurse.milano",
        "entered-in-error",
        lambda p, r: {"kind": "lab_result", "record": str(r.pk), "reason": "Another patient's sample."},
    ),
    "late registration": (
        None,
        "prescriber.milano",
        "prescriptions",
        lambda p, r: f.submission_body(prescribed_at=minutes_ago(30)),
    ),
}


def api_write(client_for, who, path, prescription, body):
    url = "/api/v1/prescriptions/" if prescription is None else f"/api/v1/prescriptions/{prescription.pk}/{path}/"
    return client_for(who).post(url, body, format="json")


@pytest.mark.parametrize("write", API_WRITES)
def test_every_api_write_dated_in_an_approved_quarter_is_refused_until_reopened(demo, client_for, lock_quarter, write):
    stage, who, path, body = API_WRITES[write]
    prescription = f.prescription_at(demo, stage) if stage else None
    record = _lab_result(demo, prescription) if write == "correction" else None
    reopen = lock_quarter()
    before, events = records(prescription), trail()

    refused = api_write(client_for, who, path, prescription, body(prescription, record))

    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "PERIOD_LOCKED"
    assert refused.json()["detail"]
    assert records(prescription) == before
    assert trail() == events

    reopen()
    accepted = api_write(client_for, who, path, prescription, body(prescription, record))
    assert accepted.status_code in (200, 201), accepted.content


def test_a_write_dated_outside_the_locked_quarter_goes_through(demo, client_for):
    """Only the quarter's own days are locked: a lock of another period leaves today's writes alone."""
    prescription = f.prescription_at(demo, "in_course")
    PeriodLock.objects.create(
        region_id="030", period_start=f.today() + timedelta(days=400), period_end=f.today() + timedelta(days=490)
    )
    response = api_write(client_for, "prescriber.milano", "stop", prescription, {"reason": "discharge"})
    assert response.status_code == 200, response.content


def test_another_regions_lock_does_not_touch_lombardia(demo, client_for):
    prescription = f.prescription_at(demo, "in_course")
    PeriodLock.objects.create(region_id="120", period_start=f.today(), period_end=f.today())
    response = api_write(client_for, "prescriber.milano", "stop", prescription, {"reason": "discharge"})
    assert response.status_code == 200, response.content


def test_a_dose_dated_inside_a_locked_day_is_refused_whenever_it_is_recorded(demo, client_for):
    """The date that counts is the dose's, not the day it is typed in."""
    prescription = f.prescription_at(demo, "dispensed")
    yesterday = f.today() - timedelta(days=1)
    PeriodLock.objects.create(region_id="030", period_start=yesterday, period_end=yesterday)
    late = api_write(
        client_for,
        "nurse.milano",
        "administrations",
        prescription,
        {"administered_at": f.rome(yesterday, 12).isoformat(), "dose_mg": 100, "route": "SC"},
    )
    assert late.status_code == 409 and late.json()["code"] == "PERIOD_LOCKED"
    today = api_write(
        client_for,
        "nurse.milano",
        "administrations",
        prescription,
        {"administered_at": minutes_ago().isoformat(), "dose_mg": 100, "route": "SC"},
    )
    assert today.status_code == 201, today.content


# --- Through the pages ----------------------------------------------------------------------------------------


@pytest.fixture
def page_for(demo):
    def make(username: str) -> Client:
        client = Client()
        client.force_login(demo[username])
        client.cookies["django_language"] = "en"
        return client

    return make


def _today_iso():
    return rome_today().isoformat()


# write: (stage, who, page url name, fields(prescription, record))
PAGE_WRITES = {
    "dispensation": (
        "awaiting_dispensing",
        "pharmacist.milano",
        "dispense",
        lambda p, r: {
            "dispense-syringes": "3",
            "dispense-lot_number": "KIN-1",
            "dispense-expiry_date": (rome_today() + timedelta(days=300)).isoformat(),
        },
    ),
    "refusal": (
        "awaiting_dispensing",
        "pharmacist.milano",
        "refuse",
        lambda p, r: {"refuse-category": "other", "refuse-note": "Out of stock", "refuse-confirm": "on"},
    ),
    "hold": ("awaiting_dispensing", "pharmacist.milano", "hold", lambda p, r: {"hold-reason": "out_of_stock"}),
    "dose": (
        "dispensed",
        "nurse.milano",
        "administer",
        lambda p, r: {
            "administer-administered_at": local_input(minutes_ago()),
            "administer-dose_mg": "100",
            "administer-route": "SC",
        },
    ),
    "stop": (
        "in_course",
        "prescriber.milano",
        "stop",
        lambda p, r: {"stop-reason": "discharge", "stop-confirm": "on"},
    ),
    "lab result": (
        "in_course",
        "nurse.milano",
        "lab_result",
        lambda p, r: {
            "lab_result-test": "anc",
            "lab_result-value": "3,0",
            "lab_result-collected_at": local_input(minutes_ago()),
        },
    ),
    "adverse event": (
        "in_course",
        "nurse.milano",
        "adverse_event",
        lambda p, r: {
            "adverse_event-category": "injection_site_reaction",
            "adverse_event-onset_date": _today_iso(),
            "adverse_event-description": "erythema",
        },
    ),
    "outcome": (
        "completed",
        "prescriber.milano",
        "outcome",
        lambda p, r: {"outcome-day": "14", "outcome-who_cps": "4", "outcome-assessed_on": _today_iso()},
    ),
    "co-medication": (
        "in_course",
        "nurse.milano",
        "concomitant_medication",
        lambda p, r: {
            "concomitant_medication-name": "Clexane",
            "concomitant_medication-started_on": _today_iso(),
            "concomitant_medication-dose": "4000 UI",
        },
    ),
    "correction": ("in_course", "nurse.milano", "entered_in_error", lambda p, r: {"reason": "Another patient."}),
    "late registration": (
        None,
        "prescriber.milano",
        "new",
        lambda p, r: prescription_fields(
            prescribed_at=local_input(minutes_ago(30)), consent_date=rome_date(minutes_ago(30)).isoformat()
        ),
    ),
}


def page_url(name, prescription, record) -> str:
    if prescription is None:
        return reverse(f"prescriptions:{name}")
    kwargs = {"prescription_id": prescription.pk}
    if record is not None:
        kwargs.update(kind="lab_result", record_id=record.pk)
    return reverse(f"prescriptions:{name}", kwargs=kwargs)


@pytest.mark.parametrize("write", PAGE_WRITES)
def test_every_page_write_dated_in_an_approved_quarter_is_refused_until_reopened(demo, page_for, lock_quarter, write):
    stage, who, name, fields = PAGE_WRITES[write]
    prescription = f.prescription_at(demo, stage) if stage else None
    record = _lab_result(demo, prescription) if write == "correction" else None
    reopen = lock_quarter()
    before, events = records(prescription), trail()
    client = page_for(who)
    url = page_url(name, prescription, record)

    refused = client.post(url, fields(prescription, record))

    assert refused.status_code in (200, 400), refused.status_code
    html = refused.content.decode()
    assert 'data-code="PERIOD_LOCKED"' in html or "approved and sent to AIFA" in html, html[:3000]
    assert records(prescription) == before
    assert trail() == events

    reopen()
    accepted = client.post(url, fields(prescription, record))
    assert accepted.status_code == 302, accepted.content.decode()[:3000]


def test_the_services_refuse_a_locked_write_whoever_calls_them(demo, lock_quarter):
    """The lock is in the services: a caller that is neither page nor API (a script, a task) meets it too."""
    prescription = f.prescription_at(demo, PrescriptionStatus.IN_COURSE)
    lock_quarter()
    with pytest.raises(Conflict) as refused:
        services.prescription_stop(prescriber=demo["prescriber.milano"], prescription=prescription, reason="discharge")
    assert refused.value.code == "PERIOD_LOCKED"


# --- Releasing a hold, the ward round's dose and its take-back ------------------------------------------------


def _on_hold(demo) -> Prescription:
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    services.dispensing_hold(pharmacist=demo["pharmacist.milano"], prescription=prescription, reason="out_of_stock")
    prescription.refresh_from_db()
    assert prescription.hold_since is not None
    return prescription


def _held(prescription) -> bool:
    prescription.refresh_from_db()
    return prescription.hold_since is not None


def test_releasing_a_hold_through_the_api_is_refused_until_reopened(demo, client_for, lock_quarter):
    prescription = _on_hold(demo)
    reopen = lock_quarter()
    events = trail()
    pharmacist = client_for("pharmacist.milano")
    url = f"/api/v1/prescriptions/{prescription.pk}/hold/"

    refused = pharmacist.delete(url)

    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "PERIOD_LOCKED"
    assert _held(prescription)
    assert trail() == events

    reopen()
    accepted = pharmacist.delete(url)
    assert accepted.status_code == 200, accepted.content
    assert not _held(prescription)


def test_releasing_a_hold_from_the_page_is_refused_until_reopened(demo, page_for, lock_quarter):
    prescription = _on_hold(demo)
    reopen = lock_quarter()
    events = trail()
    client = page_for("pharmacist.milano")
    url = reverse("prescriptions:release_hold", kwargs={"prescription_id": prescription.pk})

    refused = client.post(url, {})

    assert refused.status_code in (200, 400), refused.status_code
    html = refused.content.decode()
    assert 'data-code="PERIOD_LOCKED"' in html or "approved and sent to AIFA" in html, html[:3000]
    assert _held(prescription)
    assert trail() == events

    reopen()
    assert client.post(url, {}).status_code == 302
    assert not _held(prescription)


ROUND = reverse("prescriptions:doses_due")


def test_the_ward_rounds_dose_is_refused_until_reopened(demo, page_for, lock_quarter):
    prescription = f.prescription_at(demo, "dispensed", prescribed_days_ago=1)
    reopen = lock_quarter()
    before, events = records(prescription), trail()
    nurse = page_for("nurse.milano")
    url = reverse("prescriptions:administer_now", args=[prescription.pk])

    refused = nurse.post(url, {"next": ROUND, "confirmed": "yes"}, follow=True)

    assert "approved and sent to AIFA" in refused.content.decode()
    assert records(prescription) == before
    assert trail() == events

    reopen()
    nurse.post(url, {"next": ROUND, "confirmed": "yes"}, follow=True)
    assert records(prescription)[2] == before[2] + 1  # the dose is in


def test_taking_a_dose_back_on_the_round_is_refused_until_reopened(demo, page_for, lock_quarter):
    prescription = f.prescription_at(demo, "dispensed", prescribed_days_ago=1)
    administration = services.administration_record(
        user=demo["nurse.milano"], prescription=prescription, administered_at=minutes_ago(), dose_mg=100, route="SC"
    )
    reopen = lock_quarter()
    before, events = records(prescription), trail()
    nurse = page_for("nurse.milano")
    url = reverse("prescriptions:administration_take_back", args=[prescription.pk, administration.pk])

    refused = nurse.post(url, {"next": ROUND, "confirmed": "yes"}, follow=True)

    assert "approved and sent to AIFA" in refused.content.decode()
    administration.refresh_from_db()
    assert not administration.in_error
    assert records(prescription) == before
    assert trail() == events

    reopen()
    taken_back = nurse.post(url, {"next": ROUND, "confirmed": "yes"}, follow=True)
    assert "Dose taken back for" in taken_back.content.decode()
    administration.refresh_from_db()
    assert administration.in_error


# --- What the lock leaves open --------------------------------------------------------------------------------


def test_marking_an_adverse_event_reported_to_pharmacovigilance_stays_allowed_in_a_locked_quarter(
    demo, client_for, page_for, lock_quarter
):
    """Reporting to the national pharmacovigilance network is a legal duty of its own, whatever was sent to AIFA
    under L.648: the event's report number and date are not L.648 data, and a locked quarter never delays them."""
    prescription = f.prescription_at(demo, "in_course")
    nurse = demo["nurse.milano"]

    def serious_event():
        return services.adverse_event_record(
            user=nurse, prescription=prescription, category="hepatic", serious=True, onset_date=f.today(),
            description="ALT 9 x ULN", reported_to_pharmacovigilance=False,
        )  # fmt: skip

    through_api, through_page = serious_event(), serious_event()
    lock_quarter()

    api = client_for("nurse.milano").post(
        f"/api/v1/prescriptions/{prescription.pk}/adverse-events/{through_api.pk}/reported/",
        {"report_number": "RNF-2026-0042", "report_date": f.today().isoformat()},
        format="json",
    )
    page = page_for("nurse.milano").post(
        f"/prescriptions/{prescription.pk}/adverse-events/{through_page.pk}/reported/",
        {"report_number": "RNF-2026-0043", "report_date": f.today().isoformat()},
    )

    assert api.status_code == 200, api.content
    assert page.status_code == 302, page.content.decode()[:3000]
    for event in (through_api, through_page):
        event.refresh_from_db()
        assert event.reported_to_pharmacovigilance
    assert AuditEvent.objects.filter(action="prescription.adverse_event_reported").count() == 2
    assert PeriodLock.objects.filter(region_id="030").exists()  # still locked
