"""Who may do what on a prescription: one table of roles per action, read by every service and the pages.

- pharmacists of the pharmacy serving the centre dispense, put on hold and refuse to dispense;
- nurses of the centre, and prescribers authorised there on the day, record doses, adverse events and lab
  results and medicines started during the course; only prescribers stop a course and record its outcome;
- administrators may do everything;
- whoever records a kind of record corrects it (``CORRECTED_AS``).

Scoping reads (who sees what) are ``registry.permissions``; this module builds on it.
"""

from datetime import date

from django.utils.translation import gettext as _

from registry.calendar import rome_today
from registry.models import Centre, Role
from registry.permissions import (
    PermissionDenied,
    actor_for,
    ensure_may_prescribe_at,
    ensure_role,
    sees_centre,
    sees_patients,
)

from .course import workflow
from .models import Prescription

ACTION_ROLES: dict[str, tuple[Role, ...]] = {
    workflow.DISPENSE: (Role.PHARMACIST,),
    workflow.REFUSE: (Role.PHARMACIST,),
    workflow.HOLD: (Role.PHARMACIST,),
    workflow.RELEASE_HOLD: (Role.PHARMACIST,),
    workflow.ADMINISTER: (Role.NURSE, Role.PRESCRIBER),
    workflow.STOP: (Role.PRESCRIBER,),
    workflow.ADVERSE_EVENT: (Role.NURSE, Role.PRESCRIBER),
    workflow.LAB_RESULT: (Role.NURSE, Role.PRESCRIBER),
    workflow.OUTCOME: (Role.PRESCRIBER,),
    workflow.COMEDICATION: (Role.NURSE, Role.PRESCRIBER),
}

# Tocilizumab shortages (Determina AIFA 114586/2021) are recorded by the national role.
SHORTAGE_ROLES: tuple[Role, ...] = (Role.NATIONAL, Role.ADMINISTRATOR)

# A record marked as entered in error is corrected by whoever may record it: the action that records each kind.
CORRECTED_AS: dict[str, str] = {
    "lab_result": workflow.LAB_RESULT,
    "adverse_event": workflow.ADVERSE_EVENT,
    "outcome": workflow.OUTCOME,
    "administration": workflow.ADMINISTER,
    "dispensation": workflow.DISPENSE,
    "concomitant_medication": workflow.COMEDICATION,
}


def may_read(user, prescription: Prescription, *, today: date | None = None) -> bool:
    """Whether ``user`` may read ``prescription`` (its centre loaded): the predicate the selectors' scope
    (``selectors.prescriptions_visible_to``) filters by, for one row in hand, without a query."""
    return sees_patients(user) and sees_centre(user, prescription.centre, day=today)


def _ensure_clinician_of_centre(user, centre: Centre, *, roles: tuple[Role, ...], today: date) -> None:
    """Nurses of the centre, or prescribers authorised there (and the centre designated) ``today``."""
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


def _ensure_pharmacist_of(user, prescription: Prescription) -> None:
    """Pharmacists of the pharmacy that serves the prescription's centre."""
    actor = ensure_role(user, Role.PHARMACIST, Role.ADMINISTRATOR)
    if not actor.is_admin and prescription.centre.pharmacy_id != actor.pharmacy_id:
        raise PermissionDenied(_("Your pharmacy does not serve this centre."))


def ensure_may(user, prescription: Prescription, action: str, *, today: date | None = None) -> None:
    """PermissionDenied unless ``user`` may take ``action`` on this prescription on ``today`` (default: today).

    The API and the pages ask before reading the request body (403 before 400); the service asks again
    under the row lock.
    """
    roles = ACTION_ROLES[action]
    if Role.PHARMACIST in roles:
        _ensure_pharmacist_of(user, prescription)
    else:
        _ensure_clinician_of_centre(user, prescription.centre, roles=roles, today=today or rome_today())


def ensure_may_record_shortage(user) -> None:
    ensure_role(user, *SHORTAGE_ROLES)


def ensure_may_work_on(user, action: str) -> None:
    """For a work list (the dispensing queue, the doses due): a role that may take ``action`` somewhere."""
    ensure_role(user, *ACTION_ROLES[action], Role.ADMINISTRATOR)


def may(user, prescription: Prescription, action: str) -> bool:
    try:
        ensure_may(user, prescription, action)
    except PermissionDenied:
        return False
    return True


def ensure_may_correct(user, prescription: Prescription, kind: str, today: date) -> None:
    """Who records a kind of record corrects it: pharmacists their dispensations, prescribers outcomes."""
    ensure_may(user, prescription, CORRECTED_AS[kind], today=today)
