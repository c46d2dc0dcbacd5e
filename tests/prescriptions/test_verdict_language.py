"""A verdict is stored as texts and read in the reader's language (API detail, pages, FHIR, a replayed 201).

A prescription submitted with Italian active is read in English, and the reverse: the messages, and the dates and
decimals inside them, are those of the reader. A verdict stored before the texts were structured (only a rendered
``message`` per result) still shows its stored text, never a 500.
"""

import copy

import pytest
from django.test import Client
from django.urls import reverse

from prescriptions.models import IdempotentRequest, Prescription
from tests.browser_support import prescription_fields

from . import factories as f

URL = "/api/v1/prescriptions/"
# Refused (PaO2/FiO2 150, CPAP, suPAR 5.9): a decimal in a message, and the birth date (1 May 1960) in another.
REFUSED = {"pao2_mmhg": 45, "fio2": 0.30, "supar_ng_ml": 5.9, "respiratory_support": "cpap"}
ENGLISH = {
    "AGE_ADULT": "Born 01 May 1960: aged",
    "SUPAR_AT_LEAST_6": "suPAR 5.9 ng/mL, below 6",
    "NO_CPAP_OR_VENTILATION": "Respiratory support: CPAP, not allowed",
}
ITALIAN = {
    "AGE_ADULT": "Nato/a il 01/05/1960: ",
    "SUPAR_AT_LEAST_6": "suPAR 5,9 ng/mL, inferiore a 6",
    "NO_CPAP_OR_VENTILATION": "Supporto respiratorio: CPAP, non consentito",
}
EXPECTED = {"en": ENGLISH, "it": ITALIAN}
OTHER = {"en": "it", "it": "en"}


def messages(verdict: dict) -> dict[str, str]:
    return {result["code"]: result["message"] for result in verdict["results"]}


def assert_reads_in(language: str, verdict: dict) -> None:
    found = messages(verdict)
    for code, start in EXPECTED[language].items():
        assert found[code].startswith(start), (code, found[code])


@pytest.fixture
def api(client_for):
    client = client_for("prescriber.milano")

    def call(method: str, url: str, language: str, body=None, **headers):
        return getattr(client, method)(url, body, format="json", HTTP_ACCEPT_LANGUAGE=language, **headers)

    return call


def refused_body() -> dict:
    return f.submission_body(assessment=f.eligible_assessment(**REFUSED))


def submit(api, language: str, body: dict | None = None, **headers) -> dict:
    response = api("post", URL, language, body or refused_body(), **headers)
    assert response.status_code == 201, response.content
    return response.json()


def page(demo, language: str, prescription_id) -> str:
    client = Client()
    client.force_login(demo["prescriber.milano"])
    client.cookies["django_language"] = language
    response = client.get(reverse("prescriptions:detail", args=[prescription_id]))
    assert response.status_code == 200
    return response.content.decode()


def fhir_details(api, language: str, prescription_id) -> dict[str, str]:
    response = api("get", f"{URL}{prescription_id}/fhir/", language)
    assert response.status_code == 200, response.content
    return {
        entry["resource"]["code"]["text"]: entry["resource"]["detail"]
        for entry in response.json()["entry"]
        if entry["resource"]["resourceType"] == "DetectedIssue"
    }


@pytest.mark.parametrize("written_in", ["it", "en"])
def test_a_verdict_reads_in_the_readers_language(api, demo, written_in):
    read_in = OTHER[written_in]
    created = submit(api, written_in)
    assert_reads_in(written_in, created["eligibility"])  # the 201 speaks its own request's language

    stored = Prescription.objects.get(pk=created["id"]).eligibility
    assert all("text" in result and "message" not in result for result in stored["results"])

    detail = api("get", f"{URL}{created['id']}/", read_in).json()
    assert_reads_in(read_in, detail["eligibility"])
    assert [(r["code"], r["outcome"], r["source"]) for r in detail["eligibility"]["results"]] == [
        (r["code"], r["outcome"], r["source"]) for r in created["eligibility"]["results"]
    ]
    assert all(set(r) == {"code", "outcome", "message", "source"} for r in detail["eligibility"]["results"])

    html = page(demo, read_in, created["id"])
    for start in EXPECTED[read_in].values():
        assert start in html
    for start in EXPECTED[written_in].values():
        assert start not in html

    issues = fhir_details(api, read_in, created["id"])
    assert issues["SUPAR_AT_LEAST_6"] == EXPECTED[read_in]["SUPAR_AT_LEAST_6"]
    assert issues["NO_CPAP_OR_VENTILATION"].startswith(EXPECTED[read_in]["NO_CPAP_OR_VENTILATION"])


def test_a_replayed_submission_speaks_the_language_of_the_retry(api, demo):
    body = refused_body()
    first = submit(api, "it", body, HTTP_IDEMPOTENCY_KEY="verdict-language")
    again = submit(api, "en", body, HTTP_IDEMPOTENCY_KEY="verdict-language")

    assert again["id"] == first["id"]
    assert Prescription.objects.count() == 1
    assert_reads_in("it", first["eligibility"])
    assert_reads_in("en", again["eligibility"])
    # Everything but the messages is the first response.
    strip = [{k: v for k, v in r.items() if k != "message"} for r in first["eligibility"]["results"]]
    assert [{k: v for k, v in r.items() if k != "message"} for r in again["eligibility"]["results"]] == strip
    assert {k: v for k, v in again.items() if k != "eligibility"} == {
        k: v for k, v in first.items() if k != "eligibility"
    }
    # Replayed in Italian, it is the first response exactly.
    assert submit(api, "it", body, HTTP_IDEMPOTENCY_KEY="verdict-language") == first


def test_the_live_verdict_of_the_new_prescription_page_speaks_the_readers_language(demo):
    for language, expected in EXPECTED.items():
        client = Client()
        client.force_login(demo["prescriber.milano"])
        client.cookies["django_language"] = language
        fields = prescription_fields(pao2_mmhg="45", fio2="0.30", supar_ng_ml="5.9", respiratory_support="cpap")
        html = client.post(reverse("prescriptions:check"), fields, HTTP_HX_REQUEST="true").content.decode()
        assert expected["SUPAR_AT_LEAST_6"] in html, language
        assert EXPECTED[OTHER[language]]["SUPAR_AT_LEAST_6"] not in html


def test_the_page_submission_names_the_failed_criteria_in_the_readers_language(demo):
    client = Client()
    client.force_login(demo["prescriber.milano"])
    client.cookies["django_language"] = "it"
    fields = prescription_fields(pao2_mmhg="45", fio2="0.30", supar_ng_ml="5.9", respiratory_support="cpap")
    html = client.post(reverse("prescriptions:new"), fields, follow=True).content.decode()
    warning = html[html.index("Motivi:") :].split("</li>", 1)[0]
    assert ITALIAN["SUPAR_AT_LEAST_6"] in warning
    assert "CPAP, non consentito" in warning


# -- verdicts stored before the texts were structured -------------------------------------------------------------


def legacy(verdict: dict) -> dict:
    """The verdict as it was stored before this change: each result's message rendered (here: made up Italian)."""
    old = copy.deepcopy(verdict)
    for result in old["results"]:
        result.pop("text")
        result["message"] = f"Messaggio salvato di {result['code']}"
    return old


def test_a_legacy_verdict_shows_its_stored_messages_everywhere(api, demo):
    created = submit(api, "en")
    prescription = Prescription.objects.get(pk=created["id"])
    Prescription.objects.filter(pk=prescription.pk).update(eligibility=legacy(prescription.eligibility))

    for language in ("en", "it"):
        detail = api("get", f"{URL}{created['id']}/", language)
        assert detail.status_code == 200
        assert messages(detail.json()["eligibility"])["SUPAR_AT_LEAST_6"] == "Messaggio salvato di SUPAR_AT_LEAST_6"
        assert "Messaggio salvato di NO_CPAP_OR_VENTILATION" in page(demo, language, created["id"])
        assert fhir_details(api, language, created["id"])["SUPAR_AT_LEAST_6"] == (
            "Messaggio salvato di SUPAR_AT_LEAST_6"
        )


def test_a_text_that_cannot_be_rendered_is_never_a_500(api, demo):
    created = submit(api, "en")
    prescription = Prescription.objects.get(pk=created["id"])
    broken = copy.deepcopy(prescription.eligibility)
    for result in broken["results"]:
        result["text"] = {"msgid": "%(missing)s", "params": {"other": 1}}
    Prescription.objects.filter(pk=prescription.pk).update(eligibility=broken)

    detail = api("get", f"{URL}{created['id']}/", "en")
    assert detail.status_code == 200
    assert messages(detail.json()["eligibility"])["SUPAR_AT_LEAST_6"] == "SUPAR_AT_LEAST_6"
    assert "SUPAR_AT_LEAST_6" in page(demo, "en", created["id"])
    assert fhir_details(api, "en", created["id"])["SUPAR_AT_LEAST_6"] == "SUPAR_AT_LEAST_6"


def test_a_legacy_stored_201_is_replayed_as_it_was(api, demo):
    body = refused_body()
    first = submit(api, "it", body, HTTP_IDEMPOTENCY_KEY="before-the-change")
    row = IdempotentRequest.objects.get(key="before-the-change")
    old_body = {**row.response_body, "eligibility": first["eligibility"]}  # messages rendered, as stored before
    IdempotentRequest.objects.filter(pk=row.pk).update(response_body=old_body)

    again = submit(api, "en", body, HTTP_IDEMPOTENCY_KEY="before-the-change")
    assert again == first
