"""The stock API (docs/api.md "Stock"), every role tried; dispensing from a lot through the prescription's API."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from prescriptions.models import Lot
from registry.auth.tokens import token_issue
from registry.models import Pharmacy

from . import factories as f
from .stock_support import MILANO_PHARMACY, keep_stock, second_pharmacy

ROLES = ["prescriber.milano", "nurse.milano", "officer.lombardia", "aifa", "pharmacist.roma"]


@pytest.fixture
def milano(demo):
    keep_stock(demo)
    return Pharmacy.objects.get(name=MILANO_PHARMACY)


def receipt_body(lot_number="A123", syringes=20, days=200):
    return {
        "lot_number": lot_number,
        "expiry_date": (f.today() + timedelta(days=days)).isoformat(),
        "syringes": syringes,
        "supplier_document": "DDT 2026/881",
        "unit_price": "152.30",
    }


def test_pharmacist_receives_lists_and_dispenses_from_a_lot(client_for, demo, milano):
    pharmacist = client_for("pharmacist.milano")
    received = pharmacist.post("/api/v1/stock/receipts/", receipt_body(), format="json")
    assert received.status_code == 201, received.json()
    assert (received.json()["kind"], received.json()["on_hand_after"]) == ("receipt", 20)
    listing = pharmacist.get("/api/v1/stock/lots/").json()
    assert listing["keeps_stock"] is True
    [lot] = listing["lots"]
    assert listing["suggested_lot"] == lot["id"]

    prescription = f.prescription_at(demo, "awaiting_dispensing")
    url = f"/api/v1/prescriptions/{prescription.pk}/dispensations/"
    missing = pharmacist.post(url, {"syringes": 1, "lot_number": "NOPE"}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (409, "LOT_NOT_IN_STOCK")
    done = pharmacist.post(url, {"syringes": 10, "lot": lot["id"]}, format="json")
    assert done.status_code == 201, done.json()
    assert done.json()["lot_number"] == "A123"
    detail = pharmacist.get(f"/api/v1/stock/lots/{lot['id']}/").json()
    assert detail["on_hand"] == 10
    assert [m["kind"] for m in detail["movements"]] == ["dispensing", "receipt"]


def test_dispensing_codes_through_the_api(client_for, demo, milano):
    pharmacist = client_for("pharmacist.milano")
    lot_id = pharmacist.post("/api/v1/stock/receipts/", receipt_body(syringes=3), format="json").json()["lot"]
    expired = Lot.objects.create(pharmacy=milano, lot_number="OLD", expiry_date=f.today() - timedelta(days=1))
    Lot.objects.filter(pk=expired.pk).update(on_hand=5)
    url = f"/api/v1/prescriptions/{f.prescription_at(demo, 'awaiting_dispensing').pk}/dispensations/"
    short = pharmacist.post(url, {"syringes": 4, "lot": lot_id}, format="json")
    assert (short.status_code, short.json()["code"]) == (409, "INSUFFICIENT_STOCK")
    past = pharmacist.post(url, {"syringes": 1, "lot_number": "OLD"}, format="json")
    assert past.status_code == 400 and "lot_number" in past.json()
    nothing = pharmacist.post(url, {"syringes": 1}, format="json")
    assert nothing.status_code == 400 and "lot" in nothing.json()


def test_a_pharmacy_without_stock_still_needs_the_typed_lot(client_for, demo):
    pharmacist = client_for("pharmacist.milano")
    url = f"/api/v1/prescriptions/{f.prescription_at(demo, 'awaiting_dispensing').pk}/dispensations/"
    missing = pharmacist.post(url, {"syringes": 1}, format="json")
    assert missing.status_code == 400 and set(missing.json()) >= {"lot_number", "expiry_date"}
    refused = pharmacist.post("/api/v1/stock/receipts/", receipt_body(), format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "STOCK_NOT_KEPT")


@pytest.mark.parametrize("username", ROLES)
def test_only_a_pharmacist_of_a_stock_pharmacy_moves_stock(client_for, milano, username):
    response = client_for(username).post("/api/v1/stock/receipts/", receipt_body(), format="json")
    assert response.status_code in (403, 409)
    assert response.json()["code"] in ("PERMISSION_DENIED", "STOCK_NOT_KEPT")
    assert not Lot.objects.exists()


def test_return_write_off_and_adjustment(client_for, demo, milano):
    pharmacist = client_for("pharmacist.milano")
    lot_id = pharmacist.post("/api/v1/stock/receipts/", receipt_body(syringes=10), format="json").json()["lot"]
    off = pharmacist.post(
        "/api/v1/stock/write-offs/", {"lot": lot_id, "syringes": 2, "reason": "damaged"}, format="json"
    )
    assert (off.status_code, off.json()["on_hand_after"]) == (201, 8)
    bad = pharmacist.post("/api/v1/stock/write-offs/", {"lot": lot_id, "reason": "lost"}, format="json")
    assert bad.status_code == 400 and "reason" in bad.json()
    counted = pharmacist.post(
        "/api/v1/stock/adjustments/", {"lot": lot_id, "counted": 7, "reason": "conta"}, format="json"
    )
    assert (counted.status_code, counted.json()["syringes"]) == (201, -1)
    back = pharmacist.post("/api/v1/stock/returns/", {"lot": lot_id, "syringes": 1, "reason": "reparto"}, format="json")
    assert (back.status_code, back.json()["on_hand_after"]) == (201, 8)
    unknown = pharmacist.post("/api/v1/stock/returns/", {"lot": "x", "syringes": 1, "reason": "?"}, format="json")
    assert (unknown.status_code, unknown.json()["code"]) == (409, "LOT_NOT_IN_STOCK")


def test_the_officer_reads_the_region_and_moves_syringes(client_for, demo, milano):
    bergamo, bergamo_pharmacist = second_pharmacy(demo)
    pharmacist = client_for("pharmacist.milano")
    lot_id = pharmacist.post("/api/v1/stock/receipts/", receipt_body(syringes=30), format="json").json()["lot"]
    officer = client_for("officer.lombardia")
    region = officer.get("/api/v1/stock/regions/030/")
    assert region.status_code == 200
    assert region.json()["on_hand"] == 30
    assert {p["name"] for p in region.json()["pharmacies"]} == {MILANO_PHARMACY, bergamo.name}
    assert client_for("officer.lazio").get("/api/v1/stock/regions/030/").status_code == 404
    assert client_for("aifa").get("/api/v1/stock/regions/030/").status_code == 200
    assert pharmacist.get("/api/v1/stock/regions/030/").status_code == 403

    body = {"from_pharmacy": str(milano.pk), "to_pharmacy": str(bergamo.pk), "syringes": 5, "lot": lot_id}
    requested = officer.post("/api/v1/stock/transfers/", body, format="json")
    assert requested.status_code == 201, requested.json()
    transfer = requested.json()["id"]
    assert client_for("officer.lazio").post(f"/api/v1/stock/transfers/{transfer}/approve/").status_code == 404
    assert officer.post(f"/api/v1/stock/transfers/{transfer}/approve/").json()["status"] == "approved"
    assert pharmacist.post(f"/api/v1/stock/transfers/{transfer}/ship/", {}, format="json").json()["status"] == "shipped"
    assert officer.get("/api/v1/stock/regions/030/").json()["in_transit"] == 5
    bergamo_client = APIClient()
    bergamo_client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=bergamo_pharmacist)}")
    received = bergamo_client.post(f"/api/v1/stock/transfers/{transfer}/receive/")
    assert received.json()["status"] == "received"
    after = officer.get("/api/v1/stock/regions/030/").json()
    assert (after["on_hand"], after["in_transit"]) == (30, 0)


def test_the_officer_switches_a_pharmacy_and_reads_spending(client_for, demo):
    f.prescription_at(demo, "dispensed")  # before the switch: a lot typed at the counter, 10 syringes
    milano = Pharmacy.objects.get(name=MILANO_PHARMACY)
    url = f"/api/v1/stock/pharmacies/{milano.pk}/setting/"
    assert client_for("officer.lazio").put(url, {"keeps_stock": True}, format="json").status_code == 403
    switched = client_for("officer.lombardia").put(url, {"keeps_stock": True, "cover_threshold_days": 5}, format="json")
    assert switched.json() == {"keeps_stock": True, "cover_threshold_days": 5}
    price = client_for("aifa").post(
        "/api/v1/stock/prices/", {"valid_from": "2020-01-01", "price_eur": "100.00"}, format="json"
    )
    assert price.status_code == 201
    assert client_for("officer.lombardia").post("/api/v1/stock/prices/", {}, format="json").status_code == 403
    today = f.today().isoformat()
    spending = client_for("officer.lombardia").get(
        "/api/v1/stock/spending/", {"period_start": today, "period_end": today}
    )
    assert spending.json()["total"]["amount_eur"] == "1000.00"
    bad = client_for("officer.lombardia").get("/api/v1/stock/spending/", {"period_start": today})
    assert bad.status_code == 400 and "period_end" in bad.json()


@pytest.mark.parametrize("username", ["prescriber.milano", "nurse.milano", "officer.lombardia", "aifa"])
def test_only_pharmacists_list_a_pharmacys_lots(client_for, milano, username):
    response = client_for(username).get("/api/v1/stock/lots/")
    assert (response.status_code, response.json()["code"]) == (403, "PERMISSION_DENIED")


def test_a_lot_outside_the_callers_scope_is_not_found(client_for, demo, milano):
    lot_id = client_for("pharmacist.milano").post("/api/v1/stock/receipts/", receipt_body(), format="json").json()
    url = f"/api/v1/stock/lots/{lot_id['lot']}/"
    assert client_for("pharmacist.roma").get(url).status_code == 404
    assert client_for("officer.lazio").get(url).status_code == 404
    assert client_for("officer.lombardia").get(url).status_code == 200


@pytest.mark.parametrize(
    "url, body, field",
    [
        (
            "/api/v1/stock/returns/",
            {"lot_number": "A123", "syringes": 1, "reason": "r", "prescription": "x"},
            "prescription",
        ),
        ("/api/v1/stock/transfers/", {"from_pharmacy": "nope", "to_pharmacy": "nope", "syringes": 1}, "from_pharmacy"),
    ],
)
def test_a_malformed_id_is_named_in_italian(client_for, demo, milano, url, body, field):
    client = client_for("pharmacist.milano")
    italian = client.post(url, body, format="json", HTTP_ACCEPT_LANGUAGE="it")
    english = client.post(url, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert italian.status_code == english.status_code == 400
    assert english.json()[field] == ["Must be a valid UUID."]
    assert italian.json()[field] == ["Deve essere un UUID valido."]


@pytest.mark.parametrize("username", ["nurse.milano", "prescriber.milano"])
def test_spending_is_refused_to_nurses_and_prescribers(client_for, demo, username):
    today = f.today().isoformat()
    answer = client_for(username).get("/api/v1/stock/spending/", {"period_start": today, "period_end": today})
    assert answer.status_code == 403


def test_spending_of_another_region_is_a_404_for_an_officer(client_for, demo):
    today = f.today().isoformat()
    officer = client_for("officer.lombardia")
    params = {"period_start": today, "period_end": today}
    assert officer.get("/api/v1/stock/spending/", {**params, "region": "120"}).status_code == 404
    assert officer.get("/api/v1/stock/spending/", {**params, "region": "030"}).status_code == 200
    assert client_for("aifa").get("/api/v1/stock/spending/", {**params, "region": "120"}).status_code == 200
    assert client_for("pharmacist.milano").get("/api/v1/stock/spending/", params).status_code == 200
