"""The monitoring figures of a region (or the country) over a period, computed in the database.

Definitions (API.md, "Monitoring reports"; DOMAIN.md, "The course" and "Monitoring"):

- The cohort: prescriptions whose ``prescribed_at`` falls between ``period_start`` and ``period_end``, both
  included, as calendar days in Rome. Each one's whole course is followed, whenever its doses, stops,
  adverse events or outcomes happened; records entered in error are left out everywhere.
- ``prescriptions_submitted``: the cohort; ``prescriptions_eligible`` / ``prescriptions_rejected``: by the
  engine's verdict at submission. ``rejections_by_criterion``: criterion code → requests failing it (a request
  failing two criteria counts under both); only codes that refused at least one request appear.
- ``patients_treated``: distinct patients with at least one dose on a cohort prescription (a patient with
  two courses in the period counts once; in ``by_centre`` once per centre).
- ``courses_completed`` / ``courses_stopped`` / ``courses_cancelled``: by status now (data as of the run);
  ``courses_in_progress``: awaiting dispensing + dispensed + in course. Rejected requests are no course.
- ``stops_by_reason``: reason → stopped courses (after at least one dose); cancellations are not stops.
- ``doses_administered`` / ``syringes_dispensed``: administrations and syringes dispensed, recorded on the
  cohort's prescriptions, counted from the records (not the counters).
- ``adverse_events_by_category`` (every category, zeros included) and ``serious_adverse_events``.
- ``outcomes_day28``: WHO-CPS score ("0" … "10") → day-28 outcomes; ``deaths_day28``: day-28 WHO-CPS 10.
- ``missed_doses``: per prescription, exactly ``prescriptions.alerts.missed_days``: the calendar days after
  the first dose and before the course's end (the 10th dose's day; the stop's day; ``today`` while it runs)
  with no dose recorded, summed. In SQL: span days − 1 − doses strictly inside the span, never below 0.
- ``protocol_deviations``: administrations flagged as a dose other than 100 mg SC.
- ``by_centre``: one entry per centre with at least one cohort prescription, with the same counts.

Every figure comes from a fixed number of aggregate queries, whatever the number of prescriptions.
"""

from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DateField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Greatest, TruncDate

from prescriptions.eligibility.types import ALL_CRITERION_CODES
from prescriptions.models import (
    ACTIVE_STATUSES,
    Administration,
    AdverseEvent,
    AdverseEventCategory,
    CriterionOutcome,
    Dispensation,
    Outcome,
    Prescription,
    PrescriptionStatus,
    StopReason,
)
from registry.calendar import REGISTRY_TIME_ZONE

from .periods import period_bounds

WHO_CPS_SCORES = tuple(str(score) for score in range(11))
WHO_CPS_DEAD = 10

COUNT_KEYS = (
    "prescriptions_submitted",
    "prescriptions_eligible",
    "prescriptions_rejected",
    "rejections_by_criterion",
    "patients_treated",
    "courses_completed",
    "courses_stopped",
    "courses_cancelled",
    "courses_in_progress",
    "stops_by_reason",
    "doses_administered",
    "syringes_dispensed",
    "adverse_events_by_category",
    "serious_adverse_events",
    "outcomes_day28",
    "deaths_day28",
    "missed_doses",
    "protocol_deviations",
)
METRIC_KEYS = (*COUNT_KEYS, "by_centre")
CENTRE_KEYS = ("centre_id", "centre_name", "region")


def cohort(*, region_code: str | None, period_start: date, period_end: date) -> QuerySet[Prescription]:
    """The prescriptions a report over this region (None: the country) and period counts."""
    start, end = period_bounds(period_start, period_end)
    prescriptions = Prescription.objects.filter(prescribed_at__gte=start, prescribed_at__lt=end)
    if region_code is not None:
        prescriptions = prescriptions.filter(centre__region_id=region_code)
    return prescriptions


class DaysBetween(Func):
    """Whole days from the second date to the first (``end - start``), on PostgreSQL and SQLite."""

    arity = 2
    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        raise NotImplementedError(f"DaysBetween is not written for {connection.vendor}")

    def as_postgresql(self, compiler, connection, **extra_context):
        end, start = (Cast(expression, DateField()) for expression in self.source_expressions)
        end_sql, end_params = compiler.compile(end)
        start_sql, start_params = compiler.compile(start)
        return f"({end_sql} - {start_sql})", (*end_params, *start_params)

    def as_sqlite(self, compiler, connection, **extra_context):
        end_sql, end_params = compiler.compile(self.source_expressions[0])
        start_sql, start_params = compiler.compile(self.source_expressions[1])
        return f"CAST(julianday({end_sql}) - julianday({start_sql}) AS INTEGER)", (*end_params, *start_params)


def live_administrations():
    return Administration.objects.filter(entered_in_error_at__isnull=True)


def course_end_exclusive(today: date) -> Case:
    """SQL twin of ``prescriptions.alerts.course_end_exclusive``: the first day not counted for missed doses."""
    return Case(
        When(status=PrescriptionStatus.COMPLETED, then=F("last_dose_on")),
        When(stopped_at__isnull=False, then=TruncDate("stopped_at", tzinfo=REGISTRY_TIME_ZONE)),
        default=Value(today),
        output_field=DateField(),
    )


def with_missed_doses(prescriptions: QuerySet[Prescription], *, today: date) -> QuerySet[Prescription]:
    """Annotate ``missed_doses``: span days − 1 − doses strictly inside (first dose, course end), at least 0."""
    doses_inside = (
        live_administrations()
        .filter(
            prescription=OuterRef("pk"),
            administered_on__gt=OuterRef("first_dose_on"),
            administered_on__lt=OuterRef("course_end"),
        )
        .order_by()
        .values("prescription")
        .annotate(doses=Count("pk"))
        .values("doses")
    )
    return (
        prescriptions.annotate(course_end=course_end_exclusive(today))
        .annotate(doses_inside=Coalesce(Subquery(doses_inside, output_field=IntegerField()), 0))
        .annotate(
            missed_doses=Case(
                When(first_dose_on__isnull=True, then=Value(0)),
                default=Greatest(DaysBetween("course_end", "first_dose_on") - 1 - F("doses_inside"), Value(0)),
                output_field=IntegerField(),
            )
        )
    )


def empty_counts() -> dict:
    return {
        "prescriptions_submitted": 0,
        "prescriptions_eligible": 0,
        "prescriptions_rejected": 0,
        "rejections_by_criterion": {},
        "patients_treated": 0,
        "courses_completed": 0,
        "courses_stopped": 0,
        "courses_cancelled": 0,
        "courses_in_progress": 0,
        "stops_by_reason": dict.fromkeys(StopReason.values, 0),
        "doses_administered": 0,
        "syringes_dispensed": 0,
        "adverse_events_by_category": dict.fromkeys(AdverseEventCategory.values, 0),
        "serious_adverse_events": 0,
        "outcomes_day28": dict.fromkeys(WHO_CPS_SCORES, 0),
        "deaths_day28": 0,
        "missed_doses": 0,
        "protocol_deviations": 0,
    }


def _stop_key(reason: str) -> str:
    return f"stopped_{reason}"


def _prescription_figures(prescriptions: QuerySet[Prescription], *, today: date) -> list[dict]:
    """One row per centre: counts over the prescriptions themselves (one query)."""
    treated = Exists(live_administrations().filter(prescription=OuterRef("pk")))
    stop_counts = {
        _stop_key(reason): Count("pk", filter=Q(status=PrescriptionStatus.STOPPED, stop_reason=reason))
        for reason in StopReason.values
    }
    return list(
        with_missed_doses(prescriptions.annotate(treated=treated), today=today)
        .values("centre_id", "centre__name", "centre__region_id")
        .annotate(
            prescriptions_submitted=Count("pk"),
            prescriptions_eligible=Count("pk", filter=Q(eligible=True)),
            prescriptions_rejected=Count("pk", filter=Q(status=PrescriptionStatus.REJECTED)),
            patients_treated=Count("patient", distinct=True, filter=Q(treated=True)),
            courses_completed=Count("pk", filter=Q(status=PrescriptionStatus.COMPLETED)),
            courses_stopped=Count("pk", filter=Q(status=PrescriptionStatus.STOPPED)),
            courses_cancelled=Count("pk", filter=Q(status=PrescriptionStatus.CANCELLED)),
            courses_in_progress=Count("pk", filter=Q(status__in=ACTIVE_STATUSES)),
            missed_doses=Sum("missed_doses"),
            **stop_counts,
        )
        .order_by("centre__region_id", "centre__name", "centre_id")
    )


def monitoring_metrics(*, region_code: str | None, period_start: date, period_end: date, today: date) -> dict:
    """The metrics dict of API.md for a region (None: the whole country); ``today`` is the data-as-of Rome date.

    On PostgreSQL the queries read one snapshot, so the figures agree with each other.
    """
    prescriptions = cohort(region_code=region_code, period_start=period_start, period_end=period_end)
    with _snapshot():
        return _compute(prescriptions, today=today)


@contextmanager
def _snapshot():
    """On PostgreSQL, a read-only REPEATABLE READ transaction: every query sees the same committed state.

    Inside a caller's transaction (a test, a task step) the caller's isolation holds instead.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _compute(prescriptions: QuerySet[Prescription], *, today: date) -> dict:
    in_cohort = {"prescription__in": prescriptions.values("pk")}
    centre = F("prescription__centre_id")

    rows = _prescription_figures(prescriptions, today=today)
    doses = (
        live_administrations()
        .filter(**in_cohort)
        .values(centre_ref=centre)
        .annotate(doses=Count("pk"), deviations=Count("pk", filter=Q(protocol_deviation=True)))
        .order_by()
    )
    syringes = (
        Dispensation.objects.filter(entered_in_error_at__isnull=True, **in_cohort)
        .values(centre_ref=centre)
        .annotate(syringes=Sum("syringes"))
        .order_by()
    )
    rejections = (
        CriterionOutcome.objects.filter(outcome="fail", **in_cohort)
        .values("code", centre_ref=centre)
        .annotate(requests=Count("pk"))
        .order_by()
    )
    adverse_events = (
        AdverseEvent.objects.filter(entered_in_error_at__isnull=True, **in_cohort)
        .values("category", centre_ref=centre)
        .annotate(events=Count("pk"), serious=Count("pk", filter=Q(serious=True)))
        .order_by()
    )
    outcomes = (
        Outcome.objects.filter(entered_in_error_at__isnull=True, day=28, **in_cohort)
        .values("who_cps", centre_ref=centre)
        .annotate(outcomes=Count("pk"))
        .order_by()
    )
    patients_treated = (
        prescriptions.filter(Exists(live_administrations().filter(prescription=OuterRef("pk")))).aggregate(
            patients=Count("patient", distinct=True)
        )["patients"]
        or 0
    )

    by_centre: dict[str, dict] = {}
    for row in rows:
        counts = empty_counts()
        for key in (
            "prescriptions_submitted",
            "prescriptions_eligible",
            "prescriptions_rejected",
            "patients_treated",
            "courses_completed",
            "courses_stopped",
            "courses_cancelled",
            "courses_in_progress",
        ):
            counts[key] = row[key]
        counts["missed_doses"] = row["missed_doses"] or 0
        counts["stops_by_reason"] = {reason: row[_stop_key(reason)] for reason in StopReason.values}
        by_centre[str(row["centre_id"])] = {
            "centre_id": str(row["centre_id"]),
            "centre_name": row["centre__name"],
            "region": row["centre__region_id"],
            **counts,
        }

    for row in doses:
        entry = by_centre[str(row["centre_ref"])]
        entry["doses_administered"] = row["doses"]
        entry["protocol_deviations"] = row["deviations"]
    for row in syringes:
        by_centre[str(row["centre_ref"])]["syringes_dispensed"] = row["syringes"] or 0
    for row in rejections:
        by_centre[str(row["centre_ref"])]["rejections_by_criterion"][row["code"]] = row["requests"]
    for row in adverse_events:
        entry = by_centre[str(row["centre_ref"])]
        entry["adverse_events_by_category"][row["category"]] = row["events"]
        entry["serious_adverse_events"] += row["serious"]
    for row in outcomes:
        entry = by_centre[str(row["centre_ref"])]
        entry["outcomes_day28"][str(row["who_cps"])] = row["outcomes"]
        if row["who_cps"] == WHO_CPS_DEAD:
            entry["deaths_day28"] += row["outcomes"]

    centres = list(by_centre.values())
    for entry in centres:
        entry["rejections_by_criterion"] = _in_criterion_order(entry["rejections_by_criterion"])
    totals = sum_counts(centres)
    totals["patients_treated"] = patients_treated  # distinct patients: not the sum over centres
    return {**totals, "by_centre": centres}


def _in_criterion_order(counts: dict[str, int]) -> dict[str, int]:
    order = {code: position for position, code in enumerate(ALL_CRITERION_CODES)}
    return {code: counts[code] for code in sorted(counts, key=lambda code: (order.get(code, len(order)), code))}


def sum_counts(entries: Iterable[dict]) -> dict:
    """Add up the counts of several entries (centres, or regions), key by key."""
    totals = empty_counts()
    for entry in entries:
        for key in COUNT_KEYS:
            value = entry[key]
            if isinstance(value, dict):
                for sub_key, count in value.items():
                    totals[key][sub_key] = totals[key].get(sub_key, 0) + count
            else:
                totals[key] += value
    totals["rejections_by_criterion"] = _in_criterion_order(totals["rejections_by_criterion"])
    return totals


def suppress_small_counts(metrics: dict, *, below: int) -> dict:
    """Cells from 1 to ``below`` − 1 shown as ``"<below"`` (DOMAIN.md: where a report leaves the region).

    Zero stays: it names nobody. Totals are suppressed by the same rule; this is primary suppression only
    (a suppressed cell may still be derived from a total and its visible neighbours).
    """
    if below <= 1:
        return metrics
    return _suppress(metrics, below)


def _suppress(value, below: int):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return f"<{below}" if 0 < value < below else value
    if isinstance(value, dict):
        return {key: item if key in CENTRE_KEYS else _suppress(item, below) for key, item in value.items()}
    if isinstance(value, list):
        return [_suppress(item, below) for item in value]
    return value
