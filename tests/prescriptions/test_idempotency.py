"""``Idempotency-Key`` on ``POST /api/v1/prescriptions/`` (docs/api.md): a retry returns the first response."""

import json

import pytest

from prescriptions.models import CriterionOutcome, IdempotentRequest, Prescription
from registry import services as registry_services
from registry.models import AuditEvent, Patient

from . import factories as f

URL = "/api/v1/prescriptions/"


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Prescription, Patient, CriterionOutcome, AuditEvent, IdempotentRequest)
    }


@pytest.fixture
def post(client_for):
    clients = {}  # one sign-in per user: issuing a token is itself audited

    def make(body, key=None, username="prescriber.milano"):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
        if username not in clients:
            clients[username] = client_for(username)
        return clients[username].post(URL, body, format="json", **headers)

    return make


@pytest.mark.parametrize("eligible", [True, False], ids=["eligible", "rejected"])
def test_the_same_key_and_body_returns_the_first_response_and_creates_nothing(post, demo, eligible):
    body = f.submission_body(eligible=eligible)
    first = post(body, "retry-1")
    assert first.status_code == 201, first.json()
    after_first = counts()

    for _ in range(2):
        again = post(body, "retry-1")
        assert again.status_code == 201
        assert again.json() == first.json()

    assert counts() == after_first
    assert after_first["IdempotentRequest"] == 1


def test_the_same_body_written_in_another_key_order_is_the_same_request(post, demo):
    body = f.submission_body()
    reordered = json.loads(json.dumps(dict(reversed(list(body.items())))))
    first = post(body, "k")

    again = post(reordered, "k")

    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert Prescription.objects.count() == 1


def test_the_replay_is_the_first_response_even_after_the_course_moved_on(post, demo):
    body = f.submission_body()
    first = post(body, "k").json()
    prescription = Prescription.objects.get(pk=first["id"])
    f.dispense(demo["pharmacist.milano"], prescription, 5)

    again = post(body, "k")

    assert again.json() == first
    assert again.json()["status"] == "awaiting_dispensing"


def test_the_same_key_with_another_body_is_a_422(post, demo):
    body = f.submission_body()
    assert post(body, "k").status_code == 201
    before = counts()
    other = json.loads(json.dumps(body))
    other["patient"]["weight_kg"] = 81

    response = post(other, "k")

    assert response.status_code == 422
    assert response.json()["detail"]
    assert counts() == before


def test_without_a_key_a_retry_is_refused_as_an_active_course(post, demo):
    body = f.submission_body()
    assert post(body).status_code == 201

    retry = post(body)

    assert retry.status_code == 409
    assert retry.json()["code"] == "ACTIVE_COURSE"


def test_keys_belong_to_their_user(post, demo):
    milano = f.centre(f.MILANO)
    officer = demo["officer.lombardia"]
    colleague = registry_services.staff_create(
        actor=officer, username="dr.verdi", password=None, role="prescriber", centre=milano
    )
    registry_services.prescriber_authorise(actor=officer, prescriber=colleague, centre=milano, valid_from=f.today())
    demo["dr.verdi"] = colleague

    mine = post(f.submission_body(), "shared-key")
    theirs = post(f.submission_body(), "shared-key", username="dr.verdi")
    roma = post(f.submission_body(centre=f.centre(f.ROMA)), "shared-key", username="prescriber.roma")

    assert (mine.status_code, theirs.status_code, roma.status_code) == (201, 201, 201)
    assert len({mine.json()["id"], theirs.json()["id"], roma.json()["id"]}) == 3
    assert IdempotentRequest.objects.filter(key="shared-key").count() == 3


def test_different_keys_are_different_requests(post, demo):
    body = f.submission_body(eligible=False)

    first = post(body, "a")
    second = post(body, "b")

    assert first.json()["id"] != second.json()["id"]
    assert Prescription.objects.count() == 2


def test_a_request_that_failed_is_not_remembered(post, demo):
    code = f.fiscal_code()
    active = f.submit(demo["prescriber.milano"], code=code)
    body = f.submission_body(code=code)
    refused = post(body, "k")
    assert refused.status_code == 409
    assert not IdempotentRequest.objects.exists()
    f.services.prescription_stop(prescriber=demo["prescriber.milano"], prescription=active, reason="other")

    retried = post(body, "k")

    assert retried.status_code == 201, retried.json()


def test_a_bad_body_with_a_key_is_a_400_and_not_remembered(post, demo):
    body = f.submission_body(informed_consent=False)

    assert post(body, "k").status_code == 400
    assert not IdempotentRequest.objects.exists()


def test_an_overlong_key_is_a_400(post, demo):
    response = post(f.submission_body(), "k" * 201)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not Prescription.objects.exists()


def test_a_blank_key_is_no_key(post, demo):
    body = f.submission_body()
    assert post(body, "  ").status_code == 201

    assert post(body, "  ").status_code == 409
    assert not IdempotentRequest.objects.exists()
