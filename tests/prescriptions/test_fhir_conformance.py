"""Every FHIR bundle of the demo history, one prescription in each course state, validates against FHIR R4
with validators the project did not write, and the registry's own code systems resolve where they claim to be.

* Structure: fhirclient's models generated from FHIR 4.0.1 (R4) in strict mode (an unknown element, a wrong
  type or a missing required one raises), and fhir.resources' pydantic models (its R4B release), the Bundle and
  each resource with its own class.
* Terminology: the codes of HL7's code systems are checked against those code systems' published concepts
  (terminology.hl7.org, listed below with their source); UCUM codes are parsed by ucumvert's UCUM grammar; the
  registry's own codes must be concepts of the CodeSystem its canonical URL answers.
* Narrative: every resource has a generated XHTML narrative that parses as XHTML.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.codesystem import CodeSystem
from fhirclient.models.bundle import Bundle as R4Bundle
from fhirclient.models.fhirelementfactory import FHIRElementFactory
from lxml import etree
from rest_framework.test import APIClient
from ucumvert import get_ucum_parser

from prescriptions import services
from prescriptions.models import Prescription, PrescriptionStatus
from tests.demo_snapshot import history_build

HL7 = "http://terminology.hl7.org/CodeSystem/"
# The concepts of the HL7 code systems the registry uses (terminology.hl7.org, FHIR R4 release 4.0.1).
HL7_CODE_SYSTEMS = {
    HL7 + "adverse-event-seriousness": {
        "Non-serious", "Serious", "SeriousResultsInDeath", "SeriousIsLifeThreatening",
        "SeriousResultsInHospitalization", "SeriousResultsInPersistentDisability", "SeriousIsCongenitalAnomaly",
        "SeriousRequiresPreventImpair",
    },
    HL7 + "adverse-event-outcome": {"resolved", "recovering", "ongoing", "resolvedWithSequelae", "fatal", "unknown"},
    HL7 + "adverse-event-causality-assess": {
        "Certain", "Probably-Likely", "Possible", "Unlikely", "Conditional-Classified", "Unassessable-Unclassifiable",
    },
    HL7 + "observation-category": {
        "social-history", "vital-signs", "imaging", "laboratory", "procedure", "survey", "exam", "therapy", "activity",
    },
    HL7 + "v3-ObservationInterpretation": {"L", "H", "LL", "HH", "N", "A", "AA", "LU", "HU"},
    HL7 + "medicationrequest-category": {"inpatient", "outpatient", "community", "discharge"},
    HL7 + "condition-clinical": {"active", "recurrence", "relapse", "inactive", "remission", "resolved"},
    HL7 + "condition-ver-status": {
        "unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error",
    },
}  # fmt: skip
UCUM = "http://unitsofmeasure.org"
XHTML = "http://www.w3.org/1999/xhtml"


def walk(value):
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


@pytest.fixture(scope="module")
def ucum():
    return get_ucum_parser()


@pytest.fixture
def local_code_systems():
    """The registry's code systems as its canonical URLs answer them: {url: {code, …}}."""
    client = APIClient()
    bundle = client.get("/fhir/CodeSystem").json()
    systems = {}
    for entry in bundle["entry"]:
        url = entry["resource"]["url"]
        assert url.startswith(settings.FHIR_BASE_URL + "/CodeSystem/")
        response = client.get(url.removeprefix(settings.FHIR_BASE_URL.removesuffix("/fhir")))
        assert response.status_code == 200
        resource = json.loads(response.content)
        CodeSystem.model_validate(resource)
        FHIRElementFactory.instantiate("CodeSystem", resource)
        systems[url] = {concept["code"] for concept in resource["concept"]}
    return systems


def conform(bundle: dict, *, ucum, local_code_systems) -> None:
    """Every check of the module docstring, on one bundle."""
    Bundle.model_validate(bundle)
    R4Bundle(bundle, strict=True)  # FHIR 4.0.1: raises on an unknown element, a wrong type or a missing one
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert resource["text"]["status"] == "generated", resource["resourceType"]
        div = etree.fromstring(resource["text"]["div"].encode())
        assert div.tag == f"{{{XHTML}}}div"
        for contained in resource.get("contained", ()):
            get_fhir_model_class(contained["resourceType"]).model_validate(contained)
            assert "text" not in contained  # dom-1
    for value in walk(bundle):
        if not isinstance(value, dict):
            continue
        system = value.get("system")
        if "code" in value and isinstance(system, str):
            if system.startswith(HL7):
                assert system in HL7_CODE_SYSTEMS, f"an HL7 code system the test does not know: {system}"
                assert value["code"] in HL7_CODE_SYSTEMS[system], (system, value["code"])
            elif system == UCUM:
                ucum.parse(value["code"])  # raises on anything UCUM does not define
            elif system.startswith(settings.FHIR_BASE_URL):
                assert value["code"] in local_code_systems[system], (system, value["code"])
            else:
                assert not system.startswith("urn:registro648:"), f"a code system nobody can resolve: {system}"
        if "value" in value and "unit" in value and isinstance(value["value"], int | float):
            assert value.get("system") == UCUM, f"a quantity outside UCUM: {value}"


@pytest.fixture
def history(demo):
    """The demo's month of prescriptions, one of them stopped before any dose (the history has no cancelled)."""
    history_build()
    if not Prescription.objects.filter(status=PrescriptionStatus.CANCELLED).exists():
        waiting = Prescription.objects.filter(status=PrescriptionStatus.AWAITING_DISPENSING).order_by("-prescribed_at")
        prescription = waiting[1] if len(waiting) > 1 else waiting[0]
        services.prescription_stop(
            prescriber=prescription.prescriber, prescription=prescription, reason="discharge", note="home"
        )
    return list(Prescription.objects.order_by("prescribed_at"))


def test_every_bundle_of_the_demo_history_validates(client_for, history, ucum, local_code_systems):
    client = client_for("officer.lombardia")
    milan = [p for p in history if p.centre.region.code == "030"]
    assert milan
    seen_types, seen_states = set(), set()
    for prescription in milan:
        response = client.get(f"/api/v1/prescriptions/{prescription.pk}/fhir/")
        assert response.status_code == 200
        bundle = json.loads(response.content)
        conform(bundle, ucum=ucum, local_code_systems=local_code_systems)
        seen_types |= {e["resource"]["resourceType"] for e in bundle["entry"]}
        seen_states.add(prescription.status)
    assert {"Patient", "MedicationRequest", "MedicationDispense", "MedicationAdministration"} <= seen_types
    assert len(seen_states) >= 3


def test_every_course_state_validates(client_for, history, ucum, local_code_systems):
    """One prescription in each state the registry knows (the demo history, both regions)."""
    by_state = {}
    for prescription in history:
        by_state.setdefault(prescription.status, prescription)
    missing = set(PrescriptionStatus.values) - set(by_state)
    assert not missing, f"the demo history lacks {missing}"
    for state, prescription in by_state.items():
        username = "officer.lombardia" if prescription.centre.region.code == "030" else "officer.lazio"
        response = client_for(username).get(f"/api/v1/prescriptions/{prescription.pk}/fhir/")
        assert response.status_code == 200, state
        conform(json.loads(response.content), ucum=ucum, local_code_systems=local_code_systems)


def test_adverse_event_seriousness_is_hl7s_case_sensitive_code(client_for, history):
    events = [e for p in history for e in p.adverse_events.all() if p.centre.region.code == "030"]
    assert any(e.serious for e in events)
    client = client_for("officer.lombardia")
    for prescription in {e.prescription for e in events}:
        bundle = client.get(f"/api/v1/prescriptions/{prescription.pk}/fhir/").json()
        for entry in bundle["entry"]:
            if entry["resource"]["resourceType"] == "AdverseEvent":
                (coding,) = entry["resource"]["seriousness"]["coding"]
                assert coding["code"] in {"Serious", "Non-serious"}


def test_dispensed_syringes_are_ucum_annotations(client_for, history):
    dispensed = next(p for p in history if p.dispensations.exists() and p.centre.region.code == "030")
    bundle = client_for("officer.lombardia").get(f"/api/v1/prescriptions/{dispensed.pk}/fhir/").json()
    dispense = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationDispense")
    assert dispense["quantity"]["system"] == UCUM
    assert dispense["quantity"]["code"] == "{syringe}"
    request = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationRequest")
    assert request["dispenseRequest"]["quantity"]["code"] == "{syringe}"


# --- The FHIR base: metadata and code systems ---------------------------------------------------


def test_capability_statement(db):
    response = APIClient().get("/fhir/metadata")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    statement = json.loads(response.content)
    CapabilityStatement.model_validate(statement)
    FHIRElementFactory.instantiate("CapabilityStatement", statement)
    assert statement["fhirVersion"] == "4.0.1"
    (rest,) = statement["rest"]
    assert {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"} in rest[
        "operation"
    ]
    assert rest["resource"][0]["type"] == "CodeSystem"


def test_code_systems_are_served_at_their_canonical_urls(db, local_code_systems):
    assert {url.rsplit("/", 1)[1] for url in local_code_systems} == {
        "criterion",
        "alert",
        "refusal-category",
        "stop-reason",
        "adverse-event-category",
        "observation",
    }
    assert "SUPAR_AT_LEAST_6" in local_code_systems[f"{settings.FHIR_BASE_URL}/CodeSystem/criterion"]
    assert "NEUTROPENIA" in local_code_systems[f"{settings.FHIR_BASE_URL}/CodeSystem/alert"]


def test_code_system_search_by_url_and_unknown_system(db):
    client = APIClient()
    url = f"{settings.FHIR_BASE_URL}/CodeSystem/stop-reason"
    bundle = client.get("/fhir/CodeSystem", {"url": url}).json()
    Bundle.model_validate(bundle)
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["stop-reason"]
    response = client.get("/fhir/CodeSystem/nonexistent")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


# --- Formats the FHIR base cannot produce: 406, whether asked by Accept or by _format --------------------------


@pytest.mark.parametrize(
    "ask",
    [
        {"HTTP_ACCEPT": "application/fhir+xml"},
        {"data": {"_format": "xml"}},
        {"data": {"_format": "application/fhir+xml"}},
        {"data": {"_format": "text/xml"}},
        {"data": {"_format": "ttl"}},
        {"data": {"_format": "html"}},
        {"data": {"_format": "nonsense"}},
    ],
)
@pytest.mark.parametrize("path", ["/fhir/metadata", "/fhir/CodeSystem", "/fhir/CodeSystem/stop-reason"])
def test_a_format_the_server_cannot_produce_is_406(db, path, ask):
    response = APIClient().get(path, **ask)
    assert response.status_code == 406, (response.status_code, response.content[:200])
    assert response.json()["code"] == "NOT_ACCEPTABLE"


@pytest.mark.parametrize("fmt", ["json", "application/json", "application/fhir+json"])
def test_a_json_format_is_served(db, fmt):
    response = APIClient().get("/fhir/metadata", {"_format": fmt})
    assert response.status_code == 200
    assert response.json()["resourceType"] == "CapabilityStatement"


def test_an_unencoded_plus_in_format_still_means_fhir_json(db):
    # ``?_format=application/fhir+json`` typed as is: the query string decodes the ``+`` to a space.
    response = APIClient().get("/fhir/metadata?_format=application/fhir+json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert APIClient().get("/fhir/metadata?_format=application/fhir+xml").status_code == 406
