"""The course: one dose a Rome calendar day (every other day on the renal regimen), and ending it early."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from registry.calendar import rome_date, rome_today
from registry.errors import Conflict, InvalidInput
from registry.formats import long_date

from .. import events
from ..codes import ConflictCode
from ..course import workflow
from ..course.alerts import is_protocol_deviation
from ..course.regimen import course_regimen, window_last_day, windows_ended_before
from ..models import (
    Administration,
    Prescription,
    PrescriptionStatus,
    StopReason,
)
from ..permissions import ensure_may
from ._common import _lock, ensure_prescription_period_open
from .dispensing import hold_end

# A device clock a little ahead of ours does not date a dose or a stop in the future.
CLOCK_TOLERANCE = timedelta(minutes=5)


def _window_ended(prescription: Prescription) -> Conflict:
    # DOMAIN.md: a missed dose is not made up after the window (anakinra's half-life is 4–6 hours; the listing
    # pays for 10 days of treatment).
    return Conflict(
        ConflictCode.COURSE_WINDOW_ENDED,
        _(
            "The course's window of %(days)d days ended on %(day)s: a dose after it is not given, a missed dose is "
            "not made up."
        )
        % {"days": course_regimen(prescription).window_days, "day": _day(window_last_day(prescription))},
    )


def _day(day) -> str:
    return date_format(day, "SHORT_DATE_FORMAT")


def _closed_by_window(prescription: Prescription) -> bool:
    """Completed with doses still missing: the daily task closed it when its window ended."""
    return (
        prescription.status == PrescriptionStatus.COMPLETED
        and prescription.first_dose_on is not None
        and prescription.doses_administered < course_regimen(prescription).doses
    )


def _course_complete(prescription: Prescription) -> Conflict:
    # 10 doses under the listing (regimen of CTS 23/09/2021), 5 every 48 h in severe renal impairment.
    return Conflict(
        ConflictCode.COURSE_COMPLETE,
        _("The course is complete: all %(n)d doses are recorded.") % {"n": course_regimen(prescription).doses},
    )


def _state_refusal(prescription: Prescription) -> Conflict | None:
    """Why the course takes no dose at all in its present state (None: it may)."""
    if _closed_by_window(prescription):
        return _window_ended(prescription)
    if prescription.status == PrescriptionStatus.COMPLETED:
        return _course_complete(prescription)
    if prescription.status == PrescriptionStatus.AWAITING_DISPENSING:
        # A dose past the syringes dispensed (here none yet) is NO_SYRINGE_LEFT (docs/api.md).
        return Conflict(ConflictCode.NO_SYRINGE_LEFT, _("No syringe has been dispensed yet."))
    try:
        workflow.require_status(prescription, workflow.ADMINISTER)
    except Conflict as exc:
        return exc
    return None


def _day_refusal(prescription: Prescription, day: date) -> Conflict | None:
    """Why the course takes no dose on ``day`` (Rome): its window, its doses and syringes, the day's dose."""
    if prescription.first_dose_on is not None and day > window_last_day(prescription):
        return _window_ended(prescription)
    if prescription.doses_administered >= course_regimen(prescription).doses:
        return _course_complete(prescription)
    if prescription.doses_administered >= prescription.syringes_dispensed:
        return Conflict(
            ConflictCode.NO_SYRINGE_LEFT,
            _("No syringe left: %(n)d dispensed, %(n)d given.") % {"n": prescription.syringes_dispensed},
        )
    live = prescription.administrations.filter(entered_in_error_at__isnull=True)
    if live.filter(administered_on=day).exists():
        return Conflict(
            ConflictCode.DOSE_ALREADY_GIVEN_TODAY,
            _("A dose is already recorded on %(day)s (one a day).") % {"day": long_date(day)},
        )
    return None


def administration_refusal(prescription: Prescription, *, day: date) -> Conflict | None:
    """Why no dose can be recorded for the course on ``day`` (None: one can), as ``administration_record`` would
    refuse it: the round's confirmation page asks before offering the dose; recording asks again, the course
    locked."""
    return _state_refusal(prescription) or _day_refusal(prescription, day)


@transaction.atomic
def administration_record(
    *, user, prescription: Prescription, administered_at: datetime, dose_mg: Decimal, route: str
) -> Administration:
    """One dose a Rome calendar day; never more doses than syringes; the last dose completes the course.

    A dose other than the regimen's (100 mg SC), or on a day off the schedule of a course every 48 h, is kept
    and flagged as a protocol deviation."""
    prescription = _lock(prescription)
    now = timezone.now()
    ensure_may(user, prescription, workflow.ADMINISTER, today=rome_date(now))
    if (refusal := _state_refusal(prescription)) is not None:
        raise refusal
    if administered_at > now + CLOCK_TOLERANCE:
        raise InvalidInput({"administered_at": _("A dose cannot be recorded in the future.")})
    if administered_at < prescription.prescribed_at:
        raise InvalidInput({"administered_at": _("A dose cannot come before the prescription.")})
    day = rome_date(administered_at)
    ensure_prescription_period_open(prescription, day)
    if (refusal := _day_refusal(prescription, day)) is not None:
        raise refusal
    if prescription.first_dose_on and day < prescription.first_dose_on:
        # A forgotten dose may be filled in later, but day 1 stays the first recorded dose's day.
        raise InvalidInput(
            {
                "administered_at": _("The course started on %(day)s: a dose cannot be recorded before it.")
                % {"day": long_date(prescription.first_dose_on)}
            }
        )
    first_dose_on = prescription.first_dose_on or day
    off_schedule = (day - first_dose_on).days % course_regimen(prescription).interval_days != 0
    deviation = off_schedule or is_protocol_deviation(prescription, dose_mg=dose_mg, route=route)
    administration = Administration.objects.create(
        prescription=prescription,
        administered_at=administered_at,
        administered_on=day,
        course_day=(day - first_dose_on).days + 1,
        dose_mg=dose_mg,
        route=route,
        protocol_deviation=deviation,
        recorded_by=user,
        recorded_at=now,
    )
    before = events.snapshot(prescription, ("status", "doses_administered"))
    prescription.doses_administered += 1
    prescription.first_dose_on = first_dose_on
    prescription.last_dose_on = max(day, prescription.last_dose_on or day)
    prescription.status = workflow.status_after_dose(
        prescription.doses_administered, doses_in_course=course_regimen(prescription).doses
    )
    prescription.save(update_fields=["doses_administered", "first_dose_on", "last_dose_on", "status"])
    events.dose_recorded(user, prescription, administration, before=before)
    return administration


def course_windows_close(*, today: date | None = None) -> list[Prescription]:
    """Close as ``completed`` every running course whose window's last day (day 10) is before ``today``, whatever
    doses were missed; audited as done by the system. Idempotent: a closed course is no longer running. Each
    course in its own short transaction, under its row lock, so no dose being recorded is lost or overtaken."""
    today = today or rome_today()
    closed = []
    for prescription_id in Prescription.objects.filter(windows_ended_before(today)).values_list("pk", flat=True):
        with transaction.atomic():
            prescription = _lock(Prescription(pk=prescription_id))
            if prescription.status != PrescriptionStatus.IN_COURSE or window_last_day(prescription) >= today:
                continue  # a dose or a stop came first
            before = events.snapshot(prescription, ("status",))
            prescription.status = PrescriptionStatus.COMPLETED
            prescription.save(update_fields=["status"])
            events.course_window_closed(prescription, before=before, window_last_day=window_last_day(prescription))
            closed.append(prescription)
    return closed


@transaction.atomic
def prescription_stop(
    *, prescriber, prescription: Prescription, reason: str, note: str = "", stopped_at: datetime | None = None
) -> Prescription:
    """End the course early: ``stopped`` after a dose, ``cancelled`` before any."""
    prescription = _lock(prescription)
    now = timezone.now()
    ensure_may(prescriber, prescription, workflow.STOP, today=rome_date(now))
    workflow.require_status(prescription, workflow.STOP)
    if reason not in StopReason.values:
        raise InvalidInput({"reason": _("Unknown stop reason.")})
    stopped_at = stopped_at or now
    if stopped_at > now + CLOCK_TOLERANCE:
        raise InvalidInput({"stopped_at": _("A stop cannot be dated in the future.")})
    last_dose = prescription.administrations.filter(entered_in_error_at__isnull=True).order_by("-administered_at")
    last_dose = last_dose.values_list("administered_at", flat=True).first()
    if last_dose is not None and stopped_at < last_dose:
        raise InvalidInput({"stopped_at": _("A stop cannot come before the last dose.")})
    if stopped_at < prescription.prescribed_at:
        raise InvalidInput({"stopped_at": _("A stop cannot come before the prescription.")})
    ensure_prescription_period_open(prescription, rome_date(stopped_at))
    hold_end(prescriber, prescription, by="stop")  # a request stopped while on hold waits no more
    before = events.snapshot(prescription, ("status",))
    prescription.status = workflow.status_after_stop(prescription.doses_administered)
    prescription.stop_reason = reason
    prescription.stop_note = note
    prescription.stopped_at = stopped_at
    prescription.stopped_by = prescriber
    prescription.save(update_fields=["status", "stop_reason", "stop_note", "stopped_at", "stopped_by"])
    events.prescription_stopped(prescriber, prescription, before=before)
    return prescription
