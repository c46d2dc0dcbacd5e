"""STUB of the patient's identity interface (issue 16), owned by the identity work: replaced at the merge.

Answers from what the registry holds today: the pseudonym's first 12 characters, the birth date and the sex.
No identity is stored yet, so ``identity_for`` always answers None (unknown).
"""

from dataclasses import dataclass

from django.utils import formats

from .models import Role
from .permissions import actor_for, centre_scope


@dataclass(frozen=True)
class PatientIdentity:
    fiscal_code: str | None
    family_name: str | None
    given_name: str | None
    ward: str | None
    bed: str | None
    admission_number: str | None


def may_see_identity(user, prescription) -> bool:
    """The prescribers, pharmacists and nurses of the treating centre."""
    if actor_for(user).role not in (Role.PRESCRIBER, Role.PHARMACIST, Role.NURSE):
        return False
    return centre_scope(user).filter(pk=prescription.centre_id).exists()


def identity_for(*, user, prescription) -> PatientIdentity | None:
    """None: the user may not see the identity, or it is unknown (always, until the identity is stored)."""
    return None


def patient_label(*, user, prescription) -> str:
    """One line naming the patient: pseudonym, birth date (the year only for whoever may not see the identity), sex."""
    patient = prescription.patient
    if may_see_identity(user, prescription):
        born = formats.date_format(patient.birth_date, "SHORT_DATE_FORMAT")
    else:
        born = str(patient.birth_date.year)
    return f"{patient.pseudonym[:12]}, {born}, {patient.sex}"
