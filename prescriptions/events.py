"""The audit events of the prescription workflow: one small builder per action.

Each builder records one event with ``registry.audit.audit_record`` (so it must run inside the service's
transaction, after the write it describes) and decides what its ``changes`` hold; services never build a change
set by hand. What is stored is hashed into the trail: a builder's keys and values never change for an action
that already has events.
"""

from registry.audit import audit_record, diff
from registry.audit_actions import AuditAction

from .models import BASELINE_FIELDS

# The counters of a course, as a correction's event reports those it changed.
COURSE_COUNTERS = ("status", "doses_administered", "syringes_dispensed")


def snapshot(obj, fields) -> dict:
    """The current values of ``fields`` of ``obj``, to compare after a write."""
    return {field: getattr(obj, field) for field in fields}


def _transition(before: dict, obj) -> dict:
    """``{field: [before, after]}`` for each field of ``before``, changed or not."""
    return {field: [value, getattr(obj, field)] for field, value in before.items()}


# --- Tocilizumab shortage -----------------------------------------------------------------


def shortage_recorded(actor, shortage):
    return audit_record(
        actor=actor,
        action=AuditAction.SHORTAGE_RECORD,
        obj=shortage,
        changes={
            "starts_on": shortage.starts_on,
            "ends_on": shortage.ends_on,
            "aifa_reference": shortage.aifa_reference,
        },
    )


def shortage_updated(actor, shortage, *, before: dict):
    return audit_record(
        actor=actor,
        action=AuditAction.SHORTAGE_UPDATE,
        obj=shortage,
        changes=diff(before, snapshot(shortage, before)),
    )


# --- The prescription -----------------------------------------------------------------------


def prescription_submitted(actor, prescription, *, failed_criteria, confirmed_not_il_jak=()):
    """``confirmed_not_il_jak``: medicines the prescriber confirmed as neither interleukin nor JAK inhibitors
    (recorded only when there are some), with the dose interval the course follows."""
    changes = {
        "status": prescription.status,
        "centre": prescription.centre_id,
        "patient": prescription.patient_id,
        "prescribed_at": prescription.prescribed_at,
        "criteria_version": prescription.criteria_version,
        "failed_criteria": list(failed_criteria),
        "consent_given_by": prescription.consent_given_by,
        "dose_interval_hours": prescription.dose_interval_hours,
        **_given(prescription, BASELINE_FIELDS),
    }
    if confirmed_not_il_jak:
        changes["confirmed_not_il_jak"] = list(confirmed_not_il_jak)
    # A submission inserts its prescription: its chain starts here.
    return audit_record(
        actor=actor, action=AuditAction.PRESCRIPTION_SUBMIT, obj=prescription, changes=changes, created=True
    )


def active_course_elsewhere(actor, patient, *, centre, active_prescription):
    """A submission refused (409) for a patient whose active course lies outside the prescriber's scope.

    Recorded on the patient's chain; the caller was told only that a course is active elsewhere.
    """
    return audit_record(
        actor=actor,
        action=AuditAction.PRESCRIPTION_ACTIVE_COURSE_ELSEWHERE,
        obj=patient,
        changes={"centre": centre.pk, "active_prescription": active_prescription.pk},
    )


def dispensed(actor, prescription, dispensation, *, before: dict):
    """``before``: the snapshot of ``status`` and ``syringes_dispensed`` taken before the dispensation."""
    return audit_record(
        actor=actor,
        action=AuditAction.PRESCRIPTION_DISPENSE,
        obj=prescription,
        changes={
            "dispensation": dispensation.pk,
            "syringes": dispensation.syringes,
            "lot_number": dispensation.lot_number,
            "expiry_date": dispensation.expiry_date,
            **_transition(before, prescription),
        },
    )


def dispensing_refused(actor, prescription, *, before: dict):
    """``reason``: the refusal's note (the older free text); ``category``: since the refusal has one (issue 18)."""
    return audit_record(
        actor=actor,
        action=AuditAction.PRESCRIPTION_REFUSE_DISPENSING,
        obj=prescription,
        changes={
            **_transition(before, prescription),
            "reason": prescription.dispensing_refusal_reason,
            "category": prescription.refusal_category,
        },
    )


HOLD_FIELDS = ("hold_reason", "hold_expected_on", "hold_note", "hold_since")


def held(actor, prescription, *, before: dict):
    """Put on hold (or the hold changed): ``before`` is the snapshot of ``HOLD_FIELDS``."""
    return audit_record(
        actor=actor,
        action=AuditAction.PRESCRIPTION_HOLD,
        obj=prescription,
        changes=_transition(before, prescription),
    )


def hold_released(actor, prescription, *, before: dict, by: str):
    """The hold ended: ``by`` ``"release"`` (the pharmacist released it), ``"dispensation"``, ``"refusal"`` or
    ``"stop"`` (the prescriber stopped the request)."""
    return audit_record(
        actor=actor,
        action=AuditAction.PRESCRIPTION_HOLD_RELEASE,
        obj=prescription,
        changes={**_transition(before, prescription), "by": by},
    )


def dose_recorded(actor, prescription, administration, *, before: dict):
    """``before``: the snapshot of ``status`` and ``doses_administered`` taken before the dose."""
    return audit_record(
        actor=actor,
        action=AuditAction.PRESCRIPTION_ADMINISTER,
        obj=prescription,
        changes={
            "administration": administration.pk,
            "administered_at": administration.administered_at,
            "dose_mg": str(administration.dose_mg),
            "route": administration.route,
            "protocol_deviation": administration.protocol_deviation,
            **_transition(before, prescription),
        },
    )


def prescription_stopped(actor, prescription, *, before: dict):
    return audit_record(
        actor=actor,
        action=AuditAction.PRESCRIPTION_STOP,
        obj=prescription,
        changes={
            **_transition(before, prescription),
            "reason": prescription.stop_reason,
            "note": prescription.stop_note,
            "stopped_at": prescription.stopped_at,
        },
    )


def course_window_closed(prescription, *, before: dict, window_last_day):
    """Recorded with no actor: the system closed the course when its window ended."""
    return audit_record(
        actor=None,
        action=AuditAction.PRESCRIPTION_WINDOW_CLOSE,
        obj=prescription,
        changes={
            **_transition(before, prescription),
            "window_last_day": window_last_day,
            "doses_administered": prescription.doses_administered,
            "by": "system",
        },
    )


# --- Safety and outcomes ---------------------------------------------------------------------


def _given(obj, fields) -> dict:
    """The optional fields of ``obj`` that were given: an event recorded without them keeps its older shape."""
    return {field: getattr(obj, field) for field in fields if getattr(obj, field) not in (None, "")}


AE_DETAILS = (
    "meddra_preferred_term",
    "meddra_code",
    "meddra_version",
    "causality",
    "outcome",
    "pharmacovigilance_report_number",
    "pharmacovigilance_report_date",
)
OUTCOME_DETAILS = ("icu_admission", "severe_respiratory_failure", "death_on", "death_cause")


def adverse_event_recorded(actor, prescription, event):
    return audit_record(
        actor=actor,
        action=AuditAction.PRESCRIPTION_ADVERSE_EVENT,
        obj=prescription,
        changes={
            "adverse_event": event.pk,
            "category": event.category,
            "serious": event.serious,
            "onset_date": event.onset_date,
            "reported_to_pharmacovigilance": event.reported_to_pharmacovigilance,
            **_given(event, AE_DETAILS),
        },
    )


def lab_result_recorded(actor, prescription, result):
    uln = result.upper_limit_normal
    return audit_record(
        actor=actor,
        action=AuditAction.PRESCRIPTION_LAB_RESULT,
        obj=prescription,
        changes={
            "lab_result": result.pk,
            "test": result.test,
            "value": str(result.value),
            "upper_limit_normal": str(uln) if uln is not None else None,
            "collected_at": result.collected_at,
        },
    )


def outcome_recorded(actor, prescription, outcome):
    return audit_record(
        actor=actor,
        action=AuditAction.PRESCRIPTION_OUTCOME,
        obj=prescription,
        changes={
            "outcome": outcome.pk,
            "day": outcome.day,
            "who_cps": outcome.who_cps,
            "assessed_on": outcome.assessed_on,
            **_given(outcome, OUTCOME_DETAILS),
        },
    )


def concomitant_medication_recorded(actor, prescription, record):
    return audit_record(
        actor=actor,
        action=AuditAction.PRESCRIPTION_CONCOMITANT_MEDICATION,
        obj=prescription,
        changes={
            "concomitant_medication": record.pk,
            "name": record.name,
            "atc_code": record.atc_code,
            "started_on": record.started_on,
            "dose": record.dose,
            "drug_classes": list(record.drug_classes),
            "substances": list(record.substances),
            "il_jak_inhibitor": record.il_jak_inhibitor,
            "confirmed_not_il_jak": record.confirmed_not_il_jak,
        },
    )


# --- Corrections -------------------------------------------------------------------------------


def entered_in_error(actor, prescription, *, kind: str, record, counters_before: dict | None = None):
    """A record marked as entered in error; ``counters_before``: the course's counters before a recount."""
    changes = {kind: record.pk, "reason": record.entered_in_error_reason}
    if counters_before is not None:
        changes.update(diff(counters_before, snapshot(prescription, counters_before)))
    return audit_record(actor=actor, action=AuditAction.entered_in_error(kind), obj=prescription, changes=changes)
