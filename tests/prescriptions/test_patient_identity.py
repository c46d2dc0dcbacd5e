"""The patient's identity in the API and on the pages: the treating centre's staff read it, a regional officer
reveals it with a reason, nobody else (API.md, "Identity in responses"; DOMAIN.md, "The patient's identity")."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from prescriptions.models import Prescription
from registry.models import AccessKind, AccessLog, AuditEvent, Patient
from tests.prescriptions import factories as f

URL = "/api/v1/prescriptions/"
IDENTITY = {
    "family_name": "Bellomo",
    "given_name": "Carla",
    "ward": "Malattie Infettive",
    "bed": "7B",
    "admission_number": "2026/000815",
}


@pytest.fixture
def login(demo):
    def make(username: str, language: str = "en") -> Client:
        client = Client()
        client.force_login(demo[username])
        client.cookies["django_language"] = language
        return client

    return make


@pytest.fixture
def identified(client_for):
    """A prescription at Milano whose patient's identity was given with the submission."""
    code = f.fiscal_code(sex="F")
    response = client_for("prescriber.milano").post(
        URL, f.submission_body(code=code, sex="F", identity=IDENTITY), format="json"
    )
    assert response.status_code == 201, response.content
    prescription = Prescription.objects.get(pk=response.json()["id"])
    prescription.fiscal_code = code
    return prescription


# --- The API ---------------------------------------------------------------------------------------------


def test_the_submissions_answer_and_its_idempotent_copy_hold_no_identity(client_for):
    code = f.fiscal_code()
    response = client_for("prescriber.milano").post(
        URL, f.submission_body(code=code, identity=IDENTITY), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert response.status_code == 201
    assert set(response.json()["patient"]) == {"id", "pseudonym", "birth_date", "sex"}
    stored = str(Prescription.objects.values_list("assessment", "eligibility"))
    from prescriptions.models import IdempotentRequest

    stored += str(IdempotentRequest.objects.values_list("response_body", flat=True))
    for secret in (code, "Bellomo", "2026/000815"):
        assert secret not in response.content.decode()
        assert secret not in stored


@pytest.mark.parametrize("username", ["prescriber.milano", "nurse.milano", "pharmacist.milano"])
def test_the_treating_centres_staff_read_the_identity_in_the_detail_and_the_list(client_for, identified, username):
    client = client_for(username)

    detail = client.get(f"{URL}{identified.pk}/").json()["patient"]
    listed = next(row for row in client.get(URL).json()["results"] if row["id"] == str(identified.pk))["patient"]

    expected = {
        "id": str(identified.patient_id),
        "fiscal_code": identified.fiscal_code,
        "birth_date": f.BIRTH_DATE.isoformat(),
        "sex": "F",
        "identity_recorded": True,
        **IDENTITY,
    }
    assert expected.items() <= detail.items()
    assert listed == detail
    # Each display is in the read-access log.
    assert AccessLog.objects.filter(kind=AccessKind.PATIENT_IDENTITY, object_id=str(identified.pk)).count() == 2


@pytest.mark.parametrize("username", ["officer.lombardia", "admin"])
def test_everyone_else_reads_only_what_does_not_identify(client_for, identified, username):
    client = client_for(username)

    detail = client.get(f"{URL}{identified.pk}/")
    listed = client.get(URL).content.decode()

    assert set(detail.json()["patient"]) == {"id", "pseudonym", "birth_date", "sex"}
    for secret in (identified.fiscal_code, "Bellomo", "Carla", "000815"):
        assert secret not in detail.content.decode()
        assert secret not in listed
    assert not AccessLog.objects.filter(kind=AccessKind.PATIENT_IDENTITY).exists()


@pytest.mark.parametrize(
    "field, value",
    [
        ("family_name", "R0ssi"),
        ("given_name", "x" * 101),
        ("ward", "<b>"),
        ("bed", "12345678901"),
        ("admission_number", "12 34"),
    ],
)
def test_identifying_fields_are_checked_with_a_400_naming_the_field(client_for, field, value):
    body = f.submission_body(identity={field: value})

    response = client_for("prescriber.milano").post(URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()["patient"]
    assert not Patient.objects.exists()


def test_a_regional_officer_reveals_the_identity_with_a_reason_audited_and_logged(client_for, identified):
    url = f"{URL}{identified.pk}/patient/reveal/"
    client = client_for("officer.lombardia")

    without_reason = client.post(url, {"reason": "  "}, format="json")
    revealed = client.post(url, {"reason": "Richiesta della ASL per farmacovigilanza"}, format="json")

    assert without_reason.status_code == 400 and "reason" in without_reason.json()
    assert revealed.status_code == 200
    assert {"fiscal_code": identified.fiscal_code, **IDENTITY}.items() <= revealed.json().items()
    event = AuditEvent.objects.get(action="patient.identity_reveal")
    assert event.changes == {
        "prescription": str(identified.pk),
        "reason": "Richiesta della ASL per farmacovigilanza",
    }
    assert AccessLog.objects.filter(kind=AccessKind.PATIENT_IDENTITY_REVEAL, region_id="030").count() == 1


@pytest.mark.parametrize(
    "username, status",
    [
        ("prescriber.milano", 403),
        ("nurse.milano", 403),
        ("pharmacist.milano", 403),
        ("admin", 403),
        ("aifa", 404),
        ("officer.lazio", 404),
        ("prescriber.roma", 404),
    ],
)
def test_nobody_else_reveals(client_for, identified, username, status):
    response = client_for(username).post(f"{URL}{identified.pk}/patient/reveal/", {"reason": "curiosità"})

    assert response.status_code == status
    assert not AuditEvent.objects.filter(action="patient.identity_reveal").exists()


def test_the_staff_search_by_family_name_and_admission_number_exactly(client_for, identified, demo):
    other = f.submit(demo["prescriber.milano"], identity={"family_name": "Bellomini", "given_name": "Ugo"})
    client = client_for("nurse.milano")

    def found(text):
        response = client.get(URL, {"q": text})
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert found("bellomo") == [str(identified.pk)]
    assert found(" BELLÒMO ") == [str(identified.pk)]  # case, accents and spaces do not count
    assert found("2026/000815") == [str(identified.pk)]
    assert found("Bellomini") == [str(other.pk)]
    assert found("Bell") == []  # exact, never a prefix
    # A regional officer cannot probe names: the search takes fiscal codes and prescription numbers only.
    assert client_for("officer.lombardia").get(URL, {"q": "Bellomo"}).status_code == 400


# --- Pages ------------------------------------------------------------------------------------------------


def test_the_banner_names_the_patient_for_the_nurse_in_italian(login, identified):
    html = login("nurse.milano", "it").get(reverse("prescriptions:detail", args=[identified.pk])).content.decode()

    banner = re.search(r'<section class="card patient-banner.*?</section>', html, re.S).group(0)
    assert "BELLOMO Carla" in banner
    assert identified.fiscal_code in banner
    assert "Malattie Infettive letto 7B" in banner
    assert "anni" in banner
    assert AccessLog.objects.filter(kind=AccessKind.PATIENT_IDENTITY, object_id=str(identified.pk)).exists()


def test_the_lists_show_the_patient_column(login, identified, demo):
    f.dispense(demo["pharmacist.milano"], identified, syringes=4)
    for username, url in (("prescriber.milano", "prescriptions:list"), ("pharmacist.milano", "dispensing_queue")):
        url = reverse(url if ":" in url else f"prescriptions:{url}")
        html = login(username).get(url).content.decode()
        row = re.search(rf'<tr data-id="{identified.pk}">.*?</tr>', html, re.S).group(0)
        assert "BELLOMO Carla" in row
    officer = login("officer.lombardia").get(reverse("prescriptions:list")).content.decode()
    assert "Bellomo" not in officer.title() and identified.patient.pseudonym[:12] in officer


def test_the_list_page_finds_by_family_name(login, identified, demo):
    f.submit(demo["prescriber.milano"], identity={"family_name": "Altro", "given_name": "Nome"})

    html = login("prescriber.milano").get(reverse("prescriptions:list"), {"q": "bellomo"}).content.decode()

    assert re.findall(r'<tr data-id="([^"]+)"', html) == [str(identified.pk)]


def test_an_unknown_identity_is_said_and_the_centre_records_it_from_the_page(login, demo):
    code = f.fiscal_code()
    prescription = f.submit(demo["prescriber.milano"], code=code)
    # As registered before the identity was kept: a pseudonym, nothing encrypted.
    Patient.objects.filter(pk=prescription.patient_id).update(identity_ciphertext="")
    url = reverse("prescriptions:detail", args=[prescription.pk])
    client = login("nurse.milano", "it")

    before = client.get(url).content.decode()
    wrong = client.post(
        reverse("prescriptions:patient_identity", args=[prescription.pk]),
        {"patient-fiscal_code": f.fiscal_code(), "patient-family_name": "Neri", "patient-given_name": "Ada"},
    )
    recorded = client.post(
        reverse("prescriptions:patient_identity", args=[prescription.pk]),
        {"patient-fiscal_code": code, "patient-family_name": "Neri", "patient-given_name": "Ada", "patient-bed": "3"},
        follow=True,
    )

    assert "identità non registrata" in before
    assert "Registra l&#x27;identità del paziente" in before or "Registra l'identità del paziente" in before
    assert wrong.status_code == 400 and "non è di questo paziente" in wrong.content.decode()
    assert "NERI Ada" in recorded.content.decode()
    event = AuditEvent.objects.filter(action="patient.identity_record").latest("id")
    assert "Neri" not in str(event.changes) and code not in str(event.changes)


def test_the_officer_reveals_on_the_page_and_sees_it_on_that_response_only(login, identified):
    client = login("officer.lombardia", "it")
    url = reverse("prescriptions:detail", args=[identified.pk])

    page = client.get(url).content.decode()
    no_reason = client.post(reverse("prescriptions:patient_reveal", args=[identified.pk]), {"reveal-reason": ""})
    revealed = client.post(
        reverse("prescriptions:patient_reveal", args=[identified.pk]), {"reveal-reason": "verifica ASL"}
    ).content.decode()
    again = client.get(url).content.decode()

    assert "Mostra identità" in page and "Bellomo" not in page.title()
    assert no_reason.status_code == 400
    assert "BELLOMO Carla" in revealed and identified.fiscal_code in revealed
    assert "BELLOMO" not in again and identified.fiscal_code not in again
    assert AuditEvent.objects.filter(action="patient.identity_reveal").count() == 1


def test_aifa_never_sees_the_patient_nor_a_reveal(login, identified):
    response = login("aifa").get(reverse("prescriptions:detail", args=[identified.pk]))

    assert response.status_code in (403, 404)
    assert "Bellomo" not in response.content.decode()


def test_the_new_prescription_page_asks_for_the_names(login):
    from tests.browser_support import prescription_fields

    client = login("prescriber.milano", "it")
    html = client.get(reverse("prescriptions:new")).content.decode()
    refused = client.post(reverse("prescriptions:new"), prescription_fields(family_name=None, given_name=None))

    for name in ("family_name", "given_name", "ward", "bed", "admission_number"):
        assert f'name="{name}"' in html
    assert 'data-field="family_name"' in refused.content.decode()
    assert not Prescription.objects.exists()


@pytest.mark.parametrize("page", ["prescriptions:list", "prescriptions:dispensing_queue"])
def test_a_list_of_identified_patients_costs_no_query_per_row(login, demo, page):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def identified(count: int) -> None:
        for n in range(count):
            f.submit(demo["prescriber.milano"], identity={"family_name": f"Nome{'abcdefghij'[n]}", "given_name": "Ada"})

    client = login("pharmacist.milano")
    identified(2)
    with CaptureQueriesContext(connection) as two:
        client.get(reverse(page))
    identified(8)
    with CaptureQueriesContext(connection) as ten:
        html = client.get(reverse(page)).content.decode()

    assert html.count('class="patient-cell"><strong>') == 10
    assert len(ten.captured_queries) == len(two.captured_queries)
    # Every display in the read-access log, written in one insert per response.
    assert AccessLog.objects.filter(kind=AccessKind.PATIENT_IDENTITY).count() == 12
