"""The E2B(R3) ICSR export of an adverse event (docs/api.md, "Pharmacovigilance export").

Every exported message is read back with ``e2br3`` (an independent, read-only E2B(R3) parser and validator: it
refuses what is not well-formed, DTDs, and null flavours the ICH guide does not allow for an element) and its
values checked against the record. With the ICH ICSR XML schema set on disk (``E2BR3_SCHEMA_DIR``: the
``multicacheschemas``/``coreschemas`` folders of ICH's E2B(R3) package, which may not be redistributed with the
registry), every message is also validated against the XSD; without it that one step is skipped, and
``test_every_message_is_valid_against_ichs_xsd`` is reported as skipped with the reason (docs/development.md).
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal

import e2br3
import pytest
from django.utils import timezone
from lxml import etree
from rest_framework.test import APIClient

from prescriptions import services
from prescriptions.models import AdverseEvent, Prescription
from registry.calendar import rome_today
from registry.models import AccessLog
from registry.patient_identity import age_on
from tests.demo_snapshot import history_build

SCHEMA_DIR = os.environ.get("E2BR3_SCHEMA_DIR")


def url(event: AdverseEvent) -> str:
    return f"/api/v1/prescriptions/{event.prescription_id}/adverse-events/{event.pk}/e2b/"


def staff_of(event: AdverseEvent) -> str:
    return "nurse.milano" if event.prescription.centre.region_id == "030" else "prescriber.roma"


def exported(client, event: AdverseEvent):
    """The ICSR of ``event``: 200, XML, parsed by e2br3 (and XSD-valid when the schema set is there)."""
    response = client.get(url(event))
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/xml")
    assert f"IT-REG648-{event.pk}.xml" in response["Content-Disposition"]
    body = response.content
    if SCHEMA_DIR:  # test_every_message_is_valid_against_ichs_xsd says when this is skipped
        assert e2br3.validate(body, schema_dir=SCHEMA_DIR) == []
    batch = e2br3.parse(body)
    (message,) = batch.messages
    return body, message.icsr


def check_against_record(body: bytes, icsr, event: AdverseEvent) -> None:
    prescription = event.prescription
    patient = prescription.patient
    assert icsr.safety_report_id == f"IT-REG648-{event.pk}"
    assert icsr.worldwide_case_id == icsr.safety_report_id
    assert icsr.report_type.code == "1"
    # D: pseudonymised: masked name, age and sex only.
    assert isinstance(icsr.patient.name, e2br3.Null) and icsr.patient.name.null_flavor == "MSK"
    assert icsr.patient.age.value == age_on(patient.birth_date, event.onset_date)
    assert icsr.patient.age.unit == "a"
    assert icsr.patient.sex.code == {"M": "1", "F": "2"}[patient.sex]
    text = body.decode()
    assert patient.pseudonym not in text
    assert patient.birth_date.strftime("%Y%m%d") not in text
    assert "birthTime" not in text
    # E.i: the reaction.
    (reaction,) = icsr.reactions
    assert reaction.native_term == (event.meddra_preferred_term or event.description)
    assert reaction.meddra.code_system == "2.16.840.1.113883.6.163"
    if event.meddra_code:  # E.i.2.1b / E.i.2.1a: the LLT code and its MedDRA version, as recorded
        assert (reaction.meddra_code, reaction.meddra_version) == (event.meddra_code, event.meddra_version)
        assert reaction.meddra.original_text == (event.meddra_preferred_term or event.description)
    else:  # text only: no code, no version
        assert (reaction.meddra_code, reaction.meddra_version) == (None, None)
    assert reaction.start_date.value == event.onset_date
    if event.serious:
        assert (reaction.results_in_death is True) == (event.outcome == "fatal")
        assert reaction.results_in_death is True or reaction.other_medically_important is True
    else:
        assert all(
            isinstance(value, e2br3.Null)
            for value in (reaction.results_in_death, reaction.life_threatening, reaction.other_medically_important)
        )
    if event.outcome:
        expected = {"recovered": "1", "recovering": "2", "not_recovered": "3", "fatal": "5", "unknown": "0"}
        assert reaction.outcome.code == expected.get(event.outcome, reaction.outcome.code)
    # G.k: anakinra first, the suspect, 100 mg SC daily.
    suspect = icsr.drugs[0]
    assert suspect.role.code == "1"
    assert suspect.substances == ["ANAKINRA"]
    assert "L04AC03" in text
    (dosage,) = suspect.dosages
    assert dosage.text == "100 mg SC once daily"
    assert dosage.route.code == "058"
    assert dosage.route_text == "SC"
    for concomitant in icsr.drugs[1:]:
        assert concomitant.role.code == "2"
    # C.2.r: the reporter's qualification, no name.
    (source,) = icsr.primary_sources
    role = event.recorded_by.staff.role
    assert source.qualification.code == {"prescriber": "1", "pharmacist": "2"}.get(role, "3")
    assert source.country.code == "IT"
    assert event.recorded_by.username not in text
    assert reaction.native_language == ("en" if event.meddra_preferred_term else "it")
    # The treating centre is the reporter's and the sender's organisation (IG: department / organisation).
    tree = etree.fromstring(body)
    organisations = tree.xpath(
        "//h:assignedEntity/h:representedOrganization/h:assignedEntity/h:representedOrganization/h:name/text()",
        namespaces={"h": "urn:hl7-org:v3"},
    )
    assert organisations == [prescription.centre.name, prescription.centre.name]
    # H.1
    assert event.description in icsr.narrative


@pytest.fixture
def history(demo):
    history_build()
    return list(Prescription.objects.all())


def test_every_adverse_event_of_the_demo_history_exports(client_for, history):
    events = list(AdverseEvent.objects.filter(entered_in_error_at__isnull=True).select_related("prescription"))
    assert events
    clients = {}
    for event in events:
        username = staff_of(event)
        if username not in clients:
            clients[username] = client_for(username)
        body, icsr = exported(clients[username], event)
        check_against_record(body, icsr, event)


@pytest.fixture
def fatal_event(client_for, demo):
    """A serious, fatal, assessed event on a course with dexamethasone, remdesivir and tocilizumab alongside."""
    now = timezone.now()
    response = client_for("prescriber.milano").post(
        "/api/v1/prescriptions/",
        {
            "prescribed_at": (now - timedelta(days=12)).isoformat(),
            "patient": {"fiscal_code": "RSSMRA60E01F205B", "birth_date": "1960-05-01", "sex": "M"},
            "assessment": {
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
            },
            "informed_consent": True,
            "baseline": {"dexamethasone_dose_mg": 6, "remdesivir": True},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    prescription = Prescription.objects.get(pk=response.json()["id"])
    nurse = demo["nurse.milano"]
    services.dispensation_record(
        pharmacist=demo["pharmacist.milano"],
        prescription=prescription,
        syringes=10,
        lot_number="KIN-1",
        expiry_date=rome_today() + timedelta(days=365),
    )
    first = timezone.localtime(now - timedelta(days=11)).replace(hour=10, minute=0, second=0, microsecond=0)
    for day in range(3):
        services.administration_record(
            user=nurse,
            prescription=prescription,
            administered_at=first + timedelta(days=day),
            dose_mg=Decimal(100),
            route="SC",
        )
    services.concomitant_medication_record(
        user=nurse, prescription=prescription, name="RoActemra", atc_code="L04AC07", started_on=first.date()
    )
    event = services.adverse_event_record(
        user=demo["prescriber.milano"],
        prescription=prescription,
        category="serious_infection",
        serious=True,
        onset_date=first.date() + timedelta(days=2),
        description="Klebsiella pneumonia & septic shock <ICU>",
        reported_to_pharmacovigilance=False,
        meddra_preferred_term="Pneumonia klebsiella",
        causality="possible",
        outcome="fatal",
    )
    services.prescription_stop(
        prescriber=demo["prescriber.milano"],
        prescription=prescription,
        reason="adverse_event",
        stopped_at=first + timedelta(days=2, hours=3),
    )
    return AdverseEvent.objects.select_related("prescription").get(pk=event.pk)


def test_a_fatal_assessed_event_with_co_medication(client_for, fatal_event):
    body, icsr = exported(client_for("prescriber.milano"), fatal_event)
    check_against_record(body, icsr, fatal_event)
    (reaction,) = icsr.reactions
    assert reaction.results_in_death is True
    assert reaction.outcome.code == "5"
    assert reaction.native_term == "Pneumonia klebsiella"
    suspect, *concomitant = icsr.drugs
    assert suspect.action_taken.code == "1"  # withdrawn: stopped for the adverse event
    (relatedness,) = suspect.relatedness
    assert relatedness.reaction_index == 0
    (assessment,) = relatedness.assessments
    assert assessment.result == "Possible"
    assert assessment.method.original_text == "WHO-UMC"
    assert [drug.product_name for drug in concomitant] == ["dexamethasone", "remdesivir", "RoActemra"]
    assert source_qualification(icsr) == "1"
    assert "Klebsiella pneumonia &amp; septic shock &lt;ICU&gt;" in body.decode()
    first, last = fatal_event.prescription.first_dose_on, fatal_event.prescription.last_dose_on
    assert f'<low value="{first:%Y%m%d}"' in body.decode()
    assert f'<high value="{last:%Y%m%d}"' in body.decode()


def source_qualification(icsr) -> str:
    (source,) = icsr.primary_sources
    return source.qualification.code


def test_each_export_is_logged_as_a_read(client_for, fatal_event):
    before = AccessLog.objects.filter(kind="adverse_event.e2b").count()
    client_for("nurse.milano").get(url(fatal_event))
    (read,) = AccessLog.objects.filter(kind="adverse_event.e2b")[before:]
    assert read.username == "nurse.milano"
    assert read.object_id == str(fatal_event.prescription_id)


@pytest.mark.parametrize(
    ("username", "status_code"),
    [
        ("prescriber.milano", 200),
        ("nurse.milano", 200),
        ("pharmacist.milano", 404),
        ("officer.lombardia", 404),
        ("aifa", 404),
        ("prescriber.roma", 404),
        ("officer.lazio", 404),
    ],
)
def test_scope(client_for, fatal_event, username, status_code):
    response = client_for(username).get(url(fatal_event))
    assert response.status_code == status_code
    if status_code == 404:
        assert response.json()["code"] == "NOT_FOUND"


def test_unknown_event_entered_in_error_and_anonymous(client_for, fatal_event):
    client = client_for("prescriber.milano")
    other = (
        f"/api/v1/prescriptions/{fatal_event.prescription_id}/adverse-events/00000000-0000-4000-8000-000000000000/e2b/"
    )
    assert client.get(other).status_code == 404
    assert APIClient().get(url(fatal_event)).status_code == 401
    services.record_mark_entered_in_error(
        user=fatal_event.recorded_by,
        prescription=fatal_event.prescription,
        kind="adverse_event",
        record_id=fatal_event.pk,
        reason="wrong patient",
    )
    assert client.get(url(fatal_event)).status_code == 404


# --- MedDRA: the LLT code and its version when the clinician recorded them -------------------------------------


def code(event: AdverseEvent, meddra_code: str, meddra_version: str) -> AdverseEvent:
    AdverseEvent.objects.filter(pk=event.pk).update(meddra_code=meddra_code, meddra_version=meddra_version)
    return AdverseEvent.objects.select_related("prescription").get(pk=event.pk)


def test_a_meddra_code_round_trips_with_its_system_and_version(client_for, fatal_event):
    event = code(fatal_event, "10035664", "27.1")
    client = client_for("prescriber.milano")
    body, icsr = exported(client, event)
    check_against_record(body, icsr, event)
    (reaction,) = icsr.reactions
    assert reaction.meddra.code == "10035664"
    assert reaction.meddra.code_system == "2.16.840.1.113883.6.163"
    assert reaction.meddra.code_system_version == "27.1"
    assert reaction.meddra.original_text == "Pneumonia klebsiella"  # the term, as originalText
    assert reaction.native_term == "Pneumonia klebsiella"
    value = etree.fromstring(body).xpath(
        "//h:observation[h:code/@code='29']/h:value", namespaces={"h": "urn:hl7-org:v3"}
    )[0]
    assert (value.get("code"), value.get("codeSystemVersion")) == ("10035664", "27.1")
    response = client.get(url(event))
    assert "X-E2B-Missing" not in response and "X-E2B-Warning" not in response


def test_without_a_code_the_export_stays_text_only_and_says_the_code_is_missing(client_for, fatal_event):
    client = client_for("prescriber.milano")
    body, icsr = exported(client, fatal_event)
    (reaction,) = icsr.reactions
    assert reaction.meddra_code is None and reaction.meddra.code_system == "2.16.840.1.113883.6.163"
    value = etree.fromstring(body).xpath(
        "//h:observation[h:code/@code='29']/h:value", namespaces={"h": "urn:hl7-org:v3"}
    )[0]
    assert value.get("code") is None and value.get("codeSystemVersion") is None
    for language, words in (("en", "MedDRA code missing"), ("it", "Manca il codice MedDRA")):
        response = client.get(url(fatal_event), HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        assert response["X-E2B-Missing"] == "meddra_code"
        assert words in response["X-E2B-Warning"]


def test_a_coded_description_only_event_keeps_the_description_as_original_text(client_for, fatal_event):
    AdverseEvent.objects.filter(pk=fatal_event.pk).update(meddra_preferred_term="")
    event = code(fatal_event, "10040070", "26.0")
    body, icsr = exported(client_for("nurse.milano"), event)
    check_against_record(body, icsr, event)
    (reaction,) = icsr.reactions
    assert reaction.meddra_code == "10040070" and reaction.meddra_version == "26.0"
    assert reaction.meddra.original_text == event.description


# --- ICH's XSD: only with the schema set on disk, and a visible skip without it --------------------------------


@pytest.mark.skipif(
    not SCHEMA_DIR,
    reason="E2BR3_SCHEMA_DIR is not set: ICH's E2B(R3) XSD set (not redistributable) is needed to validate the "
    "messages against the schema; see docs/development.md, 'E2B(R3) messages against ICH's schemas'",
)
def test_every_message_is_valid_against_ichs_xsd(client_for, history, fatal_event):
    coded = code(fatal_event, "10035664", "27.1")
    events = list(AdverseEvent.objects.filter(entered_in_error_at__isnull=True).select_related("prescription"))
    assert coded in events
    for event in events:
        response = client_for(staff_of(event)).get(url(event))
        assert response.status_code == 200, response.content
        assert e2br3.validate(response.content, schema_dir=SCHEMA_DIR) == [], event.pk
