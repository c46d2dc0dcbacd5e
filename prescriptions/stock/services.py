"""Writes of the stock: receipts, dispensing from a lot, returns, write-offs, counted adjustments, transfers.

Every change of a lot's balance locks the lot row (``select_for_update``) before reading it, writes one
``StockMovement`` with the balance it leaves, and records the audit event in the same transaction; the database's
``on_hand >= 0`` check stands behind the service's own, so no race can leave a negative balance. Locks are taken
prescription first (the dispensing service holds it), then lots in the order of their ids.
"""

import uuid
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.audit_actions import AuditAction
from registry.calendar import rome_date
from registry.db_locks import SYRINGE_PRICES, advisory_xact_lock
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.formats import long_date
from registry.models import Pharmacy, Role
from registry.notifications import notify, number
from registry.permissions import actor_for, ensure_manages_region, ensure_role

from ..models import Dispensation, Prescription, PrescriptionStatus
from . import events, selectors
from .codes import StockConflict
from .models import (
    Lot,
    MovementKind,
    PharmacyStockSetting,
    StockMovement,
    StockTransfer,
    SyringePrice,
    TransferStatus,
    WriteOffReason,
)

# A return is of syringes a course was given and will not use: after it ended early, or was cancelled.
RETURNABLE_STATUSES = (PrescriptionStatus.STOPPED, PrescriptionStatus.CANCELLED, PrescriptionStatus.COMPLETED)


def keeps_stock(pharmacy_id) -> bool:
    """Whether the pharmacy keeps its stock in the registry (off by default: it works as before)."""
    if pharmacy_id is None:
        return False
    return PharmacyStockSetting.objects.filter(pharmacy_id=pharmacy_id, keeps_stock=True).exists()


def stock_pharmacy(user) -> Pharmacy:
    """The pharmacist's pharmacy, which must keep its stock in the registry."""
    actor = ensure_role(user, Role.PHARMACIST)
    if not keeps_stock(actor.pharmacy_id):
        raise Conflict(
            StockConflict.STOCK_NOT_KEPT,
            _("Your pharmacy does not keep its stock in the registry: ask the Region to switch it on."),
        )
    return Pharmacy.objects.get(pk=actor.pharmacy_id)


def _locked_lot(*, pharmacy_id, lot_id=None, lot_number: str | None = None, field: str = "lot") -> Lot:
    """The pharmacy's lot, locked; 409 ``LOT_NOT_IN_STOCK`` when it holds no such lot."""
    lots = Lot.objects.select_for_update().filter(pharmacy_id=pharmacy_id)
    lot = None
    if lot_id:
        try:
            lot = lots.filter(pk=uuid.UUID(str(lot_id))).first()
        except ValueError:  # a malformed id: no such lot
            lot = None
    elif lot_number:
        lot = lots.filter(lot_number=lot_number.strip()).first()
    else:
        raise InvalidInput({field: _("Name the lot (its id or its lot number).")})
    if lot is None:
        raise Conflict(StockConflict.LOT_NOT_IN_STOCK, _("Your pharmacy holds no such lot."))
    return lot


def _ensure_enough(lot: Lot, syringes: int) -> None:
    if lot.on_hand < syringes:
        raise Conflict(
            StockConflict.INSUFFICIENT_STOCK,
            _("Lot %(lot)s has %(on_hand)d syringes on hand, %(asked)d asked.")
            % {"lot": lot.lot_number, "on_hand": lot.on_hand, "asked": syringes},
        )


def stock_operation_refusal(*, pharmacy_id, operation: str, data: Mapping) -> InvalidInput | Conflict | None:
    """What a pharmacy's operation would be refused for that can be told from a read, before its confirmation
    page: a delivery of a lot already expired (400), a write-off of more syringes than the lot holds (409
    ``INSUFFICIENT_STOCK``). Writes nothing; the operation checks everything again, its lot locked."""
    if operation == "receive" and data.get("expiry_date") and data["expiry_date"] < rome_date(timezone.now()):
        return InvalidInput(
            {"expiry_date": _("This lot expired on %(date)s.") % {"date": long_date(data["expiry_date"])}}
        )
    if operation == "write_off" and data.get("syringes") and data.get("lot"):
        try:
            lot = Lot.objects.filter(pharmacy_id=pharmacy_id, pk=uuid.UUID(str(data["lot"]))).first()
        except ValueError:
            return None  # a malformed id: the operation says there is no such lot
        if lot is not None:
            try:
                _ensure_enough(lot, data["syringes"])
            except Conflict as exc:
                return exc
    return None


def _ensure_positive(syringes: int, field: str = "syringes") -> None:
    if not isinstance(syringes, int) or syringes < 1:
        raise InvalidInput({field: _("At least one syringe.")})


def _move(*, actor, lot: Lot, kind: str, syringes: int, created_lot: bool = False, **fields) -> StockMovement:
    """Apply ``syringes`` (signed) to the locked ``lot``, write the movement and its audit event."""
    lot.on_hand += syringes
    if lot.on_hand < 0:  # the callers check first; this is the last word before the database's own
        raise Conflict(StockConflict.INSUFFICIENT_STOCK, _("Stock cannot go below zero."))
    lot.save(update_fields=["on_hand"])
    movement = StockMovement.objects.create(
        lot=lot,
        pharmacy_id=lot.pharmacy_id,
        kind=kind,
        syringes=syringes,
        on_hand_after=lot.on_hand,
        recorded_by=actor,
        recorded_at=fields.pop("recorded_at", None) or timezone.now(),
        **fields,
    )
    events.movement_recorded(actor, movement, created_lot=created_lot)
    if syringes < 0:
        cover_check(pharmacy_id=lot.pharmacy_id)
    return movement


def cover_check(*, pharmacy_id, now=None) -> bool:
    """Tell the pharmacy's pharmacists and the Region's officers, once a day, that its days of cover are below its
    threshold (``settings.STOCK_COVER_THRESHOLD_DAYS`` unless the pharmacy set its own). True when told."""
    demand = selectors.demands([pharmacy_id], now=now, with_lots=False)[pharmacy_id]
    days = selectors.cover_of(demand)
    if days is None or days >= demand.threshold_days:
        return False
    pharmacy = Pharmacy.objects.get(pk=pharmacy_id)
    recipients = get_user_model().objects.filter(
        Q(staff__role=Role.PHARMACIST, staff__pharmacy_id=pharmacy_id)
        | Q(staff__role=Role.REGIONAL_OFFICER, staff__region_id=pharmacy.region_id)
    )
    notify(
        "stock_cover_low",
        recipients,
        event_key=f"stock_cover_low:{pharmacy_id}:{rome_date(now or timezone.now()).isoformat()}",
        params={"pharmacy": pharmacy.name, "days": number(days), "threshold": demand.threshold_days},
    )
    return True


def cover_check_all(*, now=None) -> int:
    """Check every pharmacy keeping stock (hourly, beat: new courses lower the cover without any movement); how
    many pharmacies' people were told (each at most once a day)."""
    told = 0
    for pharmacy_id in PharmacyStockSetting.objects.filter(keeps_stock=True).values_list("pharmacy_id", flat=True):
        with transaction.atomic():
            told += cover_check(pharmacy_id=pharmacy_id, now=now)
    return told


# --- The pharmacy's setting ----------------------------------------------------------------------------------


@transaction.atomic
def stock_setting_update(
    *, user, pharmacy: Pharmacy, keeps_stock: bool, cover_threshold_days: int | None = None
) -> PharmacyStockSetting:
    """Switch a pharmacy's stock on or off (the Region's officer, or the administrator), one hospital at a time."""
    ensure_manages_region(user, pharmacy.region_id)
    setting, _created = PharmacyStockSetting.objects.select_for_update().get_or_create(pharmacy=pharmacy)
    before = {"keeps_stock": setting.keeps_stock, "cover_threshold_days": setting.cover_threshold_days}
    setting.keeps_stock = keeps_stock
    setting.cover_threshold_days = cover_threshold_days
    setting.save()
    events.setting_updated(user, setting, before=before)
    return setting


# --- Receipts, returns, write-offs, adjustments ---------------------------------------------------------------


@transaction.atomic
def stock_receive(
    *,
    pharmacist,
    lot_number: str,
    expiry_date: date,
    syringes: int,
    supplier_document: str,
    unit_price: Decimal | None = None,
    reason: str = "",
) -> StockMovement:
    """A delivery into the pharmacy: a new lot, or more of one it holds (same expiry)."""
    pharmacy = stock_pharmacy(pharmacist)
    _ensure_positive(syringes)
    lot_number = lot_number.strip()
    if not lot_number:
        raise InvalidInput({"lot_number": _("Give the lot number.")})
    if expiry_date < rome_date(timezone.now()):
        raise InvalidInput({"expiry_date": _("This lot expired on %(date)s.") % {"date": long_date(expiry_date)}})
    if not supplier_document.strip():
        raise InvalidInput({"supplier_document": _("Give the supplier's delivery document.")})
    if unit_price is not None and unit_price < 0:
        raise InvalidInput({"unit_price": _("A price is not negative.")})
    lot = Lot.objects.select_for_update().filter(pharmacy=pharmacy, lot_number=lot_number).first()
    created = lot is None
    if created:
        try:
            with transaction.atomic():
                lot = Lot.objects.create(pharmacy=pharmacy, lot_number=lot_number, expiry_date=expiry_date)
        except IntegrityError:  # received at the same moment by a colleague: add to theirs
            lot = Lot.objects.select_for_update().get(pharmacy=pharmacy, lot_number=lot_number)
            created = False
    if lot.expiry_date != expiry_date:
        raise InvalidInput(
            {
                "expiry_date": _("Lot %(lot)s is on record as expiring on %(date)s.")
                % {"lot": lot_number, "date": long_date(lot.expiry_date)}
            }
        )
    return _move(
        actor=pharmacist,
        lot=lot,
        kind=MovementKind.RECEIPT,
        syringes=syringes,
        created_lot=created,
        supplier_document=supplier_document.strip(),
        unit_price=unit_price,
        reason=reason.strip(),
    )


@transaction.atomic
def stock_return(
    *, pharmacist, lot_id=None, lot_number: str | None = None, syringes: int, prescription_id=None, reason: str = ""
) -> StockMovement:
    """Unused syringes back into the lot they came from, after a course stopped or was cancelled.

    With a prescription: it must be one of this pharmacy's centres, ended, and the syringes at most those it was
    given and did not use (less those already returned); the spending of its centre is net of them.
    """
    pharmacy = stock_pharmacy(pharmacist)
    _ensure_positive(syringes)
    prescription = None
    if prescription_id:
        prescription = (
            Prescription.objects.select_for_update(of=("self",))
            .select_related("centre")
            .filter(pk=prescription_id, centre__pharmacy_id=pharmacy.pk)
            .first()
        )
        if prescription is None:
            raise NotFound()
        if prescription.status not in RETURNABLE_STATUSES:
            raise Conflict(
                StockConflict.WRONG_STATUS,
                _("Syringes come back once the course has stopped, been cancelled or completed."),
            )
        returned = sum(
            StockMovement.objects.filter(kind=MovementKind.RETURN, prescription=prescription).values_list(
                "syringes", flat=True
            )
        )
        unused = prescription.syringes_dispensed - prescription.doses_administered - returned
        if syringes > unused:
            raise Conflict(
                StockConflict.RETURN_OVER_UNUSED,
                _("This course has %(unused)d unused syringes that have not come back; %(asked)d returned.")
                % {"unused": max(unused, 0), "asked": syringes},
            )
        if not lot_id and not lot_number:
            last = prescription.dispensations.filter(entered_in_error_at__isnull=True).order_by("-recorded_at").first()
            lot_number = last.lot_number if last else None
    elif not reason.strip():
        raise InvalidInput({"reason": _("Say where the syringes come back from.")})
    lot = _locked_lot(pharmacy_id=pharmacy.pk, lot_id=lot_id, lot_number=lot_number)
    return _move(
        actor=pharmacist,
        lot=lot,
        kind=MovementKind.RETURN,
        syringes=syringes,
        prescription=prescription,
        reason=reason.strip(),
    )


@transaction.atomic
def stock_write_off(
    *, pharmacist, lot_id=None, lot_number: str | None = None, syringes: int | None, reason: str, note: str = ""
) -> StockMovement:
    """Syringes out of stock for good: expired or damaged (or other, with a note). ``syringes`` None: all on hand."""
    pharmacy = stock_pharmacy(pharmacist)
    if reason not in WriteOffReason.values:
        raise InvalidInput({"reason": _("Choose expired, damaged or other.")})
    if reason == WriteOffReason.OTHER and not note.strip():
        raise InvalidInput({"note": _("Say why the syringes are written off.")})
    lot = _locked_lot(pharmacy_id=pharmacy.pk, lot_id=lot_id, lot_number=lot_number)
    if syringes is None:
        syringes = lot.on_hand
    _ensure_positive(syringes)
    _ensure_enough(lot, syringes)
    return _move(
        actor=pharmacist,
        lot=lot,
        kind=MovementKind.WRITE_OFF,
        syringes=-syringes,
        write_off_reason=reason,
        reason=note.strip(),
    )


@transaction.atomic
def stock_adjust(*, pharmacist, lot_id=None, lot_number: str | None = None, counted: int, reason: str) -> StockMovement:
    """A physical count differs from the balance: the lot takes the counted figure, the difference is recorded."""
    pharmacy = stock_pharmacy(pharmacist)
    if not isinstance(counted, int) or counted < 0:
        raise InvalidInput({"counted": _("A count is zero or more syringes.")})
    if not reason.strip():
        raise InvalidInput({"reason": _("Say why the count differs.")})
    lot = _locked_lot(pharmacy_id=pharmacy.pk, lot_id=lot_id, lot_number=lot_number)
    if counted == lot.on_hand:
        raise InvalidInput({"counted": _("The count equals the balance: nothing to adjust.")})
    return _move(
        actor=pharmacist, lot=lot, kind=MovementKind.ADJUSTMENT, syringes=counted - lot.on_hand, reason=reason.strip()
    )


# --- Dispensing (called by prescriptions.services.dispensing inside its transaction) ----------------------------


def lot_for_dispensing(*, pharmacy_id, lot_id=None, lot_number: str | None = None, syringes: int, on: date) -> Lot:
    """The lot to dispense from, locked and checked: held by the pharmacy (409 ``LOT_NOT_IN_STOCK``), not expired
    on ``on`` (400), with enough syringes (409 ``INSUFFICIENT_STOCK``). Writes nothing."""
    field = "lot" if lot_id else "lot_number"
    lot = _locked_lot(pharmacy_id=pharmacy_id, lot_id=lot_id, lot_number=lot_number, field="lot")
    if lot.expiry_date < on:
        raise InvalidInput({field: _("This lot expired on %(date)s.") % {"date": long_date(lot.expiry_date)}})
    _ensure_enough(lot, syringes)
    return lot


def stock_dispensed(*, pharmacist, lot: Lot, dispensation: Dispensation) -> StockMovement:
    """The dispensation's syringes leave the (locked) lot; must run in the dispensing service's transaction."""
    return _move(
        actor=pharmacist,
        lot=lot,
        kind=MovementKind.DISPENSING,
        syringes=-dispensation.syringes,
        dispensation=dispensation,
        prescription_id=dispensation.prescription_id,
        recorded_at=dispensation.recorded_at,
    )


def dispensation_withdrawn(*, user, dispensation: Dispensation, reason: str) -> StockMovement | None:
    """A dispensation marked entered in error gives its syringes back to the lot they left (none if it was not
    dispensed from stock). The return names no course: the withdrawn dispensation no longer counts as spending."""
    taken = StockMovement.objects.filter(dispensation=dispensation, kind=MovementKind.DISPENSING).first()
    if taken is None:
        return None
    lot = Lot.objects.select_for_update().get(pk=taken.lot_id)
    return _move(
        actor=user,
        lot=lot,
        kind=MovementKind.RETURN,
        syringes=-taken.syringes,
        reason=(_("Dispensation entered in error: %(reason)s") % {"reason": reason.strip()})[:500],
    )


# --- Transfers between the Region's pharmacies ---------------------------------------------------------------


def _transfer_locked(transfer_id) -> StockTransfer:
    transfer = StockTransfer.objects.select_for_update().filter(pk=transfer_id).first()
    if transfer is None:
        raise NotFound()
    return transfer


def _require_status(transfer: StockTransfer, *statuses: str) -> None:
    if transfer.status not in statuses:
        raise Conflict(
            StockConflict.WRONG_STATUS,
            _("This transfer is %(status)s.") % {"status": TransferStatus(transfer.status).label},
        )


def _sees_transfer(user, transfer: StockTransfer) -> bool:
    actor = actor_for(user)
    if actor.is_admin:
        return True
    if actor.role == Role.PHARMACIST:
        return actor.pharmacy_id in (transfer.from_pharmacy_id, transfer.to_pharmacy_id)
    if actor.role == Role.REGIONAL_OFFICER:
        return Pharmacy.objects.filter(pk=transfer.from_pharmacy_id, region_id=actor.region_id).exists()
    return False


@transaction.atomic
def stock_transfer_request(
    *, user, from_pharmacy_id, to_pharmacy_id, syringes: int, lot_id=None, note: str = ""
) -> StockTransfer:
    """Ask to move syringes between two pharmacies of one Region that both keep stock: a pharmacist of either, or
    the Region's officer, asks; the officer approves."""
    actor = actor_for(user)
    _ensure_positive(syringes)
    pharmacies = {p.pk: p for p in Pharmacy.objects.filter(pk__in=[from_pharmacy_id, to_pharmacy_id])}
    sender, receiver = pharmacies.get(from_pharmacy_id), pharmacies.get(to_pharmacy_id)
    if actor.role == Role.PHARMACIST:
        if actor.pharmacy_id not in (from_pharmacy_id, to_pharmacy_id):
            raise PermissionDenied(_("A pharmacist asks for transfers to or from their own pharmacy."))
        region_id = Pharmacy.objects.get(pk=actor.pharmacy_id).region_id
    elif actor.role == Role.REGIONAL_OFFICER:
        region_id = actor.region_id
    elif actor.is_admin:
        region_id = sender.region_id if sender else None
    else:
        raise PermissionDenied(_("Only pharmacists and the Region's officer move stock."))
    if sender is None or sender.region_id != region_id:
        raise InvalidInput({"from_pharmacy": _("Choose a pharmacy of your Region.")})
    if receiver is None or receiver.region_id != region_id:
        raise InvalidInput({"to_pharmacy": _("Choose a pharmacy of your Region.")})
    if sender.pk == receiver.pk:
        raise InvalidInput({"to_pharmacy": _("A transfer goes to another pharmacy.")})
    for field, pharmacy in (("from_pharmacy", sender), ("to_pharmacy", receiver)):
        if not keeps_stock(pharmacy.pk):
            raise InvalidInput(
                {field: _("%(pharmacy)s does not keep its stock in the registry.") % {"pharmacy": pharmacy}}
            )
    lot = None
    if lot_id:
        lot = Lot.objects.filter(pk=lot_id, pharmacy=sender).first()
        if lot is None:
            raise Conflict(StockConflict.LOT_NOT_IN_STOCK, _("The sending pharmacy holds no such lot."))
    transfer = StockTransfer.objects.create(
        from_pharmacy=sender,
        to_pharmacy=receiver,
        syringes=syringes,
        lot=lot,
        status=TransferStatus.REQUESTED,
        note=note.strip(),
        requested_by=user,
        requested_at=timezone.now(),
    )
    events.transfer_step(user, transfer, AuditAction.STOCK_TRANSFER_REQUEST, created=True)
    return transfer


@transaction.atomic
def stock_transfer_decide(*, officer, transfer_id, approve: bool) -> StockTransfer:
    """The Region's officer approves (or rejects) a requested transfer."""
    transfer = _transfer_locked(transfer_id)
    if not _sees_transfer(officer, transfer):
        raise NotFound()
    ensure_manages_region(officer, transfer.from_pharmacy.region_id)
    _require_status(transfer, TransferStatus.REQUESTED)
    before = transfer.status
    transfer.status = TransferStatus.APPROVED if approve else TransferStatus.REJECTED
    transfer.approved_by = officer
    transfer.approved_at = timezone.now()
    transfer.save(update_fields=["status", "approved_by", "approved_at"])
    action = AuditAction.STOCK_TRANSFER_APPROVE if approve else AuditAction.STOCK_TRANSFER_REJECT
    events.transfer_step(officer, transfer, action, before=before)
    return transfer


@transaction.atomic
def stock_transfer_ship(*, pharmacist, transfer_id, lot_id=None) -> StockTransfer:
    """The sender ships an approved transfer: its syringes leave the sender's lot (in transit: in nobody's stock)."""
    transfer = _transfer_locked(transfer_id)
    if not _sees_transfer(pharmacist, transfer):
        raise NotFound()
    actor = ensure_role(pharmacist, Role.PHARMACIST)
    if actor.pharmacy_id != transfer.from_pharmacy_id:
        raise PermissionDenied(_("The sending pharmacy ships a transfer."))
    _require_status(transfer, TransferStatus.APPROVED)
    lot = _locked_lot(pharmacy_id=transfer.from_pharmacy_id, lot_id=lot_id or transfer.lot_id)
    if lot.expiry_date < rome_date(timezone.now()):
        raise InvalidInput({"lot": _("This lot expired on %(date)s.") % {"date": long_date(lot.expiry_date)}})
    _ensure_enough(lot, transfer.syringes)
    now = timezone.now()
    before = transfer.status
    transfer.lot = lot
    transfer.status = TransferStatus.SHIPPED
    transfer.shipped_by = pharmacist
    transfer.shipped_at = now
    transfer.save(update_fields=["lot", "status", "shipped_by", "shipped_at"])
    _move(
        actor=pharmacist,
        lot=lot,
        kind=MovementKind.TRANSFER_OUT,
        syringes=-transfer.syringes,
        transfer=transfer,
        recorded_at=now,
    )
    events.transfer_step(pharmacist, transfer, AuditAction.STOCK_TRANSFER_OUT, before=before)
    return transfer


@transaction.atomic
def stock_transfer_receive(*, pharmacist, transfer_id) -> StockTransfer:
    """The receiver takes a shipped transfer in: the syringes enter its lot of the same number and expiry."""
    transfer = _transfer_locked(transfer_id)
    if not _sees_transfer(pharmacist, transfer):
        raise NotFound()
    actor = ensure_role(pharmacist, Role.PHARMACIST)
    if actor.pharmacy_id != transfer.to_pharmacy_id:
        raise PermissionDenied(_("The receiving pharmacy receives a transfer."))
    _require_status(transfer, TransferStatus.SHIPPED)
    source = transfer.lot
    lot = (
        Lot.objects.select_for_update()
        .filter(pharmacy_id=transfer.to_pharmacy_id, lot_number=source.lot_number)
        .first()
    )
    created = lot is None
    if created:
        lot = Lot.objects.create(
            pharmacy_id=transfer.to_pharmacy_id, lot_number=source.lot_number, expiry_date=source.expiry_date
        )
    now = timezone.now()
    before = transfer.status
    transfer.status = TransferStatus.RECEIVED
    transfer.received_by = pharmacist
    transfer.received_at = now
    transfer.save(update_fields=["status", "received_by", "received_at"])
    _move(
        actor=pharmacist,
        lot=lot,
        kind=MovementKind.TRANSFER_IN,
        syringes=transfer.syringes,
        transfer=transfer,
        created_lot=created,
        recorded_at=now,
    )
    events.transfer_step(pharmacist, transfer, AuditAction.STOCK_TRANSFER_IN, before=before)
    return transfer


# --- The price AIFA sets --------------------------------------------------------------------------------------


def ensure_may_set_price(user) -> None:
    ensure_role(user, Role.NATIONAL, Role.ADMINISTRATOR)


@transaction.atomic
def syringe_price_record(
    *, user, valid_from: date, price_eur: Decimal, valid_to: date | None = None, aifa_reference: str = ""
) -> SyringePrice:
    """A price per syringe in force from ``valid_from`` (the national role or the administrator); periods never
    overlap, even for requests at the same moment (a transaction-level advisory lock on PostgreSQL; SQLite
    serialises its writers itself)."""
    ensure_may_set_price(user)
    if price_eur < 0:
        raise InvalidInput({"price_eur": _("A price is not negative.")})
    if valid_to is not None and valid_to < valid_from:
        raise InvalidInput({"valid_to": _("The end comes after the start.")})
    # With no row yet in the period there is nothing for select_for_update to lock: two requests would both see
    # no overlap and both insert. One lock for every price writer, held to the commit, orders the check-then-insert.
    advisory_xact_lock(SYRINGE_PRICES, "syringe_price")
    overlapping = SyringePrice.objects.filter(valid_from__lte=valid_to or date.max)
    overlapping = overlapping.exclude(valid_to__lt=valid_from)
    if overlapping.exists():
        raise InvalidInput({"valid_from": _("Another price is in force in this period.")})
    price = SyringePrice.objects.create(
        valid_from=valid_from, valid_to=valid_to, price_eur=price_eur, aifa_reference=aifa_reference.strip()
    )
    events.price_recorded(user, price)
    return price


__all__ = [
    "RETURNABLE_STATUSES",
    "cover_check",
    "cover_check_all",
    "dispensation_withdrawn",
    "keeps_stock",
    "stock_pharmacy",
    "lot_for_dispensing",
    "stock_adjust",
    "stock_operation_refusal",
    "stock_dispensed",
    "stock_receive",
    "stock_return",
    "stock_setting_update",
    "stock_transfer_decide",
    "stock_transfer_receive",
    "stock_transfer_request",
    "stock_transfer_ship",
    "stock_write_off",
    "syringe_price_record",
    "ensure_may_set_price",
]
