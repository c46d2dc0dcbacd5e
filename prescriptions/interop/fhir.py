"""A prescription and everything recorded on it as a FHIR R4 ``Bundle`` (docs/api.md, ``GET {id}/fhir/``).

Pure apart from the clock: a prescription read through ``selectors.prescription_view`` (records prefetched,
``alerts`` attached) in, a JSON-ready ``dict`` out. No HTTP here but ``FhirJsonRenderer``, the media type's
renderer the view negotiates with. The tests validate the output against fhir.resources' R4B models.

Design choices
--------------
* ``Bundle.type`` is ``collection`` (a snapshot, not a document: no Composition), ``timestamp`` is now, and
  ``Bundle.id`` is new on every export. Each entry has ``fullUrl`` ``urn:uuid:<id>`` and the resources refer
  to each other by those URNs (``Reference.reference`` plus ``Reference.type``). A resource's ``id`` is the
  registry record's UUID; resources with no record of their own (the baseline observations, the detected
  issues) get a UUIDv5 derived from the prescription's id, so that two exports of the same data agree.
* Only codes that are certain are used: ATC L04AC03 (anakinra), SNOMED CT routes, LOINC for the lab tests and
  the PaO2/FiO2 ratio, UCUM units, HL7 terminology for categories, interpretation and seriousness. What has
  no standard code (suPAR, WHO-CPS, eligibility criteria, alerts, stop reasons, adverse-event categories) is
  coded in the registry's own code systems, published as FHIR ``CodeSystem`` resources at their canonical URLs
  ``{FHIR_BASE_URL}/CodeSystem/{name}`` (terminology.py), always with a readable ``text``. Quantities are UCUM
  (syringes as the annotation ``{syringe}``). Every resource has a generated XHTML narrative (``text``).
* No extensions anywhere. Staff appear only as ``Reference.display`` (their username); the centre is not
  exported.
* Patient: ``id`` (the registry's patient UUID), the keyed pseudonym as an ``identifier``
  (``urn:registro648:pseudonym``), ``gender`` and ``birthDate``. For the staff of the treating centre only (the
  caller passes ``identity``), also the fiscal code as a second ``identifier`` (the codice fiscale's OID) and the
  ``name``; for anyone else no name and no fiscal code (DOMAIN.md, "The patient's identity"). Nothing from the
  stored assessment is copied wholesale (only known fields are read).
* Dates are ``YYYY-MM-DD``; datetimes are ISO 8601 in Europe/Rome with their offset, to the second; decimals
  are JSON numbers (integers when whole).

Mapping
-------
=========================  ==================================================================================
registry                   FHIR R4
=========================  ==================================================================================
Patient                    Patient (pseudonym identifier, gender M→male F→female, birthDate)
Prescription               MedicationRequest, ``intent`` order, category inpatient, ATC L04AC03, dosage from
                           the assessment's regimen (default the criteria version's, course.regimen: 100 mg
                           SC once daily for 10 days, Timing frequency 1 / 1 d, count 10, boundsDuration 10 d,
                           route SNOMED 34206005), dispenseRequest its doses in syringes, note with the criteria
                           version.
  status                   awaiting_dispensing, dispensed, in_course → ``active``; completed → ``completed``;
                           stopped → ``stopped``; cancelled → ``cancelled``; rejected → ``cancelled`` (never
                           ``entered-in-error``: the request was real and is kept for the monitoring).
  statusReason             rejected: text listing the failed criteria; refused by the pharmacy: its category
                           (the registry's ``refusal-category``) with the note; stopped / cancelled: the stop reason
                           (the registry's ``stop-reason``) with the note, or the pharmacy's refusal.
Dispensation               MedicationDispense ``completed``, with a contained Medication whose ``batch`` holds
                           ``lotNumber`` and ``expirationDate`` (where R4 keeps them), quantity in syringes,
                           ``whenHandedOver`` and ``authorizingPrescription``. Dispensations entered in error are
                           left out.
Administration             MedicationAdministration ``completed`` (``entered-in-error`` when so marked),
                           effectiveDateTime, dosage (dose in mg, SNOMED route: SC 34206005, IV 47625008,
                           IM 78421000), ``request``; a protocol deviation is stated in ``note``.
Adverse event              AdverseEvent (R4B): actuality ``actual``, ``date`` the onset, ``event.text`` the
                           description, ``category`` (the registry's ``adverse-event-category``), seriousness
                           ``Serious`` / ``Non-serious`` (HL7 adverse-event-seriousness, case-sensitive),
                           ``suspectEntity`` a contained anakinra Medication. Pharmacovigilance reporting has
                           no R4 element: it is in the narrative. R4 AdverseEvent has no status, so events
                           entered in error are left out.
Assessment                 Observation suPAR (ng/mL, the registry's ``observation`` ``supar``) and PaO2/FiO2
                           (LOINC 50984-4, mm[Hg], components PaO2 2703-7 and FiO2 3150-0 in %), at the
                           assessment time; the MedicationRequest lists them as ``supportingInformation``.
Lab result                 Observation: ANC LOINC 751-8 (10*9/L), ALT 1742-6 (U/L), AST 1920-8 (U/L);
                           referenceRange.high = the ULN when given; interpretation ``L`` / ``H`` when the
                           result raised an alert (``alerts.lab_alert``), whose message goes in ``note``.
Outcome                    Observation WHO-CPS at day 14 / 28 (the registry's ``observation``), valueInteger,
                           effective = assessed_on.
Baseline (issue 10)        Condition COVID-19 (SNOMED 840539006), ``onsetDateTime`` the symptom onset's day, when
                           an onset or a test is recorded; Observation of the SARS-CoV-2 test (LOINC 94500-6
                           molecular, 94558-4 antigen; value SNOMED 10828004 positive when the assessment says
                           the infection is confirmed), effective the test's day; dexamethasone (ATC H02AB02,
                           with its daily dose) and remdesivir (J05AB16) as MedicationStatement ``active``.
Medicine started during    MedicationStatement ``active`` (``entered-in-error`` when so marked): the medicine as
the course                 written (text) with its ATC coding when given, ``effectivePeriod.start`` the day it
                           started, ``dateAsserted`` when recorded, the dose as ``dosage.text``, the catalogue's
                           reading in ``note``; an IL or JAK inhibitor's alert is a DetectedIssue ``high``.
Adverse event details      AdverseEvent ``identifier`` the national pharmacovigilance report number
                           (``urn:registro648:pharmacovigilance-report``), ``outcome`` (HL7 adverse-event-outcome),
                           ``suspectEntity.causality.assessment`` (HL7 adverse-event-causality-assess, WHO-UMC),
                           the MedDRA preferred term as ``event.text`` (no MedDRA code is kept: text only).
Outcome details            The WHO-CPS Observation's components: ICU admission and severe respiratory failure by
                           that day (``valueBoolean``); a death sets ``Patient.deceasedDateTime`` and its cause
                           goes in the Observation's ``note``.
Eligibility fail / warn    DetectedIssue ``final``, code = the criterion code, detail = the message (rendered in the
                           request's language from the stored text; a verdict stored before texts were
                           structured gives its stored message), severity
                           ``high`` (fail) / ``moderate`` (warn), implicated → the MedicationRequest. ``pass``
                           and ``info`` results are not issues.
Alert                      DetectedIssue ``final``, code = the alert code, detail = the message, severity
                           ``high`` for NEUTROPENIA and HEPATIC, ``low`` for OUTCOME_OVERDUE, else
                           ``moderate``; implicated → the MedicationRequest and, when known, the lab
                           Observation or MedicationAdministration that raised it.
=========================  ==================================================================================

Observations and administrations entered in error keep their place with status ``entered-in-error`` and the
reason in ``note``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from html import escape

from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from rest_framework.renderers import JSONRenderer

from registry.calendar import REGISTRY_TIME_ZONE, rome_today

from ..codes import AlertCode
from ..course import workflow
from ..course.alerts import Alert, lab_alert, prescription_alerts
from ..course.regimen import course_regimen, regimen_text
from ..eligibility import result_message
from ..models import AdverseEventCategory, PrescriptionStatus, RefusalCategory, StopReason
from .terminology import canonical

FHIR_JSON = "application/fhir+json"

# Code systems.
ATC = "http://www.whocc.no/atc"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD_10 = "http://hl7.org/fhir/sid/icd-10"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
REQUEST_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
PSEUDONYM_SYSTEM = "urn:registro648:pseudonym"
# The Italian fiscal code (codice fiscale), as Italian HL7 implementations name it.
FISCAL_CODE_SYSTEM = "urn:oid:2.16.840.1.113883.2.9.4.3.2"
PRESCRIPTION_SYSTEM = "urn:registro648:prescription"
# The registry's own code systems (terminology.py): canonical URLs under FHIR_BASE_URL, resolved when a bundle is
# built (the names are the last segment of the URL).
CRITERION_SYSTEM = "criterion"
ALERT_SYSTEM = "alert"
REFUSAL_CATEGORY_SYSTEM = "refusal-category"
STOP_REASON_SYSTEM = "stop-reason"
ADVERSE_EVENT_CATEGORY_SYSTEM = "adverse-event-category"
OBSERVATION_SYSTEM = "observation"
LOCAL_SYSTEMS = frozenset(
    {
        CRITERION_SYSTEM,
        ALERT_SYSTEM,
        REFUSAL_CATEGORY_SYSTEM,
        STOP_REASON_SYSTEM,
        ADVERSE_EVENT_CATEGORY_SYSTEM,
        OBSERVATION_SYSTEM,
    }
)
PHARMACOVIGILANCE_REPORT_SYSTEM = "urn:registro648:pharmacovigilance-report"
AE_OUTCOME_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
CAUSALITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-causality-assess"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
COVID_19 = ("840539006", "Disease caused by severe acute respiratory syndrome coronavirus 2")
SARS_COV_2_TESTS = {
    "molecular": (
        "94500-6",
        "SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory specimen by NAA with probe detection",
    ),
    "antigen": ("94558-4", "SARS-CoV-2 (COVID-19) Ag [Presence] in Respiratory specimen by Rapid immunoassay"),
}
POSITIVE = ("10828004", "Positive")
# Our adverse-event outcome (E2B) → HL7 adverse-event-outcome; causality (WHO-UMC) → adverse-event-causality-assess.
AE_OUTCOMES = {
    "recovered": ("resolved", "Resolved"),
    "recovering": ("recovering", "Recovering"),
    "not_recovered": ("ongoing", "Ongoing"),
    "recovered_with_sequelae": ("resolvedWithSequelae", "Resolved with Sequelae"),
    "fatal": ("fatal", "Fatal"),
    "unknown": ("unknown", "Unknown"),
}
CAUSALITY = {
    "certain": ("Certain", "Certain"),
    "probable": ("Probably-Likely", "Probably/Likely"),
    "possible": ("Possible", "Possible"),
    "unlikely": ("Unlikely", "Unlikely"),
    "conditional": ("Conditional-Classified", "Conditional/Classified"),
    "unassessable": ("Unassessable-Unclassifiable", "Unassessable/Unclassifiable"),
}
DEXAMETHASONE = ("H02AB02", "dexamethasone")
REMDESIVIR = ("J05AB16", "remdesivir")

MEDICATION_TEXT = "anakinra 100 mg/0,67 mL (Kineret)"
ANAKINRA = {"coding": [{"system": ATC, "code": "L04AC03", "display": "anakinra"}], "text": MEDICATION_TEXT}
SYRINGE_FORM = {"text": "solution for injection in pre-filled syringe"}

# Our status → MedicationRequest.status (R4 required binding).
REQUEST_STATUS = {
    PrescriptionStatus.REJECTED: "cancelled",
    PrescriptionStatus.AWAITING_DISPENSING: "active",
    PrescriptionStatus.DISPENSED: "active",
    PrescriptionStatus.IN_COURSE: "active",
    PrescriptionStatus.COMPLETED: "completed",
    PrescriptionStatus.STOPPED: "stopped",
    PrescriptionStatus.CANCELLED: "cancelled",
}
GENDER = {"M": "male", "F": "female"}
ROUTES = {
    "SC": ("34206005", "Subcutaneous route"),
    "IV": ("47625008", "Intravenous route"),
    "IM": ("78421000", "Intramuscular route"),
}
# test → (LOINC code, LOINC display, UCUM unit)
LAB_TESTS = {
    "anc": ("751-8", "Neutrophils [#/volume] in Blood by Automated count", "10*9/L"),
    "alt": ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L"),
    "ast": ("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L"),
}
ALERT_INTERPRETATION = {
    AlertCode.NEUTROPENIA: ("L", "Low"),
    AlertCode.HEPATIC: ("H", "High"),
}
ALERT_SEVERITY = {
    AlertCode.COMEDICATION_IL_JAK: "high",
    AlertCode.NEUTROPENIA: "high",
    AlertCode.HEPATIC: "high",
    AlertCode.SERIOUS_INFECTION: "high",
    AlertCode.OUTCOME_OVERDUE: "low",
}
CRITERION_SEVERITY = {"fail": "high", "warn": "moderate"}


class FhirJsonRenderer(JSONRenderer):
    """JSON under FHIR's media type, so that ``Accept: application/fhir+json`` negotiates."""

    media_type = FHIR_JSON
    format = "fhir"


# --- Small helpers ------------------------------------------------------------------------


def _number(value) -> int | float:
    """A decimal as a JSON number: an integer when whole (``150.00`` → ``150``), else a float."""
    value = Decimal(str(value))
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _decimal(value) -> Decimal | None:
    """A number of the stored assessment (as the client sent it: number or string), or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _datetime(moment: datetime) -> str:
    return moment.astimezone(REGISTRY_TIME_ZONE).isoformat(timespec="seconds")


def _date(day: date) -> str:
    return day.isoformat()


def _quantity(value, unit: str, code: str | None = None) -> dict:
    """A UCUM quantity (``code`` defaults to ``unit``)."""
    return {"value": _number(value), "unit": unit, "system": UCUM, "code": code or unit}


def _days(value: int) -> dict:
    return _quantity(value, "d")


def _syringes(value: int) -> dict:
    """A count of pre-filled syringes, in UCUM: the annotation ``{syringe}`` (a unity with a name)."""
    return {"value": value, "unit": "syringe", "system": UCUM, "code": "{syringe}"}


def _route(route: str) -> dict:
    route = (route or "").upper()
    if route in ROUTES:
        code, display = ROUTES[route]
        return {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": route}
    return {"text": route or "other"}


def _concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict:
    if system in LOCAL_SYSTEMS:
        system = canonical(system)
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], "text": text or display or code}


def _reference(resource: dict, display: str | None = None) -> dict:
    reference = {"reference": f"urn:uuid:{resource['id']}", "type": resource["resourceType"]}
    if display:
        reference["display"] = display
    return reference


def _derived_id(prescription, *parts) -> str:
    """A stable id for a resource with no record of its own (UUIDv5 in the prescription's namespace)."""
    return str(uuid.uuid5(uuid.UUID(str(prescription.pk)), "/".join(str(part) for part in parts)))


def _observation_category(code: str) -> list[dict]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code}]}]


def _error_note(record) -> list[dict]:
    if record.entered_in_error_at is None:
        return []
    reason = record.entered_in_error_reason or "no reason given"
    return [{"text": f"Entered in error on {_datetime(record.entered_in_error_at)}: {reason}"}]


# --- The assessment --------------------------------------------------------------------------


def _assessed_at(prescription) -> str:
    raw = (prescription.assessment or {}).get("assessed_at")
    moment = parse_datetime(raw) if isinstance(raw, str) else None
    if moment is None or timezone.is_naive(moment):
        moment = prescription.prescribed_at
    return _datetime(moment)


def _regimen(prescription) -> tuple[Decimal, str, int, int]:
    """(dose mg, route, interval hours, duration days) asked for in the assessment; default the L.648 one at
    the interval the course follows (every 24 h, or every 48 h in severe renal impairment)."""
    regimen = course_regimen(prescription)
    standard = (regimen.dose_mg, regimen.route, regimen.interval_hours, regimen.window_days)
    raw = (prescription.assessment or {}).get("regimen")
    if not isinstance(raw, dict):
        return standard
    dose = _decimal(raw.get("dose_mg"))
    interval = _decimal(raw.get("interval_hours"))
    duration = _decimal(raw.get("duration_days"))
    route = str(raw.get("route") or "").strip().upper()
    if dose is None or interval is None or duration is None or not route or interval <= 0 or duration <= 0:
        return standard
    if interval != interval.to_integral_value() or duration != duration.to_integral_value():
        return standard
    return dose, route, int(interval), int(duration)


def _dosage_instruction(prescription) -> dict:
    dose, route, interval, duration = _regimen(prescription)
    if interval % 24 == 0:
        period, unit = interval // 24, "d"
        every = "once daily" if period == 1 else f"every {period} days"
    else:
        period, unit = interval, "h"
        every = f"every {interval} h"
    repeat = {"boundsDuration": _days(duration), "frequency": 1, "period": period, "periodUnit": unit}
    if (duration * 24) % interval == 0:
        repeat["count"] = duration * 24 // interval
    return {
        "sequence": 1,
        "text": f"{_number(dose)} mg {route} {every} for {duration} days",
        "timing": {"repeat": repeat},
        "route": _route(route),
        "doseAndRate": [{"doseQuantity": _quantity(dose, "mg")}],
    }


def _baseline_observations(prescription, patient_ref: dict) -> list[dict]:
    """suPAR and PaO2/FiO2 of the assessment the prescription was judged on."""
    assessment = prescription.assessment or {}
    effective = _assessed_at(prescription)
    observations = []
    supar = _decimal(assessment.get("supar_ng_ml"))
    if supar is not None:
        observations.append(
            {
                "resourceType": "Observation",
                "id": _derived_id(prescription, "observation", "supar"),
                "status": "final",
                "category": _observation_category("laboratory"),
                "code": _concept(
                    OBSERVATION_SYSTEM,
                    "supar",
                    "suPAR (soluble urokinase plasminogen activator receptor), plasma",
                ),
                "subject": patient_ref,
                "effectiveDateTime": effective,
                "valueQuantity": _quantity(supar, "ng/mL"),
            }
        )
    components = []
    pao2 = _decimal(assessment.get("pao2_mmhg"))
    fio2 = _decimal(assessment.get("fio2"))
    if pao2 is not None:
        components.append(
            {
                "code": _concept(LOINC, "2703-7", "Oxygen [Partial pressure] in Arterial blood"),
                "valueQuantity": _quantity(pao2, "mm[Hg]"),
            }
        )
    if fio2 is not None:
        components.append(
            {
                "code": _concept(LOINC, "3150-0", "Inhaled oxygen concentration"),
                "valueQuantity": _quantity(fio2 * 100, "%"),
            }
        )
    ratio = {
        "resourceType": "Observation",
        "id": _derived_id(prescription, "observation", "pao2-fio2"),
        "status": "final",
        "category": _observation_category("laboratory"),
        "code": {"coding": [{"system": LOINC, "code": "50984-4"}], "text": "PaO2/FiO2 ratio"},
        "subject": patient_ref,
        "effectiveDateTime": effective,
        "valueQuantity": _quantity(prescription.pao2_fio2_ratio, "mm[Hg]"),
    }
    if components:
        ratio["component"] = components
    observations.append(ratio)
    return observations


# --- The request ----------------------------------------------------------------------------


def request_status(prescription) -> str:
    """MedicationRequest.status for our status (see the mapping table above)."""
    return REQUEST_STATUS[PrescriptionStatus(prescription.status)]


def request_status_reason(prescription) -> dict | None:
    """Why a request is not (or no longer) active, or None."""
    eligibility = prescription.eligibility or {}
    if prescription.status == PrescriptionStatus.REJECTED:
        failed = [r.get("code") for r in eligibility.get("results", ()) if r.get("outcome") == "fail"]
        return {
            "text": f"Not eligible under criteria {prescription.criteria_version}: "
            f"failed {', '.join(failed) or 'no criterion recorded'}"
        }
    refused = prescription.refusal_category
    if prescription.status == PrescriptionStatus.CANCELLED and refused and refused != RefusalCategory.OTHER:
        # The pharmacy's refusal with its category (issue 18), the note after it when there is one.
        label = str(RefusalCategory(refused).label)
        note = prescription.dispensing_refusal_reason
        text = f"Dispensing refused by the pharmacy: {label}" + (f": {note}" if note else "")
        return _concept(REFUSAL_CATEGORY_SYSTEM, refused, label, text)
    if prescription.status == PrescriptionStatus.CANCELLED and prescription.dispensing_refusal_reason:
        return {"text": f"Dispensing refused by the pharmacy: {prescription.dispensing_refusal_reason}"}
    if prescription.status in (PrescriptionStatus.STOPPED, PrescriptionStatus.CANCELLED) and prescription.stop_reason:
        label = str(StopReason(prescription.stop_reason).label)
        text = f"{label}: {prescription.stop_note}" if prescription.stop_note else label
        return _concept(STOP_REASON_SYSTEM, prescription.stop_reason, label, text)
    return None


def _medication_request(prescription, patient_ref: dict, supporting: list[dict], issues: list[dict]) -> dict:
    assessment = prescription.assessment or {}
    _dose, _route_code, _interval, duration = _regimen(prescription)
    notes = [
        f"Law 648/96 (Determina AIFA 114586/2021). Judged by criteria version {prescription.criteria_version}: "
        + ("eligible." if prescription.eligible else "not eligible."),
        f"Registered in the registry at {_datetime(prescription.registered_at)}.",
    ]
    if prescription.stopped_at is not None:
        notes.append(f"Ended at {_datetime(prescription.stopped_at)}.")
    reason = {"text": "COVID-19 pneumonia"}
    if assessment.get("sars_cov_2_confirmed") is True:
        reason["coding"] = [{"system": ICD_10, "code": "U07.1", "display": "COVID-19, virus identified"}]
    resource = {
        "resourceType": "MedicationRequest",
        "id": str(prescription.pk),
        "identifier": [{"system": PRESCRIPTION_SYSTEM, "value": str(prescription.pk)}],
        "status": request_status(prescription),
        "intent": "order",
        "category": [{"coding": [{"system": REQUEST_CATEGORY, "code": "inpatient", "display": "Inpatient"}]}],
        "medicationCodeableConcept": ANAKINRA,
        "subject": patient_ref,
        "supportingInformation": supporting,
        "authoredOn": _datetime(prescription.prescribed_at),
        "requester": {"display": prescription.prescriber.username},
        "reasonCode": [reason],
        "note": [{"text": text} for text in notes],
        "dosageInstruction": [_dosage_instruction(prescription)],
        "dispenseRequest": {
            "quantity": _syringes(workflow.max_syringes(prescription)),
            "expectedSupplyDuration": _days(duration),
        },
        "detectedIssue": issues,
    }
    if (status_reason := request_status_reason(prescription)) is not None:
        resource["statusReason"] = status_reason
    if not supporting:
        del resource["supportingInformation"]
    if not issues:
        del resource["detectedIssue"]
    return resource


# --- Records -----------------------------------------------------------------------------------


def _medication_dispense(dispensation, patient_ref: dict, request_ref: dict) -> dict:
    return {
        "resourceType": "MedicationDispense",
        "id": str(dispensation.pk),
        "contained": [
            {
                "resourceType": "Medication",
                "id": "medication",
                "code": ANAKINRA,
                "form": SYRINGE_FORM,
                "batch": {
                    "lotNumber": dispensation.lot_number,
                    "expirationDate": _date(dispensation.expiry_date),
                },
            }
        ],
        "status": "completed",
        "medicationReference": {"reference": "#medication", "display": MEDICATION_TEXT},
        "subject": patient_ref,
        "performer": [{"actor": {"display": dispensation.recorded_by.username}}],
        "authorizingPrescription": [request_ref],
        "quantity": _syringes(dispensation.syringes),
        "daysSupply": _days(dispensation.syringes),
        "whenHandedOver": _datetime(dispensation.recorded_at),
    }


def _regimen_in_english(prescription) -> str:
    with translation.override("en"):
        return regimen_text(course_regimen(prescription))


def _medication_administration(administration, patient_ref: dict, request_ref: dict) -> dict:
    dose = _number(administration.dose_mg)
    notes = []
    if administration.protocol_deviation:
        notes.append(
            {
                "text": f"Protocol deviation: {dose} mg {administration.route}; "
                f"the regimen prescribed is {_regimen_in_english(administration.prescription)}."
            }
        )
    notes += _error_note(administration)
    resource = {
        "resourceType": "MedicationAdministration",
        "id": str(administration.pk),
        "status": "entered-in-error" if administration.in_error else "completed",
        "medicationCodeableConcept": ANAKINRA,
        "subject": patient_ref,
        "effectiveDateTime": _datetime(administration.administered_at),
        "request": request_ref,
        "dosage": {
            "text": f"{dose} mg {administration.route}, day {administration.course_day} of the course",
            "route": _route(administration.route),
            "dose": _quantity(administration.dose_mg, "mg"),
        },
    }
    if notes:
        resource["note"] = notes
    return resource


def _adverse_event(event, patient_ref: dict) -> dict:
    category = str(AdverseEventCategory(event.category).label)
    # HL7 adverse-event-seriousness is case-sensitive: ``Serious`` / ``Non-serious``.
    seriousness = ("Serious", "Serious") if event.serious else ("Non-serious", "Non-serious")
    reported = "yes" if event.reported_to_pharmacovigilance else "no"
    narrative = (
        f"<p>{escape(category)}, {seriousness[1].lower()}, onset {_date(event.onset_date)}: "
        f"{escape(event.description)}</p>"
        f"<p>Reported to the national pharmacovigilance network: {reported}.</p>"
    )
    if event.pharmacovigilance_report_number or event.pharmacovigilance_report_date:
        report = " ".join(
            part
            for part in (
                escape(event.pharmacovigilance_report_number),
                _date(event.pharmacovigilance_report_date) if event.pharmacovigilance_report_date else "",
            )
            if part
        )
        narrative += f"<p>Pharmacovigilance report: {report}.</p>"
    suspect = {"instance": {"reference": "#anakinra", "display": MEDICATION_TEXT}}
    if event.causality in CAUSALITY:
        code, display = CAUSALITY[event.causality]
        suspect["causality"] = [{"assessment": _concept(CAUSALITY_SYSTEM, code, display)}]
    resource = {
        "resourceType": "AdverseEvent",
        "id": str(event.pk),
        "text": {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{narrative}</div>'},
        "contained": [{"resourceType": "Medication", "id": "anakinra", "code": ANAKINRA}],
        "actuality": "actual",
        "category": [_concept(ADVERSE_EVENT_CATEGORY_SYSTEM, event.category, category)],
        "event": {"text": event.meddra_preferred_term or event.description},
        "subject": patient_ref,
        "date": _date(event.onset_date),
        "recordedDate": _datetime(event.recorded_at),
        "recorder": {"display": event.recorded_by.username},
        "seriousness": _concept(SERIOUSNESS, seriousness[0], seriousness[1]),
        "suspectEntity": [suspect],
    }
    if event.pharmacovigilance_report_number:
        resource["identifier"] = {
            "system": PHARMACOVIGILANCE_REPORT_SYSTEM,
            "value": event.pharmacovigilance_report_number,
        }
    if event.outcome in AE_OUTCOMES:
        code, display = AE_OUTCOMES[event.outcome]
        resource["outcome"] = _concept(AE_OUTCOME_SYSTEM, code, display)
    return resource


def _lab_observation(result, patient_ref: dict, request_ref: dict) -> dict:
    code, display, unit = LAB_TESTS[result.test]
    resource = {
        "resourceType": "Observation",
        "id": str(result.pk),
        "basedOn": [request_ref],
        "status": "entered-in-error" if result.in_error else "final",
        "category": _observation_category("laboratory"),
        "code": _concept(LOINC, code, display, display),
        "subject": patient_ref,
        "effectiveDateTime": _datetime(result.collected_at),
        "issued": _datetime(result.recorded_at),
        "valueQuantity": _quantity(result.value, unit),
    }
    notes = []
    if not result.in_error and (alert := lab_alert(result)) is not None:
        flag, flag_display = ALERT_INTERPRETATION[AlertCode(alert.code)]
        resource["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": flag, "display": flag_display}]}]
        notes.append({"text": f"{alert.code}: {alert.message}"})
    notes += _error_note(result)
    if notes:
        resource["note"] = notes
    if result.upper_limit_normal is not None:
        resource["referenceRange"] = [{"high": _quantity(result.upper_limit_normal, unit)}]
    return resource


def _outcome_observation(outcome, patient_ref: dict, request_ref: dict) -> dict:
    display = f"WHO Clinical Progression Scale at day {outcome.day}"
    resource = {
        "resourceType": "Observation",
        "id": str(outcome.pk),
        "basedOn": [request_ref],
        "status": "entered-in-error" if outcome.in_error else "final",
        "category": _observation_category("survey"),
        "code": _concept(OBSERVATION_SYSTEM, f"who-cps-day-{outcome.day}", display),
        "subject": patient_ref,
        "effectiveDateTime": _date(outcome.assessed_on),
        "issued": _datetime(outcome.recorded_at),
        "valueInteger": outcome.who_cps,
    }
    components = []
    if outcome.icu_admission is not None:
        components.append(
            {
                "code": _concept(OBSERVATION_SYSTEM, "icu-admission", f"ICU admission by day {outcome.day}"),
                "valueBoolean": outcome.icu_admission,
            }
        )
    if outcome.severe_respiratory_failure is not None:
        components.append(
            {
                "code": _concept(
                    OBSERVATION_SYSTEM,
                    "severe-respiratory-failure",
                    f"Severe respiratory failure (PaO2/FiO2 < 150, NIV or ventilation) by day {outcome.day}",
                ),
                "valueBoolean": outcome.severe_respiratory_failure,
            }
        )
    if components:
        resource["component"] = components
    notes = []
    if outcome.death_on is not None:
        cause = f": {outcome.death_cause}" if outcome.death_cause else ""
        notes.append({"text": f"Died on {_date(outcome.death_on)}{cause}"})
    notes += _error_note(outcome)
    if notes:
        resource["note"] = notes
    return resource


# --- Baseline and co-medication (issue 10) -----------------------------------------------------


def _covid_condition(prescription, patient_ref: dict) -> dict | None:
    """COVID-19, with its onset, when the baseline gives the onset or a test."""
    if prescription.symptom_onset_on is None and prescription.sars_cov_2_test_on is None:
        return None
    resource = {
        "resourceType": "Condition",
        "id": _derived_id(prescription, "condition", "covid-19"),
        "clinicalStatus": _concept(CONDITION_CLINICAL, "active", "Active"),
        "verificationStatus": _concept(CONDITION_VERIFICATION, "confirmed", "Confirmed"),
        "code": _concept(SNOMED, COVID_19[0], COVID_19[1], "COVID-19"),
        "subject": patient_ref,
        "recordedDate": _datetime(prescription.registered_at),
    }
    if prescription.symptom_onset_on is not None:
        resource["onsetDateTime"] = _date(prescription.symptom_onset_on)
    return resource


def _sars_cov_2_test(prescription, patient_ref: dict) -> dict | None:
    if prescription.sars_cov_2_test_on is None:
        return None
    test_type = prescription.sars_cov_2_test_type
    if test_type in SARS_COV_2_TESTS:
        code = _concept(LOINC, *SARS_COV_2_TESTS[test_type])
    else:
        code = _concept(OBSERVATION_SYSTEM, "sars-cov-2-test", "SARS-CoV-2 test")
    resource = {
        "resourceType": "Observation",
        "id": _derived_id(prescription, "observation", "sars-cov-2-test"),
        "status": "final",
        "category": _observation_category("laboratory"),
        "code": code,
        "subject": patient_ref,
        "effectiveDateTime": _date(prescription.sars_cov_2_test_on),
    }
    if (prescription.assessment or {}).get("sars_cov_2_confirmed") is True:
        resource["valueCodeableConcept"] = _concept(SNOMED, *POSITIVE)
    return resource


def _baseline_co_therapies(prescription, patient_ref: dict) -> list[dict]:
    statements = []
    if prescription.dexamethasone_dose_mg is not None:
        dose = _number(prescription.dexamethasone_dose_mg)
        statements.append(
            {
                "resourceType": "MedicationStatement",
                "id": _derived_id(prescription, "medicationstatement", "dexamethasone"),
                "status": "active",
                "medicationCodeableConcept": _concept(ATC, *DEXAMETHASONE, DEXAMETHASONE[1]),
                "subject": patient_ref,
                "dateAsserted": _datetime(prescription.registered_at),
                "dosage": [
                    {
                        "text": f"{dose} mg a day",
                        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                        "doseAndRate": [{"doseQuantity": _quantity(prescription.dexamethasone_dose_mg, "mg")}],
                    }
                ],
            }
        )
    if prescription.remdesivir:
        statements.append(
            {
                "resourceType": "MedicationStatement",
                "id": _derived_id(prescription, "medicationstatement", "remdesivir"),
                "status": "active",
                "medicationCodeableConcept": _concept(ATC, *REMDESIVIR, REMDESIVIR[1]),
                "subject": patient_ref,
                "dateAsserted": _datetime(prescription.registered_at),
            }
        )
    return statements


def _comedication_statement(record, patient_ref: dict) -> dict:
    """A medicine started during the course, as written, with what the catalogue recognised it as."""
    medication = {"text": record.name or record.atc_code}
    if record.atc_code:
        medication["coding"] = [{"system": ATC, "code": record.atc_code}]
    if record.il_jak_inhibitor:
        reading = "interleukin or JAK inhibitor: co-administration not allowed under L.648"
    elif record.drug_classes:
        reading = "recognised: " + ", ".join([*record.substances] or record.drug_classes)
    elif record.confirmed_not_il_jak:
        reading = "not in the catalogue; confirmed neither interleukin nor JAK inhibitor"
    else:
        reading = "not in the catalogue"
    resource = {
        "resourceType": "MedicationStatement",
        "id": str(record.pk),
        "status": "entered-in-error" if record.in_error else "active",
        "medicationCodeableConcept": medication,
        "subject": patient_ref,
        "effectivePeriod": {"start": _date(record.started_on)},
        "dateAsserted": _datetime(record.recorded_at),
        "informationSource": {"display": record.recorded_by.username},
        "note": [{"text": f"Registro 648 catalogue: {reading}"}, *_error_note(record)],
    }
    if record.dose:
        resource["dosage"] = [{"text": record.dose}]
    return resource


# --- Detected issues ----------------------------------------------------------------------------


def _detected_issue(
    *,
    id: str,
    system: str,
    code: str,
    severity: str,
    detail: str,
    identified: str | None,
    patient_ref: dict,
    implicated: list[dict],
) -> dict:
    resource = {
        "resourceType": "DetectedIssue",
        "id": id,
        "status": "final",
        "code": _concept(system, code),
        "severity": severity,
        "patient": patient_ref,
        "implicated": implicated,
        "detail": detail,
    }
    if identified:
        resource["identifiedDateTime"] = identified
    return resource


def _eligibility_issues(prescription, patient_ref: dict, request_ref: dict) -> list[dict]:
    identified = _assessed_at(prescription)
    issues = []
    for result in (prescription.eligibility or {}).get("results", ()):
        severity = CRITERION_SEVERITY.get(result.get("outcome"))
        if severity is None:
            continue
        issues.append(
            _detected_issue(
                id=_derived_id(prescription, "detectedissue", "criterion", result["code"]),
                system=CRITERION_SYSTEM,
                code=result["code"],
                severity=severity,
                detail=result_message(result),
                identified=identified,
                patient_ref=patient_ref,
                implicated=[request_ref],
            )
        )
    return issues


def _alert_issues(
    prescription,
    alerts: Iterable[Alert],
    *,
    patient_ref: dict,
    request_ref: dict,
    lab_refs: dict[Alert, dict],
    deviation_refs: dict,
) -> list[dict]:
    issues = []
    seen: dict[tuple, int] = {}
    for alert in alerts:
        key = (str(alert.code), alert.on)
        seen[key] = seen.get(key, 0) + 1
        implicated = [request_ref]
        if (record_ref := lab_refs.get(alert)) is not None:
            implicated.append(record_ref)
        elif alert.code == AlertCode.PROTOCOL_DEVIATION and alert.on in deviation_refs:
            implicated.append(deviation_refs[alert.on])
        issues.append(
            _detected_issue(
                id=_derived_id(prescription, "detectedissue", "alert", alert.code, alert.on, seen[key]),
                system=ALERT_SYSTEM,
                code=str(alert.code),
                severity=ALERT_SEVERITY.get(alert.code, "moderate"),
                detail=alert.message,
                identified=_date(alert.on) if alert.on else None,
                patient_ref=patient_ref,
                implicated=implicated,
            )
        )
    return issues


# --- Narrative ---------------------------------------------------------------------------------

# Elements summarised in a generated narrative, in this order, with their label. A resource's narrative states
# what a reader needs to recognise it; the structured data stays the reference (``text.status`` generated).
NARRATIVE_ELEMENTS = (
    ("status", "Status"),
    ("intent", "Intent"),
    ("code", "Code"),
    ("medicationCodeableConcept", "Medication"),
    ("medicationReference", "Medication"),
    ("event", "Event"),
    ("seriousness", "Seriousness"),
    ("severity", "Severity"),
    ("detail", "Detail"),
    ("gender", "Gender"),
    ("birthDate", "Birth date"),
    ("deceasedDateTime", "Died"),
    ("authoredOn", "Authored"),
    ("onsetDateTime", "Onset"),
    ("effectiveDateTime", "When"),
    ("effectivePeriod", "Since"),
    ("whenHandedOver", "Handed over"),
    ("identifiedDateTime", "Identified"),
    ("date", "Date"),
    ("quantity", "Quantity"),
    ("valueQuantity", "Value"),
    ("valueInteger", "Value"),
    ("valueCodeableConcept", "Value"),
    ("dosage", "Dosage"),
    ("dosageInstruction", "Dosage"),
    ("statusReason", "Reason"),
    ("note", "Note"),
)


def _plain(value) -> str:
    """One element as readable text (a CodeableConcept by its text, a Quantity as value and unit, ...)."""
    if isinstance(value, list):
        return "; ".join(part for part in (_plain(item) for item in value) if part)
    if isinstance(value, dict):
        if "text" in value:
            return str(value["text"])
        if "value" in value:
            return f"{value['value']} {value.get('unit', '')}".strip()
        if "display" in value:
            return str(value["display"])
        if "start" in value:
            return str(value["start"])
        if "coding" in value:
            return ", ".join(c.get("display") or c["code"] for c in value["coding"])
        return ""
    return str(value)


def _narrative(resource: dict) -> dict:
    """A generated XHTML narrative (dom-6: every resource should have one) summarising the resource."""
    rows = []
    for element, label in NARRATIVE_ELEMENTS:
        if element in resource and (text := _plain(resource[element])):
            rows.append(f"<li>{label}: {escape(text)}</li>")
    title = escape(resource["resourceType"])
    return {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p><b>{title}</b></p><ul>{"".join(rows)}</ul></div>',
    }


def _with_narrative(resource: dict) -> dict:
    if "text" in resource:
        return resource
    # text follows id (and meta) in FHIR's element order; JSON does not care, readers do.
    ordered = {key: resource[key] for key in ("resourceType", "id", "meta") if key in resource}
    ordered["text"] = _narrative(resource)
    ordered.update((key, value) for key, value in resource.items() if key not in ordered)
    return ordered


# --- The bundle -----------------------------------------------------------------------------


def _patient(patient, *, died_on: date | None = None, identity=None) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "identifier": [{"system": PSEUDONYM_SYSTEM, "value": patient.pseudonym}],
        "birthDate": _date(patient.birth_date),
    }
    if identity is not None:
        if identity.fiscal_code:
            resource["identifier"].append({"system": FISCAL_CODE_SYSTEM, "value": identity.fiscal_code})
        if identity.family_name or identity.given_name:
            name = {"use": "official"}
            if identity.family_name:
                name["family"] = identity.family_name
            if identity.given_name:
                name["given"] = identity.given_name.split()
            resource["name"] = [name]
    if patient.sex in GENDER:
        resource["gender"] = GENDER[patient.sex]
    if died_on is not None:
        resource["deceasedDateTime"] = _date(died_on)
    return resource


def prescription_bundle(
    prescription,
    *,
    alerts: Iterable[Alert] | None = None,
    now: datetime | None = None,
    identity=None,
) -> dict:
    """The FHIR R4 ``collection`` Bundle of one prescription and its records.

    ``prescription`` as ``selectors.prescription_view`` returns it (records prefetched, ``alerts``
    attached); ``alerts`` overrides the attached ones, and are computed for today when neither is there.
    ``identity``: the patient's (``registry.patient_identity.identity_for``), for the treating centre's staff only.
    """
    now = now or timezone.now()
    dispensations = list(prescription.dispensations.all())
    administrations = list(prescription.administrations.all())
    adverse_events = list(prescription.adverse_events.all())
    lab_results = list(prescription.lab_results.all())
    outcomes = list(prescription.outcomes.all())
    comedications = list(prescription.concomitant_medications.all())
    if alerts is None:
        alerts = getattr(prescription, "alerts", None)
    if alerts is None:
        alerts = prescription_alerts(
            prescription,
            administrations=administrations,
            lab_results=lab_results,
            outcomes=outcomes,
            today=rome_today(now),
            comedications=comedications,
            adverse_events=adverse_events,
        )

    deaths = sorted(o.death_on for o in outcomes if o.death_on is not None and not o.in_error)
    patient = _patient(prescription.patient, died_on=deaths[0] if deaths else None, identity=identity)
    patient_ref = _reference(patient)
    request_ref = {"reference": f"urn:uuid:{prescription.pk}", "type": "MedicationRequest"}

    baseline = _baseline_observations(prescription, patient_ref)
    condition = _covid_condition(prescription, patient_ref)
    test = _sars_cov_2_test(prescription, patient_ref)
    baseline += [test] if test else []
    co_therapies = _baseline_co_therapies(prescription, patient_ref)
    started_during = [_comedication_statement(record, patient_ref) for record in comedications]
    dispenses = [
        _medication_dispense(d, patient_ref, request_ref) for d in dispensations if d.entered_in_error_at is None
    ]
    doses = [_medication_administration(a, patient_ref, request_ref) for a in administrations]
    events = [_adverse_event(e, patient_ref) for e in adverse_events if e.entered_in_error_at is None]
    labs = [_lab_observation(r, patient_ref, request_ref) for r in lab_results]
    followed = [_outcome_observation(o, patient_ref, request_ref) for o in outcomes]

    lab_refs = {}
    for result, resource in zip(lab_results, labs, strict=True):
        if not result.in_error and (alert := lab_alert(result)) is not None:
            lab_refs[alert] = _reference(resource)
    deviation_refs = {
        a.administered_on: _reference(resource)
        for a, resource in zip(administrations, doses, strict=True)
        if a.protocol_deviation and not a.in_error
    }
    issues = _eligibility_issues(prescription, patient_ref, request_ref) + _alert_issues(
        prescription,
        alerts,
        patient_ref=patient_ref,
        request_ref=request_ref,
        lab_refs=lab_refs,
        deviation_refs=deviation_refs,
    )
    request = _medication_request(
        prescription,
        patient_ref,
        supporting=[_reference(o) for o in baseline],
        issues=[_reference(i) for i in issues],
    )

    resources = [
        patient,
        *([condition] if condition else []),
        request,
        *baseline,
        *co_therapies,
        *dispenses,
        *doses,
        *started_during,
        *labs,
        *events,
        *followed,
        *issues,
    ]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": _datetime(now),
        "entry": [
            {"fullUrl": f"urn:uuid:{resource['id']}", "resource": _with_narrative(resource)} for resource in resources
        ],
    }
