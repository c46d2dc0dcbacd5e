"""Issue 18: numbers, dates and month names in the reader's format, one way everywhere.

The FiO2 help text said "0.21" on the Italian page, the expired-lot error gave an ISO date, and the reports wrote
"1 Dicembre 2026" where the pages wrote "1 dicembre 2026".
"""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import translation

from prescriptions.api.eligibility_serializers import FIO2_HELP
from registry.formats import long_date
from registry.templatetags.registry_format import long_date as long_date_filter
from reports.renderers import figures

from .prescriptions import factories as f


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("it", "Una frazione da 0,21 a 1,0, ad es. 0,40 (non 40%)."),
        ("en", "A fraction from 0.21 to 1.0, e.g. 0.40 (not 40%)."),
    ],
)
def test_the_fio2_help_writes_its_numbers_the_readers_way(language, expected):
    with translation.override(language):
        assert str(FIO2_HELP) == expected


def test_the_new_prescription_page_shows_the_italian_fio2_help(demo):
    client = Client(HTTP_ACCEPT_LANGUAGE="it")
    client.force_login(demo["prescriber.milano"])
    page = client.get("/prescriptions/new/").content.decode()
    assert "Una frazione da 0,21 a 1,0" in page and "0.21" not in page


def test_an_api_fio2_out_of_range_error_speaks_italian_numbers(demo, client_for):
    client = client_for("prescriber.milano")
    body = {"patient": {"birth_date": "1960-05-01", "sex": "F"}, **f.eligible_assessment(fio2=0.2)}
    response = client.post("/api/v1/eligibility-checks/", body, format="json", HTTP_ACCEPT_LANGUAGE="it")
    assert response.status_code == 400
    assert response.json()["fio2"] == ["La FiO2 è una frazione compresa tra 0,21 (aria ambiente) e 1,0."]


def test_the_expired_lot_error_gives_the_date_in_words(demo, client_for):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    yesterday = f.today() - timedelta(days=1)
    response = client_for("pharmacist.milano").post(
        f"/api/v1/prescriptions/{prescription.pk}/dispensations/",
        {"syringes": 3, "lot_number": "AB123-4", "expiry_date": yesterday.isoformat()},
        format="json",
        HTTP_ACCEPT_LANGUAGE="it",
    )
    assert response.status_code == 400
    with translation.override("it"):
        assert response.json()["expiry_date"] == [f"Questo lotto è scaduto in data {long_date(yesterday)}."]
    assert yesterday.isoformat() not in response.json()["expiry_date"][0]


@pytest.mark.parametrize(("language", "expected"), [("it", "1 dicembre 2026"), ("en", "1 December 2026")])
def test_one_long_date_for_the_pages_and_the_reports(language, expected):
    day = date(2026, 12, 1)
    with translation.override(language):
        assert long_date(day) == long_date_filter(day) == figures.date_display(day) == expected
        assert figures.period_text(day, day).count(expected) == 2
