"""The audit events of the organisation domain: one small builder per action.

Each builder records one event with :func:`registry.audit.audit_record` (so it runs inside the service's
transaction, after the write it describes) and decides what its ``changes`` hold; ``registry.services`` never
builds a change set by hand. What is stored is hashed into the trail: a builder's keys and values never change
for an action that already has events.
"""

from .audit import audit_record, diff
from .audit_actions import AuditAction
from .models import Role


def snapshot(obj, fields) -> dict:
    """The current values of ``fields`` of ``obj``, to compare after a write."""
    return {field: getattr(obj, field) for field in fields}


def _updated(actor, action: AuditAction, obj, before: dict):
    """``{field: [before, after]}`` for each field of ``before`` whose value the write changed."""
    return audit_record(actor=actor, action=action, obj=obj, changes=diff(before, snapshot(obj, before)))


# --- Pharmacies and centres ------------------------------------------------------------------


def pharmacy_created(actor, pharmacy):
    return audit_record(
        actor=actor,
        action=AuditAction.PHARMACY_CREATE,
        obj=pharmacy,
        changes={"region": pharmacy.region_id, "name": pharmacy.name},
    )


def pharmacy_updated(actor, pharmacy, *, before: dict):
    return _updated(actor, AuditAction.PHARMACY_UPDATE, pharmacy, before)


def centre_created(actor, centre):
    return audit_record(
        actor=actor,
        action=AuditAction.CENTRE_CREATE,
        obj=centre,
        changes={"region": centre.region_id, "name": centre.name, "pharmacy": centre.pharmacy_id},
    )


def centre_updated(actor, centre, *, before: dict):
    return _updated(actor, AuditAction.CENTRE_UPDATE, centre, before)


# --- Designations and authorisations -----------------------------------------------------------


def designation_created(actor, designation):
    return audit_record(
        actor=actor,
        action=AuditAction.DESIGNATION_CREATE,
        obj=designation,
        changes={
            "centre": designation.centre_id,
            "valid_from": designation.valid_from,
            "valid_to": designation.valid_to,
            "act_reference": designation.act_reference,
        },
    )


def designation_ended(actor, designation, *, before: dict):
    return _updated(actor, AuditAction.DESIGNATION_END, designation, before)


def authorisation_granted(actor, authorisation):
    return audit_record(
        actor=actor,
        action=AuditAction.AUTHORISATION_GRANT,
        obj=authorisation,
        changes={
            "prescriber": authorisation.prescriber_id,
            "centre": authorisation.centre_id,
            "valid_from": authorisation.valid_from,
            "valid_to": authorisation.valid_to,
        },
    )


def authorisation_ended(actor, authorisation, *, before: dict):
    return _updated(actor, AuditAction.AUTHORISATION_END, authorisation, before)


# --- Staff and patients ---------------------------------------------------------------------------


def staff_created(actor, user, profile):
    return audit_record(
        actor=actor,
        action=AuditAction.STAFF_CREATE,
        obj=user,
        changes={
            "username": user.get_username(),
            "role": profile.role,
            "centre": profile.centre_id,
            "pharmacy": profile.pharmacy_id,
            "region": profile.region_id,
        },
    )


def staff_invited(actor, user, *, expires_on):
    return audit_record(
        actor=actor, action=AuditAction.STAFF_INVITE, obj=user, changes={"invitation_expires_on": expires_on}
    )


def staff_invitation_accepted(user):
    return audit_record(actor=user, action=AuditAction.STAFF_INVITATION_ACCEPT, obj=user, changes={})


def staff_deactivated(actor, user):
    return audit_record(
        actor=actor, action=AuditAction.STAFF_DEACTIVATE, obj=user, changes={"is_active": [True, False]}
    )


def administrator_bootstrapped(user):
    """The first administrator of an installation: no one acts for it."""
    return audit_record(
        actor=None,
        action=AuditAction.STAFF_BOOTSTRAP,
        obj=user,
        changes={"username": user.get_username(), "role": Role.ADMINISTRATOR},
    )


def patient_created(actor, patient):
    """The first event of a patient inserted by this transaction."""
    return audit_record(
        actor=actor,
        action=AuditAction.PATIENT_CREATE,
        obj=patient,
        changes={"birth_date": patient.birth_date, "sex": patient.sex},
        created=True,
    )


def patient_identity_recorded(actor, patient, *, fields: list[str], first: bool, after=None):
    """Which identity fields were recorded (names only, never their values: DOMAIN.md). ``after``: the patient's
    event this transaction has just recorded, if any (``audit_record``)."""
    return audit_record(
        actor=actor,
        action=AuditAction.PATIENT_IDENTITY_RECORD,
        obj=patient,
        changes={"fields": sorted(fields), "first_time": first},
        after=after,
    )


def patient_identity_revealed(actor, patient, *, prescription, reason: str):
    """A regional officer read the identity: why, and through which prescription (the identity is not stored)."""
    return audit_record(
        actor=actor,
        action=AuditAction.PATIENT_IDENTITY_REVEAL,
        obj=patient,
        changes={"prescription": str(prescription.pk), "reason": reason},
    )
