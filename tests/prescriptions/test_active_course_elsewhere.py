"""A 409 ACTIVE_COURSE never reveals another region's prescription (issue 9, defect 7).

A prescriber who submits a fiscal code with an active course at a centre they cannot see learns only that the
patient has an active course elsewhere: no id, no status. The attempt is audited. Within the prescriber's own
scope the answer still names the prescription, so they can find it.
"""

import pytest

from prescriptions.models import Prescription, PrescriptionStatus
from registry.audit_actions import AuditAction
from registry.errors import Conflict
from registry.models import AuditEvent

from . import factories as f

URL = "/api/v1/prescriptions/"


@pytest.fixture
def roma(demo):
    return f.centre(f.ROMA)


@pytest.fixture
def milano_course(demo):
    """An active course in Lombardia (prescriber.milano, awaiting dispensing)."""
    code = f.fiscal_code()
    return code, f.submit(demo["prescriber.milano"], code=code)


def leaked(body: dict, prescription: Prescription) -> list[str]:
    text = str(body)
    labels = {prescription.status, prescription.get_status_display(), *PrescriptionStatus.values}
    return [part for part in [str(prescription.pk), *labels] if part.lower() in text.lower()]


def test_an_active_course_in_another_region_is_a_409_without_id_or_status(client_for, roma, milano_course):
    code, active = milano_course

    response = client_for("prescriber.roma").post(URL, f.submission_body(code=code, centre=roma), format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "ACTIVE_COURSE"
    assert set(body) == {"detail", "code"}
    assert body["detail"]
    assert leaked(body, active) == []
    assert Prescription.objects.count() == 1


def test_the_attempt_elsewhere_is_audited(client_for, demo, roma, milano_course):
    code, active = milano_course

    client_for("prescriber.roma").post(URL, f.submission_body(code=code, centre=roma), format="json")

    event = AuditEvent.objects.get(action=AuditAction.PRESCRIPTION_ACTIVE_COURSE_ELSEWHERE)
    assert event.actor_username == "prescriber.roma"
    assert event.object_id == str(active.patient_id)
    assert event.changes["centre"] == str(roma.pk)
    assert event.changes["active_prescription"] == str(active.pk)


def test_the_attempt_is_audited_with_an_idempotency_key_too(client_for, demo, roma, milano_course):
    code, active = milano_course

    response = client_for("prescriber.roma").post(
        URL, f.submission_body(code=code, centre=roma), format="json", HTTP_IDEMPOTENCY_KEY="retry-1"
    )

    assert response.status_code == 409
    assert leaked(response.json(), active) == []
    assert AuditEvent.objects.filter(action=AuditAction.PRESCRIPTION_ACTIVE_COURSE_ELSEWHERE).count() == 1


def test_the_service_says_the_same_to_the_page(demo, roma, milano_course):
    code, active = milano_course

    with pytest.raises(Conflict) as raised:
        f.submit(demo["prescriber.roma"], centre_obj=roma, code=code)

    assert raised.value.code == "ACTIVE_COURSE"
    assert str(active.pk) not in raised.value.detail
    assert AuditEvent.objects.filter(action=AuditAction.PRESCRIPTION_ACTIVE_COURSE_ELSEWHERE).count() == 1


def test_within_the_prescribers_own_scope_the_409_points_at_the_prescription_and_says_it_in_words(
    client_for, milano_course
):
    code, active = milano_course
    client = client_for("prescriber.milano")
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    response = client.post(URL, f.submission_body(code=code), format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "ACTIVE_COURSE"
    # The prescription beside the message, to follow; the message itself in words: no id, no status code.
    assert body["prescription"] == str(active.pk)
    assert body["prescription_url"] == f"/api/v1/prescriptions/{active.pk}/"
    assert client.get(body["prescription_url"]).status_code == 200
    assert str(active.pk) not in body["detail"] and str(active.pk)[:8] not in body["detail"]
    assert "awaiting_dispensing" not in body["detail"] and "ACTIVE_COURSE" not in body["detail"]
    assert "awaiting dispensing" in body["detail"] and active.centre.name in body["detail"]
    assert not AuditEvent.objects.filter(action=AuditAction.PRESCRIPTION_ACTIVE_COURSE_ELSEWHERE).exists()
