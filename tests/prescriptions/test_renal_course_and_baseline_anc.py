"""Issue 10 end to end: the renal regimen (100 mg every 48 h, 5 doses) through a whole course, the baseline ANC
dispensing asks for, unknown medicines through the API and the page, and the engine's refusals as 400s."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from prescriptions import services
from prescriptions.eligibility import Assessment
from prescriptions.interop.fhir import prescription_bundle
from prescriptions.models import Prescription, PrescriptionStatus
from prescriptions.services.submission import evaluate_assessment
from registry.calendar import rome_today
from registry.errors import InvalidInput
from reports.metrics import monitoring_metrics

from . import factories as f

EVERY_48_H = {"dose_mg": 100, "route": "SC", "interval_hours": 48, "duration_days": 10}
RENAL = {"creatinine_clearance_ml_min": 25, "regimen": EVERY_48_H}


def url(prescription, action: str) -> str:
    return f"/api/v1/prescriptions/{prescription.pk}/{action}/"


def dispensation_body(syringes: int) -> dict:
    return {"syringes": syringes, "lot_number": "AB123", "expiry_date": (f.today() + timedelta(days=200)).isoformat()}


def dose_body(days_ago: int) -> dict:
    return {"administered_at": f.days_ago(days_ago).isoformat(), "dose_mg": 100, "route": "SC"}


@pytest.fixture
def api(client_for):
    def post(username, path, body):
        client = client_for(username)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client.post(path, body, format="json")

    return post


def test_the_renal_regimen_runs_a_whole_course(demo, api, client_for):
    submitted = api(
        "prescriber.milano",
        "/api/v1/prescriptions/",
        f.submission_body(prescribed_at=f.days_ago(20, 6), assessment=f.eligible_assessment(**RENAL)),
    )
    assert submitted.status_code == 201, submitted.json()
    body = submitted.json()
    assert body["status"] == "awaiting_dispensing"
    regimen = next(r for r in body["eligibility"]["results"] if r["code"] == "REGIMEN_648")
    assert regimen["outcome"] == "pass"
    assert "every 48 h" in regimen["message"]
    prescription = Prescription.objects.get(pk=body["id"])
    assert prescription.dose_interval_hours == 48

    # At most one syringe per dose: 5.
    over = api("pharmacist.milano", url(prescription, "dispensations"), dispensation_body(6))
    assert (over.status_code, over.json()["code"]) == (409, "OVER_QUANTITY")
    assert api("pharmacist.milano", url(prescription, "dispensations"), dispensation_body(5)).status_code == 201

    for days_ago in (20, 18, 16, 14, 12):
        response = api("nurse.milano", url(prescription, "administrations"), dose_body(days_ago))
        assert response.status_code == 201, response.json()
        assert response.json()["protocol_deviation"] is False

    prescription.refresh_from_db()
    assert (prescription.status, prescription.doses_administered) == (PrescriptionStatus.COMPLETED, 5)
    sixth = api("nurse.milano", url(prescription, "administrations"), dose_body(10))
    assert sixth.status_code == 409

    detail = client_for("prescriber.milano").get(f"/api/v1/prescriptions/{prescription.pk}/").json()
    assert [alert["code"] for alert in detail["alerts"] if alert["code"] == "MISSED_DOSE"] == []

    today = rome_today()
    metrics = monitoring_metrics(
        region_code="030", period_start=today - timedelta(days=30), period_end=today, today=today
    )
    assert metrics["missed_doses"] == 0

    bundle = prescription_bundle(prescription)
    (request,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationRequest"]
    repeat = request["dosageInstruction"][0]["timing"]["repeat"]
    assert (repeat["period"], repeat["periodUnit"], repeat["count"]) == (2, "d", 5)
    assert request["dispenseRequest"]["quantity"]["value"] == 5


def test_every_48_h_a_skipped_day_is_missed_and_an_off_schedule_dose_a_deviation(demo, api, client_for):
    prescription = f.submit(
        demo["prescriber.milano"], prescribed_at=f.days_ago(10, 6), assessment=f.eligible_assessment(**RENAL)
    )
    f.dispense(demo["pharmacist.milano"], prescription, syringes=5)
    f.administer(demo["nurse.milano"], prescription, f.days_ago(10))
    off = f.administer(demo["nurse.milano"], prescription, f.days_ago(7))  # day 4: off the schedule

    assert off.protocol_deviation
    detail = client_for("prescriber.milano").get(f"/api/v1/prescriptions/{prescription.pk}/").json()
    missed = [alert["on"] for alert in detail["alerts"] if alert["code"] == "MISSED_DOSE"]
    # Scheduled days 3, 5, 7, 9 (8, 6, 4, 2 days ago) without a dose; days 2, 4… are not scheduled.
    assert missed == [(f.today() - timedelta(days=n)).isoformat() for n in (8, 6, 4, 2)]
    today = rome_today()
    metrics = monitoring_metrics(
        region_code="030", period_start=today - timedelta(days=30), period_end=today, today=today
    )
    assert metrics["missed_doses"] == 4
    assert metrics["protocol_deviations"] == 1


def test_with_severe_renal_impairment_the_daily_regimen_stays_daily(demo):
    prescription = f.submit(demo["prescriber.milano"], assessment=f.eligible_assessment(creatinine_clearance_ml_min=25))

    assert prescription.dose_interval_hours == 24
    renal = next(r for r in prescription.eligibility["results"] if r["code"] == "RENAL_IMPAIRMENT")
    assert renal["outcome"] == "warn"


def test_every_48_h_without_renal_impairment_is_refused(demo):
    prescription = f.submit(demo["prescriber.milano"], assessment=f.eligible_assessment(regimen=EVERY_48_H))

    assert prescription.status == PrescriptionStatus.REJECTED
    assert prescription.dose_interval_hours == 24


def page_client(demo, username):
    client = Client()
    client.force_login(demo[username])
    client.cookies["django_language"] = "en"
    return client


def test_the_course_page_shows_five_doses_every_other_day(demo):
    prescription = f.submit(demo["prescriber.milano"], assessment=f.eligible_assessment(**RENAL))

    response = page_client(demo, "prescriber.milano").get(reverse("prescriptions:detail", args=[prescription.pk]))
    html = response.content.decode()
    assert 'data-regimen="48"' in html
    # The window's ten days, the dose days among them marked.
    assert [int(n) for n in re.findall(r'data-day="(\d+)"', html)] == list(range(1, 11))
    days = re.findall(r'data-day="(\d+)" data-state="\w+" data-scheduled="(\w+)"', html)
    assert [int(n) for n, scheduled in days if scheduled == "true"] == [1, 3, 5, 7, 9]


# -- the baseline ANC --------------------------------------------------------------------------------------------


def test_dispensing_without_a_baseline_anc_is_refused_until_one_is_recorded(demo, api):
    prescription = f.submit(demo["prescriber.milano"], assessment=f.eligible_assessment(anc_10e9_l=None))
    assert prescription.status == PrescriptionStatus.AWAITING_DISPENSING

    refused = api("pharmacist.milano", url(prescription, "dispensations"), dispensation_body(10))
    assert refused.status_code == 409
    assert refused.json()["code"] == "BASELINE_ANC_REQUIRED"
    assert "ANC" in refused.json()["detail"]

    lab = {"test": "anc", "value": "2.0", "collected_at": (timezone.now() - timedelta(minutes=1)).isoformat()}
    assert api("prescriber.milano", url(prescription, "lab-results"), lab).status_code == 201
    assert api("pharmacist.milano", url(prescription, "dispensations"), dispensation_body(10)).status_code == 201


def test_a_later_anc_below_the_threshold_blocks_dispensing(demo):
    prescription = f.submit(demo["prescriber.milano"], prescribed_at=f.days_ago(2, 6))
    services.lab_result_record(
        user=demo["prescriber.milano"],
        prescription=prescription,
        test="anc",
        value=Decimal("1.2"),
        upper_limit_normal=None,
        collected_at=f.days_ago(1),
    )

    with pytest.raises(Exception) as refused:
        f.dispense(demo["pharmacist.milano"], prescription)
    assert getattr(refused.value, "code", None) == "BASELINE_ANC_REQUIRED"
    assert "1.2" in str(refused.value.detail)


def test_an_anc_at_the_threshold_from_the_assessment_is_enough(demo):
    prescription = f.submit(demo["prescriber.milano"], assessment=f.eligible_assessment(anc_10e9_l=1.5))

    f.dispense(demo["pharmacist.milano"], prescription)

    prescription.refresh_from_db()
    assert prescription.syringes_dispensed == 10


# -- unknown medicines through the API and the page; the engine's own refusals -----------------------------------


def test_an_unknown_medicine_refuses_until_confirmed_and_the_confirmation_is_kept(demo, api):
    unknown = {"name": "Zyxolumab", "ongoing": True}
    refused = api(
        "prescriber.milano",
        "/api/v1/prescriptions/",
        f.submission_body(assessment=f.eligible_assessment(concomitant_medications=[unknown])),
    )
    assert refused.status_code == 201
    assert refused.json()["status"] == "rejected"

    confirmed = api(
        "prescriber.milano",
        "/api/v1/prescriptions/",
        f.submission_body(
            assessment=f.eligible_assessment(concomitant_medications=[{**unknown, "confirmed_not_il_jak": True}])
        ),
    )
    assert confirmed.json()["status"] == "awaiting_dispensing"
    result = next(r for r in confirmed.json()["eligibility"]["results"] if r["code"] == "NO_IL_OR_JAK_INHIBITOR")
    assert result["details"] == {"confirmed_not_il_jak": ["Zyxolumab"]}
    prescription = Prescription.objects.get(pk=confirmed.json()["id"])
    assert prescription.assessment["concomitant_medications"][0]["confirmed_not_il_jak"] is True


def test_the_page_has_a_confirmation_box_per_medicine(demo):
    html = page_client(demo, "prescriber.milano").get(reverse("prescriptions:new")).content.decode()

    assert 'name="med-0-confirmed_not_il_jak"' in html
    assert 'type="checkbox"' in html


def test_values_the_engine_refuses_are_a_400_naming_the_field(demo):
    from datetime import date, datetime

    from registry.calendar import REGISTRY_TIME_ZONE

    subject = Assessment(
        assessed_at=datetime(2021, 11, 3, 10, tzinfo=REGISTRY_TIME_ZONE),
        birth_date=date(1960, 5, 1),
        sex="F",
        weight_kg=None,
        hospitalised=True,
        sars_cov_2_confirmed=True,
        pneumonia="severe",
        pao2_mmhg=Decimal("80"),
        fio2=Decimal("1.5"),
        respiratory_support="none",
        supar_ng_ml=Decimal("7"),
    )

    with pytest.raises(InvalidInput) as refused:
        evaluate_assessment(subject)
    assert list(refused.value.errors) == ["fio2"]


def test_the_page_submits_the_confirmation_of_a_medicine_row(demo):
    from tests.browser_support import prescription_fields

    client = page_client(demo, "prescriber.milano")
    refused = client.post(
        reverse("prescriptions:new"), prescription_fields(**{"med-1-name": "Zyxolumab", "med-1-ongoing": "on"})
    )
    assert refused.status_code in (200, 302)
    assert Prescription.objects.get().status == PrescriptionStatus.REJECTED

    Prescription.objects.all().delete()
    fields = prescription_fields(
        **{"med-1-name": "Zyxolumab", "med-1-ongoing": "on", "med-1-confirmed_not_il_jak": "on"}
    )
    client.post(reverse("prescriptions:new"), fields)
    prescription = Prescription.objects.get()
    assert prescription.status == PrescriptionStatus.AWAITING_DISPENSING
    assert prescription.assessment["concomitant_medications"][1]["confirmed_not_il_jak"] is True


def test_the_audit_records_the_confirmation_and_the_regimen(demo):
    from registry.models import AuditEvent

    unknown = [{"name": "Zyxolumab", "ongoing": True, "confirmed_not_il_jak": True}]
    prescription = f.submit(
        demo["prescriber.milano"], assessment=f.eligible_assessment(concomitant_medications=unknown, **RENAL)
    )

    event = AuditEvent.objects.get(action="prescription.submit", object_id=str(prescription.pk))
    assert event.changes["confirmed_not_il_jak"] == ["Zyxolumab"]
    assert event.changes["dose_interval_hours"] == 48


def test_doses_due_every_48_h_only_on_scheduled_days(demo):
    from prescriptions import selectors

    prescription = f.submit(
        demo["prescriber.milano"], prescribed_at=f.days_ago(3, 6), assessment=f.eligible_assessment(**RENAL)
    )
    f.dispense(demo["pharmacist.milano"], prescription, syringes=5)
    f.administer(demo["nurse.milano"], prescription, f.days_ago(3))

    def due(days_ago):
        return prescription in set(
            selectors.doses_due(user=demo["nurse.milano"], day=f.today() - timedelta(days=days_ago))
        )

    assert (due(2), due(1), due(0)) == (False, True, False)
