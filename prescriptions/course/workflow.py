"""The prescription's workflow, in one table: what each status allows and where each step leads.

The selectors read it to offer actions (``ACTIONS_BY_STATUS``), the services to refuse the rest
(``require_status``: 409 ``WRONG_STATUS``) and to move the status on (``status_after_*``).
"""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from registry.errors import Conflict

from ..codes import ConflictCode
from ..models import ACTIVE_STATUSES, Prescription, PrescriptionStatus
from .regimen import course_regimen

# A prescription may be registered late, dated up to this many days back (the prescriber's authorisation
# and the centre's designation are judged on the prescription's date).
LATE_REGISTRATION_DAYS = 30

# The follow-up: the WHO-CPS is recorded at these days of the course (day 1: the first dose's Rome day);
# the last one is due for every course that had a dose (SAVE-MORE's primary endpoint at day 28).
OUTCOME_DAYS = (14, 28)
FINAL_OUTCOME_DAY = OUTCOME_DAYS[-1]
# Whoever recorded a dose on the round may take it back (it becomes entered in error) for this long after.
TAKE_BACK_MINUTES = 10

# The WHO Clinical Progression Scale runs from 0 (uninfected) to 10 (dead).
WHO_CPS_MIN, WHO_CPS_MAX = 0, 10

DISPENSE = "dispense"
REFUSE = "refuse"
# The pharmacy keeps a waiting request on hold (drug out of stock or awaited), and releases it.
HOLD = "hold"
RELEASE_HOLD = "release_hold"
ADMINISTER = "administer"
STOP = "stop"
ADVERSE_EVENT = "adverse_event"
LAB_RESULT = "lab_result"
OUTCOME = "outcome"
COMEDICATION = "concomitant_medication"

# Which actions each status allows (the page offers them, the services enforce them).
ACTIONS_BY_STATUS: dict[PrescriptionStatus, tuple[str, ...]] = {
    PrescriptionStatus.REJECTED: (),
    PrescriptionStatus.AWAITING_DISPENSING: (
        DISPENSE,
        HOLD,
        RELEASE_HOLD,
        REFUSE,
        STOP,
        ADVERSE_EVENT,
        LAB_RESULT,
        COMEDICATION,
    ),
    PrescriptionStatus.DISPENSED: (DISPENSE, ADMINISTER, STOP, ADVERSE_EVENT, LAB_RESULT, COMEDICATION),
    PrescriptionStatus.IN_COURSE: (DISPENSE, ADMINISTER, STOP, ADVERSE_EVENT, LAB_RESULT, OUTCOME, COMEDICATION),
    # Once ended, a medicine started during the course may still be recorded late (dated within it).
    PrescriptionStatus.COMPLETED: (ADVERSE_EVENT, LAB_RESULT, OUTCOME, COMEDICATION),
    PrescriptionStatus.STOPPED: (ADVERSE_EVENT, LAB_RESULT, OUTCOME, COMEDICATION),
    PrescriptionStatus.CANCELLED: (ADVERSE_EVENT, LAB_RESULT),
}

# What the refusal says the prescription cannot be ("… cannot be dispensed.").
_REFUSED_AS = {
    DISPENSE: _("dispensed"),
    REFUSE: _("refused"),
    HOLD: _("put on hold"),
    RELEASE_HOLD: _("released from hold"),
    ADMINISTER: _("administered"),
    STOP: _("stopped"),
    ADVERSE_EVENT: _("given an adverse event"),
    LAB_RESULT: _("given a lab result"),
    OUTCOME: _("given an outcome"),
    COMEDICATION: _("given a concomitant medication"),
}

# Doses and dispensations are corrected (and the course recounted) only while the course has not ended early.
COUNTS_FROZEN = (PrescriptionStatus.STOPPED, PrescriptionStatus.CANCELLED)


def max_syringes(prescription: Prescription) -> int:
    """At most one syringe per dose of the course (its regimen's doses: prescriptions.course.regimen)."""
    return course_regimen(prescription).doses


def is_scheduled_day(prescription: Prescription, day) -> bool:
    """Whether ``day`` is a dosing day of the course (day 1 is the first dose's day; every other day at 48 h)."""
    if prescription.first_dose_on is None:
        return True
    return (day - prescription.first_dose_on).days % course_regimen(prescription).interval_days == 0


def statuses_allowing(action: str) -> tuple[PrescriptionStatus, ...]:
    return tuple(status for status, actions in ACTIONS_BY_STATUS.items() if action in actions)


def actions_open(prescription: Prescription) -> tuple[str, ...]:
    """The actions the prescription's state allows (whoever asks); nothing left to dispense once the course's
    syringes are out."""
    actions = ACTIONS_BY_STATUS[PrescriptionStatus(prescription.status)]
    if prescription.syringes_dispensed >= max_syringes(prescription):
        actions = tuple(action for action in actions if action != DISPENSE)
    if prescription.hold_since is None:
        actions = tuple(action for action in actions if action != RELEASE_HOLD)
    return actions


def _wrong_status(prescription: Prescription, refused_as) -> Conflict:
    return Conflict(
        ConflictCode.WRONG_STATUS,
        gettext("A prescription in status '%(status)s' cannot be %(action)s.")
        % {"status": prescription.get_status_display(), "action": refused_as},
    )


def require_status(prescription: Prescription, action: str) -> None:
    """409 ``WRONG_STATUS`` unless the prescription's status allows ``action``."""
    if prescription.status not in statuses_allowing(action):
        raise _wrong_status(prescription, _REFUSED_AS.get(action, action))


def require_counts_correctable(prescription: Prescription) -> None:
    """Doses and dispensations of a course that ended early stay as they were (409 ``WRONG_STATUS``)."""
    if prescription.status in COUNTS_FROZEN:
        raise _wrong_status(prescription, _("corrected after it ended"))


def status_after_dispense(status: str) -> str:
    return PrescriptionStatus.DISPENSED if status == PrescriptionStatus.AWAITING_DISPENSING else status


def status_after_dose(doses_administered: int, *, doses_in_course: int) -> str:
    """The dose that makes the course's doses (its regimen's: prescriptions.course.regimen) completes the course."""
    return PrescriptionStatus.COMPLETED if doses_administered >= doses_in_course else PrescriptionStatus.IN_COURSE


def status_after_stop(doses_administered: int) -> str:
    """``stopped`` after a dose, ``cancelled`` before any."""
    return PrescriptionStatus.STOPPED if doses_administered > 0 else PrescriptionStatus.CANCELLED


STATUS_AFTER_REFUSAL = PrescriptionStatus.CANCELLED


def status_after_recount(status: str, *, doses_administered: int, syringes_dispensed: int, doses_in_course: int) -> str:
    """The status of a course recounted after a correction; a rejected, stopped or cancelled one keeps its own."""
    if status not in ACTIVE_STATUSES and status != PrescriptionStatus.COMPLETED:
        return status
    if doses_administered >= doses_in_course:
        return PrescriptionStatus.COMPLETED
    if doses_administered > 0:
        return PrescriptionStatus.IN_COURSE
    if syringes_dispensed > 0:
        return PrescriptionStatus.DISPENSED
    return PrescriptionStatus.AWAITING_DISPENSING
