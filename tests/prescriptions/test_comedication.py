"""Medicines started during the course (docs/api.md, "concomitant-medications"): recorded, classified by the
catalogue of the prescription's criteria version, and alerted when L.648 does not allow the co-administration."""

import re
from datetime import timedelta

import pytest

from prescriptions.models import ConcomitantMedicationRecord
from prescriptions.services import comedication_classify
from registry.models import AuditEvent

from . import factories as f


def post(client_for, prescription, body, username="nurse.milano"):
    return client_for(username).post(
        f"/api/v1/prescriptions/{prescription.pk}/concomitant-medications/",
        body,
        format="json",
        headers={"Accept-Language": "en"},  # messages read in English (the default language is Italian)
    )


def detail(client_for, prescription, username="prescriber.milano"):
    return client_for(username).get(f"/api/v1/prescriptions/{prescription.pk}/").json()


def body(name="", atc_code="", started_on=None, **more):
    return {"name": name, "atc_code": atc_code, "started_on": (started_on or f.today()).isoformat(), **more}


@pytest.fixture
def course(demo):
    return f.prescription_at(demo, "in_course")


@pytest.mark.parametrize(
    ("name", "atc_code", "drug_class"),
    [
        ("tocilizumab", "", "interleukin_inhibitor"),
        ("RoActemra 20 mg/ml", "", "interleukin_inhibitor"),
        ("", "L04AC07", "interleukin_inhibitor"),
        # A code in the interleukin inhibitors' ATC group that the catalogue names no substance for still blocks.
        ("", "L04AC99", "interleukin_inhibitor"),
        ("Olumiant", "", "jak_inhibitor"),
        ("baricitinib", "L04AA37", "jak_inhibitor"),  # its legacy code
        ("Jakavi", "", "jak_inhibitor"),
    ],
)
def test_an_il_or_jak_inhibitor_started_during_the_course_raises_the_blocking_alert(
    client_for, course, name, atc_code, drug_class
):
    response = post(client_for, course, body(name, atc_code, dose="8 mg/kg IV"))

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["classification"]["il_jak_inhibitor"] is True
    assert drug_class in data["classification"]["drug_classes"]
    assert [alert["code"] for alert in data["alerts"]] == ["COMEDICATION_IL_JAK"]
    assert "not allowed under L.648" in data["alerts"][0]["message"]
    shown = detail(client_for, course)
    assert "COMEDICATION_IL_JAK" in [alert["code"] for alert in shown["alerts"]]
    assert shown["concomitant_medications"][0]["dose"] == "8 mg/kg IV"


def test_the_record_and_its_classification_are_audited(client_for, course):
    response = post(client_for, course, body("Kevzara"))

    assert response.status_code == 201
    event = AuditEvent.objects.filter(object_id=str(course.pk)).order_by("-sequence").first()
    assert event.action == "prescription.concomitant_medication"
    assert event.changes["name"] == "Kevzara"
    assert event.changes["substances"] == ["sarilumab"]
    assert event.changes["il_jak_inhibitor"] is True


@pytest.mark.parametrize(("name", "atc_code"), [("Clexane", ""), ("dexamethasone", "H02AB02"), ("", "J05AB16")])
def test_a_harmless_known_medicine_is_recorded_without_alert(client_for, course, name, atc_code):
    response = post(client_for, course, body(name, atc_code))

    assert response.status_code == 201
    assert response.json()["classification"]["recognised"] is True
    assert response.json()["classification"]["il_jak_inhibitor"] is False
    assert response.json()["alerts"] == []
    assert not {"COMEDICATION_IL_JAK", "COMEDICATION_UNRECOGNISED"} & {
        a["code"] for a in detail(client_for, course)["alerts"]
    }


def test_an_unrecognised_medicine_asks_for_a_check_until_confirmed(client_for, course):
    unknown = post(client_for, course, body("Mysterimab"))
    confirmed = post(client_for, course, body("Otherol", confirmed_not_il_jak=True))

    assert unknown.status_code == confirmed.status_code == 201
    assert unknown.json()["classification"]["recognised"] is False
    assert [a["code"] for a in unknown.json()["alerts"]] == ["COMEDICATION_UNRECOGNISED"]
    assert confirmed.json()["alerts"] == []
    assert confirmed.json()["classification"]["confirmed_not_il_jak"] is True
    codes = [a["code"] for a in detail(client_for, course)["alerts"]]
    assert codes.count("COMEDICATION_UNRECOGNISED") == 1


def test_an_il_inhibitor_cannot_be_confirmed_as_something_else(client_for, course):
    response = post(client_for, course, body("tocilizumab", confirmed_not_il_jak=True))

    assert response.status_code == 400
    assert "confirmed_not_il_jak" in response.json()
    assert not ConcomitantMedicationRecord.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "", "atc_code": ""}, "name"),
        ({"started_on": (f.today() + timedelta(days=1)).isoformat()}, "started_on"),
        ({"started_on": (f.today() - timedelta(days=60)).isoformat()}, "started_on"),
        ({"started_on": "not a date"}, "started_on"),
        ({"atc_code": "tocilizumab"}, "atc_code"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client_for, course, changes, field):
    response = post(client_for, course, {**body("Clexane"), **changes})

    assert response.status_code == 400
    assert field in response.json()
    assert not ConcomitantMedicationRecord.objects.exists()


def test_the_alert_and_the_refusal_write_their_day_as_the_reader_does(client_for, demo, course):
    # Not ISO (the alert read "tocilizumab, started on 2026-12-08, …"): 08 Dec 2026 in English, as alerts write days.
    today = f.today()
    month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][today.month - 1]
    alert = post(client_for, course, body("tocilizumab")).json()["alerts"][0]["message"]
    assert alert.startswith(f"tocilizumab, started on {today.day:02d} {month} {today.year}, is an interleukin")

    completed = f.prescription_at(demo, "completed")
    refused = post(client_for, completed, body("tocilizumab", started_on=today - timedelta(days=10))).json()
    assert re.fullmatch(
        r"The course ended on \d{1,2} [A-Z][a-z]+ \d{4}: this medicine was not started during it\.",
        refused["started_on"][0],
    ), refused


def test_a_medicine_started_after_the_course_ended_was_not_started_during_it(client_for, demo):
    completed = f.prescription_at(demo, "completed")  # doses from 29 to 20 days ago

    after = post(client_for, completed, body("tocilizumab", started_on=f.today() - timedelta(days=10)))
    during = post(client_for, completed, body("tocilizumab", started_on=f.today() - timedelta(days=22)))

    assert after.status_code == 400 and "started_on" in after.json()
    assert during.status_code == 201
    # The course is over: nothing left to stop, so no alert; the record keeps its classification.
    assert "COMEDICATION_IL_JAK" not in [a["code"] for a in detail(client_for, completed)["alerts"]]
    assert detail(client_for, completed)["concomitant_medications"][0]["classification"]["il_jak_inhibitor"]


@pytest.mark.parametrize("stage", ["rejected", "cancelled"])
def test_no_course_no_co_medication(client_for, demo, stage):
    prescription = f.prescription_at(demo, stage)

    response = post(client_for, prescription, body("Clexane"), username="prescriber.milano")

    assert response.status_code == 409
    assert response.json()["code"] == "WRONG_STATUS"


def test_stopping_the_course_or_marking_the_record_in_error_clears_the_alert(client_for, demo, course):
    record_id = post(client_for, course, body("Xeljanz")).json()["id"]
    other = f.prescription_at(demo, "dispensed", prescribed_days_ago=2, fiscal_code=f.fiscal_code(serial=7))
    post(client_for, other, body("Xeljanz"))

    client_for("nurse.milano").post(
        f"/api/v1/prescriptions/{course.pk}/entered-in-error/",
        {"kind": "concomitant_medication", "record": record_id, "reason": "Another patient's chart."},
        format="json",
    )
    client_for("prescriber.milano").post(
        f"/api/v1/prescriptions/{other.pk}/stop/", {"reason": "other", "note": "JAK inhibitor needed"}, format="json"
    )

    assert "COMEDICATION_IL_JAK" not in [a["code"] for a in detail(client_for, course)["alerts"]]
    assert "COMEDICATION_IL_JAK" not in [a["code"] for a in detail(client_for, other)["alerts"]]
    assert detail(client_for, course)["concomitant_medications"][0]["entered_in_error"] is True


def test_the_classification_reads_the_prescriptions_criteria_version():
    classification = comedication_classify(criteria_version="L648-2021-10", name="Cosentyx", atc_code="")

    assert classification.substances == ("secukinumab",)
    assert classification.il_jak_inhibitor
