"""Writes of the organisation domain. Each one is atomic and leaves its audit event.

Views, the admin, management commands and tasks all call these functions; none of
them writes these models directly.
"""

from datetime import date

from celery import current_app
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from . import events
from .auth.invitations import invitation_expires_on
from .auth.tokens import tokens_revoke_all
from .errors import InvalidInput
from .models import (
    Centre,
    CentreDesignation,
    Patient,
    Pharmacy,
    PrescriberAuthorisation,
    Region,
    Role,
    StaffProfile,
)
from .patient_identity import identity_apply, patient_identity_store
from .permissions import PermissionDenied, actor_for, ensure_manages_region
from .pseudonym import InvalidFiscalCode, pseudonymise, validate_fiscal_code

User = get_user_model()


def check_period(start: date, end: date | None, *, end_field: str = "valid_to") -> None:
    """A period's last day (None: open-ended) cannot come before its first."""
    if end is not None and end < start:
        raise InvalidInput({end_field: _("The end of the period cannot come before its start.")})


# --- Pharmacies and centres ------------------------------------------------------


@transaction.atomic
def pharmacy_create(*, actor, region: Region, name: str) -> Pharmacy:
    ensure_manages_region(actor, region.pk)
    if Pharmacy.objects.filter(region=region, name=name).exists():
        raise InvalidInput({"name": _("This region already has a pharmacy with this name.")})
    pharmacy = Pharmacy.objects.create(region=region, name=name)
    events.pharmacy_created(actor, pharmacy)
    return pharmacy


@transaction.atomic
def pharmacy_update(*, actor, pharmacy: Pharmacy, name: str) -> Pharmacy:
    pharmacy = Pharmacy.objects.select_for_update().get(pk=pharmacy.pk)
    ensure_manages_region(actor, pharmacy.region_id)
    if Pharmacy.objects.filter(region_id=pharmacy.region_id, name=name).exclude(pk=pharmacy.pk).exists():
        raise InvalidInput({"name": _("This region already has a pharmacy with this name.")})
    before = events.snapshot(pharmacy, ["name"])
    pharmacy.name = name
    pharmacy.save(update_fields=["name"])
    events.pharmacy_updated(actor, pharmacy, before=before)
    return pharmacy


def _check_pharmacy_in_region(pharmacy: Pharmacy | None, region_id: str) -> None:
    if pharmacy is not None and pharmacy.region_id != region_id:
        raise InvalidInput({"pharmacy": _("The pharmacy must be in the centre's region.")})


@transaction.atomic
def centre_create(*, actor, region: Region, name: str, pharmacy: Pharmacy | None = None) -> Centre:
    ensure_manages_region(actor, region.pk)
    _check_pharmacy_in_region(pharmacy, region.pk)
    if Centre.objects.filter(region=region, name=name).exists():
        raise InvalidInput({"name": _("This region already has a centre with this name.")})
    centre = Centre.objects.create(region=region, name=name, pharmacy=pharmacy)
    events.centre_created(actor, centre)
    return centre


@transaction.atomic
def centre_update(*, actor, centre: Centre, name: str, pharmacy: Pharmacy | None) -> Centre:
    centre = Centre.objects.select_for_update().get(pk=centre.pk)
    ensure_manages_region(actor, centre.region_id)
    _check_pharmacy_in_region(pharmacy, centre.region_id)
    if Centre.objects.filter(region_id=centre.region_id, name=name).exclude(pk=centre.pk).exists():
        raise InvalidInput({"name": _("This region already has a centre with this name.")})
    before = events.snapshot(centre, ["name", "pharmacy_id"])
    centre.name = name
    centre.pharmacy = pharmacy
    centre.save(update_fields=["name", "pharmacy"])
    events.centre_updated(actor, centre, before=before)
    return centre


# --- Designations and authorisations ---------------------------------------------


@transaction.atomic
def centre_designate(
    *, actor, centre: Centre, valid_from: date, valid_to: date | None = None, act_reference: str = ""
) -> CentreDesignation:
    """The Region designates ``centre`` for the L.648 use over a period."""
    ensure_manages_region(actor, centre.region_id)
    check_period(valid_from, valid_to)
    # Lock the centre so two overlapping designations cannot be written side by side.
    Centre.objects.select_for_update().get(pk=centre.pk)
    designation = CentreDesignation.objects.create(
        centre=centre,
        valid_from=valid_from,
        valid_to=valid_to,
        act_reference=act_reference,
        designated_by=actor,
    )
    events.designation_created(actor, designation)
    return designation


@transaction.atomic
def designation_end(*, actor, designation: CentreDesignation, valid_to: date) -> CentreDesignation:
    designation = CentreDesignation.objects.select_for_update().select_related("centre").get(pk=designation.pk)
    ensure_manages_region(actor, designation.centre.region_id)
    check_period(designation.valid_from, valid_to)
    before = events.snapshot(designation, ["valid_to"])
    designation.valid_to = valid_to
    designation.save(update_fields=["valid_to"])
    events.designation_ended(actor, designation, before=before)
    return designation


@transaction.atomic
def prescriber_authorise(
    *, actor, prescriber, centre: Centre, valid_from: date, valid_to: date | None = None
) -> PrescriberAuthorisation:
    """A regional officer of the centre's region enables a prescriber there for a period."""
    ensure_manages_region(actor, centre.region_id)
    check_period(valid_from, valid_to)
    if actor_for(prescriber).role != Role.PRESCRIBER:
        raise InvalidInput({"prescriber": _("Only a user with the prescriber role can be authorised.")})
    authorisation = PrescriberAuthorisation.objects.create(
        prescriber=prescriber, centre=centre, valid_from=valid_from, valid_to=valid_to, granted_by=actor
    )
    events.authorisation_granted(actor, authorisation)
    # Queued by the task's registered name (registry.tasks only declares tasks; RegistryConfig.ready registers it).
    notice = current_app.signature("registry.tasks.send_authorisation_notice", args=[str(authorisation.pk)])
    transaction.on_commit(notice.delay)
    return authorisation


@transaction.atomic
def authorisation_end(*, actor, authorisation: PrescriberAuthorisation, valid_to: date) -> PrescriberAuthorisation:
    authorisation = (
        PrescriberAuthorisation.objects.select_for_update().select_related("centre").get(pk=authorisation.pk)
    )
    ensure_manages_region(actor, authorisation.centre.region_id)
    check_period(authorisation.valid_from, valid_to)
    before = events.snapshot(authorisation, ["valid_to"])
    authorisation.valid_to = valid_to
    authorisation.save(update_fields=["valid_to"])
    events.authorisation_ended(actor, authorisation, before=before)
    return authorisation


# --- Staff -------------------------------------------------------------------------


def _check_place(role: str, centre, pharmacy, region) -> None:
    required = {
        Role.NURSE: ("centre", centre),
        Role.PHARMACIST: ("pharmacy", pharmacy),
        Role.REGIONAL_OFFICER: ("region", region),
    }
    if role in required and required[role][1] is None:
        field = required[role][0]
        raise InvalidInput({field: _("This role needs a %(place)s.") % {"place": field}})
    allowed = {
        Role.NURSE: {"centre"},
        Role.PRESCRIBER: {"centre"},
        Role.PHARMACIST: {"pharmacy"},
        Role.REGIONAL_OFFICER: {"region"},
    }.get(role, set())
    for field, value in (("centre", centre), ("pharmacy", pharmacy), ("region", region)):
        if value is not None and field not in allowed:
            raise InvalidInput({field: _("This role is not tied to a %(place)s.") % {"place": field}})


@transaction.atomic
def staff_create(
    *,
    actor,
    username: str,
    password: str | None,
    role: str,
    centre: Centre | None = None,
    pharmacy: Pharmacy | None = None,
    region: Region | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
):
    """Create a user with a role and a place. Regional officers create staff of their region only."""
    if role not in Role.values:
        raise InvalidInput({"role": _("Unknown role.")})
    _check_place(role, centre, pharmacy, region)
    place_region = (
        region.pk
        if region is not None
        else centre.region_id
        if centre is not None
        else pharmacy.region_id
        if pharmacy is not None
        else None
    )
    acting = actor_for(actor)
    if not acting.is_admin:
        if role in (Role.NATIONAL, Role.ADMINISTRATOR, Role.REGIONAL_OFFICER) or place_region is None:
            raise InvalidInput({"role": _("Only an administrator may create this kind of user.")})
        ensure_manages_region(actor, place_region)
    if User.objects.filter(username=username).exists():
        raise InvalidInput({"username": _("This username is taken.")})
    user = User(username=username, first_name=first_name, last_name=last_name, email=email)
    user.is_staff = role in (Role.REGIONAL_OFFICER, Role.NATIONAL, Role.ADMINISTRATOR)
    user.is_superuser = role == Role.ADMINISTRATOR
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    profile = StaffProfile.objects.create(user=user, role=role, centre=centre, pharmacy=pharmacy, region=region)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    events.staff_created(actor, user, profile)
    return user


INVITABLE_ROLES = (Role.PRESCRIBER, Role.PHARMACIST, Role.NURSE)


@transaction.atomic
def staff_invite(
    *,
    actor,
    username: str,
    role: str,
    centre: Centre | None = None,
    pharmacy: Pharmacy | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
):
    """Create an account without a password and audit its invitation; the caller gives the person the one-time
    link (``registry.auth.invitations.invitation_link_parts``), which leads to choosing a password and enrolling
    the second factor. Officers invite prescribers (with their centre), pharmacists and nurses of their region."""
    if role not in INVITABLE_ROLES and not actor_for(actor).is_admin:
        raise InvalidInput({"role": _("Only an administrator may create this kind of user.")})
    if role == Role.PRESCRIBER and centre is None:
        raise InvalidInput({"centre": _("A prescriber is invited to a centre of the region.")})
    user = staff_create(
        actor=actor,
        username=username,
        password=None,
        role=role,
        centre=centre,
        pharmacy=pharmacy,
        first_name=first_name,
        last_name=last_name,
        email=email,
    )
    events.staff_invited(actor, user, expires_on=invitation_expires_on())
    return user


def staff_region_ids(user) -> set[str]:
    """The regions a person works in: their place's, or for a prescriber also their authorisations' centres'."""
    profile = StaffProfile.objects.select_related("centre", "pharmacy").filter(user=user).first()
    if profile is None:
        return set()
    regions = {
        profile.region_id,
        profile.centre.region_id if profile.centre else None,
        profile.pharmacy.region_id if profile.pharmacy else None,
    }
    if profile.role == Role.PRESCRIBER:
        regions |= set(
            PrescriberAuthorisation.objects.filter(prescriber=user).values_list("centre__region_id", flat=True)
        )
    return {region for region in regions if region}


@transaction.atomic
def staff_deactivate(*, actor, user):
    """The account can no longer sign in (its sessions end at their next request, its API tokens are revoked).

    An officer deactivates the prescribers, pharmacists and nurses who work only in their region; an
    administrator anyone but themselves. Nothing is deleted: the trail keeps naming the person.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.pk == actor.pk:
        raise InvalidInput({"user": _("You cannot deactivate your own account.")})
    acting = actor_for(actor)
    if not acting.is_admin:
        target = actor_for(user)
        regions = staff_region_ids(user)
        if target.role not in INVITABLE_ROLES or not regions:
            raise PermissionDenied(_("Only an administrator may deactivate this account."))
        for region_id in sorted(regions):
            ensure_manages_region(actor, region_id)
    if not user.is_active:
        return user
    user.is_active = False
    user.save(update_fields=["is_active"])
    events.staff_deactivated(actor, user)
    tokens_revoke_all(actor=actor, user=user, reason="deactivated")
    return user


# --- Patients --------------------------------------------------------------------


def patient_get_or_create(*, actor, fiscal_code: str, birth_date: date, sex: str) -> Patient:
    """The patient of this fiscal code, created on first sight. Call inside the caller's transaction.

    The fiscal code is validated, then only its keyed pseudonym is kept.
    """
    try:
        normalised = validate_fiscal_code(fiscal_code, birth_date=birth_date, sex=sex)
    except InvalidFiscalCode as exc:
        raise InvalidInput({"fiscal_code": str(exc)}) from None
    pseudonym = pseudonymise(normalised)
    with transaction.atomic():
        patient, created = Patient.objects.get_or_create(
            pseudonym=pseudonym, defaults={"birth_date": birth_date, "sex": sex}
        )
        if created:
            events.patient_created(actor, patient)
        elif (patient.birth_date, patient.sex) != (birth_date, sex):
            raise InvalidInput({"birth_date": _("This patient is already registered with another birth date or sex.")})
    return patient


def is_patient_race(exc: IntegrityError) -> bool:
    return "pseudonym" in str(exc)


@sensitive_variables("fiscal_code", "identity", "normalised")
def patient_for_submission(
    *, actor, fiscal_code: str, birth_date: date, sex: str, centre_id, identity: dict
) -> tuple[Patient, bool]:
    """The patient of a submission at centre ``centre_id``, locked for the caller's transaction (``FOR UPDATE``),
    created on first sight (the boolean says so), with the identity given recorded
    (``patient_identity.identity_apply``).

    A known patient costs a locking read (and an update if the identity changed); a new one a single insert, the
    identity in it. Each write is audited, the chains' heads known without reading them. The insert takes no
    savepoint: when a concurrent submission inserts the same patient first, the unique pseudonym refuses this
    one (``IntegrityError``, :func:`is_patient_race`) and the caller runs its transaction again, then finding
    the patient.

    Errors of the patient's fields: ``InvalidInput`` naming them.
    """
    try:
        normalised = validate_fiscal_code(fiscal_code, birth_date=birth_date, sex=sex)
    except InvalidFiscalCode as exc:
        raise InvalidInput({"fiscal_code": str(exc)}) from None
    pseudonym = pseudonymise(normalised)
    patient = Patient.objects.select_for_update().filter(pseudonym=pseudonym).first()
    if patient is not None:
        if (patient.birth_date, patient.sex) != (birth_date, sex):
            raise InvalidInput({"birth_date": _("This patient is already registered with another birth date or sex.")})
        patient_identity_store(
            actor=actor, patient=patient, centre_id=centre_id, fiscal_code=normalised, values=identity
        )
        return patient, False
    patient = Patient(pseudonym=pseudonym, birth_date=birth_date, sex=sex)
    changed = identity_apply(patient=patient, centre_id=centre_id, fiscal_code=normalised, values=identity)
    patient.save(force_insert=True)
    created = events.patient_created(actor, patient)
    if changed:
        events.patient_identity_recorded(actor, patient, fields=changed, first=True, after=created)
    return patient, True


@transaction.atomic
def administrator_bootstrap(*, username: str, password: str, email: str = ""):
    """The first administrator of a new installation (no one exists yet to act for it)."""
    if User.objects.filter(username=username).exists():
        raise InvalidInput({"username": _("This username is taken.")})
    user = User.objects.create_superuser(username=username, password=password, email=email)
    StaffProfile.objects.create(user=user, role=Role.ADMINISTRATOR)
    user.groups.add(Group.objects.get_or_create(name=Role.ADMINISTRATOR)[0])
    events.administrator_bootstrapped(user)
    return user
