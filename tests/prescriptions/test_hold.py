"""On hold at the pharmacy (API.md, ``{id}/hold/``): the request keeps waiting, the prescriber is told; a
dispensation or a release ends it; only a refusal cancels (issue 18)."""

from datetime import timedelta

import pytest

from prescriptions import services
from registry.models import AuditEvent, Notification

from . import factories as f

pytestmark = pytest.mark.django_db


def hold_url(prescription) -> str:
    return f"/api/v1/prescriptions/{prescription.pk}/hold/"


def audit_actions(prescription) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="prescriptions.prescription", object_id=str(prescription.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )


def test_a_hold_keeps_the_request_waiting_and_tells_the_prescriber_once(demo, client_for):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    expected = f.today() + timedelta(days=3)
    body = {"reason": "awaited_delivery", "expected_on": expected.isoformat(), "note": "Order 41"}

    response = client_for("pharmacist.milano").post(hold_url(prescription), body, format="json")
    again = client_for("pharmacist.milano").post(hold_url(prescription), body, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "awaiting_dispensing"
    hold = response.json()["hold"]
    assert hold["reason"] == "awaited_delivery"
    assert hold["expected_on"] == expected.isoformat()
    assert hold["note"] == "Order 41"
    assert hold["since"]
    assert again.status_code == 200
    assert audit_actions(prescription).count("prescription.hold") == 1
    told = Notification.objects.filter(kind="on_hold", prescription_id=prescription.pk)
    assert [n.recipient.username for n in told] == [prescription.prescriber.username]
    # The prescriber reads it in the detail and in the list.
    detail = client_for("prescriber.milano").get(f"/api/v1/prescriptions/{prescription.pk}/").json()
    assert detail["hold"]["reason"] == "awaited_delivery"
    listed = client_for("prescriber.milano").get("/api/v1/prescriptions/").json()["results"]
    assert next(p for p in listed if p["id"] == str(prescription.pk))["hold"]["expected_on"] == expected.isoformat()


def test_a_changed_date_tells_the_prescriber_again(demo, client_for):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    client = client_for("pharmacist.milano")
    client.post(hold_url(prescription), {"reason": "out_of_stock"}, format="json")
    later = (f.today() + timedelta(days=5)).isoformat()
    client.post(hold_url(prescription), {"reason": "out_of_stock", "expected_on": later}, format="json")
    assert Notification.objects.filter(kind="on_hold", prescription_id=prescription.pk).count() == 2


def test_delete_releases_the_hold_and_a_second_delete_is_a_409(demo, client_for):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    client = client_for("pharmacist.milano")
    client.post(hold_url(prescription), {"reason": "out_of_stock"}, format="json")

    response = client.delete(hold_url(prescription))

    assert response.status_code == 200, response.json()
    assert response.json()["hold"] is None
    assert response.json()["status"] == "awaiting_dispensing"
    assert audit_actions(prescription)[-1] == "prescription.hold_release"
    assert client.delete(hold_url(prescription)).status_code == 409


def test_a_dispensation_releases_the_hold(demo, client_for):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    client_for("pharmacist.milano").post(hold_url(prescription), {"reason": "out_of_stock"}, format="json")

    f.dispense(demo["pharmacist.milano"], prescription, syringes=4)

    prescription.refresh_from_db()
    assert prescription.status == "dispensed"
    assert prescription.hold_since is None
    assert "prescription.hold_release" in audit_actions(prescription)
    assert Notification.objects.filter(kind="dispensed", prescription_id=prescription.pk).count() == 1


def test_a_refusal_of_a_held_request_cancels_it_and_ends_the_hold(demo, client_for):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    client = client_for("pharmacist.milano")
    client.post(hold_url(prescription), {"reason": "out_of_stock"}, format="json")

    response = client.post(
        f"/api/v1/prescriptions/{prescription.pk}/refusal/", {"category": "clinical_objection"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    assert response.json()["hold"] is None
    assert Notification.objects.filter(kind="refused", prescription_id=prescription.pk).count() == 1


@pytest.mark.parametrize("stage", ["dispensed", "in_course", "rejected", "cancelled"])
def test_only_a_waiting_request_may_be_put_on_hold(demo, client_for, stage):
    prescription = f.prescription_at(demo, stage)
    response = client_for("pharmacist.milano").post(hold_url(prescription), {"reason": "out_of_stock"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "WRONG_STATUS"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": "lost"}, "reason"),
        ({"reason": "out_of_stock", "expected_on": "2020-01-02"}, "expected_on"),
        ({"reason": "out_of_stock", "expected_on": "tomorrow"}, "expected_on"),
    ],
)
def test_a_bad_hold_is_a_400_naming_the_field(demo, client_for, body, field):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    response = client_for("pharmacist.milano").post(hold_url(prescription), body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    prescription.refresh_from_db()
    assert prescription.hold_since is None


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("pharmacist.milano", 200),
        ("admin", 200),
        ("prescriber.milano", 403),
        ("nurse.milano", 403),
        ("officer.lombardia", 403),
        ("pharmacist.roma", 404),
        ("aifa", 404),
    ],
)
def test_who_may_release_a_hold(demo, client_for, username, expected):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    services.dispensing_hold(pharmacist=demo["pharmacist.milano"], prescription=prescription, reason="out_of_stock")
    assert client_for(username).delete(hold_url(prescription)).status_code == expected


def test_the_prescriber_may_stop_a_held_request_and_the_hold_ends_with_it(demo, client_for):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    services.dispensing_hold(pharmacist=demo["pharmacist.milano"], prescription=prescription, reason="out_of_stock")

    response = client_for("prescriber.milano").post(
        f"/api/v1/prescriptions/{prescription.pk}/stop/", {"reason": "discharge"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert response.json()["hold"] is None
    assert "prescription.hold_release" in audit_actions(prescription)
