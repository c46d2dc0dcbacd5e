"""The adverse event's E2B(R3) download on the prescription page, and the page of serious events a centre has not
yet reported to pharmacovigilance, with marking one reported after a confirmation (audited)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from prescriptions import services
from prescriptions.models import Prescription
from registry.calendar import rome_today
from registry.models import AuditEvent
from tests.demo_snapshot import history_build


@pytest.fixture
def login(demo):
    def make(username: str, *, language: str = "en") -> Client:
        client = Client()
        client.force_login(demo[username])
        client.cookies["django_language"] = language
        return client

    return make


@pytest.fixture
def serious(demo):
    """A serious adverse event, not yet reported, on a course of the demo history in Lombardia."""
    history_build()
    prescription = (
        Prescription.objects.filter(centre__region_id="030", status__in=["in_course", "completed", "stopped"])
        .order_by("prescribed_at")
        .first()
    )
    return services.adverse_event_record(
        user=demo["nurse.milano"],
        prescription=prescription,
        category="hepatic",
        serious=True,
        onset_date=prescription.first_dose_on,
        description="ALT 9 x ULN",
        reported_to_pharmacovigilance=False,
    )


def e2b_url(event) -> str:
    return f"/api/v1/prescriptions/{event.prescription_id}/adverse-events/{event.pk}/e2b/"


def test_the_prescription_page_offers_the_e2b_report_to_the_centres_staff(login, serious):
    page = login("nurse.milano").get(f"/prescriptions/{serious.prescription_id}/")
    html = page.content.decode()
    assert f'href="{e2b_url(serious)}"' in html
    officer = login("officer.lombardia").get(f"/prescriptions/{serious.prescription_id}/").content.decode()
    assert e2b_url(serious) not in officer


def test_the_download_link_works_in_the_browser_session(login, serious):
    response = login("nurse.milano").get(e2b_url(serious))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert b"MCCI_IN200100UV01" in response.content


def test_the_list_of_events_to_report(login, serious):
    html = login("prescriber.milano").get("/prescriptions/pharmacovigilance/").content.decode()
    assert f'data-event="{serious.pk}"' in html
    assert f'href="{e2b_url(serious)}"' in html
    assert f"/prescriptions/{serious.prescription_id}/adverse-events/{serious.pk}/reported/" in html
    # Another region's staff do not see it; the region's prescriptions are theirs only.
    roma = login("prescriber.roma").get("/prescriptions/pharmacovigilance/").content.decode()
    assert str(serious.pk) not in roma


@pytest.mark.parametrize("username", ["officer.lombardia", "pharmacist.milano", "aifa"])
def test_only_the_centres_clinicians_report(login, serious, username):
    assert login(username).get("/prescriptions/pharmacovigilance/").status_code == 403
    url = f"/prescriptions/{serious.prescription_id}/adverse-events/{serious.pk}/reported/"
    assert login(username).post(url, {"report_number": "X"}).status_code == 404
    serious.refresh_from_db()
    assert not serious.reported_to_pharmacovigilance


def test_mark_reported_after_a_confirmation_is_audited(login, serious):
    client = login("nurse.milano")
    url = f"/prescriptions/{serious.prescription_id}/adverse-events/{serious.pk}/reported/"
    confirmation = client.get(url)
    assert confirmation.status_code == 200
    assert "data-confirm" in confirmation.content.decode()
    serious.refresh_from_db()
    assert not serious.reported_to_pharmacovigilance  # the GET changes nothing

    day = rome_today()
    response = client.post(url, {"report_number": "RNF-2026-0042", "report_date": day.isoformat()})
    assert response.status_code == 302
    assert response["Location"] == "/prescriptions/pharmacovigilance/"
    serious.refresh_from_db()
    assert serious.reported_to_pharmacovigilance
    assert serious.pharmacovigilance_report_number == "RNF-2026-0042"
    assert serious.pharmacovigilance_report_date == day
    audit = AuditEvent.objects.filter(action="prescription.adverse_event_reported").get()
    assert audit.actor_username == "nurse.milano"
    assert audit.object_id == str(serious.prescription_id)
    assert audit.changes["adverse_event"] == str(serious.pk)
    assert audit.changes["before"]["reported_to_pharmacovigilance"] is False
    html = client.get("/prescriptions/pharmacovigilance/").content.decode()
    assert str(serious.pk) not in html
    assert 'id="nothing-to-report"' in html


def test_a_report_dated_in_the_future_is_refused_on_the_page(login, serious):
    url = f"/prescriptions/{serious.prescription_id}/adverse-events/{serious.pk}/reported/"
    tomorrow = rome_today() + timedelta(days=1)
    response = login("nurse.milano").post(url, {"report_date": tomorrow.isoformat()})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    serious.refresh_from_db()
    assert not serious.reported_to_pharmacovigilance
    response = login("nurse.milano").post(url, {"report_date": "31/02/2026"})
    assert response.status_code == 400


# --- The same through the API -----------------------------------------------------------------------------------


def reported_url(event) -> str:
    return f"/api/v1/prescriptions/{event.prescription_id}/adverse-events/{event.pk}/reported/"


def test_the_api_marks_reported_with_the_same_service(client_for, serious):
    day = rome_today()
    response = client_for("prescriber.milano").post(
        reported_url(serious), {"report_number": "RNF-7", "report_date": day.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["reported_to_pharmacovigilance"] is True
    assert body["pharmacovigilance_report_number"] == "RNF-7"
    assert body["pharmacovigilance_report_date"] == day.isoformat()
    assert AuditEvent.objects.filter(action="prescription.adverse_event_reported").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"report_date": "2999-01-01"}, "report_date"),
        ({"report_date": "not a date"}, "report_date"),
        ({"report_number": "X" * 41}, "report_number"),
    ],
)
def test_the_api_refuses_bad_input_naming_the_field(client_for, serious, body, field):
    response = client_for("nurse.milano").post(reported_url(serious), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert field in response.json()
    serious.refresh_from_db()
    assert not serious.reported_to_pharmacovigilance


@pytest.mark.parametrize("username", ["officer.lombardia", "pharmacist.milano", "aifa", "prescriber.roma"])
def test_the_api_is_404_outside_the_treating_centre(client_for, serious, username):
    response = client_for(username).post(reported_url(serious), {}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


# --- Marking reported twice: never overwrites what the first report recorded --------------------------------------


def test_marking_reported_again_with_another_number_is_409_and_keeps_the_first(client_for, serious):
    client = client_for("nurse.milano")
    day = rome_today()
    first = client.post(
        reported_url(serious), {"report_number": "RNF-1", "report_date": day.isoformat()}, format="json"
    )
    assert first.status_code == 200, first.content
    again = client.post(reported_url(serious), {"report_number": "RNF-2"}, format="json")
    assert again.status_code == 409, again.content
    assert again.json()["code"] == "ALREADY_REPORTED"
    assert "RNF-1" in again.json()["detail"]
    serious.refresh_from_db()
    assert serious.pharmacovigilance_report_number == "RNF-1"
    assert AuditEvent.objects.filter(action="prescription.adverse_event_reported").count() == 1
    # Another date on an event already reported with a date: 409 as well.
    other_day = client.post(
        reported_url(serious),
        {"report_number": "RNF-1", "report_date": (day - timedelta(days=1)).isoformat()},
        format="json",
    )
    assert other_day.status_code == 409
    serious.refresh_from_db()
    assert serious.pharmacovigilance_report_date == day


def test_marking_reported_again_with_the_same_number_is_idempotent(client_for, serious):
    client = client_for("prescriber.milano")
    first = client.post(reported_url(serious), {"report_number": "RNF-1"}, format="json")
    assert first.status_code == 200
    for body in ({"report_number": "RNF-1"}, {"report_number": " RNF-1 "}, {}):
        again = client.post(reported_url(serious), body, format="json")
        assert again.status_code == 200, (body, again.content)
        assert again.json()["pharmacovigilance_report_number"] == "RNF-1"
    # Nothing changed: one report, one audit event.
    assert AuditEvent.objects.filter(action="prescription.adverse_event_reported").count() == 1


def test_a_number_missing_from_the_first_report_can_be_added_once(client_for, serious):
    client = client_for("nurse.milano")
    assert client.post(reported_url(serious), {}, format="json").status_code == 200
    serious.refresh_from_db()
    assert (serious.reported_to_pharmacovigilance, serious.pharmacovigilance_report_number) == (True, "")
    added = client.post(reported_url(serious), {"report_number": "RNF-9"}, format="json")
    assert added.status_code == 200
    assert added.json()["pharmacovigilance_report_number"] == "RNF-9"
    audits = AuditEvent.objects.filter(action="prescription.adverse_event_reported").order_by("pk")
    assert audits.count() == 2
    assert audits.last().changes["before"]["pharmacovigilance_report_number"] == ""
    assert client.post(reported_url(serious), {"report_number": "RNF-10"}, format="json").status_code == 409


def test_the_page_shows_why_a_second_report_number_is_refused(login, serious):
    url = f"/prescriptions/{serious.prescription_id}/adverse-events/{serious.pk}/reported/"
    assert login("nurse.milano").post(url, {"report_number": "RNF-1"}).status_code == 302
    for language, words in (("en", "already reported"), ("it", "già segnalato")):
        response = login("nurse.milano", language=language).post(url, {"report_number": "RNF-2"})
        assert response.status_code == 409
        html = response.content.decode()
        assert words in html
        assert "RNF-1" in html
        assert 'aria-invalid="true"' in html
    serious.refresh_from_db()
    assert serious.pharmacovigilance_report_number == "RNF-1"


# --- MedDRA code: the list and the prescription page say when the E2B report will lack it --------------------------


def test_the_list_and_the_page_say_when_the_meddra_code_is_missing(login, serious):
    for language, words in (("en", "MedDRA code missing"), ("it", "Manca il codice MedDRA")):
        client = login("nurse.milano", language=language)
        listing = client.get("/prescriptions/pharmacovigilance/").content.decode()
        row = listing.split(f'data-event="{serious.pk}"', 1)[1].split("</tr>", 1)[0]
        assert "data-meddra-missing" in row and words in row
        page = client.get(f"/prescriptions/{serious.prescription_id}/").content.decode()
        assert "data-meddra-missing" in page and words in page
    type(serious).objects.filter(pk=serious.pk).update(meddra_code="10019670", meddra_version="27.1")
    client = login("nurse.milano")
    listing = client.get("/prescriptions/pharmacovigilance/").content.decode()
    row = listing.split(f'data-event="{serious.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "data-meddra-missing" not in row
    assert "10019670" in row and "27.1" in row
    page = client.get(f"/prescriptions/{serious.prescription_id}/").content.decode()
    assert "10019670" in page
