"""Reads of prescriptions, always scoped to what the user may see (registry.permissions)."""

import re
import uuid
from datetime import date, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.it import codicefiscale

from registry.calendar import day_bounds, day_start, rome_today
from registry.errors import InvalidInput
from registry.models import Centre
from registry.patient_crypto import admission_number_index, family_name_index
from registry.patient_identity import field_error, searches_by_identity
from registry.permissions import PermissionDenied, actor_for, centre_condition, sees_patients
from registry.pseudonym import pseudonymise

from . import eligibility
from .course.alerts import course_grid, prescription_alerts
from .course.regimen import course_doses_expression, course_regimen, regimen_of
from .course.workflow import FINAL_OUTCOME_DAY, LATE_REGISTRATION_DAYS, actions_open
from .models import (
    ACTIVE_STATUSES,
    Administration,
    AdverseEvent,
    ConcomitantMedicationRecord,
    Dispensation,
    DoseInterval,
    LabResult,
    Outcome,
    Prescription,
    PrescriptionStatus,
    TocilizumabShortage,
)
from .permissions import may

_HEX_PREFIX = re.compile(r"[0-9a-fA-F]+")


# The shortages change a few times a year (AIFA's determinations) and every eligibility check and submission reads
# them: kept in the shared cache, dropped whenever one is saved or deleted (and again once that commits, so that
# a reader that cached the table between the write and its commit is not believed for long); at most
# SHORTAGES_CACHE_SECONDS in any case.
SHORTAGES_CACHE_KEY = "prescriptions:shortage-periods:v1"
SHORTAGES_CACHE_SECONDS = 60


def shortage_periods() -> tuple[eligibility.ShortagePeriod, ...]:
    """The recorded tocilizumab shortages, as the rule engine takes them."""
    periods = cache.get(SHORTAGES_CACHE_KEY)
    if periods is None:
        periods = tuple(
            eligibility.ShortagePeriod(starts_on=s.starts_on, ends_on=s.ends_on, reference=s.aifa_reference)
            for s in TocilizumabShortage.objects.order_by("starts_on")
        )
        cache.set(SHORTAGES_CACHE_KEY, periods, SHORTAGES_CACHE_SECONDS)
    return periods


def _shortages_changed(sender, **kwargs) -> None:
    cache.delete(SHORTAGES_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(SHORTAGES_CACHE_KEY))


post_save.connect(_shortages_changed, sender=TocilizumabShortage, dispatch_uid="shortage-periods-saved")
post_delete.connect(_shortages_changed, sender=TocilizumabShortage, dispatch_uid="shortage-periods-deleted")


def centres_for_submission(*, user, today: date) -> QuerySet[Centre]:
    """The centres a prescriber may name on the new-prescription page: those where they may have prescribed on
    some day a late registration can still be dated (today and the ``LATE_REGISTRATION_DAYS`` before).

    Which day is judged is the prescription's own: :func:`submission_centre` and the service decide that.
    """
    ids = actor_for(user).prescribing.centre_ids_between(today - timedelta(days=LATE_REGISTRATION_DAYS), today)
    return Centre.objects.filter(pk__in=ids).select_related("region").order_by("name")


def submission_centre(*, user, centre_id, day: date) -> Centre:
    """The centre of a submission, for the API and the page alike: the one named, or else the only one where
    ``user`` may prescribe on ``day`` (the prescription's Rome date).

    Whether ``user`` may prescribe at a named centre on ``day`` is the service's check (PermissionDenied).
    """
    prescribing = actor_for(user).prescribing  # the centres where the user holds an authorisation, in hand
    if centre_id is not None:
        centre = prescribing.centres.get(centre_id) or Centre.objects.filter(pk=centre_id).first()
        if centre is None:
            raise InvalidInput({"centre": _("Unknown centre.")})
        return centre
    centres = [prescribing.centres[pk] for pk in prescribing.centre_ids(day)][:2]
    if not centres:
        raise PermissionDenied(_("You are not authorised to prescribe at any centre on that day."))
    if len(centres) > 1:
        raise InvalidInput({"centre": _("You are authorised at several centres: say which.")})
    return centres[0]


def _scope_condition(user) -> Q | None:
    """The user's scope (``registry.permissions.centre_condition``) as a condition on the prescription's own columns
    or its centre's (a join, not an ``IN (subquery)``, so the planner can walk the list's index); None: everything
    (administrators)."""
    return centre_condition(user, through="centre__")


def prescriptions_visible_to(user) -> QuerySet[Prescription]:
    """Prescriptions of the centres in the user's scope; none for the national role (aggregates only)."""
    if not sees_patients(user):
        return Prescription.objects.none()
    condition = _scope_condition(user)
    return Prescription.objects.all() if condition is None else Prescription.objects.filter(condition)


# The JSON records of a prescription (verdict and assessment, ~3 KB a row): detail pages read them, lists never.
LIST_DEFERRED = ("eligibility", "assessment")


def prescriptions_listed(user) -> QuerySet[Prescription]:
    """:func:`prescriptions_visible_to` for the lists: the same rows, scoped by a join, without the JSON."""
    return prescriptions_visible_to(user).defer(*LIST_DEFERRED)


def search_condition(text: str, *, by_identity: bool = False) -> Q:
    """What the list's search box finds: a fiscal code (through its pseudonym: the code itself is never stored
    nor compared) or a prescription's number (the first characters of its id, at least 8) or its whole id; with
    ``by_identity`` (the staff of the centres, who see the identity) also a family name or an admission number,
    exactly, through their keyed indexes (``registry.patient_crypto``).

    Raises ``InvalidInput`` on ``q`` for anything else.
    """
    text = text.strip()
    compact = text.replace(" ", "").upper()
    if len(compact) == 16 and not compact.isdigit():
        try:
            return Q(patient__pseudonym=pseudonymise(codicefiscale.validate(compact)))
        except StdnumValidationError:
            if not _HEX_PREFIX.fullmatch(text.replace("-", "")):
                raise InvalidInput({"q": _("Not a valid fiscal code.")}) from None
    by_admission = Q(patient__admission_number_index=admission_number_index(text)) if by_identity else None
    digits = text.replace("-", "").lower()
    if _HEX_PREFIX.fullmatch(digits) and 8 <= len(digits) <= 32:
        # A prefix of the id is a range of ids: the primary key's index answers it.
        by_number = Q(pk__gte=uuid.UUID(digits.ljust(32, "0")), pk__lte=uuid.UUID(digits.ljust(32, "f")))
        # An admission number of digits looks like a prescription number: either matches.
        return by_number | by_admission if by_admission is not None else by_number
    if by_identity:
        condition = Q()
        if field_error("family_name", text) is None:
            condition |= Q(patient__family_name_index=family_name_index(text))
        if field_error("admission_number", text) is None:
            condition |= by_admission
        if condition:
            return condition
        raise InvalidInput(
            {
                "q": _(
                    "Search by fiscal code (16 characters), family name, admission number or prescription number "
                    "(at least 8 characters)."
                )
            }
        )
    raise InvalidInput(
        {"q": _("Search by fiscal code (16 characters) or by prescription number (at least 8 characters).")}
    )


def prescription_list(*, user, filters: dict | None = None) -> QuerySet[Prescription]:
    """The list of prescriptions ``user`` may see, newest first (``-prescribed_at``, ``-id``: an index each scope
    walks). ``filters``: ``status`` (list), ``centre``, ``region``, ``submitted_from``/``submitted_to`` (Rome days,
    both included), ``q`` (:func:`search_condition`), ``on_hold``, ``outcome_overdue``, ``with_alerts`` and
    ``sort`` ("oldest": oldest first)."""
    filters = filters or {}
    prescriptions = prescriptions_listed(user).select_related("centre", "patient", "prescriber")
    if filters.get("status"):
        prescriptions = prescriptions.filter(status__in=filters["status"])
    if filters.get("centre"):
        prescriptions = prescriptions.filter(centre_id=filters["centre"])
    if filters.get("region"):
        prescriptions = prescriptions.filter(centre__region_id=filters["region"])
    # Rome-day bounds on the timestamp itself, not ``prescribed_at__date``: the index is used.
    if filters.get("submitted_from"):
        prescriptions = prescriptions.filter(prescribed_at__gte=day_start(filters["submitted_from"]))
    if filters.get("submitted_to"):
        prescriptions = prescriptions.filter(prescribed_at__lt=day_bounds(filters["submitted_to"])[1])
    if filters.get("q"):
        prescriptions = prescriptions.filter(search_condition(filters["q"], by_identity=searches_by_identity(user)))
    today = filters.get("today") or rome_today()
    if filters.get("on_hold"):
        prescriptions = prescriptions.filter(hold_since__isnull=False, status=PrescriptionStatus.AWAITING_DISPENSING)
    if filters.get("outcome_overdue"):
        prescriptions = prescriptions.filter(outcome_overdue_condition(today))
    if filters.get("with_alerts"):
        prescriptions = with_alerts(prescriptions, today=today)
    if filters.get("sort") == "oldest":
        return prescriptions.order_by("prescribed_at", "id")
    return prescriptions.order_by("-prescribed_at", "-id")


def outcome_overdue_condition(today: date) -> Q:
    """Courses whose day 28 has passed (day 1: the first dose's day) with no day-28 outcome recorded: the
    ``OUTCOME_OVERDUE`` alert, in SQL."""
    recorded = Outcome.objects.filter(
        prescription=OuterRef("pk"), day=FINAL_OUTCOME_DAY, entered_in_error_at__isnull=True
    )
    return Q(first_dose_on__lt=today - timedelta(days=FINAL_OUTCOME_DAY - 1)) & ~Exists(recorded)


def _alert_candidates(today: date) -> Q:
    """Every prescription that may raise an alert (``course.alerts``), and a few that do not: a superset in SQL,
    so that the exact check in Python (:func:`with_alerts`) reads the records of few prescriptions."""
    live = {"prescription": OuterRef("pk"), "entered_in_error_at__isnull": True}
    highest_anc_threshold = max(version.thresholds.anc_at_least_10e9_l for version in eligibility.SHIPPED_VERSIONS)
    return (
        Exists(Administration.objects.filter(**live, protocol_deviation=True))
        | outcome_overdue_condition(today)
        | Exists(AdverseEvent.objects.filter(**live, category="serious_infection"))
        | Exists(LabResult.objects.filter(**live, test="anc", value__lt=highest_anc_threshold))
        | Exists(LabResult.objects.filter(**live, test__in=("alt", "ast")))
        | Q(status__in=ACTIVE_STATUSES) & Exists(ConcomitantMedicationRecord.objects.filter(**live))
        # Missed doses: a course begun that is running, or ended short of its doses.
        | Q(first_dose_on__isnull=False)
        & (Q(status__in=ACTIVE_STATUSES) | Q(doses_administered__lt=course_doses_expression()))
    )


def with_alerts(prescriptions: QuerySet[Prescription], *, today: date) -> QuerySet[Prescription]:
    """The prescriptions of ``prescriptions`` with at least one alert today, exactly as the pages show them: the
    candidates' alerts computed by ``course.alerts`` (the one definition), then kept by id."""
    candidates = with_course_records(prescriptions.filter(_alert_candidates(today)).order_by())
    flagged = [
        prescription.pk for prescription in candidates.iterator(chunk_size=500) if alerts_of(prescription, today=today)
    ]
    return prescriptions.filter(pk__in=flagged)


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


def dispensing_queue(*, user, on_hold: bool | None = None) -> QuerySet[Prescription]:
    """For a pharmacist: prescriptions of the centres their pharmacy serves still waiting for syringes, oldest
    first (``prescribed_at``, ``id``); ``on_hold``: only those on hold (True) or only those not (False)."""
    queue = prescriptions_listed(user)
    if on_hold is not None:
        queue = queue.filter(hold_since__isnull=not on_hold)
    return (
        queue.filter(status__in=[PrescriptionStatus.AWAITING_DISPENSING, PrescriptionStatus.DISPENSED])
        # A course whose syringes are all out (10, or 5 every 48 h) has nothing left to dispense.
        .alias(course_syringes=course_doses_expression())
        .filter(syringes_dispensed__lt=F("course_syringes"))
        .select_related("centre", "patient", "prescriber")
        .order_by("prescribed_at", "id")
    )


def _dose_day_of_the_window(day: date) -> Q:
    """Courses for which ``day`` is a dose day of their window: an interval's multiple of days after the first
    dose, at most the window's length (prescriptions.course.regimen) after it; or no dose yet."""
    condition = Q(first_dose_on__isnull=True)
    for version in eligibility.SHIPPED_VERSIONS:
        for interval in DoseInterval.values:
            regimen = regimen_of(version.identifier, interval)
            starts = [day - timedelta(days=n) for n in range(0, regimen.window_days, regimen.interval_days)]
            condition |= Q(criteria_version=version.identifier, dose_interval_hours=interval, first_dose_on__in=starts)
    return condition


def doses_due(*, user, day: date) -> QuerySet[Prescription]:
    """Courses at the user's centres that may take a dose on ``day`` and have none recorded that day: only on a
    dose day of the course's window (every 48 h: every other day), never after it."""
    return (
        prescriptions_listed(user)
        .filter(status__in=[PrescriptionStatus.DISPENSED, PrescriptionStatus.IN_COURSE])
        .filter(_dose_day_of_the_window(day))
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
        .order_by("centre__name", "first_dose_on", "prescribed_at", "pk")
    )


def doses_recorded_since(*, user, since, day: date) -> QuerySet[Administration]:
    """The doses of ``day`` that ``user`` recorded since ``since`` and has not taken back, on prescriptions they
    may see: what the round offers to take back."""
    return (
        Administration.objects.filter(
            recorded_by=user,
            recorded_at__gte=since,
            administered_on=day,
            entered_in_error_at__isnull=True,
            prescription__in=prescriptions_listed(user),
        )
        .select_related("prescription__patient", "prescription__centre")
        .order_by("-recorded_at")
    )


def with_course_records(prescriptions: QuerySet[Prescription]) -> QuerySet[Prescription]:
    """The records the alerts are computed from, fetched once for the whole list (a query per kind, none per
    row)."""
    return prescriptions.prefetch_related(
        "administrations", "lab_results", "outcomes", "concomitant_medications", "adverse_events"
    )


def alerts_of(prescription, *, today: date) -> list:
    """The alerts of a prescription whose records were fetched (``with_course_records`` or the detail)."""
    return prescription_alerts(
        prescription,
        administrations=list(prescription.administrations.all()),
        lab_results=list(prescription.lab_results.all()),
        outcomes=list(prescription.outcomes.all()),
        today=today,
        comedications=list(prescription.concomitant_medications.all()),
        adverse_events=list(prescription.adverse_events.all()),
    )


def prescription_view(
    *, user, prescription_id, today: date | None = None, own_submission: bool = False
) -> Prescription | None:
    """The detail, with ``alerts``, the ``course`` grid and the caller's ``allowed_actions`` attached."""

    prescription = prescription_detail(user=user, prescription_id=prescription_id, own_submission=own_submission)
    if prescription is None:
        return None
    return _viewed(prescription, user=user, today=today or rome_today())


# What is recorded on a prescription: the detail prefetches each, a prescription just submitted has none.
RECORDS = {
    "dispensations": Dispensation,
    "administrations": Administration,
    "adverse_events": AdverseEvent,
    "lab_results": LabResult,
    "outcomes": Outcome,
    "concomitant_medications": ConcomitantMedicationRecord,
}


def submitted_view(*, user, prescription: Prescription, today: date | None = None) -> Prescription:
    """:func:`prescription_view` of the prescription ``user`` has just submitted, from the rows the submission
    wrote (``patient``, ``centre`` and ``prescriber`` in hand) instead of reading them again: nothing can be
    recorded on it yet, so each kind of record is an empty list. Its author sees it even if no longer authorised
    today (a late registration dated within the authorisation)."""
    prescription._prefetched_objects_cache = {name: _no_rows(model) for name, model in RECORDS.items()}
    return _viewed(prescription, user=user, today=today or rome_today())


def _no_rows(model) -> QuerySet:
    """An empty queryset already evaluated, as a prefetch leaves it: reading it (the alerts, the course grid, the
    serializer, seven times in all) compiles no SQL, where ``.none()`` alone is compiled on each reading only to
    find it has nothing to ask."""
    rows = model.objects.none()
    rows._result_cache = []
    rows._prefetch_done = True
    return rows


def _viewed(prescription: Prescription, *, user, today: date) -> Prescription:
    administrations = list(prescription.administrations.all())
    prescription.alerts = alerts_of(prescription, today=today)
    prescription.course = course_grid(prescription, administrations, today=today)
    prescription.course_doses = course_regimen(prescription).doses
    prescription.course_days = course_regimen(prescription).window_days
    # One actor for every action (registry.permissions.actor_for): its facts were read once for the request.
    prescription.allowed_actions = [action for action in actions_open(prescription) if may(user, prescription, action)]
    return prescription
