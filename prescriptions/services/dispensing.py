"""The pharmacy's part: dispensing syringes against a prescription, keeping a waiting request on hold, or refusing
it for good (the only one of these that cancels it)."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from registry.calendar import rome_date
from registry.errors import Conflict, InvalidInput
from registry.formats import long_date

from .. import events, notices
from ..codes import ConflictCode
from ..course import workflow
from ..course.alerts import AlertThresholds
from ..models import Dispensation, HoldReason, LabTest, Prescription, RefusalCategory, StopReason
from ..permissions import ensure_may
from ..stock import services as stock_services
from ._common import _lock, ensure_prescription_period_open


@dataclass(frozen=True)
class BaselineAnc:
    value: Decimal
    measured_at: datetime
    source: str  # "assessment" or "lab_result"


def _assessment_anc(prescription: Prescription) -> BaselineAnc | None:
    record = prescription.assessment or {}
    raw = record.get("anc_10e9_l")
    if raw is None:
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return None
    moment = parse_datetime(record["assessed_at"]) if isinstance(record.get("assessed_at"), str) else None
    if moment is None or timezone.is_naive(moment):
        moment = prescription.prescribed_at
    return BaselineAnc(value, moment, "assessment")


def baseline_anc(prescription: Prescription, *, on: date) -> BaselineAnc | None:
    """The baseline ANC for dispensing on ``on``: the latest one measured on or before that Rome day (and, once
    the course has started, on or before the first dose's day), the assessment's or a lab result's."""
    limit = min(on, prescription.first_dose_on) if prescription.first_dose_on else on
    candidates = [anc for anc in [_assessment_anc(prescription)] if anc is not None]
    candidates += [
        BaselineAnc(result.value, result.collected_at, "lab_result")
        for result in prescription.lab_results.filter(test=LabTest.ANC, entered_in_error_at__isnull=True)
    ]
    candidates = [anc for anc in candidates if rome_date(anc.measured_at) <= limit]
    return max(candidates, key=lambda anc: anc.measured_at) if candidates else None


def ensure_baseline_anc(prescription: Prescription, *, on: date) -> None:
    """409 ``BASELINE_ANC_REQUIRED`` unless a baseline ANC at or above the threshold of the prescription's criteria
    version (Kineret SmPC: do not start below 1.5 ×10⁹/L) was recorded on or before the dispensing day."""
    threshold = AlertThresholds.of(prescription).neutropenia_below_10e9_l
    anc = baseline_anc(prescription, on=on)
    if anc is None:
        raise Conflict(
            ConflictCode.BASELINE_ANC_REQUIRED,
            _(
                "No baseline neutrophil count (ANC) is recorded on or before %(day)s: record one of at least "
                "%(threshold)s ×10⁹/L (a lab result) before dispensing."
            )
            % {"day": long_date(on), "threshold": number_format(threshold.normalize())},
        )
    if anc.value < threshold:
        raise Conflict(
            ConflictCode.BASELINE_ANC_REQUIRED,
            _(
                "The baseline neutrophil count is %(value)s ×10⁹/L (%(day)s), below %(threshold)s: anakinra must "
                "not be started. Record a new ANC of at least %(threshold)s before dispensing."
            )
            % {
                "value": f"{Decimal(anc.value).normalize():f}",
                "day": long_date(rome_date(anc.measured_at)),
                "threshold": f"{threshold.normalize():f}",
            },
        )


@transaction.atomic
def dispensation_record(
    *,
    pharmacist,
    prescription: Prescription,
    syringes: int,
    lot_number: str | None = None,
    expiry_date: date | None = None,
    lot=None,
) -> Dispensation:
    """Hand out syringes against the prescription: at most the course's doses in all (the lock: no two
    pharmacists exceed it), and only with a baseline ANC of at least 1.5 ×10⁹/L on record.

    A pharmacy that keeps its stock in the registry dispenses from a lot it holds (``lot``, its id, or its
    ``lot_number``; the expiry is the lot's); any other types the lot number and expiry, as before."""
    prescription = _lock(prescription)
    ensure_may(pharmacist, prescription, workflow.DISPENSE)
    workflow.require_status(prescription, workflow.DISPENSE)
    now = timezone.now()
    ensure_prescription_period_open(prescription, rome_date(now))
    if syringes < 1:
        raise InvalidInput({"syringes": _("Dispense at least one syringe.")})
    # --- Stock (issue 20): the lot is locked and checked here, and its syringes leave it below. ---
    held_lot = None
    if stock_services.keeps_stock(prescription.centre.pharmacy_id):
        held_lot = stock_services.lot_for_dispensing(
            pharmacy_id=prescription.centre.pharmacy_id,
            lot_id=lot,
            lot_number=lot_number,
            syringes=syringes,
            on=rome_date(now),
        )
        lot_number, expiry_date = held_lot.lot_number, held_lot.expiry_date
    missing = {
        field: _("This field is required.")
        for field, value in (("lot_number", lot_number), ("expiry_date", expiry_date))
        if not value
    }
    if missing:
        raise InvalidInput(missing)
    # --- end of the stock's part ---
    if expiry_date < rome_date(now):
        raise InvalidInput({"expiry_date": _("This lot expired on %(date)s.") % {"date": long_date(expiry_date)}})
    ensure_baseline_anc(prescription, on=rome_date(now))
    max_syringes = workflow.max_syringes(prescription)
    if prescription.syringes_dispensed + syringes > max_syringes:
        raise Conflict(
            ConflictCode.OVER_QUANTITY,
            _("A course needs at most %(max)d syringes: %(given)d already dispensed, %(asked)d more asked.")
            % {"max": max_syringes, "given": prescription.syringes_dispensed, "asked": syringes},
        )
    hold_end(pharmacist, prescription, by="dispensation")  # the drug is here: the hold ends
    dispensation = Dispensation.objects.create(
        prescription=prescription,
        syringes=syringes,
        lot_number=lot_number,
        expiry_date=expiry_date,
        recorded_by=pharmacist,
        recorded_at=now,
    )
    if held_lot is not None:  # Stock (issue 20)
        stock_services.stock_dispensed(pharmacist=pharmacist, lot=held_lot, dispensation=dispensation)
    before = events.snapshot(prescription, ("status", "syringes_dispensed"))
    prescription.syringes_dispensed += syringes
    prescription.status = workflow.status_after_dispense(prescription.status)
    prescription.save(update_fields=["syringes_dispensed", "status"])
    events.dispensed(pharmacist, prescription, dispensation, before=before)
    notices.dispensed(prescription, dispensation)
    return dispensation


# --- On hold and refused (issue 18): apart from the dispensation, which the stock will change -----------------


def hold_end(actor, prescription: Prescription, *, by: str) -> bool:
    """End the hold of a locked prescription, if any (audited); whether there was one."""
    if prescription.hold_since is None:
        return False
    before = events.snapshot(prescription, events.HOLD_FIELDS)
    prescription.hold_reason = ""
    prescription.hold_expected_on = None
    prescription.hold_note = ""
    prescription.hold_since = None
    prescription.save(update_fields=list(events.HOLD_FIELDS))
    events.hold_released(actor, prescription, before=before, by=by)
    return True


@transaction.atomic
def dispensing_hold(
    *, pharmacist, prescription: Prescription, reason: str, expected_on: date | None = None, note: str = ""
) -> Prescription:
    """Keep a waiting request on hold (out of stock, delivery awaited, …) with the day the drug is expected: it
    stays ``awaiting_dispensing`` and the prescriber is told. Holding one already on hold changes its reason, date
    or note (and tells the prescriber again only if the reason or the date changed)."""
    prescription = _lock(prescription)
    ensure_may(pharmacist, prescription, workflow.HOLD)
    workflow.require_status(prescription, workflow.HOLD)
    ensure_prescription_period_open(prescription, rome_date(timezone.now()))
    if reason not in HoldReason.values:
        raise InvalidInput({"reason": _("Choose why the request is on hold.")})
    note = (note or "").strip()
    if expected_on is not None and expected_on < rome_date(timezone.now()):
        raise InvalidInput({"expected_on": _("The expected day cannot be in the past.")})
    before = events.snapshot(prescription, events.HOLD_FIELDS)
    prescription.hold_reason = reason
    prescription.hold_expected_on = expected_on
    prescription.hold_note = note
    prescription.hold_since = prescription.hold_since or timezone.now()
    if before == events.snapshot(prescription, events.HOLD_FIELDS):
        return prescription  # the same hold again: nothing to write, nobody to tell
    prescription.save(update_fields=list(events.HOLD_FIELDS))
    events.held(pharmacist, prescription, before=before)
    notices.on_hold(prescription)
    return prescription


@transaction.atomic
def dispensing_hold_release(*, pharmacist, prescription: Prescription) -> Prescription:
    """Release the hold: the request waits as before (409 ``WRONG_STATUS`` when it is not on hold)."""
    prescription = _lock(prescription)
    ensure_may(pharmacist, prescription, workflow.RELEASE_HOLD)
    workflow.require_status(prescription, workflow.RELEASE_HOLD)
    ensure_prescription_period_open(prescription, rome_date(timezone.now()))
    if not hold_end(pharmacist, prescription, by="release"):
        raise Conflict(ConflictCode.WRONG_STATUS, _("This request is not on hold."))
    return prescription


@transaction.atomic
def dispensing_refuse(
    *, pharmacist, prescription: Prescription, category: str = RefusalCategory.OTHER, note: str = ""
) -> Prescription:
    """The pharmacist refuses the request for good, with a category (and a note, required for ``other``): it ends
    as cancelled, any hold with it, and the prescriber is told."""
    prescription = _lock(prescription)
    ensure_may(pharmacist, prescription, workflow.REFUSE)
    workflow.require_status(prescription, workflow.REFUSE)
    ensure_prescription_period_open(prescription, rome_date(timezone.now()))
    note = (note or "").strip()
    if category not in RefusalCategory.values:
        raise InvalidInput({"category": _("Choose why the request is refused.")})
    if category == RefusalCategory.OTHER and not note:
        raise InvalidInput({"note": _("Say why the prescription is refused.")})
    hold_end(pharmacist, prescription, by="refusal")
    before = events.snapshot(prescription, ("status",))
    prescription.status = workflow.STATUS_AFTER_REFUSAL
    prescription.refusal_category = category
    prescription.dispensing_refusal_reason = note
    prescription.stop_reason = StopReason.OTHER
    prescription.stop_note = note
    prescription.stopped_at = timezone.now()
    prescription.stopped_by = pharmacist
    prescription.save(
        update_fields=[
            "status",
            "refusal_category",
            "dispensing_refusal_reason",
            "stop_reason",
            "stop_note",
            "stopped_at",
            "stopped_by",
        ]
    )
    events.dispensing_refused(pharmacist, prescription, before=before)
    notices.refused(prescription)
    return prescription
