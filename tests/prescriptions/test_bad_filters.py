"""A filter value a page does not know (issue 18 audit): the page answers 400 with a message, in the reader's
language, naming the filter and the values it takes; its CSV answers 400 with the same reason instead of exporting
an unfiltered list. Before, ``?hold=zzz`` and ``?sort=zzz`` were ignored with a 200 (the API answered 400)."""

import pytest
from django.test import Client
from django.urls import reverse

from . import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(demo):
    def make(username: str, language: str) -> Client:
        client = Client()
        client.force_login(demo[username])
        client.cookies["django_language"] = language
        return client

    return make


def _alert(html: str) -> str:
    start = html.rindex("<div", 0, html.index("data-filter-errors"))
    return html[start : html.index("</div>", start)]


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["On hold", "“zzz”", "yes", "Only those on hold", "no", "Only those not on hold"]),
        ("it", ["In attesa", "“zzz”", "yes", "Solo quelle in attesa", "no", "Solo quelle non in attesa"]),
    ],
)
def test_the_queue_refuses_an_unknown_hold_value_with_a_message(demo, login, language, words):
    f.submit(demo["prescriber.milano"])
    response = login("pharmacist.milano", language).get(reverse("prescriptions:dispensing_queue"), {"hold": "zzz"})
    assert response.status_code == 400
    html = response.content.decode()
    alert = _alert(html)
    assert 'role="alert"' in alert
    for word in words:
        assert word in alert
    assert 'name="hold"' in html  # the page and its filter, to correct it


@pytest.mark.parametrize("language", ["en", "it"])
def test_the_queue_csv_refuses_an_unknown_hold_value(demo, login, language):
    f.submit(demo["prescriber.milano"])
    response = login("pharmacist.milano", language).get(reverse("prescriptions:dispensing_queue_csv"), {"hold": "zzz"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert ("On hold" if language == "en" else "In attesa") in body
    assert "“zzz”" in body and "yes" in body and "no" in body


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Order", "“zzz”", "newest", "newest first", "oldest", "oldest first"]),
        ("it", ["Ordine", "“zzz”", "newest", "più recenti prima", "oldest", "meno recenti prima"]),
    ],
)
def test_the_list_refuses_an_unknown_order_with_a_message(demo, login, language, words):
    submitted = f.submit(demo["prescriber.milano"])
    response = login("prescriber.milano", language).get(reverse("prescriptions:list"), {"sort": "zzz"})
    assert response.status_code == 400
    html = response.content.decode()
    alert = _alert(html)
    assert 'role="alert"' in alert
    for word in words:
        assert word in alert
    assert f'data-id="{submitted.pk}"' in html  # the list, as the other filters select it


def test_the_list_csv_refuses_an_unknown_order_and_a_bad_date(demo, login):
    f.submit(demo["prescriber.milano"])
    client = login("prescriber.milano", "en")
    response = client.get(reverse("prescriptions:list_export"), {"sort": "zzz"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert "Order" in response.content.decode() and "oldest" in response.content.decode()
    response = client.get(reverse("prescriptions:list_export"), {"submitted_from": "yesterday"})
    assert response.status_code == 400
    assert "Prescribed from" in response.content.decode()


def test_the_list_refuses_an_unknown_status(demo, login):
    response = login("prescriber.milano", "en").get(reverse("prescriptions:list"), {"status": "zzz"})
    assert response.status_code == 400
    alert = _alert(response.content.decode())
    assert "Status" in alert and "awaiting_dispensing" in alert


def test_known_values_still_answer_200(demo, login):
    client = login("pharmacist.milano", "en")
    for value in ("", "yes", "no"):
        assert client.get(reverse("prescriptions:dispensing_queue"), {"hold": value}).status_code == 200
        assert client.get(reverse("prescriptions:dispensing_queue_csv"), {"hold": value}).status_code == 200
    client = login("prescriber.milano", "en")
    for value in ("", "newest", "oldest"):
        assert client.get(reverse("prescriptions:list"), {"sort": value}).status_code == 200
        assert "data-filter-errors" not in client.get(reverse("prescriptions:list"), {"sort": value}).content.decode()
