"""Every FHIR bundle of the demo history, one prescription in each course state, validates against FHIR R4
with validators the project did not write, and the registry's own code systems resolve where they claim to be.

* Structure: fhirclient's models generated from FHIR 4.0.1 (R4) in strict mode (an unknown element, a wrong
  type or a missing required one raises), and fhir.resources' pydantic models (its R4B release), the Bundle and
  each resource with its own class.
* Terminology: the codes of HL7's code systems are checked against those code systems' published concepts
  (terminology.hl7.org, listed below with their source); UCUM codes are parsed by ucumvert's UCUM grammar; the
  registry's own codes must be concepts of the CodeSystem its canonical URL answers.
* Narrative: every resource has a generated XHTML narrative that parses as XHTML.
* FHIR.js (npm ``fhir`` 4.12.0, Lantana, pinned in tests/fhir_validator/, run by Node): every bundle of the
  demo history and every NDJSON line of a regional and a national bulk export, in one Node process, against the
  R4 definitions (unknown elements are errors, cardinality, primitive formats, reference targets) and HL7's value
  sets (a code outside a required binding is an error), and, by tests/fhir_validator/validate.js, every coding of
  an HL7 code system against that system's concepts as FHIR.js's value sets list them (case-sensitive).
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
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
from prescriptions.interop import bulk
from prescriptions.models import Prescription, PrescriptionStatus
from tests.conftest import need
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
FHIR_VALIDATOR = Path(__file__).resolve().parents[1] / "fhir_validator"
FHIRJS_VERSION = "4.12.0"


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


# --- FHIR.js: an independent validator, the R4 definitions and HL7's value sets ---------------------------------


@pytest.fixture(scope="session")
def fhirjs():
    """``validate(resources) -> [result, …]``: tests/fhir_validator/validate.js over every resource at once (one
    Node process), a result per resource with FHIR.js's messages and the script's terminology ones."""
    node = shutil.which("node")
    need(node is not None, "the FHIR.js validator needs Node.js (node on PATH)")
    need(
        (FHIR_VALIDATOR / "node_modules" / "fhir" / "package.json").is_file(),
        "FHIR.js is not installed (make install-dev: npm ci in tests/fhir_validator)",
    )

    def validate(resources: list[dict]) -> list[dict]:
        completed = subprocess.run(  # noqa: S603 - our own script, the resources on stdin
            [node, str(FHIR_VALIDATOR / "validate.js")],
            input=json.dumps(resources),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert completed.returncode in (0, 1), completed.stderr
        report = json.loads(completed.stdout)
        assert report["fhirjs"] == FHIRJS_VERSION
        assert len(report["results"]) == len(resources)
        assert completed.returncode == (1 if errors_of(report["results"]) else 0)
        return report["results"]

    return validate


def errors_of(results: list[dict]) -> list[tuple[str, dict]]:
    return [(r["source"], m) for r in results for m in r["messages"] if m["severity"] in ("error", "fatal")]


def bulk_lines(user) -> list[dict]:
    """Every NDJSON line of a bulk export ``user`` asks for, run here as the worker would run it."""
    export = bulk.bulk_export_request(
        user=user,
        request_url="http://testserver/fhir/$export",
        resource_types=list(bulk.BULK_RESOURCE_TYPES),
        since=None,
    )
    assert bulk.bulk_export_run(str(export.pk)) == "done"
    export.refresh_from_db()
    lines = []
    for output in export.files:
        with default_storage.open(output["name"]) as handle:
            lines += [json.loads(line) for line in handle.read().decode().splitlines()]
    assert lines
    return lines


@pytest.mark.services
def test_fhirjs_accepts_every_bundle_and_every_bulk_line(fhirjs, client_for, demo, history, settings, tmp_path):
    """Every prescription of the demo history (every course state, both regions), as its officer's bundle, and
    every line of Lombardy's and of the national bulk export: no error from FHIR.js."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    officers = {"030": client_for("officer.lombardia"), "120": client_for("officer.lazio")}
    bundles, states = [], set()
    for prescription in history:
        response = officers[prescription.centre.region.code].get(f"/api/v1/prescriptions/{prescription.pk}/fhir/")
        assert response.status_code == 200
        bundles.append(json.loads(response.content))
        states.add(prescription.status)
    assert states == set(PrescriptionStatus.values)
    lines = bulk_lines(demo["officer.lombardia"]) + bulk_lines(demo["aifa"])
    started = time.monotonic()
    results = fhirjs(bundles + lines)
    elapsed = time.monotonic() - started
    assert not errors_of(results), errors_of(results)[:20]
    # The checks ran: every resource of every bundle, and the HL7 codings were looked up.
    assert sum(len(b["entry"]) for b in bundles) > len(bundles) * 3
    print(f"FHIR.js: {len(bundles)} bundles and {len(lines)} bulk lines in {elapsed:.1f} s")


@pytest.mark.services
def test_fhirjs_finds_the_defects_it_is_here_for(fhirjs, client_for, history):
    """The validator can fail: the old lowercase seriousness and made-up codes in required bindings are errors."""
    client = client_for("officer.lombardia")
    event = next(e for p in history if p.centre.region.code == "030" for e in p.adverse_events.filter(serious=True))
    bundle = client.get(f"/api/v1/prescriptions/{event.prescription.pk}/fhir/").json()

    def resource(copied: dict, kind: str) -> dict:
        return next(e["resource"] for e in copied["entry"] if e["resource"]["resourceType"] == kind)

    lowercase = copy.deepcopy(bundle)
    resource(lowercase, "AdverseEvent")["seriousness"]["coding"][0]["code"] = "serious"
    outcome = copy.deepcopy(bundle)
    resource(outcome, "AdverseEvent")["outcome"] = {
        "coding": [{"system": HL7 + "adverse-event-outcome", "code": "better"}]
    }
    status = copy.deepcopy(bundle)
    resource(status, "MedicationRequest")["status"] = "suspended"
    unknown = copy.deepcopy(bundle)
    resource(unknown, "MedicationRequest")["dosage"] = []  # R4 says dosageInstruction

    good, *bad = fhirjs([bundle, lowercase, outcome, status, unknown])
    assert not errors_of([good])
    found = [{(m["location"], m["message"]) for _, m in errors_of([result])} for result in bad]
    # FHIR.js itself only warns (AdverseEvent.seriousness has an example binding); the script's HL7 check errs.
    assert found[0] == {
        (
            f"Bundle.entry[{index_of(bundle, 'AdverseEvent')}].resource.seriousness.coding[0]",
            f'Code "serious" is not a concept of the HL7 code system {HL7}adverse-event-seriousness',
        )
    }
    assert any(
        m["severity"] == "warning" and m["location"] == "AdverseEvent.seriousness" and '"serious"' in m["message"]
        for m in bad[0]["messages"]
    )
    assert (
        "AdverseEvent.outcome",
        f'Code "better" ({HL7}adverse-event-outcome) not found in value set',
    ) in found[1]
    assert found[2] == {("MedicationRequest.status", 'Code "suspended" not found in value set')}
    assert found[3] == {("MedicationRequest.dosage", "Unexpected property")}


def index_of(bundle: dict, kind: str) -> int:
    return next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == kind)
