"""Records entered in error: flagged, never deleted (the audit keeps them); the right one is recorded anew."""

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _

from registry.calendar import rome_date
from registry.errors import Conflict, InvalidInput, NotFound

from .. import events
from ..codes import ConflictCode
from ..course import workflow
from ..course.alerts import is_protocol_deviation
from ..course.regimen import course_regimen
from ..models import (
    Administration,
    AdverseEvent,
    ConcomitantMedicationRecord,
    Dispensation,
    LabResult,
    Outcome,
    Prescription,
)
from ..permissions import ensure_may_correct
from ..stock import services as stock_services
from ._common import _lock, ensure_prescription_period_open

CORRECTABLE = {
    "lab_result": LabResult,
    "adverse_event": AdverseEvent,
    "outcome": Outcome,
    "administration": Administration,
    "dispensation": Dispensation,
    "concomitant_medication": ConcomitantMedicationRecord,
}
# Correcting one of these recounts the course.
COUNTED = ("administration", "dispensation")


def _recount_course(prescription: Prescription) -> None:
    """Counters, course days and status from the records still standing (after a correction)."""
    doses = list(prescription.administrations.filter(entered_in_error_at__isnull=True).order_by("administered_on"))
    prescription.syringes_dispensed = sum(
        prescription.dispensations.filter(entered_in_error_at__isnull=True).values_list("syringes", flat=True)
    )
    prescription.doses_administered = len(doses)
    prescription.first_dose_on = doses[0].administered_on if doses else None
    prescription.last_dose_on = doses[-1].administered_on if doses else None
    interval = course_regimen(prescription).interval_days
    for dose in doses:
        # The day of the course is derived from day 1, which a corrected first dose moves; so is the schedule
        # of a course every 48 h, and with it whether a dose fell off it (a protocol deviation).
        course_day = (dose.administered_on - prescription.first_dose_on).days + 1
        deviation = (course_day - 1) % interval != 0 or is_protocol_deviation(
            prescription, dose_mg=dose.dose_mg, route=dose.route
        )
        if (dose.course_day, dose.protocol_deviation) != (course_day, deviation):
            Administration.objects.filter(pk=dose.pk).update(course_day=course_day, protocol_deviation=deviation)
    prescription.status = workflow.status_after_recount(
        prescription.status,
        doses_administered=prescription.doses_administered,
        syringes_dispensed=prescription.syringes_dispensed,
        doses_in_course=course_regimen(prescription).doses,
    )
    prescription.save(
        update_fields=["syringes_dispensed", "doses_administered", "first_dose_on", "last_dose_on", "status"]
    )


def _record_day(record) -> date:
    """The Rome day a clinical record is dated by: what a correction of it changes."""
    if isinstance(record, LabResult):
        return rome_date(record.collected_at)
    if isinstance(record, AdverseEvent):
        return record.onset_date
    if isinstance(record, Outcome):
        return record.assessed_on
    if isinstance(record, Administration):
        return record.administered_on
    if isinstance(record, Dispensation):
        return rome_date(record.recorded_at)
    return record.started_on  # a concomitant medication


@transaction.atomic
def record_mark_entered_in_error(*, user, prescription: Prescription, kind: str, record_id, reason: str):
    """Mark a record as entered in error: it stays, flagged, for the audit; the right one is recorded anew.

    Correcting a dose or a dispensation recounts the course (doses, syringes, day 1, status) under the lock.
    A dispensation whose syringes were already injected cannot be withdrawn.
    """
    prescription = _lock(prescription)
    now = timezone.now()
    model = CORRECTABLE.get(kind)
    if model is None:
        raise InvalidInput({"kind": _("Unknown kind of record.")})
    ensure_may_correct(user, prescription, kind, rome_date(now))
    if not reason.strip():
        raise InvalidInput({"reason": _("Say why the record is in error.")})
    record = model.objects.filter(prescription=prescription, pk=record_id, entered_in_error_at__isnull=True).first()
    if record is None:
        raise NotFound()
    ensure_prescription_period_open(prescription, _record_day(record))
    if kind in COUNTED:
        workflow.require_counts_correctable(prescription)
    if kind == "dispensation" and prescription.syringes_dispensed - record.syringes < prescription.doses_administered:
        raise Conflict(
            ConflictCode.SYRINGES_ALREADY_USED,
            _("%(doses)d doses were given: the dispensation of %(syringes)d syringes cannot be withdrawn.")
            % {"doses": prescription.doses_administered, "syringes": record.syringes},
        )
    record.entered_in_error_at = now
    record.entered_in_error_reason = reason
    record.save(update_fields=["entered_in_error_at", "entered_in_error_reason"])
    if kind == "dispensation":  # Stock (issue 20): syringes taken from a lot in stock go back into it.
        stock_services.dispensation_withdrawn(user=user, dispensation=record, reason=reason)
    counters_before = None
    if kind in COUNTED:
        counters_before = events.snapshot(prescription, events.COURSE_COUNTERS)
        _recount_course(prescription)
    events.entered_in_error(user, prescription, kind=kind, record=record, counters_before=counters_before)
    return record


def administration_to_take_back(*, user, prescription: Prescription, administration_id) -> Administration:
    """The dose ``user`` may take back from the round (``administration_take_back``), read to be confirmed:
    ``NotFound`` when it is not a live dose of the prescription, ``Conflict`` (``TAKE_BACK_REFUSED``) when someone
    else recorded it or its minutes are over."""
    administration = Administration.objects.filter(
        prescription=prescription, pk=administration_id, entered_in_error_at__isnull=True
    ).first()
    if administration is None:
        raise NotFound()
    if administration.recorded_by_id != user.pk:
        raise Conflict(
            ConflictCode.TAKE_BACK_REFUSED,
            _(
                "Only whoever recorded a dose may take it back from the round. To correct it, mark it entered in "
                "error from the prescription page, with a reason."
            ),
        )
    if timezone.now() - administration.recorded_at > timedelta(minutes=workflow.TAKE_BACK_MINUTES):
        raise Conflict(
            ConflictCode.TAKE_BACK_REFUSED,
            _(
                "A dose may be taken back within %(minutes)d minutes of recording it; this one was recorded at "
                "%(time)s. To correct it, mark it entered in error from the prescription page, with a reason."
            )
            % {
                "minutes": workflow.TAKE_BACK_MINUTES,
                "time": time_format(timezone.localtime(administration.recorded_at), "TIME_FORMAT"),
            },
        )
    return administration


def administration_take_back(*, user, prescription: Prescription, administration_id) -> Administration:
    """Take back a dose just recorded on the round: only whoever recorded it, within ``TAKE_BACK_MINUTES``; it
    becomes entered in error (audited, the course recounted) like any correction. Later, or for someone else,
    the dose is marked entered in error from the prescription page, with a reason."""
    administration = administration_to_take_back(
        user=user, prescription=prescription, administration_id=administration_id
    )
    return record_mark_entered_in_error(
        user=user,
        prescription=prescription,
        kind="administration",
        record_id=administration.pk,
        reason=_("Taken back from the round by whoever recorded it, within %(minutes)d minutes.")
        % {"minutes": workflow.TAKE_BACK_MINUTES},
    )
