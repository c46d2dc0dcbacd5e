"""POST /api/v1/eligibility-checks/: the contract's shape, prescribers only, every bad input a 400."""

from datetime import date

import pytest
from django.urls import reverse

from prescriptions.eligibility import ALL_CRITERION_CODES
from prescriptions.models import Prescription, TocilizumabShortage
from registry.models import AuditEvent, Patient

URL = "/api/v1/eligibility-checks/"

CONTRACT_EXAMPLE = {
    "assessed_at": "2021-11-03T10:00:00+01:00",
    "patient": {"birth_date": "1960-05-01", "sex": "F", "weight_kg": 70},
    "hospitalised": True,
    "sars_cov_2_confirmed": True,
    "pneumonia": "severe",
    "pao2_mmhg": 80,
    "fio2": 0.40,
    "respiratory_support": "low_flow_oxygen",
    "supar_ng_ml": 7.2,
    "anc_10e9_l": 3.1,
    "creatinine_clearance_ml_min": 80,
    "alt_x_uln": 0.8,
    "ast_x_uln": 1.1,
    "known_hypersensitivity": False,
    "concomitant_medications": [
        {"atc_code": "L04AC07", "last_dose_at": "2021-11-01T08:00:00+01:00"},
        {"name": "warfarin", "ongoing": True},
    ],
    "regimen": {"dose_mg": 100, "route": "SC", "interval_hours": 24, "duration_days": 10},
}


def outcomes(body):
    return {result["code"]: result["outcome"] for result in body["results"]}


@pytest.fixture
def prescriber(client_for):
    client = client_for("prescriber.milano")
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_the_contract_example_is_refused_for_tocilizumab_and_warns_for_warfarin(prescriber):
    response = prescriber.post(URL, CONTRACT_EXAMPLE, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["eligible"] is False
    assert body["criteria_version"] == "L648-2021-10"
    assert body["pao2_fio2_ratio"] == 200.0
    assert [r["code"] for r in body["results"]] == list(ALL_CRITERION_CODES)
    assert outcomes(body)["NO_IL_OR_JAK_INHIBITOR"] == "fail"
    assert outcomes(body)["CYP450_NARROW_THERAPEUTIC_INDEX"] == "warn"
    message = next(r["message"] for r in body["results"] if r["code"] == "NO_IL_OR_JAK_INHIBITOR")
    assert "tocilizumab" in message and "L04AC07" in message and "01 Nov 2021" in message
    assert all(set(r) >= {"code", "outcome", "message"} for r in body["results"])


def test_nothing_is_stored(prescriber):
    before = (Prescription.objects.count(), Patient.objects.count(), AuditEvent.objects.count())
    prescriber.post(URL, CONTRACT_EXAMPLE, format="json")
    assert (Prescription.objects.count(), Patient.objects.count(), AuditEvent.objects.count()) == before


def test_without_the_interleukin_inhibitor_the_patient_is_eligible(prescriber):
    body = {**CONTRACT_EXAMPLE, "concomitant_medications": [{"name": "warfarin", "ongoing": True}]}
    response = prescriber.post(URL, body, format="json")
    assert response.status_code == 200
    assert response.json()["eligible"] is True


def test_a_ratio_of_exactly_150_fails(prescriber):
    body = {**CONTRACT_EXAMPLE, "pao2_mmhg": 45, "fio2": 0.30, "concomitant_medications": []}
    result = prescriber.post(URL, body, format="json").json()
    assert outcomes(result)["PAO2_FIO2_ABOVE_150"] == "fail"
    assert result["eligible"] is False


def test_without_a_shortage_in_force_the_listing_condition_fails(prescriber):
    TocilizumabShortage.objects.update(ends_on=date(2021, 10, 31))
    body = {**CONTRACT_EXAMPLE, "concomitant_medications": []}
    result = prescriber.post(URL, body, format="json").json()
    assert outcomes(result)["TOCILIZUMAB_SHORTAGE"] == "fail"


def test_messages_follow_the_language(client_for):
    client = client_for("prescriber.milano")
    italian = client.post(URL, CONTRACT_EXAMPLE, format="json", HTTP_ACCEPT_LANGUAGE="it").json()
    english = client.post(URL, CONTRACT_EXAMPLE, format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    assert italian["results"][0]["message"] != english["results"][0]["message"]
    # Dates and decimals inside the messages too, each language its own way.
    it, en = ({r["code"]: r["message"] for r in body["results"]} for body in (italian, english))
    assert "ultima dose 01/11/2021" in it["NO_IL_OR_JAK_INHIBITOR"]
    assert "last dose 01 Nov 2021" in en["NO_IL_OR_JAK_INHIBITOR"]
    assert "= 200,0 mmHg" in it["PAO2_FIO2_ABOVE_150"] and "= 200.0 mmHg" in en["PAO2_FIO2_ABOVE_150"]
    assert all(set(r) == {"code", "outcome", "message", "source"} for r in italian["results"])


@pytest.mark.parametrize(
    "username", ["pharmacist.milano", "nurse.milano", "officer.lombardia", "aifa", "pharmacist.roma"]
)
def test_only_prescribers_may_check(client_for, username):
    response = client_for(username).post(URL, CONTRACT_EXAMPLE, format="json")
    assert response.status_code == 403
    assert response.json()["detail"]


def test_an_expired_prescriber_still_checks_since_no_centre_is_involved(client_for):
    assert client_for("prescriber.expired").post(URL, CONTRACT_EXAMPLE, format="json").status_code == 200


def test_anonymous_is_401(api_client, demo):
    assert api_client.post(URL, CONTRACT_EXAMPLE, format="json").status_code == 401


def _without(field):
    return {key: value for key, value in CONTRACT_EXAMPLE.items() if key != field}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**CONTRACT_EXAMPLE, "fio2": 40}, "fio2"),
        ({**CONTRACT_EXAMPLE, "fio2": 0.1}, "fio2"),
        ({**CONTRACT_EXAMPLE, "pao2_mmhg": -5}, "pao2_mmhg"),
        ({**CONTRACT_EXAMPLE, "pao2_mmhg": "eighty"}, "pao2_mmhg"),
        ({**CONTRACT_EXAMPLE, "supar_ng_ml": -1}, "supar_ng_ml"),
        ({**CONTRACT_EXAMPLE, "pneumonia": "critical"}, "pneumonia"),
        ({**CONTRACT_EXAMPLE, "respiratory_support": "helmet"}, "respiratory_support"),
        ({**CONTRACT_EXAMPLE, "hospitalised": "maybe"}, "hospitalised"),
        ({**CONTRACT_EXAMPLE, "assessed_at": "2021-09-01T10:00:00+02:00"}, "assessed_at"),
        ({**CONTRACT_EXAMPLE, "assessed_at": "yesterday"}, "assessed_at"),
        ({**CONTRACT_EXAMPLE, "patient": {"birth_date": "2099-01-01", "sex": "F"}}, "patient"),
        ({**CONTRACT_EXAMPLE, "patient": {"birth_date": "1960-05-01", "sex": "X"}}, "patient"),
        ({**CONTRACT_EXAMPLE, "concomitant_medications": [{"ongoing": True}]}, "concomitant_medications"),
        ({**CONTRACT_EXAMPLE, "concomitant_medications": [{"name": "warfarin"}]}, "concomitant_medications"),
        ({**CONTRACT_EXAMPLE, "concomitant_medications": "warfarin"}, "concomitant_medications"),
        ({**CONTRACT_EXAMPLE, "regimen": {"dose_mg": 100, "route": "XX"}}, "regimen"),
        (_without("pao2_mmhg"), "pao2_mmhg"),
        (_without("patient"), "patient"),
        (_without("pneumonia"), "pneumonia"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(prescriber, body, field):
    response = prescriber.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_a_body_that_is_not_json_is_a_400(prescriber):
    response = prescriber.post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400


def test_a_json_list_is_a_400(prescriber):
    response = prescriber.post(URL, [1, 2], format="json")
    assert response.status_code == 400


def test_the_schema_describes_the_endpoint(api_client, demo):
    schema = api_client.get(reverse("schema"), HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/v1/eligibility-checks/" in schema.content.decode()


# -- warnings of SmPC 4.4-4.6: pregnancy or breastfeeding, live vaccines ------------------------------------------


@pytest.mark.parametrize(
    "field, code", [("pregnant_or_breastfeeding", "PREGNANCY_BREASTFEEDING"), ("live_vaccine", "LIVE_VACCINE")]
)
def test_pregnancy_and_live_vaccine_warn_when_true_and_never_refuse(prescriber, field, code):
    base = {**CONTRACT_EXAMPLE, "concomitant_medications": []}

    left_out = prescriber.post(URL, base, format="json").json()
    given = prescriber.post(URL, {**base, field: True}, format="json").json()
    false = prescriber.post(URL, {**base, field: False}, format="json").json()

    assert outcomes(left_out)[code] == outcomes(false)[code] == "pass"
    assert outcomes(given)[code] == "warn"
    assert given["eligible"] is left_out["eligible"] is True
    message = next(r["message"] for r in given["results"] if r["code"] == code)
    assert "anakinra" in message


@pytest.mark.parametrize("value", ["yes", "true", 1, None, []])
@pytest.mark.parametrize("field", ["pregnant_or_breastfeeding", "live_vaccine"])
def test_pregnancy_and_live_vaccine_take_json_booleans_only(prescriber, field, value):
    response = prescriber.post(URL, {**CONTRACT_EXAMPLE, field: value}, format="json")

    assert response.status_code == 400
    assert field in response.json()
