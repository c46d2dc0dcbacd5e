"""The pharmacist's dispensing queue (issue 18): the patient as the pharmacist may see them, how long each request
has waited, holds and their expected dates, the "on hold" filter, and the CSV export (streamed, scoped)."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from prescriptions import services
from registry.calendar import rome_today
from registry.models import AccessKind, AccessLog

from . import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def pharmacist(demo):
    client = Client()
    client.force_login(demo["pharmacist.milano"])
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def two_waiting(demo):
    held = f.submit(demo["prescriber.milano"], identity={"family_name": "Verdi", "given_name": "Anna"})
    waiting = f.submit(demo["prescriber.milano"], identity={"family_name": "Neri", "given_name": "Carlo"})
    services.dispensing_hold(
        pharmacist=demo["pharmacist.milano"],
        prescription=held,
        reason="out_of_stock",
        expected_on=rome_today() + timedelta(days=2),
    )
    return held, waiting


def test_the_queue_shows_the_patient_the_wait_and_the_hold(pharmacist, two_waiting):
    held, waiting = two_waiting
    html = pharmacist.get(reverse("prescriptions:dispensing_queue")).content.decode()
    assert "VERDI Anna" in html and "NERI Carlo" in html
    assert f'data-id="{held.pk}" data-on-hold="out_of_stock"' in html
    assert 'class="waiting"' in html
    assert "out of stock" in html


def test_the_on_hold_filter(pharmacist, two_waiting):
    held, waiting = two_waiting
    url = reverse("prescriptions:dispensing_queue")
    only_held = pharmacist.get(url, {"hold": "yes"}).content.decode()
    assert str(held.pk) in only_held and str(waiting.pk) not in only_held
    not_held = pharmacist.get(url, {"hold": "no"}).content.decode()
    assert str(waiting.pk) in not_held and str(held.pk) not in not_held


def test_the_csv_export_streams_the_filtered_queue_and_logs_the_identities_shown(demo, pharmacist, two_waiting):
    held, waiting = two_waiting
    response = pharmacist.get(reverse("prescriptions:dispensing_queue_csv"), {"hold": "yes"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body), delimiter=";"))
    assert [row["Prescription"] for row in rows] == [str(held.pk)]
    assert rows[0]["Why on hold"] == "out of stock"
    with translation.override("en"):
        assert rows[0]["Expected on"] == date_format(rome_today() + timedelta(days=2), "SHORT_DATE_FORMAT")
    assert rows[0]["Patient"].startswith("VERDI Anna")
    assert AccessLog.objects.filter(kind=AccessKind.PATIENT_IDENTITY, object_id=str(held.pk)).exists()


def test_the_csv_export_is_scoped_and_for_pharmacists(demo, two_waiting):
    held, _waiting = two_waiting
    rome = Client()
    rome.force_login(demo["pharmacist.roma"])
    response = rome.get(reverse("prescriptions:dispensing_queue_csv"))
    assert response.status_code == 200
    assert str(held.pk) not in b"".join(response.streaming_content).decode()
    nurse = Client()
    nurse.force_login(demo["nurse.milano"])
    assert nurse.get(reverse("prescriptions:dispensing_queue_csv")).status_code == 403


def test_a_cell_a_spreadsheet_would_run_is_written_as_text(demo, pharmacist):
    prescription = f.submit(demo["prescriber.milano"])
    services.dispensing_hold(
        pharmacist=demo["pharmacist.milano"], prescription=prescription, reason="other", note="=HYPERLINK(1)"
    )
    body = b"".join(pharmacist.get(reverse("prescriptions:dispensing_queue_csv")).streaming_content).decode("utf-8-sig")
    row = next(r for r in csv.DictReader(io.StringIO(body), delimiter=";") if r["Prescription"] == str(prescription.pk))
    assert row["Hold note"] == "'=HYPERLINK(1)"


def test_the_queue_api_filters_the_holds(client_for, two_waiting):
    held, waiting = two_waiting
    client = client_for("pharmacist.milano")
    ids = {p["id"] for p in client.get("/api/v1/dispensing-queue/", {"hold": "yes"}).json()["results"]}
    assert str(held.pk) in ids and str(waiting.pk) not in ids
    ids = {p["id"] for p in client.get("/api/v1/dispensing-queue/", {"hold": "no"}).json()["results"]}
    assert str(waiting.pk) in ids and str(held.pk) not in ids
    assert "hold" in client.get("/api/v1/dispensing-queue/", {"hold": "maybe"}).json()


def test_the_csv_export_costs_no_query_per_row(demo, pharmacist):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def export() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = pharmacist.get(reverse("prescriptions:dispensing_queue_csv"))
            rows = b"".join(response.streaming_content).decode("utf-8-sig").count("\n") - 1
        return rows, len(queries.captured_queries)

    for _ in range(2):
        f.submit(demo["prescriber.milano"], identity={"family_name": "Rossi", "given_name": "Ada"})
    few_rows, few = export()
    for _ in range(6):
        f.submit(demo["prescriber.milano"], identity={"family_name": "Bruno", "given_name": "Leo"})
    more_rows, more = export()
    assert more_rows == few_rows + 6
    assert more == few


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_csv_is_written_as_the_list_csv(demo, two_waiting, language):
    """As the prescription list's CSV (prescriptions/web/export.py, docs/api.md): ";" between fields, CRLF, a
    byte-order mark, and moments and days in the reader's form, not ISO (audit of issue 18)."""
    held, _waiting = two_waiting
    client = Client()
    client.force_login(demo["pharmacist.milano"])
    client.cookies["django_language"] = language
    response = client.get(reverse("prescriptions:dispensing_queue_csv"))
    named = "coda-dispensazione-" if language == "it" else "dispensing-queue-"
    assert f'filename="{named}{rome_today().isoformat()}.csv"' in response["Content-Disposition"]
    raw = b"".join(response.streaming_content).decode("utf-8")
    assert raw.startswith("\ufeff")
    header, first = raw[1:].split("\r\n")[:2]
    with translation.override(language):
        assert header.split(";")[:2] == [translation.gettext("Prescription"), translation.gettext("Patient")]
        row = next(
            r for r in csv.DictReader(io.StringIO(raw[1:]), delimiter=";") if r[header.split(";")[0]] == str(held.pk)
        )
        held.refresh_from_db()
        shown = {
            "Prescribed at": date_format(timezone.localtime(held.prescribed_at), "SHORT_DATETIME_FORMAT"),
            "Registered at": date_format(timezone.localtime(held.registered_at), "SHORT_DATETIME_FORMAT"),
            "On hold since": date_format(timezone.localtime(held.hold_since), "SHORT_DATETIME_FORMAT"),
            "Expected on": date_format(held.hold_expected_on, "SHORT_DATE_FORMAT"),
        }
        for column, value in shown.items():
            assert row[translation.gettext(column)] == value
    assert "," not in header
