"""The stock services: receipts, dispensing from a lot, returns, write-offs, adjustments, transfers (issue 20)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from prescriptions import services
from prescriptions.models import Lot, MovementKind, StockMovement, StockTransfer
from prescriptions.stock import services as stock
from registry.audit import verify_chains
from registry.errors import Conflict, InvalidInput, PermissionDenied
from registry.models import AuditEvent, Pharmacy

from . import factories as f
from .stock_support import MILANO_PHARMACY, keep_stock, receive, second_pharmacy


@pytest.fixture
def pharmacist(demo):
    keep_stock(demo)
    return demo["pharmacist.milano"]


def dispense(pharmacist, prescription, syringes=10, **lot):
    return services.dispensation_record(pharmacist=pharmacist, prescription=prescription, syringes=syringes, **lot)


def test_a_pharmacy_not_keeping_stock_dispenses_as_before_and_has_no_stock(demo):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    dispensation = f.dispense(demo["pharmacist.milano"], prescription, syringes=10, lot="TYPED-1")
    assert dispensation.lot_number == "TYPED-1"
    assert not StockMovement.objects.exists()
    with pytest.raises(Conflict) as refused:
        receive(demo["pharmacist.milano"])
    assert refused.value.code == "STOCK_NOT_KEPT"


def test_receipt_creates_the_lot_and_a_second_delivery_adds_to_it(pharmacist):
    first = receive(pharmacist, syringes=20)
    second = receive(pharmacist, syringes=5)
    lot = Lot.objects.get()
    assert (lot.lot_number, lot.on_hand, lot.pharmacy.name) == ("A123", 25, MILANO_PHARMACY)
    assert [first.on_hand_after, second.on_hand_after] == [20, 25]
    assert first.supplier_document == "DDT 2026/881" and first.unit_price == Decimal("152")
    assert AuditEvent.objects.filter(action="stock.receipt", object_id=str(lot.pk)).count() == 2
    assert list(verify_chains()) == []


def test_receipt_refuses_an_expired_lot_or_a_different_expiry(pharmacist):
    with pytest.raises(InvalidInput) as expired:
        receive(pharmacist, days=-1)
    assert "expiry_date" in expired.value.errors
    receive(pharmacist, days=200)
    with pytest.raises(InvalidInput) as other_expiry:
        receive(pharmacist, days=100)
    assert "expiry_date" in other_expiry.value.errors


def test_dispensing_from_a_lot_takes_its_syringes_and_its_expiry(demo, pharmacist):
    lot = receive(pharmacist, syringes=20).lot
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    dispensation = dispense(pharmacist, prescription, syringes=10, lot=str(lot.pk))
    lot.refresh_from_db()
    assert lot.on_hand == 10
    assert (dispensation.lot_number, dispensation.expiry_date) == (lot.lot_number, lot.expiry_date)
    movement = StockMovement.objects.get(kind=MovementKind.DISPENSING)
    assert (movement.syringes, movement.dispensation, movement.prescription_id) == (-10, dispensation, prescription.pk)
    other = f.prescription_at(demo, "awaiting_dispensing", code=f.fiscal_code(serial=2))
    dispense(pharmacist, other, syringes=4, lot_number="A123")
    lot.refresh_from_db()
    assert lot.on_hand == 6


def test_dispensing_codes_insufficient_not_in_stock_and_expired(demo, pharmacist):
    lot = receive(pharmacist, syringes=3).lot
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    with pytest.raises(Conflict) as short:
        dispense(pharmacist, prescription, syringes=4, lot=str(lot.pk))
    assert short.value.code == "INSUFFICIENT_STOCK"
    with pytest.raises(Conflict) as unknown:
        dispense(pharmacist, prescription, syringes=1, lot_number="NOT-HERE")
    assert unknown.value.code == "LOT_NOT_IN_STOCK"
    with pytest.raises(Conflict) as malformed:
        dispense(pharmacist, prescription, syringes=1, lot="not-an-id")
    assert malformed.value.code == "LOT_NOT_IN_STOCK"
    expired = Lot.objects.create(
        pharmacy=lot.pharmacy, lot_number="OLD", expiry_date=f.today() - timedelta(days=1), on_hand=5
    )
    with pytest.raises(InvalidInput) as past:
        dispense(pharmacist, prescription, syringes=1, lot=str(expired.pk))
    assert "lot" in past.value.errors
    with pytest.raises(InvalidInput) as nothing:
        dispense(pharmacist, prescription, syringes=1)
    assert "lot" in nothing.value.errors
    lot.refresh_from_db()
    prescription.refresh_from_db()
    assert (lot.on_hand, prescription.syringes_dispensed) == (3, 0)


def test_a_lot_of_another_pharmacy_is_not_in_stock(demo, pharmacist):
    _, bergamo_pharmacist = second_pharmacy(demo)
    lot = receive(bergamo_pharmacist, lot_number="BG-1").lot
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    with pytest.raises(Conflict) as elsewhere:
        dispense(pharmacist, prescription, syringes=1, lot=str(lot.pk))
    assert elsewhere.value.code == "LOT_NOT_IN_STOCK"


def test_unused_syringes_come_back_after_a_stop_never_more_than_unused(demo, pharmacist):
    lot = receive(pharmacist, syringes=20).lot
    prescription = f.submit(demo["prescriber.milano"], prescribed_at=f.days_ago(5, 6))
    dispense(pharmacist, prescription, syringes=10, lot=str(lot.pk))
    f.administer(demo["nurse.milano"], prescription, f.days_ago(4))
    f.administer(demo["nurse.milano"], prescription, f.days_ago(3))
    with pytest.raises(Conflict) as running:
        stock.stock_return(pharmacist=pharmacist, syringes=1, prescription_id=prescription.pk)
    assert running.value.code == "WRONG_STATUS"
    services.prescription_stop(
        prescriber=demo["prescriber.milano"], prescription=prescription, reason="discharge", stopped_at=f.days_ago(2)
    )
    back = stock.stock_return(pharmacist=pharmacist, syringes=6, prescription_id=prescription.pk, reason="discharge")
    assert (back.lot, back.on_hand_after, back.syringes) == (lot, 16, 6)
    with pytest.raises(Conflict) as over:
        stock.stock_return(pharmacist=pharmacist, syringes=3, prescription_id=prescription.pk)
    assert over.value.code == "RETURN_OVER_UNUSED"
    stock.stock_return(pharmacist=pharmacist, syringes=2, prescription_id=prescription.pk)
    lot.refresh_from_db()
    assert lot.on_hand == 18


def test_write_off_of_an_expired_lot_and_a_counted_adjustment(pharmacist):
    lot = receive(pharmacist, syringes=8).lot
    Lot.objects.filter(pk=lot.pk).update(expiry_date=f.today() - timedelta(days=2))
    off = stock.stock_write_off(pharmacist=pharmacist, lot_id=lot.pk, syringes=None, reason="expired")
    assert (off.syringes, off.on_hand_after, off.write_off_reason) == (-8, 0, "expired")
    with pytest.raises(Conflict) as empty:
        stock.stock_write_off(pharmacist=pharmacist, lot_id=lot.pk, syringes=1, reason="damaged")
    assert empty.value.code == "INSUFFICIENT_STOCK"
    with pytest.raises(InvalidInput):
        stock.stock_write_off(pharmacist=pharmacist, lot_id=lot.pk, syringes=1, reason="other")
    other = receive(pharmacist, lot_number="B2", syringes=10).lot
    counted = stock.stock_adjust(pharmacist=pharmacist, lot_number="B2", counted=9, reason="inventario mensile")
    assert (counted.syringes, counted.on_hand_after) == (-1, 9)
    with pytest.raises(InvalidInput):
        stock.stock_adjust(pharmacist=pharmacist, lot_id=other.pk, counted=9, reason="again")
    with pytest.raises(InvalidInput):
        stock.stock_adjust(pharmacist=pharmacist, lot_id=other.pk, counted=-1, reason="negative")
    assert AuditEvent.objects.filter(action__in=["stock.write_off", "stock.adjustment"]).count() == 2


def test_the_database_refuses_a_negative_balance(pharmacist):
    lot = receive(pharmacist, syringes=1).lot
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.filter(pk=lot.pk).update(on_hand=-1)


def test_only_the_regions_officer_switches_a_pharmacy_to_stock(demo):
    milano = Pharmacy.objects.get(name=MILANO_PHARMACY)
    for username in ("officer.lazio", "pharmacist.milano", "prescriber.milano"):
        with pytest.raises(PermissionDenied):
            stock.stock_setting_update(user=demo[username], pharmacy=milano, keeps_stock=True)
    setting = keep_stock(demo)
    assert setting.keeps_stock
    assert AuditEvent.objects.filter(action="stock.setting_update", object_id=str(milano.pk)).exists()


def test_a_transfer_is_requested_approved_shipped_and_received_counted_once(demo, pharmacist):
    bergamo, bergamo_pharmacist = second_pharmacy(demo)
    lot = receive(pharmacist, syringes=20).lot
    officer = demo["officer.lombardia"]
    transfer = stock.stock_transfer_request(
        user=bergamo_pharmacist, from_pharmacy_id=lot.pharmacy_id, to_pharmacy_id=bergamo.pk, syringes=6
    )
    with pytest.raises(Conflict) as early:
        stock.stock_transfer_ship(pharmacist=pharmacist, transfer_id=transfer.pk, lot_id=lot.pk)
    assert early.value.code == "WRONG_STATUS"
    with pytest.raises(PermissionDenied):
        stock.stock_transfer_decide(officer=bergamo_pharmacist, transfer_id=transfer.pk, approve=True)
    stock.stock_transfer_decide(officer=officer, transfer_id=transfer.pk, approve=True)
    with pytest.raises(PermissionDenied):
        stock.stock_transfer_ship(pharmacist=bergamo_pharmacist, transfer_id=transfer.pk, lot_id=lot.pk)
    stock.stock_transfer_ship(pharmacist=pharmacist, transfer_id=transfer.pk, lot_id=lot.pk)

    def held() -> dict:
        return {p: sum(Lot.objects.filter(pharmacy__name=p).values_list("on_hand", flat=True)) for p in names}

    names = (MILANO_PHARMACY, bergamo.name)
    assert held() == {MILANO_PHARMACY: 14, bergamo.name: 0}  # in transit: in neither
    stock.stock_transfer_receive(pharmacist=bergamo_pharmacist, transfer_id=transfer.pk)
    assert held() == {MILANO_PHARMACY: 14, bergamo.name: 6}
    received = Lot.objects.get(pharmacy=bergamo)
    assert (received.lot_number, received.expiry_date) == (lot.lot_number, lot.expiry_date)
    transfer.refresh_from_db()
    assert transfer.status == "received"
    with pytest.raises(Conflict):
        stock.stock_transfer_receive(pharmacist=bergamo_pharmacist, transfer_id=transfer.pk)
    assert StockTransfer.objects.get().movements.count() == 2
    assert list(verify_chains()) == []


def test_transfers_stay_inside_the_region(demo, pharmacist):
    roma = Pharmacy.objects.get(name="Farmacia Ospedaliera Demo Roma")
    keep_stock_roma = stock.stock_setting_update(user=demo["officer.lazio"], pharmacy=roma, keeps_stock=True)
    assert keep_stock_roma.keeps_stock
    milano = Pharmacy.objects.get(name=MILANO_PHARMACY)
    with pytest.raises(InvalidInput):
        stock.stock_transfer_request(
            user=demo["officer.lombardia"], from_pharmacy_id=milano.pk, to_pharmacy_id=roma.pk, syringes=1
        )


def test_a_dispensation_entered_in_error_gives_its_syringes_back_to_the_lot(demo, pharmacist):
    lot = receive(pharmacist, syringes=20).lot
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    dispensation = dispense(pharmacist, prescription, syringes=10, lot=str(lot.pk))
    services.record_mark_entered_in_error(
        user=pharmacist, prescription=prescription, kind="dispensation", record_id=dispensation.pk, reason="wrong lot"
    )
    lot.refresh_from_db()
    assert lot.on_hand == 20
    back = StockMovement.objects.get(kind=MovementKind.RETURN)
    assert (back.syringes, back.prescription_id) == (10, None) and "wrong lot" in back.reason
