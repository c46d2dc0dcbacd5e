"""One adverse event as an ICH E2B(R3) individual case safety report (docs/api.md, "Pharmacovigilance export").

The HL7 v3 message of ICH's E2B(R3) implementation guide: a batch ``MCCI_IN200100UV01`` (N.1) holding one
message ``PORR_IN049016UV`` (N.2.r) whose ``controlActProcess/subject/investigationEvent`` is the case (C, D,
E, G, H). Element names and order follow the guide's Appendix I and ICH's reference instances; the data
element of each part is named in the comments (C.1.1, D.5, E.i.2.1b, ...). Codes are ICH code lists (OID
2.16.840.1.113883.3.989.2.1.1.N) unless named otherwise.

What the registry knows and where it goes
-----------------------------------------
* Patient (D): pseudonymised. D.1 name is masked (``nullFlavor="MSK"``); no birth date, no identifier; the age
  at onset in years (D.2.2) and its age group (D.2.3), the sex (D.5). COVID-19 as medical history (D.7.2).
* Reaction (E.i): E.i.2.1b the MedDRA lowest level term's code and E.i.2.1a the MedDRA version when the
  clinician recorded them (the dictionary is licensed: the registry ships none and checks only their form), the
  term as ``originalText``; without a code, the MedDRA code system with the term as ``originalText`` only (the
  receiving pharmacovigilance centre codes it: ``missing_meddra_code``). The term is the MedDRA preferred
  term as recorded, else the description; onset (E.i.4); seriousness criteria (E.i.3.2:
  death from a fatal outcome, "other medically important" for any other serious event, the rest not known:
  ``nullFlavor="NI"``); outcome (E.i.7); country IT (E.i.9).
* Drugs (G.k): anakinra as the suspect (G.k.1 = 1), ATC L04AC03 on its substance, 100 mg SC once daily (the
  course's regimen) from the first dose to the last (or the stop), action taken (G.k.8: withdrawn when the
  course was stopped for an adverse event), indication COVID-19 pneumonia; causality (G.k.9.i.2.r, WHO-UMC)
  when assessed. Concomitant (G.k.1 = 2): dexamethasone and remdesivir of the baseline and the medicines
  started during the course (not those entered in error), ATC-coded when known.
* Primary source (C.2.r): the healthcare professional who recorded the event — qualification (C.2.r.4:
  physician for a prescriber, other health professional for a nurse), the treating centre as organisation
  (the registry as department), country IT; no name. Sender (C.3): a health professional; organisation the
  treating centre, department the registry.
* Case (C.1): C.1.1 and C.1.8.1 ``IT-REG648-<event id>``, report type spontaneous (C.1.3), first received the
  day it was recorded (C.1.4), expedited criteria met when serious (C.1.7). The narrative (H.1) retells it all,
  with the national network's report number when already reported.
* EU regional elements: the message's receiver is ``E2B_RECEIVER_ID`` (default ``EVHUMAN``, EudraVigilance's
  production human-medicines receiver, to which the Italian network forwards); the reporter and reaction
  country are coded ISO 3166 (``1.0.3166.1.2.2``).

Pure apart from the clock: records in, bytes out (``xml.etree``, standard library).
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import date, datetime

from django.conf import settings
from django.utils import timezone, translation

from registry.calendar import REGISTRY_TIME_ZONE, rome_date
from registry.models import Role
from registry.patient_identity import age_on

from ..course.regimen import course_regimen
from ..models import AdverseEventCategory, StopReason

HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ET.register_namespace("", HL7)
ET.register_namespace("xsi", XSI)

ICH = "2.16.840.1.113883.3.989.2.1.1"  # ICH code lists: ICH.N is list N
ICH_IDS = "2.16.840.1.113883.3.989.2.1.3"  # ICH identifier roots
MEDDRA = "2.16.840.1.113883.6.163"
ATC = "2.16.840.1.113883.6.73"
ISO_SEX = "1.0.5218"
ISO_COUNTRY = "1.0.3166.1.2.2"
ROUTE_OF_ADMINISTRATION = "0.4.0.127.0.16.1.1.2.6"  # E2B route list (as in ICH's reference instances)
ROUTES = {"SC": ("058", "Subcutaneous"), "IV": ("042", "Intravenous"), "IM": ("030", "Intramuscular")}
COUNTRY = "IT"
E2B_XML = "application/xml"

# E.i.7 (list 11): recovered 1, recovering 2, not recovered 3, with sequelae 4, fatal 5, unknown 0.
OUTCOMES = {
    "recovered": ("1", "recovered/resolved"),
    "recovering": ("2", "recovering/resolving"),
    "not_recovered": ("3", "not recovered/not resolved/ongoing"),
    "recovered_with_sequelae": ("4", "recovered/resolved with sequelae"),
    "fatal": ("5", "fatal"),
    "unknown": ("0", "unknown"),
}
CAUSALITY = {
    "certain": "Certain",
    "probable": "Probable/Likely",
    "possible": "Possible",
    "unlikely": "Unlikely",
    "conditional": "Conditional/Unclassified",
    "unassessable": "Unassessable/Unclassifiable",
}
# C.2.r.4 (list 6): physician 1, pharmacist 2, other health professional 3.
QUALIFICATIONS = {Role.PRESCRIBER: ("1", "Physician"), Role.PHARMACIST: ("2", "Pharmacist")}
OTHER_HEALTH_PROFESSIONAL = ("3", "Other health professional")
# E.i.3.2 seriousness criteria (list 19 codes), in the guide's order.
SERIOUSNESS_CRITERIA = (
    ("34", "resultsInDeath"),
    ("21", "isLifeThreatening"),
    ("33", "requiresInpatientHospitalization"),
    ("35", "resultsInPersistentOrSignificantDisability"),
    ("12", "congenitalAnomalyBirthDefect"),
    ("26", "otherMedicallyImportantCondition"),
)
DEXAMETHASONE = ("H02AB02", "dexamethasone")
REMDESIVIR = ("J05AB16", "remdesivir")
ANAKINRA_PRODUCT = "Kineret 100 mg/0,67 mL solution for injection in pre-filled syringe"


def safety_report_id(event) -> str:
    """C.1.1 / C.1.8.1: country, sender, the event's own id (stable: a follow-up keeps it)."""
    return f"{COUNTRY}-REG648-{event.pk}"


def missing_meddra_code(event) -> bool:
    """The report carries the reaction as text only: no MedDRA code was recorded for the event."""
    return not event.meddra_code


def _ts(moment: datetime) -> str:
    """An HL7 TS to the second with its offset (Europe/Rome): 20211104101500+0100."""
    return moment.astimezone(REGISTRY_TIME_ZONE).strftime("%Y%m%d%H%M%S%z")


def _number(value) -> str:
    """A decimal as HL7 REAL text, without trailing zeros (100.00 → 100)."""
    text = format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)
    return text


def _day(day: date) -> str:
    return day.strftime("%Y%m%d")


class _Builder:
    """Tiny helpers over ElementTree for HL7 v3 (everything in the HL7 namespace)."""

    @staticmethod
    def el(parent, tag: str, text: str | None = None, **attributes) -> ET.Element:
        element = ET.SubElement(parent, f"{{{HL7}}}{tag}")
        for name, value in attributes.items():
            if value is None:
                continue
            if name == "xsi_type":
                element.set(f"{{{XSI}}}type", value)
            else:
                element.set(name.rstrip("_"), str(value))
        if text is not None:
            element.text = text
        return element

    def code(self, parent, tag: str, code: str, list_no: int, display: str | None = None, **extra):
        """A code of ICH code list ``list_no``."""
        return self.el(parent, tag, code=code, codeSystem=f"{ICH}.{list_no}", displayName=display, **extra)


b = _Builder()


def _observation(parent, *, code: str, display: str, list_no: int = 19) -> ET.Element:
    observation = b.el(parent, "observation", classCode="OBS", moodCode="EVN")
    b.code(observation, "code", code, list_no, display)
    return observation


def _boolean(parent, value: bool | None) -> None:
    if value is None:
        b.el(parent, "value", xsi_type="BL", nullFlavor="NI")
    else:
        b.el(parent, "value", xsi_type="BL", value="true" if value else "false")


def _country(parent, tag: str, class_code: str) -> None:
    place = b.el(parent, tag, classCode=class_code, determinerCode="INSTANCE")
    b.el(place, "code", code=COUNTRY, codeSystem=ISO_COUNTRY)


def _age_group(age: int) -> tuple[str, str]:
    """D.2.3 (list 9): adolescent 4 (12-17), adult 5 (18-64), elderly 6 (65 and over)."""
    if age >= 65:
        return "6", "Elderly"
    if age >= 18:
        return "5", "Adult"
    return "4", "Adolescent"


def _drug(parent, *, drug_id: str, name: str, substance: str, atc: str | None) -> ET.Element:
    """A G.k substanceAdministration: the product as reported (G.k.2.2) and its substance (G.k.2.3.r)."""
    component = b.el(parent, "component", typeCode="COMP")
    administration = b.el(component, "substanceAdministration", classCode="SBADM", moodCode="EVN")
    b.el(administration, "id", root=drug_id)
    consumable = b.el(administration, "consumable", typeCode="CSM")
    kind = b.el(b.el(consumable, "instanceOfKind", classCode="INST"), "kindOfProduct", classCode="MMAT")
    kind.set("determinerCode", "KIND")
    b.el(kind, "name", name)
    ingredient = b.el(kind, "ingredient", classCode="ACTI")
    substance_element = b.el(ingredient, "ingredientSubstance", classCode="MMAT", determinerCode="KIND")
    if atc:
        b.el(substance_element, "code", code=atc, codeSystem=ATC)
    b.el(substance_element, "name", substance)
    return administration


def _characterisation(parent, drug_id: str, suspect: bool) -> None:
    """G.k.1 (list 13): suspect 1, concomitant 2."""
    assessment = b.el(b.el(parent, "component", typeCode="COMP"), "causalityAssessment", classCode="OBS")
    assessment.set("moodCode", "EVN")
    b.code(assessment, "code", "20", 19, "interventionCharacterization")
    code, display = ("1", "Suspect") if suspect else ("2", "Concomitant")
    b.code(assessment, "value", code, 13, display, xsi_type="CE")
    reference = b.el(b.el(assessment, "subject2", typeCode="SUBJ"), "productUseReference", classCode="SBADM")
    reference.set("moodCode", "EVN")
    b.el(reference, "id", root=drug_id)


def _narrative(event, prescription, *, age: int, start: date | None, stop: date | None) -> str:
    with translation.override("en"):
        category = str(AdverseEventCategory(event.category).label)
        stop_reason = str(StopReason(prescription.stop_reason).label) if prescription.stop_reason else ""
    sex = {"M": "man", "F": "woman"}.get(prescription.patient.sex, "patient")
    parts = [
        f"A {age}-year-old {sex} hospitalised with COVID-19 pneumonia received anakinra 100 mg subcutaneously "
        f"once daily under Law 648/96 (AIFA Determina 114586/2021), "
        + (f"from {start.isoformat()} to {stop.isoformat()}." if start and stop else "no dose recorded yet."),
        f"On {event.onset_date.isoformat()}: {category}"
        + (f" ({event.meddra_preferred_term})" if event.meddra_preferred_term else "")
        + f", {'serious' if event.serious else 'non-serious'}. {event.description}",
    ]
    if event.causality:
        parts.append(f"Causality (WHO-UMC): {CAUSALITY[event.causality]}.")
    if event.outcome:
        parts.append(f"Outcome: {OUTCOMES[event.outcome][1]}.")
    if prescription.stopped_at is not None:
        parts.append(
            f"The course was stopped on {rome_date(prescription.stopped_at).isoformat()}"
            + (f" ({stop_reason})." if stop_reason else ".")
        )
    if event.pharmacovigilance_report_number:
        parts.append(f"Reported to the Italian pharmacovigilance network as {event.pharmacovigilance_report_number}.")
    return " ".join(parts)


def icsr(event, *, now: datetime | None = None) -> bytes:
    """The E2B(R3) ICSR of ``event`` (an AdverseEvent, its prescription, patient, centre and records at hand)."""
    now = now or timezone.now()
    prescription = event.prescription
    patient = prescription.patient
    age = age_on(patient.birth_date, event.onset_date)
    administrations = [a for a in prescription.administrations.all() if not a.in_error]
    start = min((a.administered_on for a in administrations), default=None)
    stop = max((a.administered_on for a in administrations), default=None)
    namespace = uuid.UUID(str(event.pk))
    reaction_id = str(uuid.uuid5(namespace, "reaction"))
    anakinra_id = str(uuid.uuid5(namespace, "drug/anakinra"))

    batch = ET.Element(f"{{{HL7}}}MCCI_IN200100UV01", {"ITSVersion": "XML_1.0"})
    b.el(batch, "id", root=f"{ICH_IDS}.22", extension=f"{safety_report_id(event)}-{_ts(now)}")  # N.1.2
    b.el(batch, "creationTime", value=_ts(now))  # N.1.5
    b.el(batch, "responseModeCode", code="D")
    b.el(batch, "interactionId", root="2.16.840.1.113883.1.6", extension="MCCI_IN200100UV01")
    b.code(batch, "name", "1", 1, "ichicsr")  # N.1.1

    message = b.el(batch, "PORR_IN049016UV")
    b.el(message, "id", root=f"{ICH_IDS}.1", extension=safety_report_id(event))  # N.2.r.1
    b.el(message, "creationTime", value=_ts(now))  # N.2.r.4
    b.el(message, "interactionId", root="2.16.840.1.113883.1.6", extension="PORR_IN049016UV")
    b.el(message, "processingCode", code="P")
    b.el(message, "processingModeCode", code="T")
    b.el(message, "acceptAckCode", code="AL")
    receiver = b.el(b.el(message, "receiver", typeCode="RCV"), "device", classCode="DEV", determinerCode="INSTANCE")
    b.el(receiver, "id", root=f"{ICH_IDS}.12", extension=settings.E2B_RECEIVER_ID)  # N.2.r.3
    sender = b.el(b.el(message, "sender", typeCode="SND"), "device", classCode="DEV", determinerCode="INSTANCE")
    b.el(sender, "id", root=f"{ICH_IDS}.11", extension=settings.E2B_SENDER_ID)  # N.2.r.2

    control = b.el(message, "controlActProcess", classCode="CACT", moodCode="EVN")
    b.el(control, "code", code="PORR_TE049016UV", codeSystem="2.16.840.1.113883.1.18")
    b.el(control, "effectiveTime", value=_ts(now))  # C.1.2
    case = b.el(b.el(control, "subject", typeCode="SUBJ"), "investigationEvent", classCode="INVSTG", moodCode="EVN")
    b.el(case, "id", root=f"{ICH_IDS}.1", extension=safety_report_id(event))  # C.1.1
    b.el(case, "id", root=f"{ICH_IDS}.2", extension=safety_report_id(event))  # C.1.8.1
    b.el(case, "code", code="PAT_ADV_EVNT", codeSystem="2.16.840.1.113883.5.4")
    b.el(case, "text", _narrative(event, prescription, age=age, start=start, stop=stop))  # H.1
    b.el(case, "statusCode", code="active")
    b.el(b.el(case, "effectiveTime"), "low", value=_ts(event.recorded_at))  # C.1.4
    b.el(case, "availabilityTime", value=_ts(now))  # C.1.5

    assessment = b.el(
        b.el(case, "component", typeCode="COMP"), "adverseEventAssessment", classCode="INVSTG", moodCode="EVN"
    )
    role = b.el(b.el(assessment, "subject1", typeCode="SBJ"), "primaryRole", classCode="INVSBJ")
    person = b.el(role, "player1", classCode="PSN", determinerCode="INSTANCE")
    b.el(person, "name", nullFlavor="MSK")  # D.1: pseudonymised
    if patient.sex in ("M", "F"):
        code, display = ("1", "Male") if patient.sex == "M" else ("2", "Female")
        b.el(person, "administrativeGenderCode", code=code, codeSystem=ISO_SEX, displayName=display)  # D.5
    observation = _observation(b.el(role, "subjectOf2", typeCode="SBJ"), code="3", display="age")
    b.el(observation, "value", xsi_type="PQ", value=str(age), unit="a")  # D.2.2
    observation = _observation(b.el(role, "subjectOf2", typeCode="SBJ"), code="4", display="ageGroup")
    group, group_display = _age_group(age)
    b.code(observation, "value", group, 9, group_display, xsi_type="CE")  # D.2.3
    history = b.el(b.el(role, "subjectOf2", typeCode="SBJ"), "organizer", classCode="CATEGORY", moodCode="EVN")
    b.code(history, "code", "1", 20, "relevantMedicalHistoryAndConcurrentConditions")
    condition = _observation(b.el(history, "component", typeCode="COMP"), code="18", display="historyText")
    b.el(condition, "value", "COVID-19 pneumonia (SARS-CoV-2), hospitalised", xsi_type="ED")  # D.7.2

    # E.i: the reaction.
    reaction = b.el(b.el(role, "subjectOf2", typeCode="SBJ"), "observation", classCode="OBS", moodCode="EVN")
    b.el(reaction, "id", root=reaction_id)
    b.code(reaction, "code", "29", 19, "reaction")
    b.el(b.el(reaction, "effectiveTime", xsi_type="IVL_TS"), "low", value=_day(event.onset_date))  # E.i.4
    # E.i.2.1b the MedDRA LLT code and E.i.2.1a its version, when the clinician recorded them; else the MedDRA
    # code system with the term as text only (the receiving centre codes it).
    if event.meddra_code:
        term = b.el(
            reaction,
            "value",
            xsi_type="CE",
            code=event.meddra_code,
            codeSystem=MEDDRA,
            codeSystemVersion=event.meddra_version,
        )
    else:
        term = b.el(reaction, "value", xsi_type="CE", codeSystem=MEDDRA)
    # E.i.1.1a/b: a MedDRA preferred term is English; a description is the clinician's own words (Italian).
    if event.meddra_preferred_term:
        b.el(term, "originalText", event.meddra_preferred_term, language="en")
    else:
        b.el(term, "originalText", event.description, language="it")
    located = b.el(b.el(reaction, "location", typeCode="LOC"), "locatedEntity", classCode="LOCE")
    _country(located, "locatedPlace", "COUNTRY")  # E.i.9
    fatal = event.outcome == "fatal"
    for code, display in SERIOUSNESS_CRITERIA:  # E.i.3.2a-f
        criterion = _observation(b.el(reaction, "outboundRelationship2", typeCode="PERT"), code=code, display=display)
        if not event.serious:
            _boolean(criterion, None)
        elif code == "34":
            _boolean(criterion, True if fatal else None)
        elif code == "26":
            _boolean(criterion, True if not fatal else None)
        else:
            _boolean(criterion, None)
    if event.outcome in OUTCOMES:
        outcome = _observation(b.el(reaction, "outboundRelationship2", typeCode="PERT"), code="27", display="outcome")
        code, display = OUTCOMES[event.outcome]
        b.code(outcome, "value", code, 11, display, xsi_type="CE")  # E.i.7

    # G.k: the drugs.
    drugs = b.el(b.el(role, "subjectOf2", typeCode="SBJ"), "organizer", classCode="CATEGORY", moodCode="EVN")
    b.code(drugs, "code", "4", 20, "drugInformation")
    anakinra = _drug(drugs, drug_id=anakinra_id, name=ANAKINRA_PRODUCT, substance="ANAKINRA", atc="L04AC03")
    regimen = course_regimen(prescription)
    route_code, route_display = ROUTES.get(regimen.route.upper(), ROUTES["SC"])
    dosage = b.el(anakinra, "outboundRelationship2", typeCode="COMP")  # G.k.4.r
    dosage = b.el(dosage, "substanceAdministration", classCode="SBADM", moodCode="EVN")
    every = "once daily" if regimen.interval_hours == 24 else f"every {regimen.interval_hours} h"
    b.el(dosage, "text", f"{_number(regimen.dose_mg)} mg {regimen.route.upper()} {every}")  # G.k.4.r.8
    timing = b.el(dosage, "effectiveTime", xsi_type="SXPR_TS")
    period = b.el(timing, "comp", xsi_type="PIVL_TS")  # G.k.4.r.2-3: every 1 d (or 2 d)
    b.el(period, "period", value=str(regimen.interval_hours // 24 or 1), unit="d")
    span = b.el(timing, "comp", xsi_type="IVL_TS", operator="A")
    if start:
        b.el(span, "low", value=_day(start))  # G.k.4.r.4
        b.el(span, "high", value=_day(stop))  # G.k.4.r.5
    else:
        b.el(span, "low", nullFlavor="NASK")
    route = b.el(dosage, "routeCode", code=route_code, codeSystem=ROUTE_OF_ADMINISTRATION, displayName=route_display)
    b.el(route, "originalText", regimen.route.upper())  # G.k.4.r.10
    b.el(dosage, "doseQuantity", value=_number(regimen.dose_mg), unit="mg")  # G.k.4.r.1
    indication = b.el(b.el(anakinra, "inboundRelationship", typeCode="RSON"), "observation", classCode="OBS")
    indication.set("moodCode", "EVN")
    b.code(indication, "code", "19", 19, "indication")
    b.el(b.el(indication, "value", xsi_type="CE", codeSystem=MEDDRA), "originalText", "COVID-19 pneumonia")
    withdrawn = prescription.stop_reason == StopReason.ADVERSE_EVENT
    action = b.el(b.el(anakinra, "inboundRelationship", typeCode="CAUS"), "act", classCode="ACT", moodCode="EVN")
    b.code(action, "code", "1" if withdrawn else "0", 15, "Drug withdrawn" if withdrawn else "Unknown")  # G.k.8

    concomitant = []
    if prescription.dexamethasone_dose_mg is not None:
        concomitant.append((DEXAMETHASONE[0], DEXAMETHASONE[1], DEXAMETHASONE[1]))
    if prescription.remdesivir:
        concomitant.append((REMDESIVIR[0], REMDESIVIR[1], REMDESIVIR[1]))
    for record in prescription.concomitant_medications.all():
        if not record.in_error:
            name = record.name or record.atc_code
            concomitant.append((record.atc_code or None, name, name))
    concomitant_ids = []
    for index, (atc, name, substance) in enumerate(concomitant):
        drug_id = str(uuid.uuid5(namespace, f"drug/concomitant/{index}"))
        _drug(drugs, drug_id=drug_id, name=name, substance=substance.upper(), atc=atc)
        concomitant_ids.append(drug_id)

    _characterisation(assessment, anakinra_id, suspect=True)
    for drug_id in concomitant_ids:
        _characterisation(assessment, drug_id, suspect=False)
    if event.causality in CAUSALITY:  # G.k.9.i.2.r
        causality = b.el(b.el(assessment, "component", typeCode="COMP"), "causalityAssessment", classCode="OBS")
        causality.set("moodCode", "EVN")
        b.code(causality, "code", "39", 19, "causality")
        b.el(causality, "value", CAUSALITY[event.causality], xsi_type="ST")  # G.k.9.i.2.r.3
        b.el(b.el(causality, "methodCode"), "originalText", "WHO-UMC")  # G.k.9.i.2.r.2
        author = b.el(b.el(causality, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
        b.el(b.el(author, "code"), "originalText", "Primary source reporter")  # G.k.9.i.2.r.1
        effect = b.el(b.el(causality, "subject1", typeCode="SUBJ"), "adverseEffectReference", classCode="OBS")
        effect.set("moodCode", "EVN")
        b.el(effect, "id", root=reaction_id)
        product = b.el(b.el(causality, "subject2", typeCode="SUBJ"), "productUseReference", classCode="SBADM")
        product.set("moodCode", "EVN")
        b.el(product, "id", root=anakinra_id)

    documents = _observation_event(case, code="1", display="additionalDocumentsAvailable")
    _boolean(documents, False)  # C.1.6.1
    expedited = _observation_event(case, code="23", display="localCriteriaForExpedited")
    _boolean(expedited, bool(event.serious))  # C.1.7

    # C.2.r: the primary source, the health professional who recorded the event.
    source = b.el(case, "outboundRelationship", typeCode="SPRT")
    b.el(source, "priorityNumber", value="1")  # C.2.r.5: primary source for regulatory purposes
    investigation = b.el(source, "relatedInvestigation", classCode="INVSTG", moodCode="EVN")
    b.code(investigation, "code", "2", 22, "sourceReport")
    control_event = b.el(b.el(investigation, "subjectOf2", typeCode="SUBJ"), "controlActEvent", classCode="CACT")
    control_event.set("moodCode", "EVN")
    reporter = b.el(b.el(control_event, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
    reporter_person = b.el(reporter, "assignedPerson", classCode="PSN", determinerCode="INSTANCE")
    b.el(reporter_person, "name", nullFlavor="MSK")  # C.2.r.1: not disclosed
    qualification = QUALIFICATIONS.get(_role(event.recorded_by), OTHER_HEALTH_PROFESSIONAL)
    qualified = b.el(reporter_person, "asQualifiedEntity", classCode="QUAL")
    b.code(qualified, "code", qualification[0], 6, qualification[1])  # C.2.r.4
    _country(b.el(reporter_person, "asLocatedEntity", classCode="LOCE"), "location", "COUNTRY")  # C.2.r.3
    _organisation(reporter, prescription.centre.name)  # C.2.r.2.2 department, C.2.r.2.1 organisation

    # C.3: the sender.
    sender_event = b.el(b.el(case, "subjectOf1", typeCode="SUBJ"), "controlActEvent", classCode="CACT")
    sender_event.set("moodCode", "EVN")
    sender_entity = b.el(b.el(sender_event, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
    b.code(sender_entity, "code", "3", 7, "Health professional")  # C.3.1
    _organisation(sender_entity, prescription.centre.name)  # C.3.3.1 department, C.3.2 organisation

    report_type = b.el(b.el(case, "subjectOf2", typeCode="SUBJ"), "investigationCharacteristic", classCode="OBS")
    report_type.set("moodCode", "EVN")
    b.code(report_type, "code", "1", 23, "ichReportType")
    b.code(report_type, "value", "1", 2, "Spontaneous report", xsi_type="CE")  # C.1.3
    other_ids = b.el(b.el(case, "subjectOf2", typeCode="SUBJ"), "investigationCharacteristic", classCode="OBS")
    other_ids.set("moodCode", "EVN")
    b.code(other_ids, "code", "2", 23, "otherCaseIds")
    _boolean(other_ids, None)  # C.1.9.1

    receiver = b.el(b.el(batch, "receiver", typeCode="RCV"), "device", classCode="DEV", determinerCode="INSTANCE")
    b.el(receiver, "id", root=f"{ICH_IDS}.14", extension=settings.E2B_RECEIVER_ID)  # N.1.4
    sender = b.el(b.el(batch, "sender", typeCode="SND"), "device", classCode="DEV", determinerCode="INSTANCE")
    b.el(sender, "id", root=f"{ICH_IDS}.13", extension=settings.E2B_SENDER_ID)  # N.1.3
    ET.indent(batch)
    return ET.tostring(batch, encoding="UTF-8", xml_declaration=True)


DEPARTMENT = "Registro 648 (anakinra, Law 648/96)"


def _organisation(entity, organisation: str) -> None:
    """The guide's nesting: ``representedOrganization`` (the department) / ``assignedEntity`` /
    ``representedOrganization`` (the organisation). The department is the registry the report comes through."""
    department = b.el(entity, "representedOrganization", classCode="ORG", determinerCode="INSTANCE")
    b.el(department, "name", DEPARTMENT)
    inner = b.el(department, "assignedEntity", classCode="ASSIGNED")
    b.el(b.el(inner, "representedOrganization", classCode="ORG", determinerCode="INSTANCE"), "name", organisation)


def _observation_event(case, *, code: str, display: str) -> ET.Element:
    event = b.el(b.el(case, "component", typeCode="COMP"), "observationEvent", classCode="OBS", moodCode="EVN")
    b.code(event, "code", code, 19, display)
    return event


def _role(user) -> str | None:
    profile = getattr(user, "staff", None)
    return getattr(profile, "role", None)
