"""``POST/GET /api/v1/prescriptions/`` and the detail (docs/api.md, "Prescriptions"): submission, listing, scope."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from prescriptions.models import CriterionOutcome, Prescription, PrescriptionStatus
from registry import services as registry_services
from registry.models import AuditEvent, Patient

from . import factories as f

URL = "/api/v1/prescriptions/"


def detail_url(prescription) -> str:
    return f"{URL}{getattr(prescription, 'pk', prescription)}/"


@pytest.fixture
def milano(demo):
    return f.centre(f.MILANO)


@pytest.fixture
def roma(demo):
    return f.centre(f.ROMA)


@pytest.fixture
def post(client_for):
    def make(username="prescriber.milano", body=None, **options):
        body = body if body is not None else f.submission_body(**options)
        return client_for(username).post(URL, body, format="json")

    return make


# --- Submission: the verdict --------------------------------------------------------------


def test_an_eligible_request_is_accepted_awaiting_dispensing(post, milano):
    response = post(centre=milano)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "awaiting_dispensing"
    assert body["eligibility"]["eligible"] is True
    assert body["eligibility"]["criteria_version"] == "L648-2021-10"
    assert {result["outcome"] for result in body["eligibility"]["results"]} <= {"pass", "info", "warn"}
    prescription = Prescription.objects.get(pk=body["id"])
    assert body["patient"]["id"] == str(prescription.patient_id)
    assert prescription.centre == milano
    assert prescription.status == PrescriptionStatus.AWAITING_DISPENSING
    assert body["syringes_dispensed"] == 0
    assert body["doses_administered"] == 0


def test_an_ineligible_request_is_kept_as_rejected_with_its_criterion_outcomes(post, milano):
    response = post(centre=milano, eligible=False)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "rejected"
    assert body["eligibility"]["eligible"] is False
    failed = {r["code"] for r in body["eligibility"]["results"] if r["outcome"] == "fail"}
    assert failed == {"PAO2_FIO2_ABOVE_150", "SUPAR_AT_LEAST_6", "NO_CPAP_OR_VENTILATION"}
    stored = dict(CriterionOutcome.objects.filter(prescription_id=body["id"]).values_list("code", "outcome"))
    assert len(stored) == len(body["eligibility"]["results"])
    assert stored["PAO2_FIO2_ABOVE_150"] == "fail"  # 45 / 0.30 is exactly 150: not above
    assert stored["SUPAR_AT_LEAST_6"] == "fail"
    assert stored["NO_CPAP_OR_VENTILATION"] == "fail"
    assert stored["AGE_ADULT"] == "pass"
    assert Prescription.objects.get(pk=body["id"]).status == PrescriptionStatus.REJECTED


def test_the_fiscal_code_is_never_stored_nor_returned(post):
    code = f.fiscal_code()
    response = post(code=code)

    assert response.status_code == 201
    assert code not in response.content.decode()
    patient = Patient.objects.get(pk=response.json()["patient"]["id"])
    assert code not in patient.pseudonym
    assert code not in str(Prescription.objects.get(pk=response.json()["id"]).assessment)


def test_the_centre_may_be_left_out_when_the_prescriber_has_one(post, milano):
    response = post()

    assert response.status_code == 201, response.json()
    assert response.json()["centre"] == str(milano.pk)


def test_the_centre_must_be_named_when_the_prescriber_has_several(post, demo, milano):
    officer = demo["officer.lombardia"]
    bergamo = registry_services.centre_create(actor=officer, region=milano.region, name="Ospedale di Bergamo")
    registry_services.centre_designate(actor=officer, centre=bergamo, valid_from=date(2021, 10, 1))
    registry_services.prescriber_authorise(
        actor=officer, prescriber=demo["prescriber.milano"], centre=bergamo, valid_from=date(2021, 10, 1)
    )

    unnamed = post()
    named = post(centre=bergamo)

    assert unnamed.status_code == 400
    assert "centre" in unnamed.json()
    assert named.status_code == 201
    assert named.json()["centre"] == str(bergamo.pk)


def test_without_a_centre_on_that_day_the_centre_cannot_be_implied(post, demo):
    response = post("prescriber.expired")

    assert response.status_code == 403
    assert not Prescription.objects.exists()


def test_assessed_at_defaults_to_prescribed_at(post):
    prescribed_at = f.days_ago(3, 9)
    response = post(prescribed_at=prescribed_at)

    assert response.status_code == 201, response.json()
    prescription = Prescription.objects.get(pk=response.json()["id"])
    assert prescription.prescribed_at == prescribed_at
    assert prescription.registered_at > prescribed_at
    assert prescription.assessment["assessed_at"].startswith(prescribed_at.date().isoformat())


# --- Submission: 400 ------------------------------------------------------------------------


def test_a_wrong_check_character_is_a_400_under_patient(post):
    response = post(code=f.wrong_check_character(f.fiscal_code()))

    assert response.status_code == 400
    assert [key for key in response.json() if key != "code"] == ["patient"]
    assert "fiscal_code" in response.json()["patient"]
    assert not Prescription.objects.exists()
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("it", "Codice fiscale non valido: il carattere di controllo non è corretto."),
        ("en", "Not a valid fiscal code: the check character is wrong."),
    ],
    ids=["it", "en"],
)
def test_a_wrong_check_character_is_refused_in_the_users_language(client_for, language, message):
    # The reason was python-stdnum's English ("…The number's checksum or check digit is invalid.").
    body = f.submission_body(code=f.wrong_check_character(f.fiscal_code()))

    response = client_for("prescriber.milano").post(URL, body, format="json", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400
    assert response.json()["patient"]["fiscal_code"] == [message]


@pytest.mark.parametrize(
    "patient",
    [
        {"birth_date": "1960-05-02", "sex": "M"},  # the code says 1 May
        {"birth_date": "1961-05-01", "sex": "M"},
        {"birth_date": "1960-05-01", "sex": "F"},  # the code says male
    ],
    ids=["day", "year", "sex"],
)
def test_a_fiscal_code_disagreeing_with_birth_date_or_sex_is_a_400(post, patient):
    body = f.submission_body(code=f.fiscal_code(f.BIRTH_DATE, "M"))
    body["patient"].update(patient)

    response = post(body=body)

    assert response.status_code == 400, response.json()
    assert "fiscal_code" in response.json()["patient"]
    assert not Prescription.objects.exists()


def test_a_known_patient_given_another_century_is_a_400_under_patient(post):
    # The code carries only two digits of the year: 1920 and 2020 share it.
    code = f.fiscal_code(date(1920, 5, 1))
    assert post(code=code, birth_date=date(1920, 5, 1)).status_code == 201

    response = post(code=code, birth_date=date(2020, 5, 1))

    assert response.status_code == 400
    assert "birth_date" in response.json()["patient"]
    assert Prescription.objects.count() == Patient.objects.count() == 1


def test_without_informed_consent_it_is_a_400(post):
    response = post(informed_consent=False)

    assert response.status_code == 400
    assert "informed_consent" in response.json()
    assert not Prescription.objects.exists()


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (lambda: timezone.now() + timedelta(hours=1), 400),
        (lambda: timezone.now() - timedelta(days=31), 400),
        (lambda: timezone.now() - timedelta(days=29), 201),
        (lambda: timezone.now() - timedelta(minutes=1), 201),
    ],
    ids=["future", "31-days-back", "29-days-back", "a-minute-ago"],
)
def test_prescribed_at_is_never_in_the_future_and_at_most_30_days_back(post, milano, moment, expected):
    response = post(centre=milano, prescribed_at=moment())

    assert response.status_code == expected, response.json()
    if expected == 400:
        assert "prescribed_at" in response.json()
        assert not Prescription.objects.exists()


def test_a_consent_dated_in_the_future_is_a_400(post):
    response = post(consent_date=(f.today() + timedelta(days=1)).isoformat())

    assert response.status_code == 400
    assert "consent_date" in response.json()


def test_an_assessment_after_the_prescription_is_a_400(post):
    body = f.submission_body(prescribed_at=f.days_ago(2))
    body["assessment"]["assessed_at"] = f.days_ago(1).isoformat()

    response = post(body=body)

    assert response.status_code == 400
    assert "assessed_at" in response.json()["assessment"]


def _without(key):
    def change(body):
        del body[key]

    return change


def _set(path, value):
    def change(body):
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_without("patient"), ["patient"]),
        (_without("assessment"), ["assessment"]),
        (_without("informed_consent"), ["informed_consent"]),
        (_set(["patient"], None), ["patient"]),
        (_set(["patient"], "RSSMRA60E01F205B"), ["patient"]),
        (_set(["assessment"], "eligible"), ["assessment"]),
        (_set(["assessment"], [1, 2]), ["assessment"]),
        (_set(["patient", "birth_date"], "01/05/1960"), ["patient", "birth_date"]),
        (_set(["patient", "sex"], "X"), ["patient", "sex"]),
        (_set(["patient", "fiscal_code"], None), ["patient", "fiscal_code"]),
        (_set(["patient", "weight_kg"], "heavy"), ["patient", "weight_kg"]),
        (_set(["assessment", "pneumonia"], "awful"), ["assessment", "pneumonia"]),
        (_set(["assessment", "respiratory_support"], "oxygen"), ["assessment", "respiratory_support"]),
        (_set(["assessment", "fio2"], 40), ["assessment", "fio2"]),
        (_set(["assessment", "pao2_mmhg"], "eighty"), ["assessment", "pao2_mmhg"]),
        (_set(["assessment", "hospitalised"], "perhaps"), ["assessment", "hospitalised"]),
        (_set(["assessment", "regimen"], [100]), ["assessment", "regimen"]),
        (_set(["assessment", "concomitant_medications"], "none"), ["assessment", "concomitant_medications"]),
        (_set(["assessment", "concomitant_medications"], [{"name": "x"}]), ["assessment", "concomitant_medications"]),
        (_set(["centre"], "not-a-uuid"), ["centre"]),
        (_set(["centre"], "00000000-0000-0000-0000-000000000000"), ["centre"]),
        (_set(["prescribed_at"], 20211103), ["prescribed_at"]),
        (_set(["informed_consent"], "maybe"), ["informed_consent"]),
        (_set(["consent_given_by"], "neighbour"), ["consent_given_by"]),
    ],
)
def test_malformed_input_is_a_400_naming_the_field(post, change, field):
    body = f.submission_body()
    change(body)

    response = post(body=body)

    assert response.status_code == 400, response.content
    errors = response.json()
    for key in field:
        assert key in errors, (field, errors)
        errors = errors[key]
    assert not Prescription.objects.exists()


@pytest.mark.parametrize(
    "raw",
    ["not json", "{", "[1, 2]", '"a string"', "null", "42"],
    ids=["text", "truncated", "list", "string", "null", "number"],
)
def test_a_body_that_is_not_a_json_object_is_a_400(client_for, raw):
    response = client_for("prescriber.milano").post(URL, raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_set(["prescribed_at"], "0001-01-01T00:00:00"), ["prescribed_at"]),
        (_set(["prescribed_at"], "9999-12-31T23:59:59-05:00"), ["prescribed_at"]),
        (_set(["assessment", "assessed_at"], "0001-01-01T00:00:00"), ["assessment"]),
        (
            _set(
                ["assessment", "concomitant_medications"], [{"name": "tocilizumab", "last_dose_at": "0001-01-01T00:00"}]
            ),
            ["assessment"],
        ),
    ],
    ids=["prescribed-year-1", "prescribed-year-9999", "assessed-year-1", "last-dose-year-1"],
)
def test_a_moment_off_the_calendar_is_a_400_not_a_500(post, change, field):
    body = f.submission_body()
    change(body)

    response = post(body=body)

    assert response.status_code == 400
    assert field[0] in response.json()
    assert not Prescription.objects.exists()


def test_the_eligibility_check_answers_a_moment_off_the_calendar_with_a_400(client_for, demo):
    body = {**f.eligible_assessment(), "patient": {"birth_date": "1960-05-01", "sex": "M"}}
    body["assessed_at"] = "0001-01-01T00:00:00"

    response = client_for("prescriber.milano").post("/api/v1/eligibility-checks/", body, format="json")

    assert response.status_code == 400


# --- Submission: who may ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "username",
    ["prescriber.expired", "nurse.milano", "pharmacist.milano", "officer.lombardia", "aifa"],
)
def test_only_a_prescriber_authorised_today_may_prescribe_today(post, milano, username):
    response = post(username, centre=milano)

    assert response.status_code == 403
    assert response.json()["detail"]
    assert not Prescription.objects.exists()
    assert not AuditEvent.objects.filter(action="prescription.submit").exists()


def test_a_prescriber_may_not_prescribe_at_another_regions_centre(post, roma):
    response = post("prescriber.milano", centre=roma)

    assert response.status_code == 403
    assert not Prescription.objects.exists()


def test_an_unauthenticated_request_is_a_401(api_client, demo):
    assert api_client.post(URL, f.submission_body(), format="json").status_code == 401
    assert api_client.get(URL).status_code == 401


@pytest.fixture
def former_prescriber(demo, milano):
    """A prescriber whose Milano authorisation ended 10 days ago."""
    officer = demo["officer.lombardia"]
    user = registry_services.staff_create(
        actor=officer, username="dr.former", password=None, role="prescriber", centre=milano
    )
    registry_services.prescriber_authorise(
        actor=officer,
        prescriber=user,
        centre=milano,
        valid_from=date(2021, 10, 1),
        valid_to=f.today() - timedelta(days=10),
    )
    return user


def test_the_authorisation_is_judged_on_the_prescriptions_date(client_for, demo, former_prescriber, milano):
    demo["dr.former"] = former_prescriber
    client = client_for("dr.former")

    late = client.post(URL, f.submission_body(centre=milano, prescribed_at=f.days_ago(15)), format="json")
    assert late.status_code == 201, late.json()
    assert late.json()["id"]
    assert late.json()["status"] == "awaiting_dispensing"
    assert late.json()["patient"]["id"]

    # The centre may be left out too: the one centre is the one of that day.
    implied = client.post(URL, f.submission_body(prescribed_at=f.days_ago(12)), format="json")
    assert implied.status_code == 201, implied.json()
    assert implied.json()["centre"] == str(milano.pk)

    after_the_end = client.post(URL, f.submission_body(centre=milano, prescribed_at=f.days_ago(5)), format="json")
    assert after_the_end.status_code == 403
    assert Prescription.objects.filter(prescriber=former_prescriber).count() == 2


def test_the_designation_is_judged_on_the_prescriptions_date(post, demo, milano):
    registry_services.designation_end(
        actor=demo["officer.lombardia"],
        designation=milano.designations.get(),
        valid_to=f.today() - timedelta(days=10),
    )

    assert post(centre=milano, prescribed_at=f.days_ago(15)).status_code == 201
    assert post(centre=milano, prescribed_at=f.days_ago(5)).status_code == 403


# --- Submission: one active course ------------------------------------------------------------


def test_a_second_course_for_an_active_patient_is_a_409(post, demo):
    code = f.fiscal_code()
    assert post(code=code).status_code == 201

    second = post(code=code)

    assert second.status_code == 409
    assert second.json()["code"] == "ACTIVE_COURSE"
    assert second.json()["detail"]
    assert Prescription.objects.count() == 1


def test_the_active_course_is_found_across_centres_and_prescribers(post, roma):
    code = f.fiscal_code()
    assert post("prescriber.milano", code=code).status_code == 201

    response = post("prescriber.roma", code=code, centre=roma)

    assert response.status_code == 409
    assert response.json()["code"] == "ACTIVE_COURSE"


def test_rejected_requests_do_not_block_a_new_one(post):
    code = f.fiscal_code()
    assert post(code=code, eligible=False).json()["status"] == "rejected"
    assert post(code=code, eligible=False).json()["status"] == "rejected"

    response = post(code=code)

    assert response.status_code == 201
    assert response.json()["status"] == "awaiting_dispensing"
    assert Patient.objects.count() == 1


def test_a_rejected_request_is_kept_even_while_a_course_is_active(post):
    code = f.fiscal_code()
    assert post(code=code).status_code == 201

    response = post(code=code, eligible=False)

    assert response.status_code == 201
    assert response.json()["status"] == "rejected"


@pytest.mark.parametrize("stage", ["awaiting_dispensing", "dispensed", "in_course"])
def test_every_active_status_blocks(post, demo, stage):
    code = f.fiscal_code()
    f.prescription_at(demo, stage, code=code, prescribed_days_ago=5)

    response = post(code=code)

    assert response.status_code == 409
    assert response.json()["code"] == "ACTIVE_COURSE"


@pytest.mark.parametrize("stage", ["stopped", "completed", "cancelled"])
def test_a_new_course_is_allowed_once_the_last_one_ended(post, demo, stage):
    code = f.fiscal_code()
    first = f.prescription_at(demo, stage, code=code)

    response = post(code=code)

    assert response.status_code == 201, response.json()
    assert response.json()["patient"]["id"] == str(first.patient_id)


# --- Listing and detail -----------------------------------------------------------------------


@pytest.fixture
def both_regions(demo, milano, roma):
    """One Milano and one Roma prescription, and one rejected in Milano."""
    return {
        "milano": f.submit(demo["prescriber.milano"], centre_obj=milano),
        "roma": f.submit(demo["prescriber.roma"], centre_obj=roma),
        "milano_rejected": f.submit(demo["prescriber.milano"], centre_obj=milano, eligible=False),
    }


SCOPE = {
    "prescriber.milano": {"milano", "milano_rejected"},
    "prescriber.roma": {"roma"},
    "prescriber.expired": set(),
    "pharmacist.milano": {"milano", "milano_rejected"},
    "pharmacist.roma": {"roma"},
    "nurse.milano": {"milano", "milano_rejected"},
    "officer.lombardia": {"milano", "milano_rejected"},
    "officer.lazio": {"roma"},
    # The national role reads aggregates, never patients: an empty list (not a 403), and 404 on details.
    "aifa": set(),
    "admin": {"milano", "roma", "milano_rejected"},
}


@pytest.mark.parametrize("username", SCOPE)
def test_every_role_sees_exactly_its_scope(client_for, both_regions, username):
    client = client_for(username)
    names = {str(p.pk): name for name, p in both_regions.items()}

    listing = client.get(URL)

    assert listing.status_code == 200
    assert {names[row["id"]] for row in listing.json()["results"]} == SCOPE[username]
    assert listing.json()["count"] == len(SCOPE[username])
    for name, prescription in both_regions.items():
        detail = client.get(detail_url(prescription))
        if name in SCOPE[username]:
            assert detail.status_code == 200
            assert detail.json()["id"] == str(prescription.pk)
        else:
            assert detail.status_code == 404, (username, name)
            assert str(prescription.pk) not in detail.content.decode()


def test_an_unknown_prescription_is_a_404(client_for, demo):
    assert client_for("admin").get(detail_url("00000000-0000-0000-0000-000000000000")).status_code == 404


def test_the_detail_carries_the_course(client_for, demo):
    prescription = f.prescription_at(demo, "in_course", syringes=5, dose_days_ago=[29, 28])

    body = client_for("nurse.milano").get(detail_url(prescription)).json()

    assert body["status"] == "in_course"
    assert body["syringes_dispensed"] == 5
    assert body["doses_administered"] == 2
    assert body["eligibility"]["eligible"] is True
    assert len(body["dispensations"]) == 1
    assert [a["course_day"] for a in body["administrations"]] == [1, 2]
    for key in ("adverse_events", "lab_results", "outcomes", "alerts"):
        assert isinstance(body[key], list)
    assert "administer" in body["allowed_actions"]


@pytest.fixture
def several(demo, milano):
    prescriber = demo["prescriber.milano"]
    made = {
        "old_rejected": f.submit(prescriber, prescribed_at=f.days_ago(20), eligible=False),
        "old": f.submit(prescriber, prescribed_at=f.days_ago(20, 23, 30)),
        "mid": f.prescription_at(demo, "dispensed", prescribed_days_ago=10),
        "new": f.submit(prescriber, prescribed_at=f.days_ago(1, 0, 30)),
    }
    return {str(p.pk): name for name, p in made.items()}


def _listed(client, query, several):
    response = client.get(URL + query)
    assert response.status_code == 200, response.json()
    return [several[row["id"]] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["new", "mid", "old", "old_rejected"]),
        ("?status=rejected", ["old_rejected"]),
        ("?status=awaiting_dispensing", ["new", "old"]),
        ("?status=awaiting_dispensing&status=dispensed", ["new", "mid", "old"]),
        ("?status=rejected,dispensed", ["mid", "old_rejected"]),
        ("?status=completed", []),
        ("?region=030", ["new", "mid", "old", "old_rejected"]),
        ("?region=120", []),
        ("?submitted_from={d10}", ["new", "mid"]),
        ("?submitted_to={d10}", ["mid", "old", "old_rejected"]),
        ("?submitted_from={d20}&submitted_to={d20}", ["old", "old_rejected"]),
        ("?submitted_from={d1}", ["new"]),
        ("?submitted_to={d2}&status=dispensed", ["mid"]),
    ],
)
def test_the_list_filters(client_for, several, query, expected):
    days = {f"d{n}": (f.today() - timedelta(days=n)).isoformat() for n in (1, 2, 10, 20)}

    assert _listed(client_for("officer.lombardia"), query.format(**days), several) == expected


def test_the_list_filters_by_centre(client_for, several, milano, roma):
    client = client_for("admin")

    assert len(_listed(client, f"?centre={milano.pk}", several)) == 4
    assert _listed(client, f"?centre={roma.pk}", several) == []


@pytest.mark.parametrize(
    "query",
    [
        "?submitted_from=yesterday",
        "?submitted_to=2021-13-01",
        "?status=finished",
        "?status=rejected,nope",
        "?centre=milano",
        "?region=30",
    ],
)
def test_a_bad_filter_is_a_400_naming_it(client_for, demo, query):
    response = client_for("officer.lombardia").get(URL + query)

    assert response.status_code == 400
    assert query[1:].split("=")[0] in response.json()


def test_a_region_filter_never_widens_the_scope(client_for, both_regions):
    response = client_for("officer.lombardia").get(URL + "?region=120")

    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_the_list_is_paginated(client_for, demo, milano):
    prescriber = demo["prescriber.milano"]
    for _ in range(51):
        f.submit(prescriber, eligible=False)
    client = client_for("officer.lombardia")

    first = client.get(URL).json()
    second = client.get(URL + "?page=2").json()

    assert first["count"] == 51
    assert len(first["results"]) == 50
    assert first["next"] and first["previous"] is None
    assert len(second["results"]) == 1
    assert {r["id"] for r in first["results"]}.isdisjoint({r["id"] for r in second["results"]})
    assert client.get(URL + "?page=3").status_code == 404


def test_the_list_does_not_reveal_the_fiscal_code(client_for, demo):
    code = f.fiscal_code()
    f.submit(demo["prescriber.milano"], code=code)

    response = client_for("officer.lombardia").get(URL)

    assert response.json()["count"] == 1
    assert code not in response.content.decode()
