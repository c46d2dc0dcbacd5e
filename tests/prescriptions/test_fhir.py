"""FHIR R4 export of a prescription (docs/api.md, ``GET /api/v1/prescriptions/{id}/fhir/``).

Every bundle is validated against fhir.resources' R4B models (an independent implementation of the FHIR
structures), the Bundle as a whole and each entry with its own class; the codes of required bindings, which
those models do not check, and the references between entries are checked here.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone, translation
from drf_spectacular.generators import SchemaGenerator
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhirclient.models.bundle import Bundle as R4Bundle
from rest_framework.test import APIClient

from prescriptions import services
from prescriptions.eligibility import result_message
from prescriptions.interop import fhir
from prescriptions.models import Prescription, PrescriptionStatus
from registry.calendar import rome_today
from registry.models import Patient

FISCAL_CODE = "RSSMRA60E01F205B"
LOT = "KIN-2021/A7"

# Codes of required bindings in R4 (fhir.resources checks the structures, not these value sets).
REQUIRED_CODES = {
    ("Bundle", "type"): {"collection"},
    ("Patient", "gender"): {"male", "female", "other", "unknown"},
    ("MedicationRequest", "status"): {
        "active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown",
    },
    ("MedicationRequest", "intent"): {
        "proposal", "plan", "order", "original-order", "reflex-order", "filler-order", "instance-order", "option",
    },
    ("MedicationDispense", "status"): {
        "preparation", "in-progress", "cancelled", "on-hold", "completed", "entered-in-error", "stopped",
        "declined", "unknown",
    },
    ("MedicationAdministration", "status"): {
        "in-progress", "not-done", "on-hold", "completed", "entered-in-error", "stopped", "unknown",
    },
    ("Observation", "status"): {
        "registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown",
    },
    ("DetectedIssue", "status"): {
        "registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown",
    },
    ("DetectedIssue", "severity"): {"high", "moderate", "low"},
    ("AdverseEvent", "actuality"): {"actual", "potential"},
}  # fmt: skip
UNITS_OF_TIME = {"s", "min", "h", "d", "wk", "mo", "a"}


def assessment(**changes) -> dict:
    """An assessment that meets every criterion, with warfarin ongoing (a CYP450 warning)."""
    data = {
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
        "concomitant_medications": [{"name": "warfarin", "ongoing": True}],
    }
    return {**data, **changes}


def submit(client_for, *, prescribed_at: datetime, **changes) -> Prescription:
    response = client_for("prescriber.milano").post(
        "/api/v1/prescriptions/",
        {
            "prescribed_at": prescribed_at.isoformat(),
            "patient": {"fiscal_code": FISCAL_CODE, "birth_date": "1960-05-01", "sex": "M", "weight_kg": 80},
            "assessment": assessment(**changes),
            "informed_consent": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return Prescription.objects.get(pk=response.json()["id"])


def at(day, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


@pytest.fixture
def rejected(client_for):
    """Refused: suPAR below 6 and on CPAP; warfarin warns."""
    return submit(
        client_for,
        prescribed_at=timezone.now() - timedelta(hours=2),
        supar_ng_ml="4.5",
        respiratory_support="cpap",
    )


@pytest.fixture
def course(client_for, demo):
    """A course: 10 syringes of lot KIN-2021/A7, doses on days 1, 2, 3 (50 mg) and 5, labs, an adverse event,
    a stop on day 5, and both outcomes; one AST result entered in error."""
    now = timezone.now()
    prescription = submit(client_for, prescribed_at=now - timedelta(days=29))
    first_day = timezone.localtime(now - timedelta(days=28)).date()
    nurse, prescriber = demo["nurse.milano"], demo["prescriber.milano"]
    services.dispensation_record(
        pharmacist=demo["pharmacist.milano"],
        prescription=prescription,
        syringes=10,
        lot_number=LOT,
        expiry_date=rome_today() + timedelta(days=365),
    )
    for offset, dose in ((0, "100"), (1, "100"), (2, "50"), (4, "100")):
        services.administration_record(
            user=nurse,
            prescription=prescription,
            administered_at=at(first_day + timedelta(days=offset), 10),
            dose_mg=Decimal(dose),
            route="SC",
        )
    day_5 = first_day + timedelta(days=4)
    for test, value, uln in (("anc", "1.2", None), ("alt", "150", "40"), ("ast", "30", "40")):
        services.lab_result_record(
            user=nurse,
            prescription=prescription,
            test=test,
            value=Decimal(value),
            upper_limit_normal=Decimal(uln) if uln else None,
            collected_at=at(day_5, 12),
        )
    wrong = prescription.lab_results.get(test="ast")
    services.record_mark_entered_in_error(
        user=nurse, prescription=prescription, kind="lab_result", record_id=wrong.pk, reason="other patient's sample"
    )
    services.adverse_event_record(
        user=nurse,
        prescription=prescription,
        category="neutropenia",
        serious=True,
        onset_date=day_5,
        description="Neutropenia grade 3 <ANC 1.2> & fever",
        reported_to_pharmacovigilance=True,
    )
    services.prescription_stop(
        prescriber=prescriber,
        prescription=prescription,
        reason="adverse_event",
        note="ANC 1.2",
        stopped_at=at(day_5, 13),
    )
    services.outcome_record(
        prescriber=prescriber, prescription=prescription, day=14, who_cps=4, assessed_on=first_day + timedelta(13)
    )
    services.outcome_record(
        prescriber=prescriber, prescription=prescription, day=28, who_cps=1, assessed_on=first_day + timedelta(27)
    )
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.STOPPED
    return prescription


def fetch(client, prescription, **headers):
    return client.get(f"/api/v1/prescriptions/{prescription.pk}/fhir/", **headers)


def validated(response) -> dict:
    """The response's Bundle, checked against the R4B models, the required codes and its own references."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/fhir+json"
    data = json.loads(response.content)
    Bundle.model_validate(data)
    R4Bundle(data, strict=True)  # fhirclient's FHIR 4.0.1 models
    for entry in data["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        for contained in resource.get("contained", ()):
            get_fhir_model_class(contained["resourceType"]).model_validate(contained)
    check_required_codes(data)
    check_references(data)
    return data


def check_required_codes(bundle: dict) -> None:
    for resource in [bundle] + [entry["resource"] for entry in bundle["entry"]]:
        for (resource_type, element), allowed in REQUIRED_CODES.items():
            if resource["resourceType"] == resource_type and element in resource:
                assert resource[element] in allowed, (resource_type, element, resource[element])
    for value in walk(bundle):
        if isinstance(value, dict):
            for key in ("periodUnit", "durationUnit"):
                if key in value:
                    assert value[key] in UNITS_OF_TIME


def check_references(bundle: dict) -> None:
    full_urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(full_urls) == len(set(full_urls)), "fullUrl repeated"
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
        by_url = {e["fullUrl"]: e["resource"]["resourceType"] for e in bundle["entry"]}
        contained = {c["id"] for c in resource.get("contained", ())}
        referenced_contained = set()
        for value in walk({k: v for k, v in resource.items() if k != "contained"}):
            if isinstance(value, dict) and "reference" in value:
                target = value["reference"]
                if target.startswith("#"):
                    assert target[1:] in contained, target
                    referenced_contained.add(target[1:])
                else:
                    assert target in by_url, f"{resource['resourceType']} refers to a missing {target}"
                    if "type" in value:
                        assert value["type"] == by_url[target]
        assert referenced_contained == contained, "a contained resource nobody refers to (dom-3)"


def walk(value):
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def of_type(bundle: dict, resource_type: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def codes(concept: dict) -> set[tuple[str, str]]:
    return {(c.get("system"), c["code"]) for c in concept.get("coding", ())}


def local(name: str) -> str:
    """The canonical URL of one of the registry's own code systems."""
    return f"{settings.FHIR_BASE_URL}/CodeSystem/{name}"


def ref(resource: dict) -> str:
    return f"urn:uuid:{resource['id']}"


# --- The rejected request ------------------------------------------------------------------


def test_rejected_prescription_bundle(client_for, rejected):
    bundle = validated(fetch(client_for("prescriber.milano"), rejected))
    assert bundle["type"] == "collection"
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {
        "Patient",
        "MedicationRequest",
        "Observation",
        "DetectedIssue",
    }
    (request,) = of_type(bundle, "MedicationRequest")
    assert request["status"] == "cancelled"
    assert "SUPAR_AT_LEAST_6" in request["statusReason"]["text"]
    assert "NO_CPAP_OR_VENTILATION" in request["statusReason"]["text"]
    assert "TOCILIZUMAB_SHORTAGE" not in request["statusReason"]["text"]
    assert request["intent"] == "order"
    assert codes(request["medicationCodeableConcept"]) == {("http://www.whocc.no/atc", "L04AC03")}
    assert request["medicationCodeableConcept"]["text"] == "anakinra 100 mg/0,67 mL (Kineret)"
    assert request["requester"] == {"display": "prescriber.milano"}
    assert request["authoredOn"] == timezone.localtime(rejected.prescribed_at).isoformat(timespec="seconds")
    assert "extension" not in json.dumps(bundle)
    assert any("L648-2021-10" in note["text"] for note in request["note"])

    (dosage,) = request["dosageInstruction"]
    assert dosage["timing"]["repeat"] == {
        "boundsDuration": {"value": 10, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"},
        "frequency": 1,
        "period": 1,
        "periodUnit": "d",
        "count": 10,
    }
    assert codes(dosage["route"]) == {("http://snomed.info/sct", "34206005")}
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 100
    assert request["dispenseRequest"]["quantity"]["value"] == 10

    issues = {codes(i["code"]).pop()[1]: i for i in of_type(bundle, "DetectedIssue")}
    assert set(issues) == {"SUPAR_AT_LEAST_6", "NO_CPAP_OR_VENTILATION", "CYP450_NARROW_THERAPEUTIC_INDEX"}
    assert issues["CYP450_NARROW_THERAPEUTIC_INDEX"]["severity"] == "moderate"
    assert issues["SUPAR_AT_LEAST_6"]["severity"] == "high"
    for issue in issues.values():
        assert issue["status"] == "final"
        assert issue["code"]["text"] in issues
        assert issue["detail"]
        assert issue["implicated"][0]["reference"] == ref(request)
    warning = next(r for r in rejected.eligibility["results"] if r["outcome"] == "warn")
    with translation.override("it"):  # the request asked for no language: the registry's own
        assert issues["CYP450_NARROW_THERAPEUTIC_INDEX"]["detail"] == result_message(warning)
    assert {i["reference"] for i in request["detectedIssue"]} == {ref(i) for i in issues.values()}

    observations = {o["code"]["text"]: o for o in of_type(bundle, "Observation")}
    supar = next(o for o in observations.values() if codes(o["code"]) == {(local("observation"), "supar")})
    assert supar["valueQuantity"] == {
        "value": 4.5,
        "unit": "ng/mL",
        "system": "http://unitsofmeasure.org",
        "code": "ng/mL",
    }
    ratio = observations["PaO2/FiO2 ratio"]
    assert codes(ratio["code"]) == {("http://loinc.org", "50984-4")}
    assert ratio["valueQuantity"]["value"] == 200
    assert ratio["valueQuantity"]["code"] == "mm[Hg]"
    assert {codes(c["code"]).pop()[1]: c["valueQuantity"]["value"] for c in ratio["component"]} == {
        "2703-7": 80,
        "3150-0": 40,
    }
    assert {i["reference"] for i in request["supportingInformation"]} == {ref(supar), ref(ratio)}


def _outside_the_patient(bundle: dict) -> str:
    """Every resource of the bundle but the Patient, as text (where the fiscal code must never be)."""
    return json.dumps([e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"])


def test_patient_carries_only_the_pseudonym_outside_the_centre(client_for, rejected):
    response = fetch(client_for("officer.lombardia"), rejected)
    bundle = validated(response)
    (patient,) = of_type(bundle, "Patient")
    stored = Patient.objects.get()
    assert patient.pop("text")["status"] == "generated"
    assert patient == {
        "resourceType": "Patient",
        "id": str(stored.pk),
        "identifier": [{"system": "urn:registro648:pseudonym", "value": stored.pseudonym}],
        "birthDate": "1960-05-01",
        "gender": "male",
    }
    assert FISCAL_CODE.lower() not in response.content.decode().lower()
    for resource in (e["resource"] for e in bundle["entry"]):
        if "subject" in resource or "patient" in resource:
            assert (resource.get("subject") or resource.get("patient"))["reference"] == ref(patient)


def test_the_centres_staff_get_the_name_and_fiscal_code_in_the_patient_only(client_for, demo):
    response = client_for("prescriber.milano").post(
        "/api/v1/prescriptions/",
        {
            "patient": {
                "fiscal_code": FISCAL_CODE,
                "birth_date": "1960-05-01",
                "sex": "M",
                "family_name": "Rossi",
                "given_name": "Mario Luigi",
            },
            "assessment": assessment(),
            "informed_consent": True,
        },
        format="json",
    )
    prescription = Prescription.objects.get(pk=response.json()["id"])

    staff = validated(fetch(client_for("nurse.milano"), prescription))
    officer = fetch(client_for("officer.lombardia"), prescription).content.decode()

    (patient,) = of_type(staff, "Patient")
    assert patient["name"] == [{"use": "official", "family": "Rossi", "given": ["Mario", "Luigi"]}]
    assert {"system": fhir.FISCAL_CODE_SYSTEM, "value": FISCAL_CODE} in patient["identifier"]
    assert "Rossi" not in _outside_the_patient(staff)
    assert FISCAL_CODE not in officer and "Rossi" not in officer


# --- A course ------------------------------------------------------------------------------------


def test_course_bundle(client_for, course):
    response = fetch(client_for("prescriber.milano"), course)
    bundle = validated(response)
    assert FISCAL_CODE not in _outside_the_patient(bundle).upper()
    counts = {}
    for entry in bundle["entry"]:
        counts[entry["resource"]["resourceType"]] = counts.get(entry["resource"]["resourceType"], 0) + 1
    assert counts == {
        "Patient": 1,
        "MedicationRequest": 1,
        "MedicationDispense": 1,
        "MedicationAdministration": 4,
        "AdverseEvent": 1,
        "Observation": 2 + 3 + 2,  # baseline, labs, outcomes
        "DetectedIssue": 1 + 4,  # the CYP450 warning; missed dose, neutropenia, hepatic, deviation
    }
    (request,) = of_type(bundle, "MedicationRequest")
    assert request["status"] == "stopped"
    assert codes(request["statusReason"]) == {(local("stop-reason"), "adverse_event")}
    assert "ANC 1.2" in request["statusReason"]["text"]

    (dispense,) = of_type(bundle, "MedicationDispense")
    assert dispense["status"] == "completed"
    (medication,) = dispense["contained"]
    assert medication["resourceType"] == "Medication"
    assert medication["batch"] == {
        "lotNumber": LOT,
        "expirationDate": (rome_today() + timedelta(days=365)).isoformat(),
    }
    assert codes(medication["code"]) == {("http://www.whocc.no/atc", "L04AC03")}
    assert dispense["medicationReference"]["reference"] == "#medication"
    assert dispense["quantity"]["value"] == 10
    assert dispense["authorizingPrescription"] == [{"reference": ref(request), "type": "MedicationRequest"}]
    assert dispense["whenHandedOver"] == timezone.localtime(course.dispensations.get().recorded_at).isoformat(
        timespec="seconds"
    )
    assert dispense["performer"] == [{"actor": {"display": "pharmacist.milano"}}]

    doses = of_type(bundle, "MedicationAdministration")
    assert [d["status"] for d in doses] == ["completed"] * 4
    assert [d["dosage"]["dose"]["value"] for d in doses] == [100, 100, 50, 100]
    assert all(d["request"]["reference"] == ref(request) for d in doses)
    assert all(codes(d["dosage"]["route"]) == {("http://snomed.info/sct", "34206005")} for d in doses)
    assert all(d["effectiveDateTime"].endswith(("+01:00", "+02:00")) for d in doses)
    deviation = doses[2]
    assert "Protocol deviation" in deviation["note"][0]["text"]
    assert not any("note" in d for d in (doses[0], doses[1], doses[3]))

    labs = {
        code: o
        for o in of_type(bundle, "Observation")
        for system, code in codes(o["code"])
        if system == "http://loinc.org" and "component" not in o
    }
    anc, alt, ast = labs["751-8"], labs["1742-6"], labs["1920-8"]
    assert anc["valueQuantity"] == {
        "value": 1.2,
        "unit": "10*9/L",
        "system": "http://unitsofmeasure.org",
        "code": "10*9/L",
    }
    assert codes(anc["interpretation"][0]) == {
        ("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "L")
    }
    assert "referenceRange" not in anc
    assert alt["valueQuantity"]["value"] == 150
    assert alt["referenceRange"] == [
        {"high": {"value": 40, "unit": "U/L", "system": "http://unitsofmeasure.org", "code": "U/L"}}
    ]
    assert codes(alt["interpretation"][0]) == {
        ("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "H")
    }
    assert ast["status"] == "entered-in-error"
    assert "interpretation" not in ast
    assert "other patient's sample" in ast["note"][0]["text"]
    assert anc["status"] == alt["status"] == "final"
    assert all(o["basedOn"] == [{"reference": ref(request), "type": "MedicationRequest"}] for o in (anc, alt))

    (event,) = of_type(bundle, "AdverseEvent")
    assert event["actuality"] == "actual"
    assert event["subject"]["reference"] == ref(of_type(bundle, "Patient")[0])
    assert event["date"] == (course.first_dose_on + timedelta(days=4)).isoformat()
    assert event["event"]["text"] == "Neutropenia grade 3 <ANC 1.2> & fever"
    assert codes(event["seriousness"]) == {
        ("http://terminology.hl7.org/CodeSystem/adverse-event-seriousness", "Serious")
    }
    assert codes(event["category"][0]) == {(local("adverse-event-category"), "neutropenia")}
    assert event["suspectEntity"][0]["instance"]["reference"] == "#anakinra"
    assert "&lt;ANC 1.2&gt; &amp; fever" in event["text"]["div"]
    assert "pharmacovigilance network: yes" in event["text"]["div"]

    outcomes = {
        codes(o["code"]).pop()[1]: o
        for o in of_type(bundle, "Observation")
        if codes(o["code"]) & {(local("observation"), f"who-cps-day-{d}") for d in (14, 28)}
    }
    assert outcomes["who-cps-day-14"]["valueInteger"] == 4
    assert outcomes["who-cps-day-28"]["valueInteger"] == 1
    assert outcomes["who-cps-day-28"]["effectiveDateTime"] == (course.first_dose_on + timedelta(27)).isoformat()

    issues = {i["code"]["text"]: i for i in of_type(bundle, "DetectedIssue")}
    assert set(issues) == {
        "CYP450_NARROW_THERAPEUTIC_INDEX",
        "MISSED_DOSE",
        "NEUTROPENIA",
        "HEPATIC",
        "PROTOCOL_DEVIATION",
    }
    assert issues["NEUTROPENIA"]["severity"] == issues["HEPATIC"]["severity"] == "high"
    assert issues["MISSED_DOSE"]["identifiedDateTime"] == (course.first_dose_on + timedelta(3)).isoformat()
    assert [i["reference"] for i in issues["NEUTROPENIA"]["implicated"]] == [ref(request), ref(anc)]
    assert [i["reference"] for i in issues["HEPATIC"]["implicated"]] == [ref(request), ref(alt)]
    assert [i["reference"] for i in issues["PROTOCOL_DEVIATION"]["implicated"]] == [ref(request), ref(deviation)]
    assert "1,2" in issues["NEUTROPENIA"]["detail"]  # in the reader's language: Italian by default


def test_export_is_stable_but_each_bundle_new(client_for, course):
    client = client_for("nurse.milano")
    first, second = validated(fetch(client, course)), validated(fetch(client, course))
    assert first["id"] != second["id"]
    assert [e["fullUrl"] for e in first["entry"]] == [e["fullUrl"] for e in second["entry"]]


def test_fhir_media_type_is_negotiated(client_for, rejected):
    client = client_for("prescriber.milano")
    for accept in ("application/fhir+json", "application/json", "*/*"):
        validated(fetch(client, rejected, HTTP_ACCEPT=accept))


# --- Scope -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "status_code"),
    [
        ("prescriber.milano", 200),
        ("nurse.milano", 200),
        ("pharmacist.milano", 200),
        ("officer.lombardia", 200),
        ("prescriber.roma", 404),
        ("pharmacist.roma", 404),
        ("officer.lazio", 404),
        ("aifa", 404),
    ],
)
def test_scope(client_for, rejected, username, status_code):
    response = fetch(client_for(username), rejected)
    assert response.status_code == status_code
    if status_code == 404:
        assert FISCAL_CODE not in response.content.decode()
        assert str(rejected.patient.pseudonym) not in response.content.decode()


def test_anonymous_and_unknown(client_for, rejected):
    assert fetch(APIClient(), rejected).status_code == 401
    response = client_for("prescriber.milano").get("/api/v1/prescriptions/00000000-0000-4000-8000-000000000000/fhir/")
    assert response.status_code == 404


def test_openapi_schema_describes_the_export(db):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/prescriptions/{prescription_id}/fhir/"]["get"]
    assert "application/fhir+json" in operation["responses"]["200"]["content"]


# --- The status mapping, record by record ------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("rejected", "cancelled"),
        ("awaiting_dispensing", "active"),
        ("dispensed", "active"),
        ("in_course", "active"),
        ("completed", "completed"),
        ("stopped", "stopped"),
        ("cancelled", "cancelled"),
    ],
)
def test_request_status_mapping(status, expected):
    assert fhir.request_status(Prescription(status=status)) == expected


def test_status_reason_of_a_refusal_and_of_a_stop_before_any_dose():
    refused = Prescription(status="cancelled", dispensing_refusal_reason="Out of stock", stop_reason="other")
    assert fhir.request_status_reason(refused) == {"text": "Dispensing refused by the pharmacy: Out of stock"}
    stopped = Prescription(status="cancelled", stop_reason="discharge")
    reason = fhir.request_status_reason(stopped)
    assert reason["coding"][0] == {
        "system": local("stop-reason"),
        "code": "discharge",
        "display": str(reason["text"]),
    }
    assert fhir.request_status_reason(Prescription(status="in_course")) is None


def test_cancelled_by_the_pharmacy(client_for, demo):
    prescription = submit(client_for, prescribed_at=timezone.now() - timedelta(hours=1))
    services.dispensing_refuse(pharmacist=demo["pharmacist.milano"], prescription=prescription, note="No stock")
    bundle = validated(fetch(client_for("pharmacist.milano"), prescription))
    (request,) = of_type(bundle, "MedicationRequest")
    assert request["status"] == "cancelled"
    assert request["statusReason"] == {"text": "Dispensing refused by the pharmacy: No stock"}
    assert not of_type(bundle, "MedicationDispense")


def test_a_refusal_with_a_category_is_coded(client_for, demo):
    prescription = submit(client_for, prescribed_at=timezone.now() - timedelta(hours=1))
    services.dispensing_refuse(
        pharmacist=demo["pharmacist.milano"], prescription=prescription, category="not_reimbursable"
    )
    bundle = validated(fetch(client_for("pharmacist.milano"), prescription))
    (request,) = of_type(bundle, "MedicationRequest")
    assert request["status"] == "cancelled"
    coding = request["statusReason"]["coding"][0]
    expected_system = f"{settings.FHIR_BASE_URL}/CodeSystem/refusal-category"  # the registry's own, served there
    assert (coding["system"], coding["code"]) == (expected_system, "not_reimbursable")


def test_requested_regimen_is_the_dosage_instruction(client_for):
    """A request for another regimen (refused: REGIMEN_648) is exported as asked, not as the L.648 one."""
    prescription = submit(
        client_for,
        prescribed_at=timezone.now() - timedelta(hours=1),
        regimen={"dose_mg": 100, "route": "iv", "interval_hours": 6, "duration_days": 7},
    )
    assert prescription.status == PrescriptionStatus.REJECTED
    bundle = validated(fetch(client_for("prescriber.milano"), prescription))
    (request,) = of_type(bundle, "MedicationRequest")
    (dosage,) = request["dosageInstruction"]
    assert dosage["text"] == "100 mg IV every 6 h for 7 days"
    assert dosage["timing"]["repeat"]["period"] == 6
    assert dosage["timing"]["repeat"]["periodUnit"] == "h"
    assert dosage["timing"]["repeat"]["count"] == 28
    assert codes(dosage["route"]) == {("http://snomed.info/sct", "47625008")}
    assert "REGIMEN_648" in request["statusReason"]["text"]


def test_unknown_assessment_fields_are_never_exported(client_for):
    """The stored assessment keeps what the client sent; the export reads only the fields it knows."""
    prescription = submit(client_for, prescribed_at=timezone.now() - timedelta(hours=1), note=f"paziente {FISCAL_CODE}")
    response = fetch(client_for("prescriber.milano"), prescription)
    assert FISCAL_CODE not in _outside_the_patient(validated(response))
    assert FISCAL_CODE not in fetch(client_for("officer.lombardia"), prescription).content.decode()


# --- Issue 10: baseline, co-medication during the course, pharmacovigilance, death ------------------


def test_the_new_clinical_data_have_their_natural_fhir_place(client_for, demo):
    now = timezone.now()
    prescribed_at = now - timedelta(days=29)
    onset = timezone.localtime(prescribed_at).date() - timedelta(days=7)
    response = client_for("prescriber.milano").post(
        "/api/v1/prescriptions/",
        {
            "prescribed_at": prescribed_at.isoformat(),
            "patient": {"fiscal_code": FISCAL_CODE, "birth_date": "1960-05-01", "sex": "M"},
            "assessment": assessment(),
            "informed_consent": True,
            "baseline": {
                "symptom_onset_on": onset.isoformat(),
                "sars_cov_2_test_on": (onset + timedelta(days=1)).isoformat(),
                "sars_cov_2_test_type": "molecular",
                "dexamethasone_dose_mg": 6,
                "remdesivir": True,
            },
        },
        format="json",
    )
    prescription = Prescription.objects.get(pk=response.json()["id"])
    nurse, prescriber = demo["nurse.milano"], demo["prescriber.milano"]
    first_day = timezone.localtime(now - timedelta(days=28)).date()
    services.dispensation_record(
        pharmacist=demo["pharmacist.milano"],
        prescription=prescription,
        syringes=10,
        lot_number=LOT,
        expiry_date=rome_today() + timedelta(days=365),
    )
    services.administration_record(
        user=nurse, prescription=prescription, administered_at=at(first_day, 10), dose_mg=Decimal(100), route="SC"
    )
    services.concomitant_medication_record(
        user=nurse,
        prescription=prescription,
        name="RoActemra",
        atc_code="L04AC07",
        started_on=first_day,
        dose="8 mg/kg",
    )
    services.adverse_event_record(
        user=nurse,
        prescription=prescription,
        category="serious_infection",
        serious=True,
        onset_date=first_day,
        description="Klebsiella pneumonia",
        reported_to_pharmacovigilance=True,
        meddra_preferred_term="Pneumonia klebsiella",
        causality="possible",
        outcome="fatal",
        pharmacovigilance_report_number="RNF-123",
        pharmacovigilance_report_date=first_day + timedelta(days=2),
    )
    died = first_day + timedelta(days=10)
    services.outcome_record(
        prescriber=prescriber,
        prescription=prescription,
        day=14,
        who_cps=10,
        assessed_on=first_day + timedelta(days=13),
        icu_admission=True,
        severe_respiratory_failure=True,
        death_on=died,
        death_cause="septic shock",
    )

    bundle = validated(fetch(client_for("prescriber.milano"), prescription))

    (condition,) = of_type(bundle, "Condition")
    assert codes(condition["code"]) == {("http://snomed.info/sct", "840539006")}
    assert condition["onsetDateTime"] == onset.isoformat()
    test = next(o for o in of_type(bundle, "Observation") if codes(o["code"]) == {("http://loinc.org", "94500-6")})
    assert test["effectiveDateTime"] == (onset + timedelta(days=1)).isoformat()
    assert codes(test["valueCodeableConcept"]) == {("http://snomed.info/sct", "10828004")}
    statements = {s["medicationCodeableConcept"]["text"]: s for s in of_type(bundle, "MedicationStatement")}
    assert set(statements) == {"dexamethasone", "remdesivir", "RoActemra"}
    assert statements["dexamethasone"]["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 6
    started = statements["RoActemra"]
    assert started["effectivePeriod"] == {"start": first_day.isoformat()}
    assert codes(started["medicationCodeableConcept"]) == {("http://www.whocc.no/atc", "L04AC07")}
    assert "not allowed under L.648" in started["note"][0]["text"]
    (event,) = of_type(bundle, "AdverseEvent")
    assert event["identifier"] == {"system": "urn:registro648:pharmacovigilance-report", "value": "RNF-123"}
    assert event["event"]["text"] == "Pneumonia klebsiella"
    assert codes(event["outcome"]) == {("http://terminology.hl7.org/CodeSystem/adverse-event-outcome", "fatal")}
    assert codes(event["suspectEntity"][0]["causality"][0]["assessment"]) == {
        ("http://terminology.hl7.org/CodeSystem/adverse-event-causality-assess", "Possible")
    }
    (patient,) = of_type(bundle, "Patient")
    assert patient["deceasedDateTime"] == died.isoformat()
    outcome = next(o for o in of_type(bundle, "Observation") if "valueInteger" in o)
    assert [c["valueBoolean"] for c in outcome["component"]] == [True, True]
    assert "septic shock" in outcome["note"][0]["text"]
    issue_codes = {i["code"]["coding"][0]["code"] for i in of_type(bundle, "DetectedIssue")}
    # The course is still active (one dose): the blocking alert is there.
    assert "COMEDICATION_IL_JAK" in issue_codes
