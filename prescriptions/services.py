"""Writes of the prescription workflow: submission, dispensing, the course, safety, outcomes.

Every function here is a service: it opens the transaction, locks the prescription
row (``select_for_update``; always patient first, then prescription), checks the
state and the actor's right to act at that centre, writes, and records the audit
event in the same transaction. Views, forms and tasks call these and nothing else.
"""

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.audit import audit_record, diff
from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import Centre, Patient, Role
from registry.permissions import PermissionDenied, actor_for, ensure_may_prescribe_at, ensure_role
from registry.services import check_period, patient_get_or_create

from . import eligibility
from .codes import ConflictCode
from .eligibility_serializers import to_assessment
from .models import (
    ACTIVE_STATUSES,
    COURSE_DOSES,
    MAX_SYRINGES,
    STANDARD_DOSE_MG,
    STANDARD_ROUTE,
    Administration,
    AdverseEvent,
    CriterionOutcome,
    Dispensation,
    LabResult,
    Outcome,
    Prescription,
    PrescriptionStatus,
    StopReason,
    TocilizumabShortage,
)
from .selectors import prescription_for_action, shortage_periods
from .workflow import LATE_REGISTRATION_DAYS

# --- Tocilizumab shortage (national role) ------------------------------------------


@transaction.atomic
def shortage_record(*, actor, starts_on: date, ends_on: date | None = None, aifa_reference: str) -> TocilizumabShortage:
    """The national role records a tocilizumab shortage period (Determina AIFA 114586/2021)."""
    ensure_role(actor, Role.NATIONAL, Role.ADMINISTRATOR)
    check_period(starts_on, ends_on, end_field="ends_on")
    shortage = TocilizumabShortage.objects.create(starts_on=starts_on, ends_on=ends_on, aifa_reference=aifa_reference)
    audit_record(
        actor=actor,
        action="shortage.record",
        obj=shortage,
        changes={"starts_on": starts_on, "ends_on": ends_on, "aifa_reference": aifa_reference},
    )
    return shortage


@transaction.atomic
def shortage_update(
    *, actor, shortage: TocilizumabShortage, starts_on: date, ends_on: date | None, aifa_reference: str
) -> TocilizumabShortage:
    ensure_role(actor, Role.NATIONAL, Role.ADMINISTRATOR)
    check_period(starts_on, ends_on, end_field="ends_on")
    shortage = TocilizumabShortage.objects.select_for_update().get(pk=shortage.pk)
    fields = ["starts_on", "ends_on", "aifa_reference"]
    before = {field: getattr(shortage, field) for field in fields}
    after = {"starts_on": starts_on, "ends_on": ends_on, "aifa_reference": aifa_reference}
    for field, value in after.items():
        setattr(shortage, field, value)
    shortage.save(update_fields=fields)
    audit_record(actor=actor, action="shortage.update", obj=shortage, changes=diff(before, after))
    return shortage


# --- Prescriptions ---------------------------------------------------------------------

def rome_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _lock(prescription: Prescription) -> Prescription:
    # OF self: the joined centre row stays unlocked, so one patient's dose does not queue the centre's others.
    return Prescription.objects.select_for_update(of=("self",)).select_related("centre").get(pk=prescription.pk)


def _require_status(prescription: Prescription, allowed, action: str) -> None:
    if prescription.status not in allowed:
        raise Conflict(
            ConflictCode.WRONG_STATUS,
            _("A prescription in status '%(status)s' cannot be %(action)s.")
            % {"status": prescription.get_status_display(), "action": action},
        )


def _ensure_clinician_of_centre(user, centre: Centre, *, roles: tuple[str, ...], today: date) -> None:
    """Nurses of the centre, or prescribers authorised there today (DOMAIN.md, "Who does what")."""
    actor = actor_for(user)
    if actor.is_admin:
        return
    if actor.role not in roles:
        allowed = ", ".join(str(Role(r).label) for r in roles)
        raise PermissionDenied(_("Only these roles may do this: %(roles)s.") % {"roles": allowed})
    if actor.role == Role.NURSE:
        if actor.centre_id != centre.pk:
            raise PermissionDenied(_("You work at another centre."))
        return
    ensure_may_prescribe_at(user, centre, today)


ACTION_ROLES = {
    "dispense": (Role.PHARMACIST,),
    "refuse": (Role.PHARMACIST,),
    "administer": (Role.NURSE, Role.PRESCRIBER),
    "stop": (Role.PRESCRIBER,),
    "adverse_event": (Role.NURSE, Role.PRESCRIBER),
    "lab_result": (Role.NURSE, Role.PRESCRIBER),
    "outcome": (Role.PRESCRIBER,),
}


def ensure_may(user, prescription: Prescription, action: str) -> None:
    """Whether ``user`` may take ``action`` on this prescription today (before reading the request body).

    The service checks again under the row lock; this lets the API answer 403 before 400.
    """
    if action in ("dispense", "refuse"):
        _ensure_pharmacist_of(user, prescription)
    else:
        _ensure_clinician_of_centre(
            user, prescription.centre, roles=ACTION_ROLES[action], today=rome_date(timezone.now())
        )


def may(user, prescription: Prescription, action: str) -> bool:
    try:
        ensure_may(user, prescription, action)
    except PermissionDenied:
        return False
    return True


# --- Submission ---------------------------------------------------------------------


def evaluate_assessment(assessment: eligibility.Assessment) -> eligibility.Verdict:
    """The one path from an assessment to a verdict, for the dry run and the submission alike."""
    try:
        criteria = eligibility.criteria_in_force(assessment.assessed_at)
    except eligibility.NoCriteriaInForce as exc:
        raise InvalidInput({"assessed_at": str(exc)}) from None
    return eligibility.evaluate(assessment, criteria=criteria, shortages=shortage_periods())


def check_prescribed_at(prescribed_at: datetime, *, now: datetime) -> None:
    if prescribed_at > now:
        raise InvalidInput({"prescribed_at": _("A prescription cannot be dated in the future.")})
    if prescribed_at < now - timedelta(days=LATE_REGISTRATION_DAYS):
        raise InvalidInput(
            {
                "prescribed_at": _("A late registration may go back at most %(days)d days.")
                % {"days": LATE_REGISTRATION_DAYS}
            }
        )


def prescription_submit(
    *,
    prescriber,
    centre: Centre,
    patient_data: dict,
    assessment: eligibility.Assessment,
    assessment_record: dict,
    consent_given_by: str,
    consent_date: date,
    prescribed_at: datetime | None = None,
) -> Prescription:
    """Register a request: the engine decides, refused requests are kept as ``rejected``.

    ``assessment_record`` is the assessment as received (JSON), kept with the verdict.
    """
    now = timezone.now()
    prescribed_at = prescribed_at or now
    check_prescribed_at(prescribed_at, now=now)
    if consent_date > rome_date(now):
        raise InvalidInput({"consent_date": _("The consent cannot be dated in the future.")})
    ensure_may_prescribe_at(prescriber, centre, rome_date(prescribed_at))
    verdict = evaluate_assessment(assessment)

    try:
        with transaction.atomic():
            try:
                patient = patient_get_or_create(
                    actor=prescriber,
                    fiscal_code=patient_data["fiscal_code"],
                    birth_date=patient_data["birth_date"],
                    sex=patient_data["sex"],
                )
            except InvalidInput as exc:
                raise _under_patient(exc) from None
            # Submissions for one patient queue here, so only one can find no active course.
            Patient.objects.select_for_update().get(pk=patient.pk)
            if verdict.eligible:
                _ensure_no_active_course(patient)
            prescription = Prescription.objects.create(
                patient=patient,
                centre=centre,
                prescriber=prescriber,
                status=PrescriptionStatus.AWAITING_DISPENSING if verdict.eligible else PrescriptionStatus.REJECTED,
                prescribed_at=prescribed_at,
                registered_at=now,
                criteria_version=verdict.criteria_version,
                eligible=verdict.eligible,
                eligibility=verdict.as_dict(),
                assessment=assessment_record,
                pao2_fio2_ratio=verdict.pao2_fio2_ratio.quantize(Decimal("0.01")),
                weight_kg=patient_data.get("weight_kg"),
                consent_given_by=consent_given_by,
                consent_date=consent_date,
            )
            CriterionOutcome.objects.bulk_create(
                CriterionOutcome(prescription=prescription, code=result.code, outcome=result.outcome)
                for result in verdict.results
            )
            audit_record(
                actor=prescriber,
                action="prescription.submit",
                obj=prescription,
                changes={
                    "status": prescription.status,
                    "centre": centre.pk,
                    "patient": patient.pk,
                    "prescribed_at": prescribed_at,
                    "criteria_version": verdict.criteria_version,
                    "failed_criteria": list(verdict.failed_codes),
                    "consent_given_by": consent_given_by,
                },
            )
    except IntegrityError as exc:
        # The conditional unique constraint caught a race the lock did not (belt and braces).
        if "one_active_course_per_patient" in str(exc):
            raise Conflict(ConflictCode.ACTIVE_COURSE, _("This patient already has an active course.")) from None
        raise
    return prescription


def _under_patient(exc: InvalidInput) -> InvalidInput:
    """The patient's errors nested under ``patient``, where the submission's body has them (API: 400).

    ``InvalidInput`` flattens its values to lists, so the nested shape is set after construction.
    """
    nested = InvalidInput({})
    nested.errors = {"patient": exc.errors}
    nested.args = (str(nested.errors),)
    return nested


class _PlainJSONEncoder(DjangoJSONEncoder):
    """Decimals as JSON numbers, as the API renders them; UUIDs and dates as strings."""

    def default(self, o):
        if isinstance(o, Decimal):
            return float(o)
        return super().default(o)


def plain_json(data):
    """Plain JSON, as stored for the assessment record and for idempotent replays."""
    return json.loads(json.dumps(data, cls=_PlainJSONEncoder))


def prescription_submit_validated(*, prescriber, centre: Centre, data: dict) -> Prescription:
    """A submission validated by ``PrescriptionSubmitSerializer``, from the API or the page alike.

    The assessment defaults to ``prescribed_at`` and the consent to its day; only the validated
    assessment is kept as the record (unknown keys a client sends are never stored).
    """
    prescribed_at = data["prescribed_at"] or timezone.now()
    patient = data["patient"]
    assessment = to_assessment(data["assessment"], default_assessed_at=prescribed_at, patient=patient)
    return prescription_submit(
        prescriber=prescriber,
        centre=centre,
        patient_data=patient,
        assessment=assessment,
        assessment_record=plain_json({**data["assessment"], "assessed_at": assessment.assessed_at}),
        consent_given_by=data["consent_given_by"],
        consent_date=data["consent_date"] or rome_date(prescribed_at),
        prescribed_at=data["prescribed_at"],
    )


def _ensure_no_active_course(patient: Patient) -> None:
    active = Prescription.objects.filter(patient=patient, status__in=ACTIVE_STATUSES).first()
    if active is not None:
        raise Conflict(
            ConflictCode.ACTIVE_COURSE,
            _("This patient already has an active course (prescription %(id)s, %(status)s).")
            % {"id": active.pk, "status": active.get_status_display()},
        )


# --- Dispensing -------------------------------------------------------------------------


def _ensure_pharmacist_of(user, prescription: Prescription) -> None:
    actor = ensure_role(user, Role.PHARMACIST, Role.ADMINISTRATOR)
    if not actor.is_admin and prescription.centre.pharmacy_id != actor.pharmacy_id:
        raise PermissionDenied(_("Your pharmacy does not serve this centre."))


@transaction.atomic
def dispensation_record(
    *, pharmacist, prescription: Prescription, syringes: int, lot_number: str, expiry_date: date
) -> Dispensation:
    """Hand out syringes against the prescription: at most 10 in all (lock: no two pharmacists exceed it)."""
    prescription = _lock(prescription)
    _ensure_pharmacist_of(pharmacist, prescription)
    _require_status(
        prescription,
        (PrescriptionStatus.AWAITING_DISPENSING, PrescriptionStatus.DISPENSED, PrescriptionStatus.IN_COURSE),
        _("dispensed"),
    )
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
    before = {"status": prescription.status, "syringes_dispensed": prescription.syringes_dispensed}
    prescription.syringes_dispensed += syringes
    if prescription.status == PrescriptionStatus.AWAITING_DISPENSING:
        prescription.status = PrescriptionStatus.DISPENSED
    prescription.save(update_fields=["syringes_dispensed", "status"])
    audit_record(
        actor=pharmacist,
        action="prescription.dispense",
        obj=prescription,
        changes={
            "dispensation": dispensation.pk,
            "syringes": syringes,
            "lot_number": lot_number,
            "expiry_date": expiry_date,
            "status": [before["status"], prescription.status],
            "syringes_dispensed": [before["syringes_dispensed"], prescription.syringes_dispensed],
        },
    )
    return dispensation


@transaction.atomic
def dispensing_refuse(*, pharmacist, prescription: Prescription, reason: str) -> Prescription:
    """The pharmacist refuses to dispense, with a reason: the request ends as cancelled."""
    prescription = _lock(prescription)
    _ensure_pharmacist_of(pharmacist, prescription)
    _require_status(prescription, (PrescriptionStatus.AWAITING_DISPENSING,), _("refused"))
    if not reason.strip():
        raise InvalidInput({"reason": _("Say why the prescription is refused.")})
    prescription.status = PrescriptionStatus.CANCELLED
    prescription.dispensing_refusal_reason = reason
    prescription.stop_reason = StopReason.OTHER
    prescription.stop_note = reason
    prescription.stopped_at = timezone.now()
    prescription.stopped_by = pharmacist
    prescription.save(
        update_fields=[
            "status",
            "dispensing_refusal_reason",
            "stop_reason",
            "stop_note",
            "stopped_at",
            "stopped_by",
        ]
    )
    audit_record(
        actor=pharmacist,
        action="prescription.refuse_dispensing",
        obj=prescription,
        changes={"status": [PrescriptionStatus.AWAITING_DISPENSING, prescription.status], "reason": reason},
    )
    return prescription


# --- The course -------------------------------------------------------------------------


@transaction.atomic
def administration_record(
    *, user, prescription: Prescription, administered_at: datetime, dose_mg: Decimal, route: str
) -> Administration:
    """One dose a Rome calendar day; never more doses than syringes; the 10th completes the course."""
    prescription = _lock(prescription)
    now = timezone.now()
    _ensure_clinician_of_centre(user, prescription.centre, roles=(Role.NURSE, Role.PRESCRIBER), today=rome_date(now))
    if prescription.status == PrescriptionStatus.COMPLETED:
        raise Conflict(ConflictCode.COURSE_COMPLETE, _("The course is complete: all 10 doses are recorded."))
    if prescription.status == PrescriptionStatus.AWAITING_DISPENSING:
        # API.md: a dose past the syringes dispensed (here none yet) is NO_SYRINGE_LEFT.
        raise Conflict(ConflictCode.NO_SYRINGE_LEFT, _("No syringe has been dispensed yet."))
    _require_status(prescription, (PrescriptionStatus.DISPENSED, PrescriptionStatus.IN_COURSE), _("administered"))
    if administered_at > now + timedelta(minutes=5):
        raise InvalidInput({"administered_at": _("A dose cannot be recorded in the future.")})
    if administered_at < prescription.prescribed_at:
        raise InvalidInput({"administered_at": _("A dose cannot come before the prescription.")})
    day = rome_date(administered_at)
    if prescription.doses_administered >= COURSE_DOSES:
        raise Conflict(ConflictCode.COURSE_COMPLETE, _("The course is complete: all 10 doses are recorded."))
    if prescription.doses_administered >= prescription.syringes_dispensed:
        raise Conflict(
            ConflictCode.NO_SYRINGE_LEFT,
            _("No syringe left: %(n)d dispensed, %(n)d given.") % {"n": prescription.syringes_dispensed},
        )
    live = prescription.administrations.filter(entered_in_error_at__isnull=True)
    if live.filter(administered_on=day).exists():
        raise Conflict(
            ConflictCode.DOSE_ALREADY_GIVEN_TODAY,
            _("A dose is already recorded on %(day)s (one a day).") % {"day": day.isoformat()},
        )
    if prescription.first_dose_on and day < prescription.first_dose_on:
        # A forgotten dose may be filled in later, but day 1 stays the first recorded dose's day.
        raise InvalidInput(
            {
                "administered_at": _("The course started on %(day)s: a dose cannot be recorded before it.")
                % {"day": prescription.first_dose_on.isoformat()}
            }
        )
    first_dose_on = prescription.first_dose_on or day
    deviation = Decimal(dose_mg) != STANDARD_DOSE_MG or route != STANDARD_ROUTE
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
    before = {"status": prescription.status, "doses_administered": prescription.doses_administered}
    prescription.doses_administered += 1
    prescription.first_dose_on = first_dose_on
    prescription.last_dose_on = max(day, prescription.last_dose_on or day)
    prescription.status = (
        PrescriptionStatus.COMPLETED
        if prescription.doses_administered == COURSE_DOSES
        else PrescriptionStatus.IN_COURSE
    )
    prescription.save(update_fields=["doses_administered", "first_dose_on", "last_dose_on", "status"])
    audit_record(
        actor=user,
        action="prescription.administer",
        obj=prescription,
        changes={
            "administration": administration.pk,
            "administered_at": administered_at,
            "dose_mg": str(dose_mg),
            "route": route,
            "protocol_deviation": deviation,
            "status": [before["status"], prescription.status],
            "doses_administered": [before["doses_administered"], prescription.doses_administered],
        },
    )
    return administration


@transaction.atomic
def prescription_stop(
    *, prescriber, prescription: Prescription, reason: str, note: str = "", stopped_at: datetime | None = None
) -> Prescription:
    """End the course early: ``stopped`` after a dose, ``cancelled`` before any."""
    prescription = _lock(prescription)
    now = timezone.now()
    _ensure_clinician_of_centre(prescriber, prescription.centre, roles=(Role.PRESCRIBER,), today=rome_date(now))
    _require_status(prescription, ACTIVE_STATUSES, _("stopped"))
    if reason not in StopReason.values:
        raise InvalidInput({"reason": _("Unknown stop reason.")})
    stopped_at = stopped_at or now
    if stopped_at > now + timedelta(minutes=5):
        raise InvalidInput({"stopped_at": _("A stop cannot be dated in the future.")})
    last_dose = prescription.administrations.filter(entered_in_error_at__isnull=True).order_by("-administered_at")
    last_dose = last_dose.values_list("administered_at", flat=True).first()
    if last_dose is not None and stopped_at < last_dose:
        raise InvalidInput({"stopped_at": _("A stop cannot come before the last dose.")})
    if stopped_at < prescription.prescribed_at:
        raise InvalidInput({"stopped_at": _("A stop cannot come before the prescription.")})
    before = prescription.status
    prescription.status = (
        PrescriptionStatus.STOPPED if prescription.doses_administered > 0 else PrescriptionStatus.CANCELLED
    )
    prescription.stop_reason = reason
    prescription.stop_note = note
    prescription.stopped_at = stopped_at
    prescription.stopped_by = prescriber
    prescription.save(update_fields=["status", "stop_reason", "stop_note", "stopped_at", "stopped_by"])
    audit_record(
        actor=prescriber,
        action="prescription.stop",
        obj=prescription,
        changes={
            "status": [before, prescription.status],
            "reason": reason,
            "note": note,
            "stopped_at": stopped_at,
        },
    )
    return prescription


# --- Safety and outcomes -------------------------------------------------------------

RECORDABLE_AFTER_SUBMISSION = tuple(s for s in PrescriptionStatus if s != PrescriptionStatus.REJECTED)


@transaction.atomic
def adverse_event_record(
    *,
    user,
    prescription: Prescription,
    category: str,
    serious: bool,
    onset_date: date,
    description: str,
    reported_to_pharmacovigilance: bool,
) -> AdverseEvent:
    prescription = _lock(prescription)
    now = timezone.now()
    _ensure_clinician_of_centre(user, prescription.centre, roles=(Role.NURSE, Role.PRESCRIBER), today=rome_date(now))
    _require_status(prescription, RECORDABLE_AFTER_SUBMISSION, _("given an adverse event"))
    if onset_date > rome_date(now):
        raise InvalidInput({"onset_date": _("The onset cannot be in the future.")})
    if onset_date < rome_date(prescription.prescribed_at):
        raise InvalidInput({"onset_date": _("The onset cannot come before the prescription.")})
    event = AdverseEvent.objects.create(
        prescription=prescription,
        category=category,
        serious=serious,
        onset_date=onset_date,
        description=description,
        reported_to_pharmacovigilance=reported_to_pharmacovigilance,
        recorded_by=user,
        recorded_at=now,
    )
    audit_record(
        actor=user,
        action="prescription.adverse_event",
        obj=prescription,
        changes={
            "adverse_event": event.pk,
            "category": category,
            "serious": serious,
            "onset_date": onset_date,
            "reported_to_pharmacovigilance": reported_to_pharmacovigilance,
        },
    )
    return event


@transaction.atomic
def lab_result_record(
    *,
    user,
    prescription: Prescription,
    test: str,
    value: Decimal,
    upper_limit_normal: Decimal | None,
    collected_at: datetime,
) -> LabResult:
    prescription = _lock(prescription)
    now = timezone.now()
    _ensure_clinician_of_centre(user, prescription.centre, roles=(Role.NURSE, Role.PRESCRIBER), today=rome_date(now))
    _require_status(prescription, RECORDABLE_AFTER_SUBMISSION, _("given a lab result"))
    if collected_at > now + timedelta(minutes=5):
        raise InvalidInput({"collected_at": _("A sample cannot be collected in the future.")})
    if test == "anc" and upper_limit_normal is not None:
        raise InvalidInput({"upper_limit_normal": _("An ANC is judged on its value, not on a ULN.")})
    result = LabResult.objects.create(
        prescription=prescription,
        test=test,
        value=value,
        upper_limit_normal=upper_limit_normal,
        collected_at=collected_at,
        recorded_by=user,
        recorded_at=now,
    )
    audit_record(
        actor=user,
        action="prescription.lab_result",
        obj=prescription,
        changes={
            "lab_result": result.pk,
            "test": test,
            "value": str(value),
            "upper_limit_normal": str(upper_limit_normal) if upper_limit_normal is not None else None,
            "collected_at": collected_at,
        },
    )
    return result


@transaction.atomic
def outcome_record(*, prescriber, prescription: Prescription, day: int, who_cps: int, assessed_on: date) -> Outcome:
    """WHO-CPS at day 14 or 28; day 1 is the first dose's date; one per day."""
    prescription = _lock(prescription)
    now = timezone.now()
    _ensure_clinician_of_centre(prescriber, prescription.centre, roles=(Role.PRESCRIBER,), today=rome_date(now))
    if day not in (14, 28):
        raise InvalidInput({"day": _("The outcome is recorded at day 14 or day 28.")})
    if not 0 <= who_cps <= 10:
        raise InvalidInput({"who_cps": _("The WHO Clinical Progression Scale runs from 0 to 10.")})
    if prescription.first_dose_on is None:
        raise Conflict(ConflictCode.NO_DOSE_GIVEN, _("No dose was ever given: there is no course to follow up."))
    if assessed_on > rome_date(now):
        raise InvalidInput({"assessed_on": _("An outcome cannot be assessed in the future.")})
    due = prescription.first_dose_on + timedelta(days=day - 1)
    if assessed_on < due:
        raise InvalidInput(
            {
                "assessed_on": _("Day %(day)d of this course is %(due)s: the outcome cannot be assessed before.")
                % {"day": day, "due": due.isoformat()}
            }
        )
    if prescription.outcomes.filter(day=day, entered_in_error_at__isnull=True).exists():
        raise Conflict(
            ConflictCode.OUTCOME_ALREADY_RECORDED,
            _("The day-%(day)d outcome is already recorded.") % {"day": day},
        )
    outcome = Outcome.objects.create(
        prescription=prescription,
        day=day,
        who_cps=who_cps,
        assessed_on=assessed_on,
        recorded_by=prescriber,
        recorded_at=now,
    )
    audit_record(
        actor=prescriber,
        action="prescription.outcome",
        obj=prescription,
        changes={"outcome": outcome.pk, "day": day, "who_cps": who_cps, "assessed_on": assessed_on},
    )
    return outcome


# --- Corrections -----------------------------------------------------------------------

CORRECTABLE = {
    "lab_result": LabResult,
    "adverse_event": AdverseEvent,
    "outcome": Outcome,
    "administration": Administration,
    "dispensation": Dispensation,
}


def _ensure_may_correct(user, prescription: Prescription, kind: str, today: date) -> None:
    """Who records a kind of record corrects it: pharmacists their dispensations, prescribers outcomes."""
    if kind == "dispensation":
        _ensure_pharmacist_of(user, prescription)
        return
    roles = (Role.PRESCRIBER,) if kind == "outcome" else (Role.NURSE, Role.PRESCRIBER)
    _ensure_clinician_of_centre(user, prescription.centre, roles=roles, today=today)


def _recount_course(prescription: Prescription) -> dict:
    """Counters, course days and status from the records still standing (after a correction)."""
    before = {
        "status": prescription.status,
        "doses_administered": prescription.doses_administered,
        "syringes_dispensed": prescription.syringes_dispensed,
    }
    doses = list(prescription.administrations.filter(entered_in_error_at__isnull=True).order_by("administered_on"))
    prescription.syringes_dispensed = sum(
        prescription.dispensations.filter(entered_in_error_at__isnull=True).values_list("syringes", flat=True)
    )
    prescription.doses_administered = len(doses)
    prescription.first_dose_on = doses[0].administered_on if doses else None
    prescription.last_dose_on = doses[-1].administered_on if doses else None
    for dose in doses:
        # The day of the course is derived from day 1, which a corrected first dose moves.
        course_day = (dose.administered_on - prescription.first_dose_on).days + 1
        if dose.course_day != course_day:
            Administration.objects.filter(pk=dose.pk).update(course_day=course_day)
    if prescription.status in ACTIVE_STATUSES or prescription.status == PrescriptionStatus.COMPLETED:
        if prescription.doses_administered == COURSE_DOSES:
            prescription.status = PrescriptionStatus.COMPLETED
        elif prescription.doses_administered > 0:
            prescription.status = PrescriptionStatus.IN_COURSE
        elif prescription.syringes_dispensed > 0:
            prescription.status = PrescriptionStatus.DISPENSED
        else:
            prescription.status = PrescriptionStatus.AWAITING_DISPENSING
    prescription.save(
        update_fields=["syringes_dispensed", "doses_administered", "first_dose_on", "last_dose_on", "status"]
    )
    after = {
        "status": prescription.status,
        "doses_administered": prescription.doses_administered,
        "syringes_dispensed": prescription.syringes_dispensed,
    }
    return {key: [before[key], after[key]] for key in before if before[key] != after[key]}


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
    _ensure_may_correct(user, prescription, kind, rome_date(now))
    if not reason.strip():
        raise InvalidInput({"reason": _("Say why the record is in error.")})
    record = model.objects.filter(prescription=prescription, pk=record_id, entered_in_error_at__isnull=True).first()
    if record is None:
        raise NotFound()
    if kind in ("administration", "dispensation") and prescription.status in (
        PrescriptionStatus.STOPPED,
        PrescriptionStatus.CANCELLED,
    ):
        _require_status(prescription, (), _("corrected after it ended"))
    if kind == "dispensation" and prescription.syringes_dispensed - record.syringes < prescription.doses_administered:
        raise Conflict(
            ConflictCode.SYRINGES_ALREADY_USED,
            _("%(doses)d doses were given: the dispensation of %(syringes)d syringes cannot be withdrawn.")
            % {"doses": prescription.doses_administered, "syringes": record.syringes},
        )
    record.entered_in_error_at = now
    record.entered_in_error_reason = reason
    record.save(update_fields=["entered_in_error_at", "entered_in_error_reason"])
    changes = {kind: record.pk, "reason": reason}
    if kind in ("administration", "dispensation"):
        changes.update(_recount_course(prescription))
    audit_record(actor=user, action=f"prescription.{kind}_entered_in_error", obj=prescription, changes=changes)
    return record


def prescription_for(*, user, prescription_id) -> Prescription:
    """The prescription if ``user`` may see it, else NotFound (404: never say it exists)."""
    prescription = prescription_for_action(user=user, prescription_id=prescription_id)
    if prescription is None:
        raise NotFound()
    return prescription
