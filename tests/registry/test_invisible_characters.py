"""Invisible control characters (bidirectional overrides, zero-width characters, C0/C1 controls) are refused with a
400 naming the field, in the API's JSON and in the pages' forms alike; ordinary text with accents, apostrophes,
tabs and line breaks still goes through (issue 17)."""

import pytest

from prescriptions.models import AdverseEvent, Prescription
from registry.invisible_characters import first_invisible, invisible_character
from tests.prescriptions import factories as f

REFUSED = [
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u202a",  # LEFT-TO-RIGHT EMBEDDING
    "\u2066",  # LEFT-TO-RIGHT ISOLATE
    "\u200b",  # ZERO WIDTH SPACE
    "\u200d",  # ZERO WIDTH JOINER
    "\ufeff",  # BYTE ORDER MARK
    "\u00ad",  # SOFT HYPHEN
    "\u0007",  # BELL
    "\u009b",  # a C1 control
    "\u2028",  # LINE SEPARATOR
]
ACCEPTED = ["D'Amico Niccolò", "Müller-Lüdenscheidt", "riga uno\nriga due\r\n\tfine", "Ελένη", "50 µg · 2×/die", ""]


@pytest.mark.parametrize("character", REFUSED, ids=lambda c: f"U+{ord(c):04X}")
def test_each_invisible_character_is_found(character):
    assert invisible_character(f"Rossi{character}Mario") == character


@pytest.mark.parametrize("text", ACCEPTED)
def test_ordinary_text_is_accepted(text):
    assert invisible_character(text) is None


def test_the_field_is_named_by_its_path_in_nested_data():
    data = {
        "patient": {"family_name": "Rossi"},
        "concomitant_medications": [{"name": "ok"}, {"name": "war\u200bfarin"}],
    }

    field, reason = first_invisible(data)

    assert field == "concomitant_medications.1.name"
    assert "U+200B" in reason


@pytest.mark.parametrize("character", ["\u202e", "\u200b", "\u0000"], ids=["RLO", "ZWSP", "NUL"])
def test_a_submission_with_an_invisible_character_in_a_name_is_a_400_naming_it(client_for, demo, character):
    body = f.submission_body(identity={"family_name": f"Ro{character}ssi", "given_name": "Mario"})

    response = client_for("prescriber.milano").post("/api/v1/prescriptions/", body, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert errors.pop("code") == "VALIDATION_ERROR"
    assert list(errors) == ["patient.family_name"]
    assert not Prescription.objects.exists()


def test_a_nested_list_item_is_named_in_the_eligibility_check(client_for, demo):
    body = f.eligible_assessment()
    body["concomitant_medications"] = [
        {"name": "paracetamolo", "ongoing": True},
        {"name": "toci\u202elizumab", "ongoing": True},
    ]

    response = client_for("prescriber.milano").post("/api/v1/eligibility-checks/", body, format="json")

    assert response.status_code == 400
    assert "concomitant_medications.1.name" in response.json()


def test_a_description_with_line_breaks_and_accents_is_kept_as_written(client_for, demo):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=3, dose_days_ago=[2, 1])
    text = "Febbre a 39°C.\nEmocoltura: Klebsiella — terapia mirata.\tRivalutare domani."
    body = {
        "category": "other",
        "serious": False,
        "onset_date": f.today().isoformat(),
        "description": text,
        "reported_to_pharmacovigilance": False,
    }

    response = client_for("nurse.milano").post(
        f"/api/v1/prescriptions/{prescription.pk}/adverse-events/", body, format="json"
    )

    assert response.status_code == 201, response.json()
    assert AdverseEvent.objects.get(prescription=prescription).description == text


@pytest.mark.parametrize(("language", "words"), [("it", "Non accettato"), ("en", "Not accepted")])
def test_a_page_form_with_an_invisible_character_is_a_400_page_naming_the_field(client, db, language, words):
    response = client.post(
        "/accounts/login/",
        {"username": "prescriber.milano\u202e", "password": "x"},
        HTTP_ACCEPT_LANGUAGE=language,
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert words in html and "username" in html and "U+202E" in html
