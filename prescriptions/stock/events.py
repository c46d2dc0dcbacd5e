"""Audit events of the stock: one per movement (on the lot's chain) and per step of a transfer (on its own)."""

from registry.audit import audit_record
from registry.audit_actions import AuditAction

from .models import MovementKind

_MOVEMENT_ACTIONS = {
    MovementKind.RECEIPT: AuditAction.STOCK_RECEIPT,
    MovementKind.DISPENSING: AuditAction.STOCK_DISPENSING,
    MovementKind.RETURN: AuditAction.STOCK_RETURN,
    MovementKind.WRITE_OFF: AuditAction.STOCK_WRITE_OFF,
    MovementKind.ADJUSTMENT: AuditAction.STOCK_ADJUSTMENT,
    MovementKind.TRANSFER_OUT: AuditAction.STOCK_TRANSFER_OUT,
    MovementKind.TRANSFER_IN: AuditAction.STOCK_TRANSFER_IN,
}


def movement_recorded(actor, movement, *, created_lot: bool = False):
    changes = {
        "movement": movement.pk,
        "lot_number": movement.lot.lot_number,
        "syringes": movement.syringes,
        "on_hand": [movement.on_hand_after - movement.syringes, movement.on_hand_after],
    }
    for field in ("reason", "write_off_reason", "supplier_document"):
        if getattr(movement, field):
            changes[field] = getattr(movement, field)
    if movement.unit_price is not None:
        changes["unit_price"] = movement.unit_price
    if created_lot:
        changes["expiry_date"] = movement.lot.expiry_date
    for field in ("dispensation_id", "prescription_id", "transfer_id"):
        if getattr(movement, field) is not None:
            changes[field.removesuffix("_id")] = getattr(movement, field)
    return audit_record(
        actor=actor, action=_MOVEMENT_ACTIONS[movement.kind], obj=movement.lot, changes=changes, created=created_lot
    )


def setting_updated(actor, setting, *, before: dict):
    return audit_record(
        actor=actor,
        action=AuditAction.STOCK_SETTING_UPDATE,
        obj=setting.pharmacy,
        changes={field: [value, getattr(setting, field)] for field, value in before.items()},
    )


def transfer_step(actor, transfer, action: AuditAction, *, created: bool = False, before: str | None = None):
    changes = {"status": [before, transfer.status], "syringes": transfer.syringes}
    if transfer.lot_id is not None:
        changes["lot"] = transfer.lot_id
    if created:
        changes["from_pharmacy"] = transfer.from_pharmacy_id
        changes["to_pharmacy"] = transfer.to_pharmacy_id
    return audit_record(actor=actor, action=action, obj=transfer, changes=changes, created=created)


def price_recorded(actor, price):
    return audit_record(
        actor=actor,
        action=AuditAction.SYRINGE_PRICE_RECORD,
        obj=price,
        changes={
            "valid_from": price.valid_from,
            "valid_to": price.valid_to,
            "price_eur": price.price_eur,
            "aifa_reference": price.aifa_reference,
        },
        created=True,
    )
