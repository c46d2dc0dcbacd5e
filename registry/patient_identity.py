"""The patient's identity as the staff of the treating centre see it (STUB of the shared interface).

This stub answers from what the registry keeps today (the pseudonym, the birth date and the sex); the identity
engineer's version, with the encrypted identifying data, replaces it at the merge.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class PatientIdentity:
    fiscal_code: str | None
    family_name: str | None
    given_name: str | None
    ward: str | None
    bed: str | None
    admission_number: str | None


def may_see_identity(user, prescription) -> bool:
    """Staff (prescriber, pharmacist, nurse) of the treating centre. The stub keeps no identity to show."""
    return False


def identity_for(*, user, prescription) -> PatientIdentity | None:
    """None when the user may not see it, or it is unknown (always unknown in this stub)."""
    return None


def patient_label(*, user, prescription) -> str:
    """One line read aloud at the bedside; without the identity: the pseudonym's first 12 characters, birth year,
    sex."""
    patient = prescription.patient
    return f"{patient.pseudonym[:12]}, {patient.birth_date.year}, {patient.sex}"
