"""A dose or a dispensation entered in error is flagged, never deleted, and the course is recounted."""

from registry.audit import verify_chains
from registry.models import AuditEvent

from .factories import days_ago, dispense, prescription_at

URL = "/api/v1/prescriptions/{}/entered-in-error/"


def test_a_dose_in_error_gives_back_its_syringe_and_reopens_a_completed_course(demo, client_for):
    prescription = prescription_at(demo, "completed")
    last = prescription.administrations.order_by("-administered_on").first()

    response = client_for("nurse.milano").post(
        URL.format(prescription.pk),
        {"kind": "administration", "record": str(last.pk), "reason": "recorded on the wrong patient"},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "in_course"
    assert body["doses_administered"] == 9
    flagged = [a for a in body["administrations"] if a["id"] == str(last.pk)]
    assert flagged[0]["entered_in_error"] is True
    event = AuditEvent.objects.filter(object_id=str(prescription.pk)).order_by("-sequence").first()
    assert event.action == "prescription.administration_entered_in_error"
    assert event.changes["status"] == ["completed", "in_course"]
    assert next(verify_chains(), None) is None


def test_the_same_day_can_be_recorded_again_after_its_dose_was_in_error(demo, client_for):
    prescription = prescription_at(demo, "in_course", prescribed_days_ago=5, dose_days_ago=[5, 4])
    wrong = prescription.administrations.order_by("administered_on").last()
    nurse = client_for("nurse.milano")
    nurse.post(
        URL.format(prescription.pk),
        {"kind": "administration", "record": str(wrong.pk), "reason": "dose was 50 mg, not 100"},
        format="json",
    )

    again = nurse.post(
        f"/api/v1/prescriptions/{prescription.pk}/administrations/",
        {"administered_at": days_ago(4, 13).isoformat(), "dose_mg": 50, "route": "SC"},
        format="json",
    )

    assert again.status_code == 201, again.content
    assert again.json()["protocol_deviation"] is True


def test_correcting_the_first_dose_moves_day_one(demo, client_for):
    prescription = prescription_at(demo, "in_course", prescribed_days_ago=6, dose_days_ago=[6, 5, 4])
    first = prescription.administrations.order_by("administered_on").first()
    response = client_for("prescriber.milano").post(
        URL.format(prescription.pk),
        {"kind": "administration", "record": str(first.pk), "reason": "never given"},
        format="json",
    )
    standing = [a for a in response.json()["administrations"] if not a["entered_in_error"]]
    assert sorted(a["course_day"] for a in standing) == [1, 2]
    assert response.json()["first_dose_on"] == days_ago(5).date().isoformat()


def test_a_pharmacist_withdraws_an_unused_dispensation(demo, client_for):
    prescription = prescription_at(demo, "dispensed", syringes=4)
    extra = dispense(demo["pharmacist.milano"], prescription, 6, lot="LOT-WRONG")

    response = client_for("pharmacist.milano").post(
        URL.format(prescription.pk),
        {"kind": "dispensation", "record": str(extra.pk), "reason": "wrong lot scanned"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["syringes_dispensed"] == 4
    assert response.json()["status"] == "dispensed"


def test_syringes_already_injected_cannot_be_withdrawn(demo, client_for):
    prescription = prescription_at(demo, "in_course")
    dispensation = prescription.dispensations.get()

    response = client_for("pharmacist.milano").post(
        URL.format(prescription.pk),
        {"kind": "dispensation", "record": str(dispensation.pk), "reason": "oops"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "SYRINGES_ALREADY_USED"
    prescription.refresh_from_db()
    assert prescription.syringes_dispensed == 10


def test_a_nurse_cannot_withdraw_a_dispensation_nor_a_pharmacist_a_dose(demo, client_for):
    prescription = prescription_at(demo, "in_course")
    dose = prescription.administrations.first()
    dispensation = prescription.dispensations.get()
    nurse = client_for("nurse.milano").post(
        URL.format(prescription.pk),
        {"kind": "dispensation", "record": str(dispensation.pk), "reason": "x"},
        format="json",
    )
    pharmacist = client_for("pharmacist.milano").post(
        URL.format(prescription.pk), {"kind": "administration", "record": str(dose.pk), "reason": "x"}, format="json"
    )
    assert nurse.status_code == 403
    assert pharmacist.status_code == 403


def test_every_48_h_correcting_the_first_dose_moves_the_schedule_and_its_deviations(demo, client_for):
    from .factories import eligible_assessment

    renal = {
        "creatinine_clearance_ml_min": 25,
        "regimen": {"dose_mg": 100, "route": "SC", "interval_hours": 48, "duration_days": 10},
    }
    prescription = prescription_at(
        demo,
        "in_course",
        prescribed_days_ago=6,
        dose_days_ago=[6, 5],
        syringes=5,
        assessment=eligible_assessment(**renal),
    )
    first, second = prescription.administrations.order_by("administered_on")
    assert (first.protocol_deviation, second.protocol_deviation) == (False, True)  # day 2 is off the schedule

    response = client_for("prescriber.milano").post(
        URL.format(prescription.pk),
        {"kind": "administration", "record": str(first.pk), "reason": "never given"},
        format="json",
    )

    (standing,) = [a for a in response.json()["administrations"] if not a["entered_in_error"]]
    assert (standing["course_day"], standing["protocol_deviation"]) == (1, False)
