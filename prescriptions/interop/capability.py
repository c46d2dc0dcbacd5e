"""The registry's FHIR ``CapabilityStatement`` (``GET /fhir/metadata``): what a FHIR client may ask of it.

The registry is not a general FHIR server. It publishes its own code systems (read and search), runs the
HL7 FHIR Bulk Data Access system-level ``$export`` for the regions and AIFA (pseudonymised), and answers one
prescription's records as a ``collection`` Bundle at ``/api/v1/prescriptions/{id}/fhir/`` (outside the FHIR
base: its documentation says so). Pure: settings and a moment in, a JSON-ready dict out.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from registry.calendar import REGISTRY_TIME_ZONE

from .terminology import PUBLISHER, fhir_base

FHIR_VERSION = "4.0.1"
BULK_EXPORT_DEFINITION = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
# Resource types a bulk export writes (one NDJSON file each, when it has any).
BULK_RESOURCE_TYPES = (
    "Patient",
    "MedicationRequest",
    "MedicationDispense",
    "MedicationAdministration",
    "MedicationStatement",
    "Observation",
    "Condition",
    "AdverseEvent",
    "DetectedIssue",
)


def capability_statement(*, now: datetime) -> dict:
    base = fhir_base()
    documentation = (
        "Registro 648: prescriptions of anakinra for COVID-19 under Law 648/96. Authentication: the registry's "
        "API tokens (Authorization: Token ...). The records of one prescription are a collection Bundle at "
        "/api/v1/prescriptions/{id}/fhir/. $export is for regional officers (their region) and AIFA (the "
        "nation), pseudonymised: the Patient carries the keyed pseudonym, never a name or fiscal code."
    )
    return {
        "resourceType": "CapabilityStatement",
        "id": "registro648",
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>Registro 648 FHIR capabilities: the registry\'s '
            "code systems (read, search) and the system-level bulk $export (NDJSON).</p></div>",
        },
        "url": f"{base}/metadata",
        "version": settings.SPECTACULAR_SETTINGS.get("VERSION", "1.0.0"),
        "name": "Registro648",
        "title": "Registro 648 FHIR capabilities",
        "status": "active",
        "experimental": False,
        "date": now.astimezone(REGISTRY_TIME_ZONE).isoformat(timespec="seconds"),
        "publisher": PUBLISHER,
        "kind": "instance",
        "software": {"name": "Registro 648"},
        "implementation": {"description": "Registro 648", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": documentation,
                "security": {
                    "cors": False,
                    "description": "Token authentication; every export is scoped to the caller and audited.",
                },
                "resource": [
                    {
                        "type": "CodeSystem",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {
                                "name": "url",
                                "definition": "http://hl7.org/fhir/SearchParameter/conformance-url",
                                "type": "uri",
                            }
                        ],
                    }
                ],
                "operation": [{"name": "export", "definition": BULK_EXPORT_DEFINITION}],
            }
        ],
    }
