"""Strict input (issue 9, defect 9): impossible dates and non-boolean booleans are 400s naming the field.

A date or moment outside the registry's calendar (year 1, year 9999, a lab sample from before COVID-19, a
birth before 1900) is refused with a translated message, never a 500 and never DRF's English "Datetime value
out of range". Every boolean of the API is a JSON ``true`` or ``false``: ``"yes"``, ``"true"``, ``1`` are 400s.
"""

import pytest
from django.utils import translation

from prescriptions.api.eligibility_serializers import OUT_OF_RANGE

from . import factories as f

URL = "/api/v1/prescriptions/"

FAR_PAST_MOMENTS = [
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+05:00",
    "0001-01-01T00:00",
    "0001-01-01",
    "1899-12-31T12:00:00+01:00",
    "2019-06-01T12:00:00+02:00",
]
FAR_FUTURE_MOMENTS = ["9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59+00:00", "9999-12-31T23:59"]
BAD_MOMENTS = FAR_PAST_MOMENTS + FAR_FUTURE_MOMENTS
BAD_DATES = ["0001-01-01", "1899-12-31", "2019-06-01", "9999-12-31"]
NOT_BOOLEANS = ["yes", "true", "True", 1, 0, "1", "on", "", None]


@pytest.fixture
def in_course(demo):
    return f.prescription_at(demo, "in_course", prescribed_days_ago=5)


@pytest.fixture
def act(client_for):
    def post(username, prescription, action, body):
        return client_for(username).post(f"{URL}{prescription.pk}/{action}/", body, format="json")

    return post


def assert_refused(response, *path):
    assert response.status_code == 400, response.content
    errors = response.json()
    for key in path:
        assert key in errors, errors
        errors = errors[key]
    text = str(response.json())
    assert "out of range" not in text.lower()


@pytest.mark.parametrize("moment", BAD_MOMENTS)
def test_a_lab_sample_outside_the_calendar_is_a_400(act, in_course, moment):
    response = act("nurse.milano", in_course, "lab-results", {"test": "anc", "value": 2, "collected_at": moment})

    assert_refused(response, "collected_at")


@pytest.mark.parametrize("moment", BAD_MOMENTS)
def test_a_dose_outside_the_calendar_is_a_400(act, in_course, moment):
    body = {"administered_at": moment, "dose_mg": 100, "route": "SC"}

    assert_refused(act("nurse.milano", in_course, "administrations", body), "administered_at")


@pytest.mark.parametrize("moment", BAD_MOMENTS)
def test_a_stop_outside_the_calendar_is_a_400(act, in_course, moment):
    body = {"reason": "discharge", "stopped_at": moment}

    assert_refused(act("prescriber.milano", in_course, "stop", body), "stopped_at")


@pytest.mark.parametrize("day", BAD_DATES)
def test_an_adverse_event_outside_the_calendar_is_a_400(act, in_course, day):
    body = {
        "category": "other",
        "serious": False,
        "onset_date": day,
        "description": "rash",
        "reported_to_pharmacovigilance": False,
    }

    assert_refused(act("nurse.milano", in_course, "adverse-events", body), "onset_date")


@pytest.mark.parametrize("day", BAD_DATES)
def test_an_outcome_outside_the_calendar_is_a_400(act, in_course, day):
    body = {"day": 14, "who_cps": 3, "assessed_on": day}

    assert_refused(act("prescriber.milano", in_course, "outcomes", body), "assessed_on")


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_lot_expiring_outside_the_calendar_is_a_400(act, demo, day):
    awaiting = f.prescription_at(demo, "awaiting_dispensing", prescribed_days_ago=1)
    body = {"syringes": 10, "lot_number": "LOT-9", "expiry_date": day}

    assert_refused(act("pharmacist.milano", awaiting, "dispensations", body), "expiry_date")


@pytest.mark.parametrize("moment", BAD_MOMENTS)
def test_a_prescription_dated_outside_the_calendar_is_a_400(client_for, moment):
    response = client_for("prescriber.milano").post(URL, f.submission_body(prescribed_at=moment), format="json")

    assert_refused(response, "prescribed_at")


@pytest.mark.parametrize("moment", BAD_MOMENTS)
def test_an_assessment_dated_outside_the_calendar_is_a_400(client_for, moment):
    body = f.submission_body(assessment=f.eligible_assessment(assessed_at=moment))

    assert_refused(client_for("prescriber.milano").post(URL, body, format="json"), "assessment", "assessed_at")


@pytest.mark.parametrize("moment", BAD_MOMENTS)
def test_a_dry_run_dated_outside_the_calendar_is_a_400(client_for, moment):
    body = {
        **f.eligible_assessment(assessed_at=moment),
        "patient": {"birth_date": "1960-05-01", "sex": "M"},
    }

    response = client_for("prescriber.milano").post("/api/v1/eligibility-checks/", body, format="json")

    assert_refused(response, "assessed_at")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00"])
def test_a_concomitant_medication_dated_outside_the_calendar_is_a_400(client_for, moment):
    medication = {"name": "tocilizumab", "atc_code": "L04AC07", "ongoing": False, "last_dose_at": moment}
    body = f.submission_body(assessment=f.eligible_assessment(concomitant_medications=[medication]))

    response = client_for("prescriber.milano").post(URL, body, format="json")

    assert_refused(response, "assessment", "concomitant_medications")


@pytest.mark.parametrize("day", BAD_DATES)
def test_a_consent_dated_outside_the_calendar_is_a_400(client_for, day):
    body = f.submission_body(consent_date=day)

    assert_refused(client_for("prescriber.milano").post(URL, body, format="json"), "consent_date")


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "9999-12-31"])
def test_a_birth_date_outside_the_calendar_is_a_400(client_for, day):
    body = f.submission_body()
    body["patient"]["birth_date"] = day

    assert_refused(client_for("prescriber.milano").post(URL, body, format="json"), "patient", "birth_date")


@pytest.mark.parametrize("param", ["submitted_from", "submitted_to"])
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_list_filter_outside_the_calendar_is_a_400(client_for, param, day):
    response = client_for("officer.lombardia").get(URL, {param: day})

    assert_refused(response, param)


def test_the_refusal_is_the_registrys_own_translatable_message(client_for, in_course):
    body = {"test": "anc", "value": 2, "collected_at": "9999-12-31T23:59:59-05:00"}

    response = client_for("nurse.milano").post(
        f"{URL}{in_course.pk}/lab-results/", body, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    with translation.override("en"):
        expected = str(OUT_OF_RANGE).format(earliest="01 Jan 2020", latest="31 Dec 2100")  # never ISO
    assert response.json() == {"collected_at": [expected], "code": "VALIDATION_ERROR"}


def test_a_plausible_lab_sample_is_still_accepted(act, in_course):
    body = {"test": "anc", "value": 2, "collected_at": f.days_ago(1).isoformat()}

    assert act("nurse.milano", in_course, "lab-results", body).status_code == 201


# --- Booleans are JSON booleans ---------------------------------------------------------------


@pytest.mark.parametrize("value", NOT_BOOLEANS)
def test_informed_consent_must_be_the_json_true(client_for, value):
    body = f.submission_body(informed_consent=value)

    assert_refused(client_for("prescriber.milano").post(URL, body, format="json"), "informed_consent")


@pytest.mark.parametrize("field", ["hospitalised", "sars_cov_2_confirmed", "known_hypersensitivity"])
@pytest.mark.parametrize("value", ["yes", "true", 1])
def test_assessment_booleans_must_be_json_booleans(client_for, field, value):
    body = f.submission_body(assessment=f.eligible_assessment(**{field: value}))

    assert_refused(client_for("prescriber.milano").post(URL, body, format="json"), "assessment", field)


@pytest.mark.parametrize("field", ["serious", "reported_to_pharmacovigilance"])
@pytest.mark.parametrize("value", ["yes", "false", 0])
def test_adverse_event_booleans_must_be_json_booleans(act, in_course, field, value):
    body = {
        "category": "other",
        "serious": False,
        "onset_date": f.today().isoformat(),
        "description": "rash",
        "reported_to_pharmacovigilance": False,
        field: value,
    }

    assert_refused(act("nurse.milano", in_course, "adverse-events", body), field)


def test_a_medications_ongoing_flag_must_be_a_json_boolean(client_for):
    medication = {"name": "warfarin", "ongoing": "yes"}
    body = f.submission_body(assessment=f.eligible_assessment(concomitant_medications=[medication]))

    response = client_for("prescriber.milano").post(URL, body, format="json")

    assert_refused(response, "assessment", "concomitant_medications")
    assert "ongoing" in str(response.json()["assessment"]["concomitant_medications"])


# --- Decimals are numbers ----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["anc_10e9_l", "creatinine_clearance_ml_min", "alt_x_uln", "pao2_mmhg"])
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_string_is_no_number(client_for, field, value):
    body = f.submission_body(assessment=f.eligible_assessment(**{field: value}))

    assert_refused(client_for("prescriber.milano").post(URL, body, format="json"), "assessment", field)


def test_an_empty_upper_limit_is_no_number(act, in_course):
    body = {"test": "alt", "value": 20, "upper_limit_normal": "", "collected_at": f.days_ago(1).isoformat()}

    assert_refused(act("nurse.milano", in_course, "lab-results", body), "upper_limit_normal")


def test_an_empty_weight_is_no_number(client_for):
    body = f.submission_body()
    body["patient"]["weight_kg"] = ""

    assert_refused(client_for("prescriber.milano").post(URL, body, format="json"), "patient", "weight_kg")
