"""Writes of the prescription workflow: submission, dispensing, the course, safety, outcomes, corrections.

Every function here is a service: it opens the transaction, locks the prescription row (``select_for_update``;
always patient first, then prescription), checks the state (``prescriptions.course.workflow``) and the actor's right to
act at that centre (``prescriptions.permissions``), writes, and records the audit event in the same transaction
(``prescriptions.events``). Views, forms and tasks call these and nothing else.
"""

from ..permissions import ensure_may, may
from ._common import _lock, prescription_for
from .comedication import comedication_classify, concomitant_medication_record
from .corrections import administration_take_back, administration_to_take_back, record_mark_entered_in_error
from .course import administration_record, administration_refusal, course_windows_close, prescription_stop
from .dispensing import dispensation_record, dispensing_hold, dispensing_hold_release, dispensing_refuse
from .safety import adverse_event_record, lab_result_record, outcome_record
from .shortages import shortage_record, shortage_update
from .submission import (
    ActiveCourseElsewhere,
    ActiveCourseHere,
    BlockerCode,
    Consent,
    PatientData,
    Submission,
    SubmissionBlocker,
    active_course_conflict,
    active_course_elsewhere_record,
    check_prescribed_at,
    eligibility_check_answer,
    evaluate_assessment,
    plain_json,
    prescription_submit,
    prescription_submit_request,
    prescription_submit_validated,
    submission_blockers,
)

__all__ = [
    "ActiveCourseElsewhere",
    "ActiveCourseHere",
    "BlockerCode",
    "Consent",
    "PatientData",
    "Submission",
    "SubmissionBlocker",
    "active_course_conflict",
    "_lock",
    "administration_record",
    "administration_refusal",
    "administration_take_back",
    "administration_to_take_back",
    "active_course_elsewhere_record",
    "adverse_event_record",
    "check_prescribed_at",
    "comedication_classify",
    "concomitant_medication_record",
    "course_windows_close",
    "dispensation_record",
    "dispensing_hold",
    "dispensing_hold_release",
    "dispensing_refuse",
    "eligibility_check_answer",
    "ensure_may",
    "evaluate_assessment",
    "lab_result_record",
    "may",
    "outcome_record",
    "plain_json",
    "prescription_for",
    "prescription_stop",
    "prescription_submit",
    "prescription_submit_validated",
    "record_mark_entered_in_error",
    "shortage_record",
    "shortage_update",
    "prescription_submit_request",
    "submission_blockers",
]
