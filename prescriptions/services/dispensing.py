"""The pharmacy's part: dispensing syringes against a prescription, or refusing to."""

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.calendar import rome_date
from registry.errors import Conflict, InvalidInput

from .. import events, workflow
from ..codes import ConflictCode
from ..models import MAX_SYRINGES, Dispensation, Prescription, StopReason
from ..permissions import ensure_may
from ._common import _lock


@transaction.atomic
def dispensation_record(
    *, pharmacist, prescription: Prescription, syringes: int, lot_number: str, expiry_date: date
) -> Dispensation:
    """Hand out syringes against the prescription: at most ``MAX_SYRINGES`` in all (the lock: no two
    pharmacists exceed it)."""
    prescription = _lock(prescription)
    ensure_may(pharmacist, prescription, workflow.DISPENSE)
    workflow.require_status(prescription, workflow.DISPENSE)
    now = timezone.now()
    if syringes < 1:
        raise InvalidInput({"syringes": _("Dispense at least one syringe.")})
    if expiry_date < rome_date(now):
        raise InvalidInput({"expiry_date": _("This lot expired on %(date)s.") % {"date": expiry_date.isoformat()}})
    if prescription.syringes_dispensed + syringes > MAX_SYRINGES:
        raise Conflict(
            ConflictCode.OVER_QUANTITY,
            _("A course needs at most %(max)d syringes: %(given)d already dispensed, %(asked)d more asked.")
            % {"max": MAX_SYRINGES, "given": prescription.syringes_dispensed, "asked": syringes},
        )
    dispensation = Dispensation.objects.create(
        prescription=prescription,
        syringes=syringes,
        lot_number=lot_number,
        expiry_date=expiry_date,
        recorded_by=pharmacist,
        recorded_at=now,
    )
    before = events.snapshot(prescription, ("status", "syringes_dispensed"))
    prescription.syringes_dispensed += syringes
    prescription.status = workflow.status_after_dispense(prescription.status)
    prescription.save(update_fields=["syringes_dispensed", "status"])
    events.dispensed(pharmacist, prescription, dispensation, before=before)
    return dispensation


@transaction.atomic
def dispensing_refuse(*, pharmacist, prescription: Prescription, reason: str) -> Prescription:
    """The pharmacist refuses to dispense, with a reason: the request ends as cancelled."""
    prescription = _lock(prescription)
    ensure_may(pharmacist, prescription, workflow.REFUSE)
    workflow.require_status(prescription, workflow.REFUSE)
    if not reason.strip():
        raise InvalidInput({"reason": _("Say why the prescription is refused.")})
    before = events.snapshot(prescription, ("status",))
    prescription.status = workflow.STATUS_AFTER_REFUSAL
    prescription.dispensing_refusal_reason = reason
    prescription.stop_reason = StopReason.OTHER
    prescription.stop_note = reason
    prescription.stopped_at = timezone.now()
    prescription.stopped_by = pharmacist
    prescription.save(
        update_fields=["status", "dispensing_refusal_reason", "stop_reason", "stop_note", "stopped_at", "stopped_by"]
    )
    events.dispensing_refused(pharmacist, prescription, before=before)
    return prescription
