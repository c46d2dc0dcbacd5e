"""The printable papers of a prescription: the request form (scheda di richiesta) and the dispensing record.

Each is a PDF in the reader's language holding what a ward files and signs, read back as text (pypdf). Whoever may
read the prescription page may download them, with the same scope (404 outside it) and an access-log entry.
"""

import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from prescriptions import selectors, services
from prescriptions.eligibility import result_message
from prescriptions.web import printing
from registry.calendar import rome_today
from registry.models import AccessKind, AccessLog
from registry.patient_identity import PatientIdentity, patient_label
from tests.prescriptions.factories import dispense, prescription_at
from tests.test_pages_i18n import ENGLISH

FORM = "prescriptions:form_pdf"
DISPENSING = "prescriptions:dispensing_pdf"


def signed_in(username: str, language: str = "it") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(get_user_model().objects.get(username=username))
    return client


def pdf_text(content: bytes) -> str:
    """The text of every page, each run of whitespace (a wrapped line) as one space."""
    reader = PdfReader(io.BytesIO(content))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def label(username: str, prescription, language: str = "it") -> str:
    """The patient's line as ``username`` reads it (registry.patient_identity)."""
    with translation.override(language):
        return patient_label(user=get_user_model().objects.get(username=username), prescription=prescription)


def download(client: Client, paper: str, prescription):
    return client.get(reverse(paper, kwargs={"prescription_id": prescription.pk}))


@pytest.fixture
def dispensed(demo):
    """A Milano course with ten syringes out (lot LOT-1); a first dispensation of 4, withdrawn as entered in error."""
    prescription = prescription_at(demo, "awaiting_dispensing")
    wrong = dispense(demo["pharmacist.milano"], prescription, syringes=4, lot="WRONG-LOT")
    services.record_mark_entered_in_error(
        user=demo["pharmacist.milano"],
        prescription=prescription,
        kind="dispensation",
        record_id=wrong.pk,
        reason="wrong lot",
    )
    prescription.refresh_from_db()
    dispense(demo["pharmacist.milano"], prescription, syringes=10, lot="LOT-1")
    prescription.refresh_from_db()
    return prescription


# --- The request form --------------------------------------------------------------------------


def test_the_request_form_in_italian_holds_what_is_signed(dispensed):
    response = download(signed_in("prescriber.milano"), FORM, dispensed)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Scheda di richiesta" in text
    assert "Ospedale Demo Milano" in text and "030 Lombardia" in text and str(dispensed.centre.pk) in text
    assert "Farmacia Ospedaliera Demo Milano" in text
    assert "prescriber.milano" in text  # the prescriber (the demo users have no full name)
    assert label("prescriber.milano", dispensed) in text
    assert "Criteri L648-2021-10" in text
    assert "Determina AIFA del 30 settembre 2021 n. 114586" in text
    assert "Consenso informato" in text and "il paziente" in text
    assert "Il medico prescrittore" in text and "Il farmacista" in text and "Firma" in text
    # The verdict criterion by criterion, each message in Italian.
    with translation.override("it"):
        messages = [result_message(result) for result in dispensed.eligibility["results"]]
    assert len(messages) > 10
    for result, message in zip(dispensed.eligibility["results"], messages, strict=True):
        assert result["code"] in text
        assert re.sub(r"\s+", " ", message) in text
    assert "soddisfatto" in text
    assert ENGLISH.findall(text) == []


def test_the_request_form_in_english(dispensed):
    response = download(signed_in("prescriber.milano", "en"), FORM, dispensed)

    text = pdf_text(response.content)
    assert "Request form" in text and "Informed consent" in text and "Signature" in text
    assert "AIFA Determina of 30 September 2021 n. 114586" in text
    with translation.override("en"):
        first = result_message(dispensed.eligibility["results"][0])
    assert re.sub(r"\s+", " ", first) in text
    assert "soddisfatto" not in text


def test_a_refused_request_prints_the_criteria_not_met(demo):
    rejected = prescription_at(demo, "rejected")

    text = pdf_text(download(signed_in("prescriber.milano"), FORM, rejected).content)

    assert "non eleggibile" in text and "non soddisfatto" in text


# --- The dispensing record ---------------------------------------------------------------------


def test_the_dispensing_record_lists_each_dispensation_and_the_total(dispensed):
    response = download(signed_in("pharmacist.milano"), DISPENSING, dispensed)

    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "Registro di dispensazione" in text
    assert "Ospedale Demo Milano" in text and "Farmacia Ospedaliera Demo Milano" in text
    assert label("pharmacist.milano", dispensed) in text
    assert "LOT-1" in text and "pharmacist.milano" in text
    expiry = (rome_today() + timedelta(days=365)).strftime("%d/%m/%Y")
    assert expiry in text
    # The withdrawn dispensation stays on paper, marked, and is not counted.
    assert "WRONG-LOT" in text and "inserito per errore" in text
    assert "10 di 10" in text and "Ancora da dispensare —" in text  # the course's syringes are all out
    assert "Ricevuto dal reparto" in text and "Firma" in text
    assert ENGLISH.findall(text) == []


def test_the_dispensing_record_in_english(dispensed):
    text = pdf_text(download(signed_in("nurse.milano", "en"), DISPENSING, dispensed).content)

    assert "Dispensing record" in text and "10 of 10" in text and "Received by the ward" in text


def test_a_record_with_nothing_dispensed_says_so(demo):
    awaiting = prescription_at(demo, "awaiting_dispensing")

    text = pdf_text(download(signed_in("pharmacist.milano"), DISPENSING, awaiting).content)

    assert "Nessuna siringa ancora dispensata" in text and "0 di 10" in text and "Ancora da dispensare 10" in text


def test_a_cancelled_request_has_nothing_still_to_dispense(demo):
    cancelled = prescription_at(demo, "cancelled")

    text = pdf_text(download(signed_in("pharmacist.milano"), DISPENSING, cancelled).content)

    assert "0 di 10" in text and "Ancora da dispensare —" in text


# --- The patient -------------------------------------------------------------------------------


def test_the_centres_staff_read_the_identity_when_it_is_known(dispensed, demo, monkeypatch):
    identity = PatientIdentity(
        fiscal_code="RSSMRA60E01F205X",
        family_name="Rossi",
        given_name="Mario",
        ward="Medicina 2",
        bed="12",
        admission_number="2026-004512",
    )
    monkeypatch.setattr(printing, "identity_for", lambda *, user, prescription: identity)
    prescription = selectors.prescription_detail(user=demo["nurse.milano"], prescription_id=dispensed.pk)

    with translation.override("it"):
        text = pdf_text(printing.prescription_form(prescription, user=demo["nurse.milano"]))

    assert "ROSSI Mario" in text and "RSSMRA60E01F205X" in text
    assert "Medicina 2, 12" in text and "2026-004512" in text


def test_a_regional_officer_reads_the_pseudonym_only(dispensed):
    response = download(signed_in("officer.lombardia"), FORM, dispensed)

    assert response.status_code == 200
    text = pdf_text(response.content)
    assert dispensed.patient.pseudonym[:12] in label("officer.lombardia", dispensed) in text
    assert "Pseudonimizzato" in text


# --- Who may have them -------------------------------------------------------------------------


@pytest.mark.parametrize("paper", [FORM, DISPENSING])
@pytest.mark.parametrize("username", ["prescriber.milano", "pharmacist.milano", "nurse.milano", "officer.lombardia"])
def test_whoever_reads_the_prescription_downloads_its_papers(dispensed, paper, username):
    response = download(signed_in(username), paper, dispensed)

    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"{str(dispensed.pk)[:8]}.pdf" in disposition
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("paper", [FORM, DISPENSING])
@pytest.mark.parametrize("username", ["prescriber.roma", "pharmacist.roma", "officer.lazio", "aifa"])
def test_outside_the_scope_the_papers_do_not_exist(dispensed, paper, username):
    response = download(signed_in(username), paper, dispensed)

    assert response.status_code == 404
    assert not AccessLog.objects.exists()


def test_signed_out_the_papers_ask_for_the_sign_in(dispensed):
    response = download(Client(), FORM, dispensed)

    assert response.status_code == 302 and "/login" in response["Location"]


@pytest.mark.parametrize(
    ("paper", "kind"),
    [(FORM, AccessKind.PRESCRIPTION_FORM_PDF), (DISPENSING, AccessKind.DISPENSING_RECORD_PDF)],
)
def test_each_download_is_in_the_access_log(dispensed, demo, paper, kind):
    download(signed_in("nurse.milano"), paper, dispensed)

    (entry,) = AccessLog.objects.all()
    assert (entry.user, entry.kind, entry.object_id, entry.region_id) == (
        demo["nurse.milano"],
        kind,
        str(dispensed.pk),
        "030",
    )


# --- The prescription page ---------------------------------------------------------------------


def test_the_prescription_page_links_its_papers_and_its_print_stylesheet(dispensed):
    html = signed_in("pharmacist.milano").get(reverse("prescriptions:detail", args=[dispensed.pk])).content.decode()

    assert reverse(FORM, args=[dispensed.pk]) in html and "Stampa scheda (PDF)" in html
    assert reverse(DISPENSING, args=[dispensed.pk]) in html and "Registro dispensazione (PDF)" in html
    assert 'href="/static/css/print.css"' in html


def test_a_refused_request_has_no_dispensing_record_to_print(demo):
    rejected = prescription_at(demo, "rejected")

    html = signed_in("prescriber.milano").get(reverse("prescriptions:detail", args=[rejected.pk])).content.decode()

    assert reverse(FORM, args=[rejected.pk]) in html
    assert reverse(DISPENSING, args=[rejected.pk]) not in html
