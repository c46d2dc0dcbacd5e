"""What the registry captures besides the verdict (issue 10): the baseline at submission, the adverse event's
pharmacovigilance details, and the outcome's ICU admission, respiratory failure and death. All optional."""

from datetime import timedelta

import pytest

from prescriptions.models import AdverseEvent, Outcome, Prescription
from registry.models import AuditEvent

from . import factories as f


def api_submit(client_for, **body):
    return client_for("prescriber.milano").post("/api/v1/prescriptions/", f.submission_body(**body), format="json")


def detail(client_for, prescription_id):
    return client_for("prescriber.milano").get(f"/api/v1/prescriptions/{prescription_id}/").json()


def last_event(prescription_id) -> AuditEvent:
    return AuditEvent.objects.filter(object_id=str(prescription_id)).order_by("-sequence").first()


# --- Baseline ----------------------------------------------------------------------------------


def test_the_baseline_is_stored_returned_and_audited(client_for, demo):
    prescribed = f.days_ago(1, 10)
    onset = (prescribed - timedelta(days=7)).date()
    baseline = {
        "symptom_onset_on": onset.isoformat(),
        "sars_cov_2_test_on": (onset + timedelta(days=2)).isoformat(),
        "sars_cov_2_test_type": "molecular",
        "vaccination_status": "complete",
        "pregnancy_status": "not_applicable",
        "dexamethasone_dose_mg": 6,
        "remdesivir": True,
        "active_serious_infection": False,
    }

    response = api_submit(client_for, prescribed_at=prescribed, baseline=baseline)

    assert response.status_code == 201, response.json()
    shown = detail(client_for, response.json()["id"])["baseline"]
    assert shown == {**baseline, "day_of_illness": 8, "warnings": []}
    assert last_event(response.json()["id"]).changes["sars_cov_2_test_type"] == "molecular"


def test_a_submission_without_baseline_still_works_and_shows_it_empty(client_for, demo):
    response = api_submit(client_for)

    assert response.status_code == 201
    baseline = detail(client_for, response.json()["id"])["baseline"]
    assert baseline["symptom_onset_on"] is None and baseline["day_of_illness"] is None
    assert baseline["warnings"] == []


@pytest.mark.parametrize(("onset_days_before", "warned"), [(4, True), (5, False), (12, False), (13, True)])
def test_a_day_of_illness_outside_6_to_13_is_a_warning_not_a_criterion(client_for, demo, onset_days_before, warned):
    prescribed = f.days_ago(1, 10)
    onset = (prescribed - timedelta(days=onset_days_before)).date()

    response = api_submit(client_for, prescribed_at=prescribed, baseline={"symptom_onset_on": onset.isoformat()})

    assert response.json()["status"] == "awaiting_dispensing"
    codes = [w["code"] for w in detail(client_for, response.json()["id"])["baseline"]["warnings"]]
    assert ("ILLNESS_DAY_OUTSIDE_HYPERINFLAMMATORY_PHASE" in codes) is warned


def test_an_active_serious_infection_is_a_warning(client_for, demo):
    response = api_submit(client_for, baseline={"active_serious_infection": True})

    assert response.json()["eligibility"]["eligible"] is True
    codes = [w["code"] for w in detail(client_for, response.json()["id"])["baseline"]["warnings"]]
    assert codes == ["ACTIVE_SERIOUS_INFECTION"]


@pytest.mark.parametrize(
    ("baseline", "field"),
    [
        ({"symptom_onset_on": (f.today() + timedelta(days=1)).isoformat()}, "symptom_onset_on"),
        ({"sars_cov_2_test_on": (f.today() + timedelta(days=1)).isoformat()}, "sars_cov_2_test_on"),
        ({"sars_cov_2_test_type": "antigen"}, "sars_cov_2_test_on"),
        ({"sars_cov_2_test_type": "saliva", "sars_cov_2_test_on": f.today().isoformat()}, "sars_cov_2_test_type"),
        ({"vaccination_status": "maybe"}, "vaccination_status"),
        ({"dexamethasone_dose_mg": 0}, "dexamethasone_dose_mg"),
        ({"dexamethasone_dose_mg": 1000}, "dexamethasone_dose_mg"),
        ({"remdesivir": "perhaps"}, "remdesivir"),
    ],
)
def test_a_wrong_baseline_is_a_400_naming_the_field(client_for, demo, baseline, field):
    response = api_submit(client_for, baseline=baseline)

    assert response.status_code == 400
    assert field in response.json()["baseline"]
    assert not Prescription.objects.exists()


# --- Adverse events --------------------------------------------------------------------------


def ae_body(**changes):
    body = {
        "category": "serious_infection",
        "serious": True,
        "onset_date": (f.today() - timedelta(days=2)).isoformat(),
        "description": "Pneumonia from Klebsiella.",
        "reported_to_pharmacovigilance": True,
        "meddra_preferred_term": "Pneumonia klebsiella",
        "causality": "possible",
        "outcome": "recovering",
        "pharmacovigilance_report_number": "RNF-2021-123456",
        "pharmacovigilance_report_date": (f.today() - timedelta(days=1)).isoformat(),
    }
    body.update(changes)
    return body


def post_ae(client_for, prescription, body):
    return client_for("nurse.milano").post(
        f"/api/v1/prescriptions/{prescription.pk}/adverse-events/", body, format="json"
    )


def test_an_adverse_event_keeps_its_meddra_term_causality_outcome_and_report(client_for, demo):
    course = f.prescription_at(demo, "in_course")

    response = post_ae(client_for, course, ae_body())

    assert response.status_code == 201, response.json()
    for field in ("meddra_preferred_term", "causality", "outcome", "pharmacovigilance_report_number"):
        assert response.json()[field] == ae_body()[field]
    assert (
        detail(client_for, course.pk)["adverse_events"][0]["pharmacovigilance_report_date"]
        == (ae_body()["pharmacovigilance_report_date"])
    )
    assert last_event(course.pk).changes["pharmacovigilance_report_number"] == "RNF-2021-123456"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reported_to_pharmacovigilance": False}, "reported_to_pharmacovigilance"),
        (
            {"pharmacovigilance_report_date": (f.today() + timedelta(days=1)).isoformat()},
            "pharmacovigilance_report_date",
        ),
        (
            {"pharmacovigilance_report_date": (f.today() - timedelta(days=3)).isoformat()},
            "pharmacovigilance_report_date",
        ),
        ({"causality": "obvious"}, "causality"),
        ({"outcome": "better"}, "outcome"),
        ({"pharmacovigilance_report_number": "x" * 41}, "pharmacovigilance_report_number"),
    ],
)
def test_a_wrong_pharmacovigilance_detail_is_a_400(client_for, demo, changes, field):
    course = f.prescription_at(demo, "in_course")

    response = post_ae(client_for, course, ae_body(**changes))

    assert response.status_code == 400
    assert field in response.json()
    assert not AdverseEvent.objects.exists()


def test_an_adverse_event_keeps_its_meddra_code_and_version_audited(client_for, demo):
    course = f.prescription_at(demo, "in_course")

    response = post_ae(client_for, course, ae_body(meddra_code=" 10035664 ", meddra_version="27.1"))

    assert response.status_code == 201, response.json()
    assert (response.json()["meddra_code"], response.json()["meddra_version"]) == ("10035664", "27.1")
    event = AdverseEvent.objects.get()
    assert (event.meddra_code, event.meddra_version) == ("10035664", "27.1")
    changes = last_event(course.pk).changes
    assert (changes["meddra_code"], changes["meddra_version"]) == ("10035664", "27.1")
    assert detail(client_for, course.pk)["adverse_events"][0]["meddra_code"] == "10035664"


def test_without_a_meddra_code_the_fields_are_empty_and_not_audited(client_for, demo):
    course = f.prescription_at(demo, "in_course")

    response = post_ae(client_for, course, ae_body())

    assert response.status_code == 201
    assert (response.json()["meddra_code"], response.json()["meddra_version"]) == ("", "")
    assert "meddra_code" not in last_event(course.pk).changes


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"meddra_code": "1003566", "meddra_version": "27.1"}, "meddra_code"),
        ({"meddra_code": "100356641", "meddra_version": "27.1"}, "meddra_code"),
        ({"meddra_code": "1003566a", "meddra_version": "27.1"}, "meddra_code"),
        ({"meddra_code": "١٠٠٣٥٦٦٤", "meddra_version": "27.1"}, "meddra_code"),
        ({"meddra_code": 10035664, "meddra_version": "27.1"}, None),
        ({"meddra_code": "10035664", "meddra_version": "27"}, "meddra_version"),
        ({"meddra_code": "10035664", "meddra_version": "27.2"}, "meddra_version"),
        ({"meddra_code": "10035664", "meddra_version": "v27.1"}, "meddra_version"),
        ({"meddra_code": "10035664", "meddra_version": "127.0"}, "meddra_version"),
        ({"meddra_code": "10035664"}, "meddra_version"),
        ({"meddra_version": "27.1"}, "meddra_code"),
        ({"meddra_code": ["10035664"], "meddra_version": "27.1"}, "meddra_code"),
    ],
)
def test_a_wrong_meddra_code_or_version_is_a_400_naming_the_field(client_for, demo, changes, field):
    course = f.prescription_at(demo, "in_course")

    response = post_ae(client_for, course, ae_body(**changes))

    if field is None:  # a JSON number of 8 digits is read as its digits, as any text field
        assert response.status_code == 201, response.json()
        return
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert field in response.json()
    assert not AdverseEvent.objects.exists()


def test_the_older_adverse_event_body_still_works(client_for, demo):
    course = f.prescription_at(demo, "in_course")
    older = {
        k: v for k, v in ae_body(reported_to_pharmacovigilance=False).items() if "pharmacovigilance_report" not in k
    }
    older = {k: v for k, v in older.items() if k not in ("meddra_preferred_term", "causality", "outcome")}

    response = post_ae(client_for, course, older)

    assert response.status_code == 201
    assert response.json()["causality"] == "" and response.json()["pharmacovigilance_report_date"] is None


# --- Outcomes ------------------------------------------------------------------------------------


def post_outcome(client_for, prescription, **body):
    return client_for("prescriber.milano").post(
        f"/api/v1/prescriptions/{prescription.pk}/outcomes/",
        {"day": 14, "who_cps": 6, "assessed_on": f.today().isoformat(), **body},
        format="json",
    )


def test_an_outcome_records_icu_respiratory_failure_and_death(client_for, demo):
    course = f.prescription_at(demo, "completed")  # first dose 29 days ago
    died = f.today() - timedelta(days=2)

    day14 = post_outcome(client_for, course, who_cps=8, icu_admission=True, severe_respiratory_failure=True)
    day28 = post_outcome(client_for, course, day=28, who_cps=10, death_on=died.isoformat(), death_cause="ARDS")

    assert day14.status_code == day28.status_code == 201, (day14.json(), day28.json())
    assert day14.json()["icu_admission"] is True and day14.json()["severe_respiratory_failure"] is True
    assert day28.json()["death_on"] == died.isoformat() and day28.json()["death_cause"] == "ARDS"
    assert day28.json()["icu_admission"] is None
    assert last_event(course.pk).changes["death_cause"] == "ARDS"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"who_cps": 8, "death_on": f.today().isoformat()}, "death_on"),
        ({"who_cps": 10, "death_cause": "ARDS"}, "death_on"),
        ({"who_cps": 10, "death_on": (f.today() + timedelta(days=1)).isoformat()}, "death_on"),
        ({"who_cps": 10, "death_on": (f.today() - timedelta(days=90)).isoformat()}, "death_on"),
        ({"icu_admission": "sometimes"}, "icu_admission"),
    ],
)
def test_a_wrong_death_or_flag_is_a_400(client_for, demo, body, field):
    course = f.prescription_at(demo, "completed")

    response = post_outcome(client_for, course, **body)

    assert response.status_code == 400
    assert field in response.json()
    assert not Outcome.objects.exists()


# --- Pregnancy: one answer, judged as a warning ---------------------------------------------------------------


def _warning(response, code: str) -> str:
    return next(r["outcome"] for r in response.json()["eligibility"]["results"] if r["code"] == code)


@pytest.mark.parametrize(
    ("status", "outcome"), [("pregnant", "warn"), ("breastfeeding", "warn"), ("none", "pass"), ("", "pass")]
)
def test_the_baseline_pregnancy_status_raises_the_warning_when_the_assessment_leaves_it_out(
    client_for, demo, status, outcome
):
    response = api_submit(client_for, baseline={"pregnancy_status": status})

    assert response.status_code == 201, response.json()
    assert _warning(response, "PREGNANCY_BREASTFEEDING") == outcome
    assert response.json()["status"] == "awaiting_dispensing"  # a warning never refuses


@pytest.mark.parametrize(("status", "given"), [("pregnant", False), ("breastfeeding", False), ("none", True)])
def test_an_assessment_contradicting_the_baseline_pregnancy_status_is_a_400(client_for, demo, status, given):
    assessment = {**f.eligible_assessment(), "pregnant_or_breastfeeding": given}

    response = api_submit(client_for, assessment=assessment, baseline={"pregnancy_status": status})

    assert response.status_code == 400
    assert "pregnant_or_breastfeeding" in response.json()["assessment"]
    assert not Prescription.objects.exists()


def test_a_live_vaccine_warns_in_the_stored_verdict(client_for, demo):
    response = api_submit(client_for, assessment={**f.eligible_assessment(), "live_vaccine": True})

    assert response.status_code == 201
    assert _warning(response, "LIVE_VACCINE") == "warn"
    assert Prescription.objects.get().assessment["live_vaccine"] is True


def test_every_empty_baseline_field_is_nullable_in_the_schema(client_for, demo):
    """Issue 17: the dates came back null where the OpenAPI schema said a non-nullable string."""
    from drf_spectacular.generators import SchemaGenerator

    baseline = detail(client_for, api_submit(client_for).json()["id"])["baseline"]
    schema = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]["BaselineOutput"]

    empty = [name for name, value in baseline.items() if value is None]
    assert "symptom_onset_on" in empty and "sars_cov_2_test_on" in empty
    assert [name for name in empty if not schema["properties"][name].get("nullable")] == []
