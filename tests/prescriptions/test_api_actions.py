"""Actions on a prescription (docs/api.md, "Actions on a prescription"): every action, every role, every rule."""

from datetime import UTC, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.utils import timezone

from prescriptions.models import (
    Administration,
    AdverseEvent,
    ConcomitantMedicationRecord,
    Dispensation,
    LabResult,
    Outcome,
    Prescription,
    PrescriptionStatus,
)
from registry.models import AuditEvent

from . import factories as f

USERS = [
    "prescriber.milano",
    "prescriber.roma",
    "prescriber.expired",
    "pharmacist.milano",
    "pharmacist.roma",
    "nurse.milano",
    "officer.lombardia",
    "officer.lazio",
    "aifa",
    "admin",
]
# Who cannot see a Milano prescription at all: 404, never 403 (docs/api.md: never reveal it exists).
# prescriber.expired sees no centre today, so Milano's prescriptions are outside their scope.
OUT_OF_SCOPE = {"prescriber.roma", "prescriber.expired", "pharmacist.roma", "officer.lazio", "aifa"}


def url(prescription, action: str) -> str:
    return f"/api/v1/prescriptions/{prescription.pk}/{action}/"


def events_on(prescription) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="prescriptions.prescription", object_id=str(prescription.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )


@pytest.fixture
def act(client_for):
    def post(username, prescription, action, body):
        return client_for(username).post(url(prescription, action), body, format="json")

    return post


def now_iso(minutes_ago: int = 1) -> str:
    return (timezone.now() - timedelta(minutes=minutes_ago)).isoformat()


def dispensation_body(**changes):
    body = {"syringes": 3, "lot_number": "AB123-4", "expiry_date": (f.today() + timedelta(days=200)).isoformat()}
    body.update(changes)
    return body


def administration_body(at=None, **changes):
    body = {"administered_at": at.isoformat() if at else now_iso(), "dose_mg": 100, "route": "SC"}
    body.update(changes)
    return body


def adverse_event_body(**changes):
    body = {
        "category": "injection_site_reaction",
        "serious": False,
        "onset_date": (f.today() - timedelta(days=1)).isoformat(),
        "description": "Erythema at the injection site.",
        "reported_to_pharmacovigilance": True,
    }
    body.update(changes)
    return body


def lab_body(test="anc", value="3.0", **changes):
    body = {"test": test, "value": value, "collected_at": now_iso(30)}
    body.update(changes)
    return body


def outcome_body(day=14, who_cps=4, assessed_on=None):
    return {"day": day, "who_cps": who_cps, "assessed_on": (assessed_on or f.today()).isoformat()}


def comedication_body(**changes):
    body = {"name": "Clexane", "started_on": f.today().isoformat(), "dose": "4000 UI once a day"}
    body.update(changes)
    return body


# --- Every action × every role ----------------------------------------------------------------

# action path: (stage it is tried on, body, who may, success status, audit action, records it adds)
MATRIX = {
    "dispensations": (
        "awaiting_dispensing",
        dispensation_body,
        {"pharmacist.milano", "admin"},
        201,
        "prescription.dispense",
        Dispensation,
    ),
    "refusal": (
        "awaiting_dispensing",
        lambda: {"category": "not_reimbursable", "note": "Outside the listing's indication."},
        {"pharmacist.milano", "admin"},
        200,
        "prescription.refuse_dispensing",
        None,
    ),
    "hold": (
        "awaiting_dispensing",
        lambda: {"reason": "out_of_stock", "expected_on": (f.today() + timedelta(days=2)).isoformat()},
        {"pharmacist.milano", "admin"},
        200,
        "prescription.hold",
        None,
    ),
    "administrations": (
        "dispensed",
        administration_body,
        {"nurse.milano", "prescriber.milano", "admin"},
        201,
        "prescription.administer",
        Administration,
    ),
    "stop": (
        "in_course",
        lambda: {"reason": "discharge"},
        {"prescriber.milano", "admin"},
        200,
        "prescription.stop",
        None,
    ),
    "adverse-events": (
        "in_course",
        adverse_event_body,
        {"prescriber.milano", "nurse.milano", "admin"},
        201,
        "prescription.adverse_event",
        AdverseEvent,
    ),
    "lab-results": (
        "in_course",
        lab_body,
        {"prescriber.milano", "nurse.milano", "admin"},
        201,
        "prescription.lab_result",
        LabResult,
    ),
    "outcomes": (
        "completed",
        outcome_body,
        {"prescriber.milano", "admin"},
        201,
        "prescription.outcome",
        Outcome,
    ),
    "concomitant-medications": (
        "in_course",
        comedication_body,
        {"prescriber.milano", "nurse.milano", "admin"},
        201,
        "prescription.concomitant_medication",
        ConcomitantMedicationRecord,
    ),
}


@pytest.mark.parametrize("username", USERS)
@pytest.mark.parametrize("action", MATRIX)
def test_every_action_by_every_role(demo, act, action, username):
    stage, body, allowed, success, audit_action, model = MATRIX[action]
    prescription = f.prescription_at(demo, stage)
    before = events_on(prescription)
    records_before = model.objects.count() if model else 0
    status_before = prescription.status

    response = act(username, prescription, action, body())

    if username in allowed:
        assert response.status_code == success, response.json()
        assert events_on(prescription) == [*before, audit_action]
        if model:
            assert model.objects.count() == records_before + 1
    else:
        expected = 404 if username in OUT_OF_SCOPE else 403
        assert response.status_code == expected, (response.status_code, response.content)
        if expected == 403:
            assert response.json()["detail"]
        assert events_on(prescription) == before
        if model:
            assert model.objects.count() == records_before
        prescription.refresh_from_db()
        assert prescription.status == status_before


@pytest.mark.parametrize("username", USERS)
def test_entered_in_error_by_every_role(demo, act, username):
    prescription = f.prescription_at(demo, "in_course")
    result = f.services.lab_result_record(
        user=demo["nurse.milano"],
        prescription=prescription,
        test="anc",
        value=Decimal("0.9"),
        upper_limit_normal=None,
        collected_at=timezone.now() - timedelta(hours=1),
    )
    before = events_on(prescription)

    response = act(
        username,
        prescription,
        "entered-in-error",
        {"kind": "lab_result", "record": str(result.pk), "reason": "Another patient's sample."},
    )

    result.refresh_from_db()
    if username in {"prescriber.milano", "nurse.milano", "admin"}:
        assert response.status_code == 200, response.json()
        assert result.in_error
        assert events_on(prescription) == [*before, "prescription.lab_result_entered_in_error"]
    else:
        assert response.status_code == (404 if username in OUT_OF_SCOPE else 403)
        assert not result.in_error
        assert events_on(prescription) == before


def test_an_unknown_prescription_is_a_404_for_every_action(client_for, demo):
    client = client_for("admin")
    for action in [*MATRIX, "entered-in-error"]:
        response = client.post(f"/api/v1/prescriptions/{uuid4()}/{action}/", {}, format="json")
        assert response.status_code == 404, action


@pytest.mark.parametrize("action", [*MATRIX, "entered-in-error"])
def test_a_body_that_is_not_an_object_is_a_400(client_for, demo, action):
    prescription = f.prescription_at(demo, "in_course")
    users = {"dispensations": "pharmacist.milano", "refusal": "pharmacist.milano", "hold": "pharmacist.milano"}
    client = client_for(users.get(action, "prescriber.milano"))
    before = events_on(prescription)

    for raw in ["not json", "{", "[1]", "null", '"text"', "7"]:
        response = client.post(url(prescription, action), raw, content_type="application/json")
        assert response.status_code == 400, (raw, response.content)
        assert response.json()

    assert events_on(prescription) == before


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("administrations", administration_body(administered_at="0001-01-01T00:00:00"), "administered_at"),
        ("stop", {"reason": "other", "stopped_at": "0001-01-01T00:00:00"}, "stopped_at"),
        ("lab-results", lab_body(collected_at="0001-01-01T00:00:00"), "collected_at"),
        ("lab-results", lab_body(collected_at="9999-12-31T23:59:59-05:00"), "collected_at"),
    ],
)
def test_a_moment_off_the_calendar_is_a_400_not_a_500(demo, act, action, body, field):
    prescription = f.prescription_at(demo, "in_course")

    response = act("prescriber.milano", prescription, action, body)

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("username", ["officer.lombardia"])
def test_entered_in_error_refuses_the_role_before_reading_the_body(demo, act, username):
    prescription = f.prescription_at(demo, "in_course")

    assert act(username, prescription, "entered-in-error", {"kind": "nonsense"}).status_code == 403


def test_a_pharmacist_corrects_only_dispensations(demo, act):
    prescription = f.prescription_at(demo, "in_course")
    result = act("nurse.milano", prescription, "lab-results", lab_body("anc", "0.8")).json()

    response = act(
        "pharmacist.milano",
        prescription,
        "entered-in-error",
        {"kind": "lab_result", "record": result["id"], "reason": "x"},
    )

    assert response.status_code == 403
    assert not LabResult.objects.get(pk=result["id"]).in_error


# --- Dispensations ------------------------------------------------------------------------------


def test_dispensing_moves_the_prescription_to_dispensed(demo, act):
    prescription = f.prescription_at(demo, "awaiting_dispensing")

    response = act("pharmacist.milano", prescription, "dispensations", dispensation_body(syringes=7))

    assert response.status_code == 201, response.json()
    assert response.json()["syringes"] == 7
    assert response.json()["lot_number"] == "AB123-4"
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.DISPENSED
    assert prescription.syringes_dispensed == 7


def test_at_most_ten_syringes_in_all(demo, act):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    pharmacist = "pharmacist.milano"

    assert act(pharmacist, prescription, "dispensations", dispensation_body(syringes=6)).status_code == 201
    over = act(pharmacist, prescription, "dispensations", dispensation_body(syringes=5))
    assert over.status_code == 409
    assert over.json()["code"] == "OVER_QUANTITY"
    assert over.json()["detail"]
    assert act(pharmacist, prescription, "dispensations", dispensation_body(syringes=4)).status_code == 201
    again = act(pharmacist, prescription, "dispensations", dispensation_body(syringes=1))
    assert again.status_code == 409
    assert again.json()["code"] == "OVER_QUANTITY"

    prescription.refresh_from_db()
    assert prescription.syringes_dispensed == 10
    assert sum(prescription.dispensations.values_list("syringes", flat=True)) == 10
    assert events_on(prescription).count("prescription.dispense") == 2


def test_syringes_may_be_dispensed_again_during_the_course(demo, act):
    prescription = f.prescription_at(demo, "in_course", syringes=3)

    response = act("pharmacist.milano", prescription, "dispensations", dispensation_body(syringes=7))

    assert response.status_code == 201
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.IN_COURSE
    assert prescription.syringes_dispensed == 10


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"syringes": 0}, "syringes"),
        ({"syringes": 11}, "syringes"),
        ({"syringes": -1}, "syringes"),
        ({"syringes": "three"}, "syringes"),
        ({"syringes": None}, "syringes"),
        ({"lot_number": ""}, "lot_number"),
        ({"lot_number": "<script>"}, "lot_number"),
        ({"expiry_date": "2030-02-30"}, "expiry_date"),
        ({"expiry_date": (f.today() - timedelta(days=400)).isoformat()}, "expiry_date"),
    ],
)
def test_a_bad_dispensation_is_a_400(demo, act, changes, field):
    prescription = f.prescription_at(demo, "awaiting_dispensing")

    response = act("pharmacist.milano", prescription, "dispensations", dispensation_body(**changes))

    assert response.status_code == 400
    assert field in response.json()
    assert not Dispensation.objects.exists()


def test_an_expired_lot_is_a_400_but_one_expiring_today_is_not(demo, act):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    yesterday = (f.today() - timedelta(days=1)).isoformat()

    expired = act("pharmacist.milano", prescription, "dispensations", dispensation_body(expiry_date=yesterday))
    assert expired.status_code == 400
    assert "expiry_date" in expired.json()

    today = f.today().isoformat()
    assert (
        act("pharmacist.milano", prescription, "dispensations", dispensation_body(expiry_date=today)).status_code == 201
    )


def test_a_missing_field_is_a_400(demo, act):
    prescription = f.prescription_at(demo, "awaiting_dispensing")

    response = act("pharmacist.milano", prescription, "dispensations", {"syringes": 3})

    assert response.status_code == 400
    assert {"lot_number", "expiry_date"} <= set(response.json())


@pytest.mark.parametrize("stage", ["rejected", "completed", "stopped", "cancelled"])
def test_dispensing_in_the_wrong_status_is_a_409(demo, act, stage):
    prescription = f.prescription_at(demo, stage, syringes=5 if stage == "stopped" else 10)

    response = act("pharmacist.milano", prescription, "dispensations", dispensation_body(syringes=1))

    assert response.status_code == 409
    assert response.json()["code"]
    prescription.refresh_from_db()
    assert prescription.status == stage


def test_the_pharmacist_of_another_region_gets_a_404(demo, act):
    prescription = f.prescription_at(demo, "awaiting_dispensing")

    response = act("pharmacist.roma", prescription, "dispensations", dispensation_body())

    assert response.status_code == 404


# --- Refusal ------------------------------------------------------------------------------------


def test_refusing_cancels_with_the_reason(demo, act, client_for):
    """The older body, a free-text reason alone, still refuses: as category ``other``."""
    code = f.fiscal_code()
    prescription = f.prescription_at(demo, "awaiting_dispensing", code=code)

    response = act("pharmacist.milano", prescription, "refusal", {"reason": "Kineret out of stock."})

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    assert response.json()["dispensing_refusal_reason"] == "Kineret out of stock."
    assert response.json()["refusal"]["category"] == "other"
    assert response.json()["refusal"]["note"] == "Kineret out of stock."
    # The patient may be prescribed a new course.
    body = f.submission_body(code=code)
    assert client_for("prescriber.milano").post("/api/v1/prescriptions/", body, format="json").status_code == 201


@pytest.mark.parametrize("category", ["clinical_objection", "incomplete_documentation", "not_reimbursable"])
def test_a_refusal_with_a_category_cancels_and_records_it(demo, act, category):
    prescription = f.prescription_at(demo, "awaiting_dispensing")

    response = act("pharmacist.milano", prescription, "refusal", {"category": category})

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    assert response.json()["refusal"]["category"] == category
    assert response.json()["hold"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "category"),
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"category": "other"}, "note"),
        ({"category": "other", "note": "  "}, "note"),
        ({"category": "out_of_stock", "note": "x"}, "category"),
    ],
)
def test_a_refusal_needs_a_category_and_a_note_for_other(demo, act, body, field):
    prescription = f.prescription_at(demo, "awaiting_dispensing")

    response = act("pharmacist.milano", prescription, "refusal", body)

    assert response.status_code == 400
    assert field in response.json()
    prescription.refresh_from_db()
    assert prescription.status == "awaiting_dispensing"


@pytest.mark.parametrize("stage", ["dispensed", "rejected", "cancelled"])
def test_only_a_prescription_awaiting_dispensing_may_be_refused(demo, act, stage):
    prescription = f.prescription_at(demo, stage)

    response = act("pharmacist.milano", prescription, "refusal", {"reason": "No."})

    assert response.status_code == 409
    prescription.refresh_from_db()
    assert prescription.status == stage


# --- Administrations ----------------------------------------------------------------------------


def test_a_dose_starts_the_course(demo, act):
    prescription = f.prescription_at(demo, "dispensed")

    response = act("nurse.milano", prescription, "administrations", administration_body(f.days_ago(28)))

    assert response.status_code == 201, response.json()
    assert response.json()["course_day"] == 1
    assert response.json()["protocol_deviation"] is False
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.IN_COURSE
    assert prescription.doses_administered == 1
    assert prescription.first_dose_on == f.today() - timedelta(days=28)


def test_a_dose_before_the_prescription_is_a_400(demo, act):
    prescription = f.prescription_at(demo, "dispensed", prescribed_days_ago=5)
    before = prescription.prescribed_at - timedelta(minutes=1)

    response = act("nurse.milano", prescription, "administrations", administration_body(before))

    assert response.status_code == 400
    assert "administered_at" in response.json()
    assert not Administration.objects.exists()


def test_a_dose_in_the_future_is_a_400(demo, act):
    prescription = f.prescription_at(demo, "dispensed")
    later = timezone.now() + timedelta(hours=1)

    response = act("nurse.milano", prescription, "administrations", administration_body(later))

    assert response.status_code == 400
    assert "administered_at" in response.json()


def test_no_dose_past_the_syringes_dispensed(demo, act):
    prescription = f.prescription_at(demo, "dispensed", syringes=2)
    nurse = "nurse.milano"

    assert act(nurse, prescription, "administrations", administration_body(f.days_ago(28))).status_code == 201
    assert act(nurse, prescription, "administrations", administration_body(f.days_ago(27))).status_code == 201
    third = act(nurse, prescription, "administrations", administration_body(f.days_ago(26)))

    assert third.status_code == 409
    assert third.json()["code"] == "NO_SYRINGE_LEFT"
    prescription.refresh_from_db()
    assert prescription.doses_administered == 2


def test_no_dose_before_any_syringe_is_dispensed(demo, act):
    prescription = f.prescription_at(demo, "awaiting_dispensing")

    response = act("nurse.milano", prescription, "administrations", administration_body())

    assert response.status_code == 409
    assert response.json()["code"] == "NO_SYRINGE_LEFT"


def test_one_dose_a_rome_day(demo, act):
    prescription = f.prescription_at(demo, "dispensed")
    nurse = "nurse.milano"

    assert act(nurse, prescription, "administrations", administration_body(f.days_ago(28, 8))).status_code == 201
    again = act(nurse, prescription, "administrations", administration_body(f.days_ago(28, 20)))

    assert again.status_code == 409
    assert again.json()["code"] == "DOSE_ALREADY_GIVEN_TODAY"
    assert Administration.objects.count() == 1


def test_2330_and_0030_rome_time_are_two_days(demo, act):
    prescription = f.prescription_at(demo, "dispensed")
    late = f.days_ago(28, 23, 30)
    early = f.days_ago(27, 0, 30)
    # Sent in UTC: both fall on the same UTC date, yet on two Rome days.
    assert late.astimezone(UTC).date() == early.astimezone(UTC).date()

    first = act("nurse.milano", prescription, "administrations", administration_body(late.astimezone(UTC)))
    second = act("nurse.milano", prescription, "administrations", administration_body(early.astimezone(UTC)))

    assert first.status_code == 201, first.json()
    assert second.status_code == 201, second.json()
    assert [first.json()["course_day"], second.json()["course_day"]] == [1, 2]
    days = list(Administration.objects.order_by("administered_at").values_list("administered_on", flat=True))
    assert days == [late.date(), early.date()]


def test_two_utc_dates_may_be_one_rome_day(demo, act):
    prescription = f.prescription_at(demo, "dispensed")
    early = f.days_ago(27, 0, 30).astimezone(UTC)  # still the day before, in UTC
    late = f.days_ago(27, 23, 30).astimezone(UTC)
    assert early.date() != late.date()

    assert act("nurse.milano", prescription, "administrations", administration_body(early)).status_code == 201
    second = act("nurse.milano", prescription, "administrations", administration_body(late))

    assert second.status_code == 409
    assert second.json()["code"] == "DOSE_ALREADY_GIVEN_TODAY"


def test_the_tenth_dose_completes_and_an_eleventh_is_refused(demo, act, client_for):
    prescription = f.prescription_at(demo, "dispensed")
    for n, days in enumerate(range(28, 18, -1), start=1):
        response = act("nurse.milano", prescription, "administrations", administration_body(f.days_ago(days)))
        assert response.status_code == 201, (n, response.json())
        assert response.json()["course_day"] == n
        assert response.json()["prescription_status"] == ("completed" if n == 10 else "in_course")

    eleventh = act("nurse.milano", prescription, "administrations", administration_body(f.days_ago(18)))

    assert eleventh.status_code == 409
    assert eleventh.json()["code"] == "COURSE_COMPLETE"
    detail = client_for("nurse.milano").get(f"/api/v1/prescriptions/{prescription.pk}/").json()
    assert detail["status"] == "completed"
    assert detail["doses_administered"] == 10
    assert not [a for a in detail["alerts"] if a["code"] == "MISSED_DOSE"]


@pytest.mark.parametrize(("dose_mg", "route"), [(50, "SC"), (100, "IV"), ("100.5", "SC"), (200, "IM")])
def test_a_dose_off_protocol_is_kept_and_flagged(demo, act, client_for, dose_mg, route):
    prescription = f.prescription_at(demo, "dispensed")

    response = act(
        "nurse.milano",
        prescription,
        "administrations",
        administration_body(f.days_ago(28), dose_mg=dose_mg, route=route),
    )

    assert response.status_code == 201, response.json()
    assert response.json()["protocol_deviation"] is True
    assert Administration.objects.get().protocol_deviation
    alerts = client_for("prescriber.milano").get(f"/api/v1/prescriptions/{prescription.pk}/").json()["alerts"]
    deviations = [a for a in alerts if a["code"] == "PROTOCOL_DEVIATION"]
    assert len(deviations) == 1
    assert deviations[0]["on"] == (f.today() - timedelta(days=28)).isoformat()


def test_a_standard_dose_written_with_decimals_is_no_deviation(demo, act):
    prescription = f.prescription_at(demo, "dispensed")

    response = act(
        "nurse.milano", prescription, "administrations", administration_body(f.days_ago(28), dose_mg="100.0")
    )

    assert response.status_code == 201
    assert response.json()["protocol_deviation"] is False


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"route": "oral"}, "route"),
        ({"dose_mg": "a lot"}, "dose_mg"),
        ({"dose_mg": 0}, "dose_mg"),
        ({"administered_at": "yesterday"}, "administered_at"),
        ({"administered_at": None}, "administered_at"),
    ],
)
def test_a_bad_administration_is_a_400(demo, act, changes, field):
    prescription = f.prescription_at(demo, "dispensed")

    response = act("nurse.milano", prescription, "administrations", administration_body(**changes))

    assert response.status_code == 400
    assert field in response.json()


def test_a_missed_day_may_be_filled_in_but_not_before_day_one(demo, act):
    prescription = f.prescription_at(demo, "dispensed")
    nurse = "nurse.milano"
    assert act(nurse, prescription, "administrations", administration_body(f.days_ago(27))).status_code == 201
    assert act(nurse, prescription, "administrations", administration_body(f.days_ago(25))).status_code == 201

    filled = act(nurse, prescription, "administrations", administration_body(f.days_ago(26)))
    before_day_one = act(nurse, prescription, "administrations", administration_body(f.days_ago(28)))

    assert filled.status_code == 201
    assert filled.json()["course_day"] == 2
    assert before_day_one.status_code == 400
    assert "administered_at" in before_day_one.json()


@pytest.mark.parametrize("stage", ["rejected", "stopped", "cancelled"])
def test_no_dose_on_an_ended_or_rejected_prescription(demo, act, stage):
    prescription = f.prescription_at(demo, stage)

    response = act("nurse.milano", prescription, "administrations", administration_body())

    assert response.status_code == 409


# --- Stop -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["awaiting_dispensing", "dispensed"])
def test_a_stop_before_any_dose_cancels(demo, act, stage):
    prescription = f.prescription_at(demo, stage)

    response = act("prescriber.milano", prescription, "stop", {"reason": "patient_refusal", "note": "Declined."})

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    assert response.json()["stop_reason"] == "patient_refusal"
    assert response.json()["stop_note"] == "Declined."


def test_a_stop_after_a_dose_stops(demo, act):
    prescription = f.prescription_at(demo, "in_course", dose_days_ago=[29, 28])
    stopped_at = f.days_ago(27, 9)

    response = act(
        "prescriber.milano",
        prescription,
        "stop",
        {"reason": "clinical_worsening", "stopped_at": stopped_at.isoformat()},
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "stopped"
    prescription.refresh_from_db()
    assert prescription.stopped_at == stopped_at
    assert prescription.stopped_by == demo["prescriber.milano"]


def test_stopped_at_defaults_to_now(demo, act):
    prescription = f.prescription_at(demo, "in_course")
    before = timezone.now()

    assert act("prescriber.milano", prescription, "stop", {"reason": "death"}).status_code == 200

    prescription.refresh_from_db()
    assert before <= prescription.stopped_at <= timezone.now()


@pytest.mark.parametrize(
    ("stopped_at", "field"),
    [
        (lambda: timezone.now() + timedelta(hours=1), "stopped_at"),
        (lambda: f.days_ago(27, 11), "stopped_at"),  # the last dose was at 12:00 that day
        (lambda: f.days_ago(30), "stopped_at"),
        (lambda: "soon", "stopped_at"),
    ],
    ids=["future", "before-last-dose", "before-prescription", "garbage"],
)
def test_a_bad_stopped_at_is_a_400(demo, act, stopped_at, field):
    prescription = f.prescription_at(demo, "in_course")  # doses at 12:00, 29, 28 and 27 days ago
    moment = stopped_at()

    response = act(
        "prescriber.milano",
        prescription,
        "stop",
        {"reason": "other", "stopped_at": moment if isinstance(moment, str) else moment.isoformat()},
    )

    assert response.status_code == 400
    assert field in response.json()
    prescription.refresh_from_db()
    assert prescription.status == "in_course"


@pytest.mark.parametrize("body", [{}, {"reason": "boredom"}, {"reason": None}])
def test_a_stop_needs_a_known_reason(demo, act, body):
    prescription = f.prescription_at(demo, "in_course")

    response = act("prescriber.milano", prescription, "stop", body)

    assert response.status_code == 400
    assert "reason" in response.json()


@pytest.mark.parametrize("stage", ["completed", "stopped", "cancelled", "rejected"])
def test_an_ended_course_cannot_be_stopped(demo, act, stage):
    prescription = f.prescription_at(demo, stage)

    response = act("prescriber.milano", prescription, "stop", {"reason": "other"})

    assert response.status_code == 409
    assert response.json()["code"]
    prescription.refresh_from_db()
    assert prescription.status == stage


# --- Adverse events -----------------------------------------------------------------------------


def test_every_category_is_recorded(demo, act, client_for):
    prescription = f.prescription_at(demo, "in_course")
    categories = ["neutropenia", "serious_infection", "hepatic", "injection_site_reaction", "hypersensitivity", "other"]

    for category in categories:
        response = act(
            "nurse.milano", prescription, "adverse-events", adverse_event_body(category=category, serious=True)
        )
        assert response.status_code == 201, response.json()
        assert response.json()["category"] == category

    detail = client_for("officer.lombardia").get(f"/api/v1/prescriptions/{prescription.pk}/").json()
    assert [event["category"] for event in detail["adverse_events"]] == categories
    assert all(event["serious"] for event in detail["adverse_events"])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"category": "headache"}, "category"),
        ({"category": None}, "category"),
        ({"serious": "very"}, "serious"),
        ({"onset_date": "last week"}, "onset_date"),
        ({"onset_date": (f.today() + timedelta(days=3)).isoformat()}, "onset_date"),
        ({"onset_date": "2021-10-01"}, "onset_date"),  # before the prescription
        ({"description": ""}, "description"),
        ({"reported_to_pharmacovigilance": None}, "reported_to_pharmacovigilance"),
    ],
)
def test_a_bad_adverse_event_is_a_400(demo, act, changes, field):
    prescription = f.prescription_at(demo, "in_course")

    response = act("nurse.milano", prescription, "adverse-events", adverse_event_body(**changes))

    assert response.status_code == 400
    assert field in response.json()
    assert not AdverseEvent.objects.exists()


def test_no_adverse_event_on_a_rejected_request(demo, act):
    prescription = f.prescription_at(demo, "rejected")

    response = act("prescriber.milano", prescription, "adverse-events", adverse_event_body())

    assert response.status_code == 409


@pytest.mark.parametrize("stage", ["completed", "stopped", "cancelled"])
def test_adverse_events_are_recorded_after_the_course_too(demo, act, stage):
    prescription = f.prescription_at(demo, stage)

    assert act("prescriber.milano", prescription, "adverse-events", adverse_event_body()).status_code == 201


# --- Lab results ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "alerts"),
    [
        (lab_body("anc", "1.2"), ["NEUTROPENIA"]),
        (lab_body("anc", "1.499"), ["NEUTROPENIA"]),
        (lab_body("anc", "1.5"), []),
        (lab_body("alt", "130", upper_limit_normal="40"), ["HEPATIC"]),
        (lab_body("alt", "120", upper_limit_normal="40"), ["HEPATIC"]),  # exactly 3 × ULN
        (lab_body("alt", "100", upper_limit_normal="40"), []),
        (lab_body("ast", "150", upper_limit_normal="56"), []),
        (lab_body("ast", "170", upper_limit_normal="56"), ["HEPATIC"]),
        (lab_body("ast", "120"), ["HEPATIC"]),  # no ULN given: 40 U/L
    ],
)
def test_a_lab_result_answers_with_its_alerts(demo, act, body, alerts):
    prescription = f.prescription_at(demo, "in_course")

    response = act("nurse.milano", prescription, "lab-results", body)

    assert response.status_code == 201, response.json()
    assert [alert["code"] for alert in response.json()["alerts"]] == alerts
    for alert in response.json()["alerts"]:
        assert alert["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (lab_body("crp", "10"), "test"),
        (lab_body("anc", "-1"), "value"),
        (lab_body("anc", "lots"), "value"),
        (lab_body("anc", "1.2", upper_limit_normal="2"), "upper_limit_normal"),
        (lab_body("alt", "50", upper_limit_normal="0"), "upper_limit_normal"),
        (lab_body("alt", "50", collected_at="now"), "collected_at"),
        (lambda: lab_body("anc", "2", collected_at=(timezone.now() + timedelta(hours=2)).isoformat()), "collected_at"),
    ],
    ids=["unknown-test", "negative", "not-a-number", "uln-on-anc", "zero-uln", "bad-moment", "collected-in-the-future"],
)
def test_a_bad_lab_result_is_a_400(demo, act, body, field):
    prescription = f.prescription_at(demo, "in_course")

    response = act("nurse.milano", prescription, "lab-results", body() if callable(body) else body)

    assert response.status_code == 400
    assert field in response.json()
    assert not LabResult.objects.exists()


# --- Outcomes -------------------------------------------------------------------------------------


def test_outcomes_at_day_14_and_day_28(demo, act, client_for):
    prescription = f.prescription_at(demo, "completed")  # first dose 29 days ago
    day_14 = f.today() - timedelta(days=29 - 13)
    day_28 = f.today() - timedelta(days=29 - 27)

    first = act("prescriber.milano", prescription, "outcomes", outcome_body(14, 5, day_14))
    second = act("prescriber.milano", prescription, "outcomes", outcome_body(28, 10, day_28))

    assert first.status_code == 201, first.json()
    assert second.status_code == 201, second.json()
    assert second.json()["who_cps"] == 10
    detail = client_for("prescriber.milano").get(f"/api/v1/prescriptions/{prescription.pk}/").json()
    assert [(o["day"], o["who_cps"]) for o in detail["outcomes"]] == [(14, 5), (28, 10)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (lambda: outcome_body(7), "day"),
        (lambda: outcome_body(30), "day"),
        (lambda: outcome_body(14, 11), "who_cps"),
        (lambda: outcome_body(14, -1), "who_cps"),
        (lambda: outcome_body(14, "bad"), "who_cps"),
        (lambda: outcome_body(14, 3, f.today() - timedelta(days=17)), "assessed_on"),  # day 14 is 16 days ago
        (lambda: outcome_body(28, 3, f.today() - timedelta(days=3)), "assessed_on"),  # day 28 is 2 days ago
        (lambda: outcome_body(14, 3, f.today() + timedelta(days=1)), "assessed_on"),
        (lambda: {"day": 14, "who_cps": 3, "assessed_on": "today"}, "assessed_on"),
    ],
    ids=[
        "day-7",
        "day-30",
        "who-cps-11",
        "who-cps-negative",
        "who-cps-not-a-number",
        "before-day-14",
        "before-day-28",
        "in-the-future",
        "not-a-date",
    ],
)
def test_a_bad_outcome_is_a_400(demo, act, body, field):
    prescription = f.prescription_at(demo, "completed")

    response = act("prescriber.milano", prescription, "outcomes", body())

    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert not Outcome.objects.exists()


def test_an_outcome_on_its_day_is_accepted(demo, act):
    prescription = f.prescription_at(demo, "completed")

    response = act("prescriber.milano", prescription, "outcomes", outcome_body(14, 3, f.today() - timedelta(days=16)))

    assert response.status_code == 201, response.json()


def test_one_outcome_per_day(demo, act):
    prescription = f.prescription_at(demo, "completed")
    assert act("prescriber.milano", prescription, "outcomes", outcome_body(28, 2)).status_code == 201

    second = act("prescriber.milano", prescription, "outcomes", outcome_body(28, 4))

    assert second.status_code == 409
    assert second.json()["code"] == "OUTCOME_ALREADY_RECORDED"
    assert Outcome.objects.count() == 1


@pytest.mark.parametrize("stage", ["dispensed", "cancelled", "rejected", "awaiting_dispensing"])
def test_no_outcome_without_a_dose(demo, act, stage):
    prescription = f.prescription_at(demo, stage)

    response = act("prescriber.milano", prescription, "outcomes", outcome_body(14, 4))

    assert response.status_code == 409
    assert response.json()["code"] == "NO_DOSE_GIVEN"


def test_an_outcome_after_a_stop(demo, act):
    prescription = f.prescription_at(demo, "stopped")  # doses 29, 28 and 27 days ago

    response = act("prescriber.milano", prescription, "outcomes", outcome_body(28, 10))

    assert response.status_code == 201, response.json()


# --- Entered in error -----------------------------------------------------------------------------


def test_a_lab_result_in_error_stays_but_raises_no_alert(demo, act, client_for):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=3)
    wrong = act("nurse.milano", prescription, "lab-results", lab_body("anc", "0.8")).json()
    detail_url = f"/api/v1/prescriptions/{prescription.pk}/"
    assert "NEUTROPENIA" in [a["code"] for a in client_for("nurse.milano").get(detail_url).json()["alerts"]]

    response = act(
        "nurse.milano",
        prescription,
        "entered-in-error",
        {"kind": "lab_result", "record": wrong["id"], "reason": "Sample of another patient."},
    )

    assert response.status_code == 200, response.json()
    assert "NEUTROPENIA" not in [a["code"] for a in response.json()["alerts"]]
    (kept,) = response.json()["lab_results"]
    assert kept["id"] == wrong["id"]
    assert kept["entered_in_error"] is True
    assert kept["entered_in_error_reason"] == "Sample of another patient."
    assert LabResult.objects.filter(pk=wrong["id"]).exists()

    right = act("nurse.milano", prescription, "lab-results", lab_body("anc", "2.8"))
    assert right.status_code == 201
    assert len(client_for("nurse.milano").get(detail_url).json()["lab_results"]) == 2


def test_an_outcome_in_error_may_be_recorded_again(demo, act):
    prescription = f.prescription_at(demo, "completed")
    wrong = act("prescriber.milano", prescription, "outcomes", outcome_body(28, 9)).json()
    assert act("prescriber.milano", prescription, "outcomes", outcome_body(28, 3)).status_code == 409

    marked = act(
        "prescriber.milano",
        prescription,
        "entered-in-error",
        {"kind": "outcome", "record": wrong["id"], "reason": "Wrong patient."},
    )
    again = act("prescriber.milano", prescription, "outcomes", outcome_body(28, 3))

    assert marked.status_code == 200
    assert again.status_code == 201, again.json()
    assert Outcome.objects.filter(prescription=prescription).count() == 2
    assert Outcome.objects.get(pk=wrong["id"]).in_error


def test_a_nurse_may_not_mark_an_outcome_in_error(demo, act):
    prescription = f.prescription_at(demo, "completed")
    outcome = act("prescriber.milano", prescription, "outcomes", outcome_body(28, 9)).json()

    response = act(
        "nurse.milano", prescription, "entered-in-error", {"kind": "outcome", "record": outcome["id"], "reason": "x"}
    )

    assert response.status_code == 403
    assert not Outcome.objects.get(pk=outcome["id"]).in_error


def test_an_adverse_event_in_error(demo, act):
    prescription = f.prescription_at(demo, "in_course")
    event = act("nurse.milano", prescription, "adverse-events", adverse_event_body()).json()

    response = act(
        "nurse.milano",
        prescription,
        "entered-in-error",
        {"kind": "adverse_event", "record": event["id"], "reason": "Duplicate."},
    )

    assert response.status_code == 200
    assert response.json()["adverse_events"][0]["entered_in_error"] is True


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (lambda r: {"kind": "lab_result", "record": r, "reason": ""}, 400, "reason"),
        (lambda r: {"kind": "lab_result", "record": r, "reason": "   "}, 400, "reason"),
        (lambda r: {"kind": "vial", "record": r, "reason": "x"}, 400, "kind"),
        (lambda r: {"kind": "administration", "record": r, "reason": "x"}, 404, None),  # not a dose
        (lambda r: {"kind": "lab_result", "record": "nope", "reason": "x"}, 400, "record"),
        (lambda r: {"kind": "lab_result", "record": str(uuid4()), "reason": "x"}, 404, None),
        (lambda r: {"kind": "outcome", "record": r, "reason": "x"}, 404, None),  # not an outcome
    ],
    ids=[
        "empty-reason",
        "blank-reason",
        "unknown-kind",
        "not-a-dose",
        "bad-record-id",
        "unknown-record",
        "not-an-outcome",
    ],
)
def test_a_bad_entered_in_error_request(demo, act, body, status, field):
    prescription = f.prescription_at(demo, "in_course")
    result = act("nurse.milano", prescription, "lab-results", lab_body("anc", "0.8")).json()

    response = act("prescriber.milano", prescription, "entered-in-error", body(result["id"]))

    assert response.status_code == status
    if field:
        assert field in response.json()
    assert not LabResult.objects.get(pk=result["id"]).in_error


def test_a_record_is_marked_in_error_once_and_only_on_its_prescription(demo, act):
    prescription = f.prescription_at(demo, "in_course")
    other = f.prescription_at(demo, "in_course")
    result = act("nurse.milano", prescription, "lab-results", lab_body("anc", "0.8")).json()
    body = {"kind": "lab_result", "record": result["id"], "reason": "Wrong."}

    assert act("nurse.milano", other, "entered-in-error", body).status_code == 404
    assert act("nurse.milano", prescription, "entered-in-error", body).status_code == 200
    assert act("nurse.milano", prescription, "entered-in-error", body).status_code == 404


# --- What the detail offers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "stage", "expected"),
    [
        ("pharmacist.milano", "awaiting_dispensing", ["dispense", "hold", "refuse"]),
        ("nurse.milano", "awaiting_dispensing", ["adverse_event", "lab_result", "concomitant_medication"]),
        ("nurse.milano", "dispensed", ["administer", "adverse_event", "lab_result", "concomitant_medication"]),
        (
            "prescriber.milano",
            "in_course",
            ["administer", "stop", "adverse_event", "lab_result", "outcome", "concomitant_medication"],
        ),
        ("prescriber.milano", "rejected", []),
        ("officer.lombardia", "in_course", []),
        ("pharmacist.milano", "completed", []),
    ],
)
def test_allowed_actions_follow_role_and_status(demo, client_for, username, stage, expected):
    prescription = f.prescription_at(demo, stage, syringes=10 if stage == "completed" else 5)

    body = client_for(username).get(f"/api/v1/prescriptions/{prescription.pk}/").json()

    assert body["allowed_actions"] == expected


def test_the_prescription_row_keeps_its_counters_in_step(demo, act):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    act("pharmacist.milano", prescription, "dispensations", dispensation_body(syringes=4))
    for days in (28, 27, 26):
        act("nurse.milano", prescription, "administrations", administration_body(f.days_ago(days)))

    prescription = Prescription.objects.get(pk=prescription.pk)
    assert prescription.syringes_dispensed == sum(d.syringes for d in prescription.dispensations.all()) == 4
    assert prescription.doses_administered == prescription.administrations.count() == 3
    assert prescription.last_dose_on == f.today() - timedelta(days=26)
