"""Issue 18: the prescription list filters "with alerts" and "day-28 outcome overdue", sorts, and exports as CSV
exactly what it shows, within the reader's scope."""

import csv
import io
import re

import pytest
from django.http import StreamingHttpResponse
from django.test import Client

from prescriptions import selectors
from prescriptions.codes import AlertCode
from prescriptions.models import Prescription
from registry.calendar import rome_today
from registry.models import AccessKind, AccessLog
from tests.demo_snapshot import history_build

LIST = "/prescriptions/"
EXPORT = "/prescriptions/export.csv"


@pytest.fixture
def history(demo):
    """The demo's month of history: missed doses, a neutropenia, deviations, outcomes due and given."""
    assert history_build() > 0
    return demo


def _expected(user, code=None) -> set:
    """What the pages show: every visible prescription whose alerts, computed one by one, are not empty."""
    today = rome_today()
    listed = selectors.with_course_records(selectors.prescription_list(user=user))
    return {
        p.pk
        for p in listed
        if (alerts := selectors.alerts_of(p, today=today)) and (code is None or code in {a.code for a in alerts})
    }


@pytest.mark.parametrize("username", ["nurse.milano", "prescriber.roma", "officer.lombardia", "pharmacist.milano"])
def test_the_alert_filters_select_exactly_the_courses_whose_alerts_the_pages_show(history, username):
    user = history[username]
    with_alerts = set(
        selectors.prescription_list(user=user, filters={"with_alerts": True}).values_list("pk", flat=True)
    )
    assert with_alerts == _expected(user)
    overdue = set(
        selectors.prescription_list(user=user, filters={"outcome_overdue": True}).values_list("pk", flat=True)
    )
    assert overdue == _expected(user, AlertCode.OUTCOME_OVERDUE)
    if username == "nurse.milano":
        assert with_alerts and with_alerts != set(selectors.prescription_list(user=user).values_list("pk", flat=True))


def test_the_list_page_filters_by_alerts_and_sorts_oldest_first(history):
    client = Client(HTTP_ACCEPT_LANGUAGE="it")
    client.force_login(history["nurse.milano"])
    page = client.get(LIST, {"with_alerts": "on"}).content.decode()
    shown = {str(pk) for pk in _expected(history["nurse.milano"])}
    rows = set(re.findall(r'<tr data-id="([0-9a-f-]+)"', page))
    assert rows and rows <= shown
    oldest = client.get(LIST, {"sort": "oldest"}).content.decode()
    first = re.search(r'<tr data-id="([0-9a-f-]+)"', oldest).group(1)
    milano = Prescription.objects.filter(centre__name__contains="Milano").order_by("prescribed_at", "id").first()
    assert first == str(milano.pk)
    assert 'name="with_alerts"' in page and "Con avvisi" in page and "Esporta queste prescrizioni (CSV)" in page


def _csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_the_csv_is_what_the_list_shows_with_the_identity_for_the_centre_staff(history):
    nurse = history["nurse.milano"]
    client = Client(HTTP_ACCEPT_LANGUAGE="it")
    client.force_login(nurse)
    response = client.get(EXPORT, {"with_alerts": "on", "sort": "oldest"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv") and "prescrizioni-" in response["Content-Disposition"]
    header, *rows = _csv(response)
    assert header[:4] == ["Prescrizione", "Data di prescrizione", "Paziente", "Codice fiscale"]
    expected = list(
        selectors.prescription_list(user=nurse, filters={"with_alerts": True, "sort": "oldest"}).values_list(
            "pk", flat=True
        )
    )
    assert [row[0] for row in rows] == [str(pk) for pk in expected]
    with_identity = [row for row in rows if row[3]]
    assert with_identity and all(len(row[3]) == 16 for row in with_identity)  # fiscal codes: the centre's staff
    logged = AccessLog.objects.filter(kind=AccessKind.PATIENT_IDENTITY, username=nurse.get_username())
    assert logged.count() >= len(with_identity)  # every identity written is in the read-access log


def test_the_csv_of_an_officer_carries_no_identity_and_only_their_region(history):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(history["officer.lombardia"])
    header, *rows = _csv(client.get(EXPORT))
    assert header[:3] == ["Prescription", "Prescribed at", "Patient"]
    assert rows and all(row[3] == "" for row in rows)  # no fiscal code
    assert all(len(row[2]) == 12 for row in rows)  # the pseudonym's short form
    assert {row[6] for row in rows} == {"Ospedale Demo Milano"}
    roma = set(Prescription.objects.filter(centre__region_id="120").values_list("pk", flat=True))
    assert not {row[0] for row in rows} & {str(pk) for pk in roma}


def test_the_csv_needs_a_user_who_sees_the_lists(history):
    client = Client()
    assert client.get(EXPORT).status_code == 302  # to the sign-in page
    client.force_login(history["aifa"])
    assert client.get(EXPORT).status_code == 403


def test_the_on_hold_filter_lists_the_requests_the_pharmacy_holds(demo):
    from prescriptions import services as rx

    from . import factories as f

    held = f.prescription_at(demo, "awaiting_dispensing")
    rx.dispensing_hold(pharmacist=demo["pharmacist.milano"], prescription=held, reason="out_of_stock")
    for username in ("prescriber.milano", "pharmacist.milano", "officer.lombardia"):
        listed = selectors.prescription_list(user=demo[username], filters={"on_hold": True})
        assert list(listed.values_list("pk", flat=True)) == [held.pk], username
    client = Client()
    client.force_login(demo["prescriber.milano"])
    page = client.get(LIST, {"on_hold": "on"}).content.decode()
    assert re.findall(r'<tr data-id="([0-9a-f-]+)"', page) == [str(held.pk)]
    assert selectors.prescription_list(user=demo["prescriber.roma"], filters={"on_hold": True}).count() == 0
