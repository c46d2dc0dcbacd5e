"""Who the patient is, for whom may know it (DOMAIN.md, "The patient's identity").

The staff of the treating centre (its prescribers, nurses, and the pharmacists of the pharmacy serving it) read the
fiscal code and the identifying data, decrypted here (``registry.patient_crypto``); everybody else sees the
pseudonym's first 12 characters, the birth year and the sex. A regional officer of the region reads the identity
only through :func:`patient_identity_reveal`, with a reason, audited. Every display is written to the read-access
log: pages and API responses call :func:`identity_displayed`, and ``PatientIdentityDisplayLogMiddleware`` writes
what one response showed in one insert.

This module takes a prescription by duck typing (``centre_id``, ``centre``, ``patient``): the registry does not
import the prescriptions app.
"""

import logging
import re
from dataclasses import asdict, dataclass
from datetime import date

from django.db import DatabaseError, transaction
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from . import events
from .access_log import Read, access_log_record, access_log_write
from .calendar import rome_today
from .errors import InvalidInput
from .models import AccessKind, Patient, Role
from .patient_crypto import (
    UndecryptableIdentity,
    admission_number_index,
    current_key_id,
    decrypt_identity,
    encrypt_identity,
    family_name_index,
)
from .permissions import PermissionDenied, actor_for
from .pseudonym import InvalidFiscalCode, pseudonymise, validate_fiscal_code

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PatientIdentity:
    fiscal_code: str | None
    family_name: str | None
    given_name: str | None
    ward: str | None
    bed: str | None
    admission_number: str | None


IDENTITY_FIELDS = ("fiscal_code", "family_name", "given_name", "ward", "bed", "admission_number")
# The identifying data a submission or the page's form may give, besides the fiscal code.
IDENTIFYING_FIELDS = ("family_name", "given_name", "ward", "bed", "admission_number")

# --- Who may see it ---------------------------------------------------------------------------------

_CENTRES_ATTR = "_patient_identity_centre_ids"


def _staff_centre_ids(user) -> frozenset:
    """The centres whose patients ``user`` treats (prescribers: authorised there today; nurses: their centre;
    pharmacists: the centres their pharmacy serves). Asked once per user object, so a list costs one query."""
    cached = getattr(user, _CENTRES_ATTR, None)
    if cached is not None:
        return cached
    from .models import Centre

    actor = actor_for(user)
    match actor.role:
        case Role.NURSE:
            centres = frozenset({actor.centre_id}) if actor.centre_id else frozenset()
        case Role.PRESCRIBER:
            centres = frozenset(actor.prescribing.centre_ids(rome_today()))
        case Role.PHARMACIST:
            centres = frozenset(Centre.objects.filter(pharmacy_id=actor.pharmacy_id).values_list("pk", flat=True))
        case _:
            centres = frozenset()
    if user is not None and user.is_authenticated:
        setattr(user, _CENTRES_ATTR, centres)
    return centres


def may_see_identity(user, prescription) -> bool:
    """The prescriber, pharmacist or nurse of the treating centre (administrators and officers: no; AIFA: never)."""
    if user is None or not user.is_authenticated or actor_for(user).is_admin:
        return False
    return prescription.centre_id in _staff_centre_ids(user)


def searches_by_identity(user) -> bool:
    """The centres' staff find their patients by family name and admission number too (nobody else may probe
    whether a name is among the registry's patients)."""
    return actor_for(user).role in (Role.PRESCRIBER, Role.NURSE, Role.PHARMACIST)


def may_reveal_identity(user, prescription) -> bool:
    """A regional officer of the prescription's region, by an audited reveal."""
    actor = actor_for(user)
    return actor.role == Role.REGIONAL_OFFICER and prescription.centre.region_id == actor.region_id


# --- Reading it -------------------------------------------------------------------------------------

_DECRYPTED_ATTR = "_decrypted_identity"
# Ward, bed and admission number belong to one admission, at one centre: stored with the centre's id, and shown
# only with that centre's prescriptions (never another hospital's ward to this one, nor this one's to another).
ADMISSION_FIELDS = ("ward", "bed", "admission_number")
_CENTRE_KEY = "centre"


def _stored_values(patient: Patient) -> dict | None:
    """The decrypted values (the identity's fields and the admission's centre), once per patient object."""
    if not patient.identity_ciphertext:
        return None
    cached = patient.__dict__.get(_DECRYPTED_ATTR)
    if cached is not None and cached[0] == patient.identity_ciphertext:
        return cached[1]
    try:
        values = decrypt_identity(patient.identity_ciphertext, patient_id=patient.pk)
    except UndecryptableIdentity:
        # The row is not shown, and the log says which patient (never what): a key was dropped too early.
        logger.error("patient %s: identity cannot be decrypted with the configured keys", patient.pk)
        return None
    patient.__dict__[_DECRYPTED_ATTR] = (patient.identity_ciphertext, values)
    return values


def stored_identity(patient: Patient, *, centre_id=None) -> PatientIdentity | None:
    """The patient's identity as stored (None: not recorded yet). With ``centre_id``, the ward, bed and admission
    number only if they were recorded at that centre.

    No permission check: callers are :func:`identity_for`, the reveal and the services.
    """
    values = _stored_values(patient)
    if values is None:
        return None
    shown = {field: values.get(field) or None for field in IDENTITY_FIELDS}
    if centre_id is not None and values.get(_CENTRE_KEY) != str(centre_id):
        shown.update(dict.fromkeys(ADMISSION_FIELDS))
    return PatientIdentity(**shown)


def identity_for(*, user, prescription) -> PatientIdentity | None:
    """The identity for the staff of the treating centre; None when ``user`` may not see it, or it is unknown."""
    if not may_see_identity(user, prescription):
        return None
    return stored_identity(prescription.patient, centre_id=prescription.centre_id)


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def display_name(identity: PatientIdentity) -> str:
    """ "ROSSI Mario": the family name in capitals, as on a wristband."""
    return " ".join(part for part in ((identity.family_name or "").upper(), identity.given_name or "") if part)


def place(identity: PatientIdentity) -> str:
    """ "Medicina 2 letto 12", or whichever of ward and bed is known."""
    parts = []
    if identity.ward:
        parts.append(identity.ward)
    if identity.bed:
        parts.append(_("bed %(bed)s") % {"bed": identity.bed})
    return " ".join(parts)


def patient_label(*, user, prescription) -> str:
    """One line a nurse reads aloud: "ROSSI Mario, 01/05/1960 (64 anni), M, Medicina 2 letto 12".

    Whoever may not see the identity reads the pseudonym's first 12 characters, the birth year and the sex.
    """
    patient = prescription.patient
    if not may_see_identity(user, prescription):
        return f"{patient.pseudonym[:12]}, {patient.birth_date.year}, {patient.sex}"
    born = _("%(date)s (%(age)d years)") % {
        "date": date_format(patient.birth_date, "SHORT_DATE_FORMAT"),
        "age": age_on(patient.birth_date, rome_today()),
    }
    identity = stored_identity(patient, centre_id=prescription.centre_id)
    if identity is None or not identity.family_name:
        return f"{patient.pseudonym[:12]}, {born}, {patient.sex} · {_('identity not recorded')}"
    parts = [display_name(identity), born, patient.sex]
    if where := place(identity):
        parts.append(where)
    return ", ".join(parts)


def identity_as_dict(patient: Patient, identity: PatientIdentity | None) -> dict:
    """The full ``patient`` object of the API (API.md, "Identity in responses")."""
    values = asdict(identity) if identity is not None else dict.fromkeys(IDENTITY_FIELDS)
    return {
        "id": str(patient.pk),
        "pseudonym": patient.pseudonym,
        "birth_date": patient.birth_date.isoformat(),
        "sex": patient.sex,
        "identity_recorded": identity is not None,
        **values,
    }


# --- The read-access log of displays ----------------------------------------------------------------

_DISPLAYED_ATTR = "_patient_identity_displayed"


def identity_displayed(request, prescription) -> None:
    """Note that this response shows ``prescription``'s patient's identity: logged once per response."""
    if request is None:
        return
    request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    shown = request.__dict__.setdefault(_DISPLAYED_ATTR, {})
    if prescription.pk not in shown:
        centre = prescription.centre if type(prescription).centre.is_cached(prescription) else None
        shown[prescription.pk] = (centre.region_id if centre is not None else None, prescription._meta.label_lower)


def identity_displays_log(request) -> None:
    """Write the displays of one response to the read-access log, chained, in one insert."""
    shown = request.__dict__.pop(_DISPLAYED_ATTR, None)
    if not shown:
        return
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return  # identities are shown only to signed-in staff: nothing else can have been noted
    try:
        access_log_write(
            user=user,
            reads=(
                Read(
                    kind=AccessKind.PATIENT_IDENTITY,
                    object_type=object_type,
                    object_id=str(prescription_id),
                    region_id=region_id,
                )
                for prescription_id, (region_id, object_type) in shown.items()
            ),
        )
    except DatabaseError:
        logger.exception("the read-access log of %d identity displays could not be written", len(shown))


# --- Validation ---------------------------------------------------------------------------------------

# Letters of any alphabet, with the spaces, apostrophes, hyphens and dots of names ("D'Amico", "De Luca").
# One alternative per character, so the match is linear.
_NAME = re.compile(r"[^\W\d_](?:[^\W\d_]|[ '’.\-])*")
_WARD = re.compile(r"\w(?:\w|[ '’.\-/])*")
_BED = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|[ \-/])*")
_ADMISSION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|[\-/])*")

FIELD_RULES = {
    "family_name": (100, _NAME),
    "given_name": (100, _NAME),
    "ward": (60, _WARD),
    "bed": (10, _BED),
    "admission_number": (20, _ADMISSION),
}


def field_error(field: str, value: str) -> str | None:
    """What is wrong with an identifying field's value (its length or its characters), or None."""
    length, pattern = FIELD_RULES[field]
    if len(value) > length:
        return _("At most %(n)d characters.") % {"n": length}
    if not pattern.fullmatch(value):
        if field in ("family_name", "given_name"):
            return _("Letters, spaces, apostrophes, hyphens and dots only.")
        if field == "ward":
            return _("Letters, digits, spaces and - / . ' only.")
        if field == "bed":
            return _("Letters, digits, spaces, - and / only.")
        return _("Letters, digits, - and / only.")
    return None


def clean_fields(values: dict) -> dict:
    """The identifying fields given, trimmed (inner runs of spaces as one); InvalidInput naming each bad one."""
    cleaned, errors = {}, {}
    for field in IDENTIFYING_FIELDS:
        value = " ".join(str(values.get(field) or "").split())
        if not value:
            continue
        if (error := field_error(field, value)) is not None:
            errors[field] = error
        cleaned[field] = value
    if errors:
        raise InvalidInput(errors)
    return cleaned


# --- Writing it (services) -----------------------------------------------------------------------------


@sensitive_variables("fiscal_code", "values", "current", "merged")
def identity_apply(*, patient: Patient, centre_id, fiscal_code: str, values: dict, replace: bool = False) -> list[str]:
    """Set on ``patient`` (not saved) the identity given with a submission or by the form of centre ``centre_id``:
    the fiscal code (already validated against this patient) and whichever identifying fields ``values`` holds,
    over what was stored. Returns the names of the fields that changed (none: nothing was set).

    Ward, bed and admission number are the admission's at ``centre_id``: recorded at another centre, the stored
    ones are dropped, not carried over. ``replace``: the optional fields ``values`` leaves empty are cleared too
    (the page's form shows them all).
    """
    current = _stored_values(patient) or {}
    merged = {field: current.get(field) or None for field in IDENTITY_FIELDS}
    merged["fiscal_code"] = fiscal_code
    given = clean_fields(values)
    if replace or current.get(_CENTRE_KEY) != str(centre_id):
        merged.update(dict.fromkeys(ADMISSION_FIELDS))
    merged.update(given)
    merged[_CENTRE_KEY] = str(centre_id)
    changed = sorted(
        field for field in (*IDENTITY_FIELDS, _CENTRE_KEY) if (current.get(field) or None) != merged[field]
    )
    if changed:
        patient.identity_ciphertext = encrypt_identity(
            {field: value for field, value in merged.items() if value}, patient_id=patient.pk
        )
        patient.family_name_index = family_name_index(merged["family_name"] or "")
        patient.admission_number_index = admission_number_index(merged["admission_number"] or "")
    return changed


IDENTITY_COLUMNS = ["identity_ciphertext", "family_name_index", "admission_number_index"]


@sensitive_variables("fiscal_code", "values")
def patient_identity_store(
    *, actor, patient: Patient, centre_id, fiscal_code: str, values: dict, replace: bool = False
) -> bool:
    """Record the identity (:func:`identity_apply`) on a stored patient.

    Inside the caller's transaction, the patient row locked. Audited with the names of the fields that changed,
    never their values. Returns whether anything changed.
    """
    first = not _stored_values(patient)
    changed = identity_apply(
        patient=patient, centre_id=centre_id, fiscal_code=fiscal_code, values=values, replace=replace
    )
    if not changed:
        return False
    patient.save(update_fields=IDENTITY_COLUMNS)
    events.patient_identity_recorded(actor, patient, fields=changed, first=first)
    return True


@sensitive_variables("fiscal_code", "values", "normalised")
def patient_identity_record(
    *,
    actor,
    prescription,
    fiscal_code: str,
    family_name: str,
    given_name: str,
    ward: str = "",
    bed: str = "",
    admission_number: str = "",
) -> Patient:
    """The centre's staff record (or correct) the identity of a prescription's patient, e.g. one registered before
    the identity was kept. The fiscal code must be this patient's (its pseudonym matches); names are required."""
    if not may_see_identity(actor, prescription):
        raise PermissionDenied(_("Only the staff of the treating centre may record the patient's identity."))
    errors = {}
    for field, value in (("family_name", family_name), ("given_name", given_name)):
        if not (value or "").strip():
            errors[field] = _("This field is required.")
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=prescription.patient_id)
        try:
            normalised = validate_fiscal_code(fiscal_code or "", birth_date=patient.birth_date, sex=patient.sex)
        except InvalidFiscalCode as exc:
            errors["fiscal_code"] = str(exc)
        else:
            if pseudonymise(normalised) != patient.pseudonym:
                errors["fiscal_code"] = _("This fiscal code is not this patient's.")
        values = {
            "family_name": family_name,
            "given_name": given_name,
            "ward": ward,
            "bed": bed,
            "admission_number": admission_number,
        }
        try:
            clean_fields(values)
        except InvalidInput as exc:
            errors.update({field: messages[0] for field, messages in exc.errors.items()})
        if errors:
            raise InvalidInput(errors)
        # The form shows every field: an optional one left empty clears what was stored (a new ward, a discharge).
        patient_identity_store(
            actor=actor,
            patient=patient,
            centre_id=prescription.centre_id,
            fiscal_code=normalised,
            values=values,
            replace=True,
        )
    prescription.patient = patient
    return patient


def patient_identity_reveal(*, user, prescription, reason: str) -> dict:
    """A regional officer of the region reads the identity, giving a reason: audited (the reason, never the
    identity) and written to the read-access log. Returns the full ``patient`` object."""
    if not may_reveal_identity(user, prescription):
        raise PermissionDenied(_("Only a regional officer of the region may reveal the patient's identity."))
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput({"reason": _("Say why you need to see the patient's identity.")})
    if len(reason) > 500:
        raise InvalidInput({"reason": _("At most %(n)d characters.") % {"n": 500}})
    patient = prescription.patient
    with transaction.atomic():
        events.patient_identity_revealed(user, patient, prescription=prescription, reason=reason)
        access_log_record(user=user, obj=prescription, kind=AccessKind.PATIENT_IDENTITY_REVEAL)
    return identity_as_dict(patient, stored_identity(patient, centre_id=prescription.centre_id))


__all__ = [
    "IDENTITY_FIELDS",
    "PatientIdentity",
    "identity_as_dict",
    "identity_displayed",
    "identity_for",
    "may_reveal_identity",
    "may_see_identity",
    "patient_identity_record",
    "patient_identity_reveal",
    "patient_identity_store",
    "patient_label",
    "stored_identity",
]


# --- Key rotation ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationResult:
    rotated: int
    undecryptable: list  # ids of the patients no configured key decrypts (never their data)


def patient_keys_rotate(*, batch_size: int = 500) -> RotationResult:
    """Re-encrypt every identity not yet under the first key of ``PATIENT_DATA_KEYS``, ``batch_size`` rows per
    short transaction: the other rows stay untouched and readable (every key of the list decrypts), so the registry
    keeps running. Rows are locked batch by batch, so a concurrent record of an identity is never overwritten by
    a stale copy. Run again after an interruption: it continues where it stopped."""
    current = current_key_id()
    pending = Patient.objects.exclude(identity_ciphertext="").exclude(identity_ciphertext__startswith=f"v1:{current}:")
    rotated, undecryptable, last_id = 0, [], None
    while True:
        with transaction.atomic():
            batch_query = pending.order_by("pk")
            if last_id is not None:
                batch_query = batch_query.filter(pk__gt=last_id)
            batch = list(batch_query.select_for_update().only("pk", "identity_ciphertext")[:batch_size])
            if not batch:
                break
            changed = []
            for patient in batch:
                try:
                    values = decrypt_identity(patient.identity_ciphertext, patient_id=patient.pk)
                except UndecryptableIdentity:
                    undecryptable.append(patient.pk)
                    continue
                patient.identity_ciphertext = encrypt_identity(values, patient_id=patient.pk)
                changed.append(patient)
            Patient.objects.bulk_update(changed, ["identity_ciphertext"])
            rotated += len(changed)
            last_id = batch[-1].pk
    return RotationResult(rotated=rotated, undecryptable=undecryptable)
