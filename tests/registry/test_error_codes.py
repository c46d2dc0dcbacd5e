"""Every API error carries a ``code`` (docs/api.md, "Errors"): 400 and 403 as 409 does, 401 and 404 alike; a 400's
messages stay under the fields they are about."""

import uuid

import pytest

from prescriptions.models import Prescription
from tests.prescriptions import factories as f

URL = "/api/v1/prescriptions/"


@pytest.fixture
def prescriber(client_for):
    return client_for("prescriber.milano")


def test_a_400_has_its_code_beside_the_field_messages(prescriber):
    body = f.submission_body()
    body["patient"]["fiscal_code"] = f.wrong_check_character(body["patient"]["fiscal_code"])
    response = prescriber.post(URL, body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert errors["code"] == "VALIDATION_ERROR"
    assert list(errors["patient"]) == ["fiscal_code"] and errors["patient"]["fiscal_code"]


def test_a_400_of_the_serializer_has_its_code_too(prescriber):
    body = f.submission_body()
    del body["assessment"]
    errors = prescriber.post(URL, body, format="json").json()
    assert errors["code"] == "VALIDATION_ERROR" and errors["assessment"]


def test_a_403_says_why_with_its_code(client_for):
    response = client_for("nurse.milano").post(URL, f.submission_body(), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED" and response.json()["detail"]


def test_a_401_and_a_404_have_their_codes(api_client, prescriber):
    assert api_client.get("/api/v1/me/").json()["code"] == "NOT_AUTHENTICATED"
    missing = prescriber.get(f"{URL}{uuid.uuid4()}/")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    unknown_path = prescriber.get("/api/v1/no-such-thing/")
    assert unknown_path.status_code == 404 and unknown_path.json()["code"] == "NOT_FOUND"


def test_a_409_keeps_its_own_code(prescriber):
    body = f.submission_body()
    assert prescriber.post(URL, body, format="json").status_code == 201
    again = prescriber.post(URL, body, format="json")
    assert again.status_code == 409 and again.json()["code"] == "ACTIVE_COURSE"


def test_a_reused_idempotency_key_has_its_code(prescriber):
    assert prescriber.post(URL, f.submission_body(), format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    reused = prescriber.post(URL, f.submission_body(), format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert reused.status_code == 422 and reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert Prescription.objects.count() == 1
