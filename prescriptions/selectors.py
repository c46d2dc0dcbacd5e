"""Reads of prescriptions, always scoped to what the user may see (registry.permissions)."""

from datetime import date, timedelta

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from registry.calendar import rome_today
from registry.errors import InvalidInput
from registry.models import Centre, CentreDesignation, PrescriberAuthorisation
from registry.permissions import PermissionDenied, authorised_centres, centre_scope, sees_patients

from . import eligibility
from .alerts import course_grid, prescription_alerts
from .models import (
    MAX_SYRINGES,
    Administration,
    AdverseEvent,
    ConcomitantMedicationRecord,
    Dispensation,
    LabResult,
    Outcome,
    Prescription,
    PrescriptionStatus,
    TocilizumabShortage,
)
from .permissions import may
from .workflow import LATE_REGISTRATION_DAYS, actions_open


def shortage_periods() -> tuple[eligibility.ShortagePeriod, ...]:
    """The recorded tocilizumab shortages, as the rule engine takes them."""
    return tuple(
        eligibility.ShortagePeriod(starts_on=s.starts_on, ends_on=s.ends_on, reference=s.aifa_reference)
        for s in TocilizumabShortage.objects.order_by("starts_on")
    )


def _in_force_between(first: date, last: date) -> Q:
    """Rows of a validity period (``valid_from``..``valid_to``, inclusive) overlapping ``first``..``last``."""
    return Q(valid_from__lte=last) & (Q(valid_to__isnull=True) | Q(valid_to__gte=first))


def centres_for_submission(*, user, today: date) -> QuerySet[Centre]:
    """The centres a prescriber may name on the new-prescription page: those where they may have prescribed on
    some day a late registration can still be dated (today and the ``LATE_REGISTRATION_DAYS`` before).

    Which day is judged is the prescription's own: :func:`submission_centre` and the service decide that.
    """
    window = _in_force_between(today - timedelta(days=LATE_REGISTRATION_DAYS), today)
    authorised = PrescriberAuthorisation.objects.filter(window, prescriber=user, centre=OuterRef("pk"))
    designated = CentreDesignation.objects.filter(window, centre=OuterRef("pk"))
    return Centre.objects.filter(Exists(authorised), Exists(designated)).select_related("region").order_by("name")


def submission_centre(*, user, centre_id, day: date) -> Centre:
    """The centre of a submission, for the API and the page alike: the one named, or else the only one where
    ``user`` may prescribe on ``day`` (the prescription's Rome date).

    Whether ``user`` may prescribe at a named centre on ``day`` is the service's check (PermissionDenied).
    """
    if centre_id is not None:
        centre = Centre.objects.filter(pk=centre_id).first()
        if centre is None:
            raise InvalidInput({"centre": _("Unknown centre.")})
        return centre
    centres = list(authorised_centres(user, day).order_by("name")[:2])
    if not centres:
        raise PermissionDenied(_("You are not authorised to prescribe at any centre on that day."))
    if len(centres) > 1:
        raise InvalidInput({"centre": _("You are authorised at several centres: say which.")})
    return centres[0]


def prescriptions_visible_to(user) -> QuerySet[Prescription]:
    """Prescriptions of the centres in the user's scope; none for the national role (aggregates only)."""
    if not sees_patients(user):
        return Prescription.objects.none()
    return Prescription.objects.filter(centre__in=centre_scope(user))


def prescription_list(*, user, filters: dict | None = None) -> QuerySet[Prescription]:
    filters = filters or {}
    prescriptions = prescriptions_visible_to(user).select_related("centre", "centre__region", "patient", "prescriber")
    if filters.get("status"):
        prescriptions = prescriptions.filter(status__in=filters["status"])
    if filters.get("centre"):
        prescriptions = prescriptions.filter(centre_id=filters["centre"])
    if filters.get("region"):
        prescriptions = prescriptions.filter(centre__region_id=filters["region"])
    if filters.get("submitted_from"):
        prescriptions = prescriptions.filter(prescribed_at__date__gte=filters["submitted_from"])
    if filters.get("submitted_to"):
        prescriptions = prescriptions.filter(prescribed_at__date__lte=filters["submitted_to"])
    return prescriptions.order_by("-prescribed_at", "-registered_at")


def prescription_for_action(*, user, prescription_id) -> Prescription | None:
    """The prescription if the user may see it; None otherwise (the API answers 404 either way)."""
    return prescriptions_visible_to(user).select_related("centre").filter(pk=prescription_id).first()


def prescription_detail(*, user, prescription_id, own_submission: bool = False) -> Prescription | None:
    """One prescription with everything recorded on it, in a fixed number of queries.

    ``own_submission``: the prescription ``user`` has just submitted, which they see even when their
    authorisation has ended since (a late registration dated within it), so the 201 can show it.
    """
    prescriptions = Prescription.objects.filter(prescriber=user) if own_submission else prescriptions_visible_to(user)
    return (
        prescriptions.select_related("centre", "centre__region", "centre__pharmacy", "patient", "prescriber")
        .prefetch_related(
            Prefetch("dispensations", queryset=Dispensation.objects.select_related("recorded_by")),
            Prefetch("administrations", queryset=Administration.objects.select_related("recorded_by")),
            Prefetch("adverse_events", queryset=AdverseEvent.objects.select_related("recorded_by")),
            Prefetch("lab_results", queryset=LabResult.objects.select_related("recorded_by")),
            Prefetch("outcomes", queryset=Outcome.objects.select_related("recorded_by")),
            Prefetch(
                "concomitant_medications",
                queryset=ConcomitantMedicationRecord.objects.select_related("recorded_by"),
            ),
        )
        .filter(pk=prescription_id)
        .first()
    )


def dispensing_queue(*, user) -> QuerySet[Prescription]:
    """For a pharmacist: prescriptions of the centres their pharmacy serves still waiting for syringes."""
    return (
        prescriptions_visible_to(user)
        .filter(status__in=[PrescriptionStatus.AWAITING_DISPENSING, PrescriptionStatus.DISPENSED])
        # A course whose 10 syringes are all out has nothing left to dispense.
        .filter(syringes_dispensed__lt=MAX_SYRINGES)
        .select_related("centre", "patient", "prescriber")
        .order_by("prescribed_at")
    )


def doses_due(*, user, day: date) -> QuerySet[Prescription]:
    """Courses at the user's centres that may take a dose on ``day`` and have none recorded that day."""
    return (
        prescriptions_visible_to(user)
        .filter(status__in=[PrescriptionStatus.DISPENSED, PrescriptionStatus.IN_COURSE])
        # One Exists, not two conditions on the relation: exclude() would let them match different doses
        # (one that day in error, another day's live one) and hide a course whose dose is still due.
        .exclude(
            Exists(
                Administration.objects.filter(
                    prescription=OuterRef("pk"), administered_on=day, entered_in_error_at__isnull=True
                )
            )
        )
        .select_related("centre", "patient")
        .order_by("centre__name", "first_dose_on", "prescribed_at")
    )


def prescription_view(
    *, user, prescription_id, today: date | None = None, own_submission: bool = False
) -> Prescription | None:
    """The detail, with ``alerts``, the ``course`` grid and the caller's ``allowed_actions`` attached."""

    prescription = prescription_detail(user=user, prescription_id=prescription_id, own_submission=own_submission)
    if prescription is None:
        return None
    today = today or rome_today()
    administrations = list(prescription.administrations.all())
    prescription.alerts = prescription_alerts(
        prescription,
        administrations=administrations,
        lab_results=list(prescription.lab_results.all()),
        outcomes=list(prescription.outcomes.all()),
        today=today,
        comedications=list(prescription.concomitant_medications.all()),
    )
    prescription.course = course_grid(prescription, administrations, today=today)
    prescription.allowed_actions = [action for action in actions_open(prescription) if may(user, prescription, action)]
    return prescription
