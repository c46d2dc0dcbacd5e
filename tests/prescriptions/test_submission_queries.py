"""A submission costs a bounded number of queries (issue 17): the permissions are computed once per request,
not once for each action the detail offers, whichever entry point (the API or the page) takes it."""

import pytest
from django.test import Client
from django.urls import reverse

from prescriptions.models import Prescription
from tests.browser_support import prescription_fields

from . import factories as f

MAX_QUERIES = 15


@pytest.fixture
def prescriber_api(client_for):
    client = client_for("prescriber.milano")
    # A first submission warms what is cached for the process (the criteria version, the catalogue).
    assert client.post("/api/v1/prescriptions/", f.submission_body(), format="json").status_code == 201
    return client


def test_a_submission_through_the_api_takes_at_most_15_queries(prescriber_api, django_assert_max_num_queries):
    body = f.submission_body(centre=f.centre(f.MILANO))
    with django_assert_max_num_queries(MAX_QUERIES):
        response = prescriber_api.post("/api/v1/prescriptions/", body, format="json")
    assert response.status_code == 201, response.json()


def test_the_201_of_a_submission_is_the_detail_as_read_afterwards(prescriber_api):
    """The 201 is built from the rows the submission wrote, not read back: it must say what a GET says."""
    created = prescriber_api.post("/api/v1/prescriptions/", f.submission_body(), format="json").json()
    read = prescriber_api.get(f"/api/v1/prescriptions/{created['id']}/").json()
    # The identity is shown to the treating centre's staff on a read, never in a 201 (an idempotent replay stores it).
    created.pop("patient"), read.pop("patient")
    assert created == read
    assert created["allowed_actions"] == ["stop", "adverse_event", "lab_result", "concomitant_medication"]


@pytest.mark.django_db(transaction=True)
def test_an_idempotent_submission_through_the_api_takes_at_most_15_queries(
    prescriber_api, django_assert_max_num_queries
):
    """Outside a test's own transaction, as in production: the key's transaction is a BEGIN and a COMMIT, which
    the count includes (15 statements besides them: the key's lookup and its row are the two more)."""
    body = f.submission_body(centre=f.centre(f.MILANO))
    with django_assert_max_num_queries(MAX_QUERIES + 2):
        response = prescriber_api.post("/api/v1/prescriptions/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 201, response.json()


def test_a_submission_through_the_page_takes_at_most_15_queries(demo, django_assert_max_num_queries):
    client = Client()
    client.force_login(demo["prescriber.milano"])
    assert client.post(reverse("prescriptions:new"), prescription_fields()).status_code == 302
    fields = prescription_fields(fiscal_code=f.fiscal_code(f.BIRTH_DATE, "M"))
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.post(reverse("prescriptions:new"), fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Prescription.objects.count() == 2
