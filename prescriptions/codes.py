"""Stable codes the API returns in 409 bodies and the tests assert (docs/api.md)."""

from enum import StrEnum


class ConflictCode(StrEnum):
    ACTIVE_COURSE = "ACTIVE_COURSE"
    OVER_QUANTITY = "OVER_QUANTITY"
    NO_SYRINGE_LEFT = "NO_SYRINGE_LEFT"
    DOSE_ALREADY_GIVEN_TODAY = "DOSE_ALREADY_GIVEN_TODAY"
    COURSE_COMPLETE = "COURSE_COMPLETE"
    # A dose dated after the last day of the course's window (day 10): a missed dose is not made up.
    COURSE_WINDOW_ENDED = "COURSE_WINDOW_ENDED"
    WRONG_STATUS = "WRONG_STATUS"
    NO_DOSE_GIVEN = "NO_DOSE_GIVEN"
    OUTCOME_ALREADY_RECORDED = "OUTCOME_ALREADY_RECORDED"
    SYRINGES_ALREADY_USED = "SYRINGES_ALREADY_USED"
    # Taking a dose back from the round: only who recorded it, within minutes (else: entered in error, with a
    # reason, from the prescription page).
    TAKE_BACK_REFUSED = "TAKE_BACK_REFUSED"
    # The one-click dose of the round, for a course with a blocking alert: open the prescription instead.
    BLOCKING_ALERT = "BLOCKING_ALERT"
    BASELINE_ANC_REQUIRED = "BASELINE_ANC_REQUIRED"
    # A write dated inside a quarter the region approved and signed for AIFA (reopened: accepted again).
    PERIOD_LOCKED = "PERIOD_LOCKED"
    # Marking an adverse event reported again with another report number or date than the one recorded.
    ALREADY_REPORTED = "ALREADY_REPORTED"


class AlertCode(StrEnum):
    MISSED_DOSE = "MISSED_DOSE"
    NEUTROPENIA = "NEUTROPENIA"
    HEPATIC = "HEPATIC"
    PROTOCOL_DEVIATION = "PROTOCOL_DEVIATION"
    OUTCOME_OVERDUE = "OUTCOME_OVERDUE"
    # A medicine started during the course is an interleukin or JAK inhibitor: not allowed under L.648.
    COMEDICATION_IL_JAK = "COMEDICATION_IL_JAK"
    # A medicine started during the course that the catalogue does not recognise, and nobody confirmed.
    COMEDICATION_UNRECOGNISED = "COMEDICATION_UNRECOGNISED"
    # A serious infection recorded during the course (Kineret SmPC 4.4: stop anakinra).
    SERIOUS_INFECTION = "SERIOUS_INFECTION"


class BaselineWarning(StrEnum):
    """Shown with the baseline, never criteria: the engine does not judge them."""

    ILLNESS_DAY_OUTSIDE_HYPERINFLAMMATORY_PHASE = "ILLNESS_DAY_OUTSIDE_HYPERINFLAMMATORY_PHASE"
    ACTIVE_SERIOUS_INFECTION = "ACTIVE_SERIOUS_INFECTION"


# Alerts that ask for the course to stop (or the cause to go) before anything else is done: the round offers no
# one-click dose for such a course, only the way to its page.
BLOCKING_ALERTS = frozenset(
    {AlertCode.NEUTROPENIA, AlertCode.HEPATIC, AlertCode.SERIOUS_INFECTION, AlertCode.COMEDICATION_IL_JAK}
)
