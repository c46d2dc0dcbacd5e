"""The monitoring figures of a region (or the country) over a period, computed in the database.

What each figure counts, its default, label and section are in ``reports.metric_definitions``; here, one
function a kind of record (prescriptions, criterion outcomes, administrations, dispensations, adverse events,
outcomes, medicines started during the course) fills the figures its definitions name as their ``source``, per centre.

Every figure comes from a fixed number of aggregate queries, whatever the number of prescriptions, and each
reads the cohort's records by prescription (migration ``prescriptions 0006``: partial indexes of the live records
that include the columns counted, and an index of the period that includes a prescription's centre and patient),
never a whole record table: a month's figures cost the month's records, however long the registry's history.
The benchmark (``make bench``) holds them to the fastest SQL we can write for the same figures
(``bench/hand_sql.py``).
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DateField,
    Exists,
    ExpressionWrapper,
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
from django.db.models.functions import Cast, Coalesce, Greatest, Least, Mod, TruncDate

from prescriptions.course.regimen import course_doses_expression, window_days_expression
from prescriptions.models import (
    ACTIVE_STATUSES,
    Administration,
    AdverseEvent,
    ConcomitantMedicationRecord,
    CriterionOutcome,
    Dispensation,
    Outcome,
    Prescription,
    PrescriptionStatus,
    StopReason,
)
from registry.calendar import REGISTRY_TIME_ZONE
from registry.models import Region

from . import metric_definitions as definitions
from .periods import period_bounds, period_days

COUNT_KEYS = definitions.COUNT_KEYS
METRIC_KEYS = definitions.METRIC_KEYS
CENTRE_KEYS = definitions.CENTRE_IDENTITY_KEYS


def cohort(*, region_code: str | None, period_start: date, period_end: date) -> QuerySet[Prescription]:
    """The prescriptions a report over this region (None: the country) and period counts."""
    return Prescription.objects.filter(cohort_condition(region_code=region_code, period=(period_start, period_end)))


def cohort_condition(*, region_code: str | None, period: tuple[date, date], through: str = "") -> Q:
    """The cohort as a condition on a prescription, or on the prescription of a record (``through``:
    ``"prescription"``). The records' figures filter through the join this way, as a hand-written query would,
    instead of ``prescription IN (cohort)``: the planner then starts from the cohort's few rows and reaches their
    records by index, where the ``IN`` made it read the whole record table (4× slower at a million)."""
    prefix = f"{through}__" if through else ""
    start, end = period_bounds(*period)
    condition = Q(**{f"{prefix}prescribed_at__gte": start, f"{prefix}prescribed_at__lt": end})
    if region_code is not None:
        condition &= Q(**{f"{prefix}centre__region_id": region_code})
    return condition


@dataclass(frozen=True)
class Cohort:
    """A report's cohort: its prescriptions, and the same as a condition on the records of a prescription."""

    region_code: str | None
    period: tuple[date, date]

    @property
    def prescriptions(self) -> QuerySet[Prescription]:
        return cohort(region_code=self.region_code, period_start=self.period[0], period_end=self.period[1])

    @property
    def records(self) -> Q:
        """The condition on a record (administration, dispensation, outcome…) of a cohort prescription."""
        return cohort_condition(region_code=self.region_code, period=self.period, through="prescription")


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


class DatePlusDays(Func):
    """A date ``days`` (an integer expression) later, on PostgreSQL and SQLite."""

    arity = 2
    output_field = DateField()

    def as_sql(self, compiler, connection, **extra_context):
        raise NotImplementedError(f"DatePlusDays is not written for {connection.vendor}")

    def as_postgresql(self, compiler, connection, **extra_context):
        day_sql, day_params = compiler.compile(self.source_expressions[0])
        days_sql, days_params = compiler.compile(self.source_expressions[1])
        return f"({day_sql} + {days_sql})", (*day_params, *days_params)

    def as_sqlite(self, compiler, connection, **extra_context):
        day_sql, day_params = compiler.compile(self.source_expressions[0])
        days_sql, days_params = compiler.compile(self.source_expressions[1])
        return f"date({day_sql}, '+' || ({days_sql}) || ' days')", (*day_params, *days_params)


def _whole(expression, function: str) -> Func:
    """``function`` (COUNT, SUM) over all the rows of a correlated subquery, as one plain aggregate: Django's own
    aggregates there would group by the prescription (a GroupAggregate a prescription, a little slower)."""
    return Func(expression, function=function, output_field=IntegerField())


def live_administrations():
    return Administration.objects.filter(entered_in_error_at__isnull=True)


def course_end_exclusive(today: date) -> Least:
    """SQL twin of ``prescriptions.course.alerts.course_end_exclusive``: the first day not counted for missed doses,
    never past the window (the day after its last day; its length from ``prescriptions.course.regimen``)."""
    after_window = DatePlusDays(F("first_dose_on"), window_days_expression())
    return Least(
        Case(
            When(
                Q(status=PrescriptionStatus.COMPLETED, doses_administered__gte=course_doses_expression()),
                then=F("last_dose_on"),
            ),
            When(status=PrescriptionStatus.COMPLETED, then=after_window),
            When(stopped_at__isnull=False, then=TruncDate("stopped_at", tzinfo=REGISTRY_TIME_ZONE)),
            default=Value(today),
            output_field=DateField(),
        ),
        after_window,
        output_field=DateField(),
    )


def with_missed_doses(prescriptions: QuerySet[Prescription], *, today: date) -> QuerySet[Prescription]:
    """Annotate ``missed_doses``: scheduled days strictly inside (first dose, course end) − doses on them, at
    least 0. Scheduled: every day, or every other day from the first dose on a course every 48 h
    (``dose_interval_hours``), so (span days − 1) // interval days of them; ``course_day`` − 1 is a multiple
    of the interval on a scheduled day (``prescriptions.course.alerts.missed_days``)."""
    doses_inside = (
        live_administrations()
        # The outer row's interval, not ``prescription__…``: that would join the prescription table again.
        .alias(
            off_schedule=Mod(
                F("course_day") - 1,
                ExpressionWrapper(OuterRef("dose_interval_hours") / 24, output_field=IntegerField()),
                output_field=IntegerField(),
            )
        )
        .filter(
            prescription=OuterRef("pk"),
            administered_on__gt=OuterRef("first_dose_on"),
            administered_on__lt=OuterRef("course_end"),
            off_schedule=0,
        )
        .order_by()
        .annotate(doses=_whole(Value(1), "COUNT"))
        .values("doses")
    )
    return (
        prescriptions.annotate(course_end=course_end_exclusive(today))
        .annotate(doses_inside=Coalesce(Subquery(doses_inside, output_field=IntegerField()), 0))
        .annotate(
            missed_doses=Case(
                When(first_dose_on__isnull=True, then=Value(0)),
                default=Greatest(
                    (DaysBetween("course_end", "first_dose_on") - 1) / (F("dose_interval_hours") / 24)
                    - F("doses_inside"),
                    Value(0),
                ),
                output_field=IntegerField(),
            )
        )
    )


def empty_counts() -> dict:
    """Every per-centre figure at its default (zero, or a breakdown of zeros)."""
    return definitions.empty_counts()


def _stop_key(reason: str) -> str:
    return f"stopped_{reason}"


def monitoring_metrics(*, region_code: str | None, period_start: date, period_end: date, today: date) -> dict:
    """The metrics (``metric_definitions.METRIC_KEYS``) of a region (None: the country) as of ``today`` (Rome).

    On PostgreSQL the queries read one snapshot, so the figures agree with each other.
    """
    group = Cohort(region_code=region_code, period=(period_start, period_end))
    with _snapshot():
        metrics, regions_treated = _compute(group, today=today)
        weeks = _requests_by_week(group.prescriptions, period_start=period_start, period_end=period_end)
    counts = {**metrics, "requests_by_week": _weeks_total(weeks)}
    published = {key: counts[key] for key in METRIC_KEYS}
    if region_code is None:
        published[BY_REGION] = _by_region(metrics["by_centre"], regions_treated, weeks)
    return published


BY_REGION = "by_region"


def _by_region(centres: list[dict], treated: dict[str, int], weeks: dict[str, dict]) -> list[dict]:
    """The country's report, region by region: each region's figures as its own report counts them (patients
    treated at two of its centres once), with its requests per week. Published beside the per-centre table, it
    lets the disclosure control hide a region's counts the same way in the country's report as in the region's
    own (``reports.disclosure``)."""
    names = dict(Region.objects.filter(pk__in={c["region"] for c in centres}).values_list("code", "name"))
    rows = []
    for code in sorted({c["region"] for c in centres}):
        totals = sum_counts(c for c in centres if c["region"] == code)
        totals["patients_treated"] = treated.get(code, totals["patients_treated"])
        rows.append(
            {"region": code, "region_name": names.get(code, code), **totals, "requests_by_week": weeks.get(code, {})}
        )
    return rows


def _weeks_total(weeks: dict[str, dict]) -> dict:
    total: dict[str, int] = {}
    for by_week in weeks.values():
        for week, count in by_week.items():
            total[week] = total.get(week, 0) + count
    return dict(sorted(total.items()))


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


# --- One function a kind of record: (centre id, {figure: value}) for the figures it counts ------------------
#
# Records are counted as ``*`` or by their ``prescription`` (never null), not by their key: the partial indexes
# of the live records hold the prescription and the columns counted but not the key, and counting the key would
# fetch every record from its table instead of reading the index alone.


def _per_prescription(records: QuerySet, aggregate: Func) -> Coalesce:
    """``aggregate`` (a ``_whole``) over one prescription's ``records`` (the outer row's), 0 when it has none: a
    correlated subquery, which PostgreSQL answers from the record table's index by prescription."""
    rows = records.filter(prescription=OuterRef("pk")).order_by().annotate(value=aggregate).values("value")
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def _from_prescriptions(group: Cohort, *, today: date) -> Iterator[tuple[str, dict]]:
    """Requests, verdicts, courses by status, stops by reason, patients treated, missed doses, and what each
    course's administrations, dispensations and co-medications add up to (one query: each prescription's records
    are reached once, by its index, while it is read)."""
    administrations = live_administrations()
    il_jak = ConcomitantMedicationRecord.objects.filter(entered_in_error_at__isnull=True, il_jak_inhibitor=True)
    stop_counts = {
        _stop_key(reason): Count("pk", filter=Q(status=PrescriptionStatus.STOPPED, stop_reason=reason))
        for reason in StopReason.values
    }
    prescriptions = group.prescriptions.annotate(
        doses=_per_prescription(administrations, _whole(Value(1), "COUNT")),
        deviations=_per_prescription(
            administrations, _whole(Case(When(protocol_deviation=True, then=Value(1))), "COUNT")
        ),
        syringes=_per_prescription(
            Dispensation.objects.filter(entered_in_error_at__isnull=True), _whole(F("syringes"), "SUM")
        ),
        il_jak=Exists(il_jak.filter(prescription=OuterRef("pk"))),
        # Not ``doses > 0``: each use of a subquery annotation runs it again, and EXISTS stops at the first.
        treated=Exists(administrations.filter(prescription=OuterRef("pk"))),
    )
    rows = (
        with_missed_doses(prescriptions, today=today)
        .values("centre_id", "centre__name", "centre__region_id")
        .annotate(
            prescriptions_submitted=Count("pk"),
            prescriptions_eligible=Count("pk", filter=Q(eligible=True)),
            prescriptions_rejected=Count("pk", filter=Q(status=PrescriptionStatus.REJECTED)),
            # Treated: at least one live administration.
            patients_treated=Count("patient", distinct=True, filter=Q(treated=True)),
            courses_completed=Count("pk", filter=Q(status=PrescriptionStatus.COMPLETED)),
            courses_stopped=Count("pk", filter=Q(status=PrescriptionStatus.STOPPED)),
            courses_cancelled=Count("pk", filter=Q(status=PrescriptionStatus.CANCELLED)),
            courses_in_progress=Count("pk", filter=Q(status__in=ACTIVE_STATUSES)),
            missed_doses=Sum("missed_doses"),
            doses_administered=Sum("doses"),
            protocol_deviations=Sum("deviations"),
            syringes_dispensed=Sum("syringes"),
            courses_with_il_jak_comedication=Count("pk", filter=Q(il_jak=True)),
            **stop_counts,
        )
        .order_by()
    )
    keys = [key for source in _ALONG_WITH_PRESCRIPTIONS for key in _SINGLE_KEYS[source]]
    for row in rows:
        figures = {key: row[key] or 0 for key in keys}
        figures["centre_name"], figures["region"] = row["centre__name"], row["centre__region_id"]
        figures["stops_by_reason"] = {reason: row[_stop_key(reason)] for reason in StopReason.values}
        yield str(row["centre_id"]), figures


def _from_criteria(group: Cohort, *, today: date) -> Iterator[tuple[str, dict]]:
    """Refusals by criterion: the failed criteria of the cohort's requests."""
    rows = (
        CriterionOutcome.objects.filter(group.records, outcome="fail")
        .values("code", centre_ref=F("prescription__centre_id"))
        .annotate(requests=Count("*"))
        .order_by()
    )
    for row in rows:
        yield str(row["centre_ref"]), {"rejections_by_criterion": {row["code"]: row["requests"]}}


def _from_adverse_events(group: Cohort, *, today: date) -> Iterator[tuple[str, dict]]:
    """Adverse events by category, and the serious ones."""
    rows = (
        AdverseEvent.objects.filter(group.records, entered_in_error_at__isnull=True)
        .values("category", centre_ref=F("prescription__centre_id"))
        .annotate(events=Count("*"), serious=Count("prescription", filter=Q(serious=True)))
        .order_by()
    )
    for row in rows:
        yield (
            str(row["centre_ref"]),
            {"adverse_events_by_category": {row["category"]: row["events"]}, "serious_adverse_events": row["serious"]},
        )


# Courses counted once each, whatever the number of outcomes that put them there.
_COURSES_WITH = {
    "deaths": Q(who_cps=definitions.WHO_CPS_DEAD),
    "icu_admissions": Q(icu_admission=True),
    "respiratory_failure_day14": Q(day=14, severe_respiratory_failure=True),
    "respiratory_failure_day28": Q(day=28, severe_respiratory_failure=True),
}


def _from_outcomes(group: Cohort, *, today: date) -> Iterator[tuple[str, dict]]:
    """WHO-CPS at day 28 and the deaths (WHO-CPS 10) among them; and the courses with a death, an ICU admission
    or severe respiratory failure by day 14 or 28 on any outcome, each course once (one query, one pass over the
    cohort's outcomes; WHO-CPS is 0 to 10, constraint ``who_cps_range``)."""
    day28 = {
        str(score): Count("prescription", filter=Q(day=28, who_cps=score))
        for score in range(definitions.WHO_CPS_DEAD + 1)
    }
    courses = {key: Count("prescription", distinct=True, filter=condition) for key, condition in _COURSES_WITH.items()}
    rows = (
        Outcome.objects.filter(group.records, entered_in_error_at__isnull=True)
        .values(centre_ref=F("prescription__centre_id"))
        .annotate(**{f"day28_{score}": count for score, count in day28.items()}, **courses)
        .order_by()
    )
    for row in rows:
        scores = {score: row[f"day28_{score}"] for score in day28}
        yield (
            str(row["centre_ref"]),
            {
                "outcomes_day28": {score: count for score, count in scores.items() if count},
                "deaths_day28": scores[str(definitions.WHO_CPS_DEAD)],
                **{key: row[key] for key in _COURSES_WITH},
            },
        )


def _requests_by_week(
    prescriptions: QuerySet[Prescription], *, period_start: date, period_end: date
) -> dict[str, dict]:
    """Requests submitted a week (ISO weeks of Rome days), every week of the period, zeros included, region by
    region (one query; the report's own is their sum, ``_weeks_total``)."""
    days = period_days(period_start, period_end)
    every_week = {definitions.iso_week(period_start + timedelta(days=offset)): 0 for offset in range(days)}
    weeks: dict[str, dict] = {}
    rows = (
        prescriptions.annotate(day=TruncDate("prescribed_at", tzinfo=REGISTRY_TIME_ZONE))
        .values("day", "centre__region_id")
        .annotate(requests=Count("pk"))
        .order_by()
    )
    for row in rows:
        region = weeks.setdefault(row["centre__region_id"], dict(every_week))
        week = definitions.iso_week(row["day"])
        region[week] = region.get(week, 0) + row["requests"]
    if not weeks:
        weeks[""] = dict(every_week)
    return {region: dict(sorted(by_week.items())) for region, by_week in weeks.items()}


# The records whose figures add up per prescription are counted along with the prescriptions (one query); those
# broken down by a record's own value (a criterion, a category, a WHO-CPS) are counted from the records.
_ALONG_WITH_PRESCRIPTIONS = (
    definitions.PRESCRIPTIONS,
    definitions.ADMINISTRATIONS,
    definitions.DISPENSATIONS,
    definitions.COMEDICATIONS,
)
SOURCES = {
    **dict.fromkeys(_ALONG_WITH_PRESCRIPTIONS, _from_prescriptions),
    definitions.CRITERIA: _from_criteria,
    definitions.ADVERSE_EVENTS: _from_adverse_events,
    definitions.OUTCOMES: _from_outcomes,
}
_SINGLE_KEYS = {
    source: tuple(d.key for d in definitions.PER_CENTRE if d.source == source and not d.breakdown) for source in SOURCES
}


def _add(entry: dict, figures: dict) -> None:
    for key, value in figures.items():
        if key in definitions.CENTRE_IDENTITY_KEYS:
            entry[key] = value
        elif isinstance(value, dict):
            for code, count in value.items():
                entry[key][code] = entry[key].get(code, 0) + count
        else:
            entry[key] += value


def _compute(group: Cohort, *, today: date) -> dict:
    by_centre: dict[str, dict] = {}
    # Prescriptions first: every centre with a cohort prescription has its entry, named, before other records.
    functions = dict.fromkeys(SOURCES[source] for source in (definitions.PRESCRIPTIONS, *SOURCES))
    for function in functions:
        for centre_id, figures in function(group, today=today):
            entry = by_centre.get(centre_id)
            if entry is None:  # not setdefault: that would build a blank entry for every row of every source
                entry = by_centre[centre_id] = {"centre_id": centre_id, **empty_counts()}
            _add(entry, figures)

    centres = sorted(
        (
            {"centre_id": e["centre_id"], "centre_name": e["centre_name"], "region": e["region"], **e}
            for e in by_centre.values()
        ),
        key=lambda e: (e["region"], e["centre_name"], e["centre_id"]),
    )
    for entry in centres:
        entry["rejections_by_criterion"] = _in_criterion_order(entry["rejections_by_criterion"])
    totals = sum_counts(centres)
    again, again_in_region = _patients_counted_again(group)
    totals["patients_treated"] -= again
    regions_treated: dict[str, int] = {}
    for entry in centres:
        regions_treated[entry["region"]] = regions_treated.get(entry["region"], 0) + entry["patients_treated"]
    for region, count in again_in_region.items():
        regions_treated[region] -= count
    return {**totals, "by_centre": centres}, regions_treated


def _patients_counted_again(group: Cohort) -> tuple[int, dict[str, int]]:
    """How many times the centres' patients treated, added up, count a patient again: a patient treated at k
    centres counts k times there and once in the total; and the same inside each region (a patient treated at
    k of a region's centres counts once in the region's total).

    Only the few patients with cohort prescriptions at two centres or more can be, so only their prescriptions'
    administrations are read again (counting the distinct patients of the whole cohort would read every
    prescription's administrations a second time).
    """
    at_several_centres = (
        group.prescriptions.order_by()
        .values("patient")
        .annotate(centres=Count("centre", distinct=True))
        .filter(centres__gt=1)
        .values("patient")
    )
    rows = (
        group.prescriptions.filter(patient__in=at_several_centres)
        .filter(Exists(live_administrations().filter(prescription=OuterRef("pk"))))
        .order_by()
        .values("patient", "centre__region_id")
        .annotate(centres=Count("centre", distinct=True))
    )
    centres_of: dict = {}
    in_region: dict[str, int] = {}
    for row in rows:
        centres_of[row["patient"]] = centres_of.get(row["patient"], 0) + row["centres"]
        region = row["centre__region_id"]
        in_region[region] = in_region.get(region, 0) + row["centres"] - 1
    return sum(count - 1 for count in centres_of.values()), in_region


def _in_criterion_order(counts: dict[str, int]) -> dict[str, int]:
    return definitions.BY_KEY["rejections_by_criterion"].in_order(counts)


def sum_counts(entries: Iterable[dict]) -> dict:
    """Add up the per-centre figures of several entries (centres, or regions), key by key.

    A figure that is not additive (patients treated: distinct people) is summed too; the caller that can
    count it exactly (``_compute``) replaces it.
    """
    totals = empty_counts()
    for entry in entries:
        _add(totals, {key: entry[key] for key in totals})
    totals["rejections_by_criterion"] = _in_criterion_order(totals["rejections_by_criterion"])
    return totals


def suppress_small_counts(metrics: dict, *, below: int) -> dict:
    """Cells from 1 to ``below`` − 1 shown as ``"<below"``: where a report leaves the region (whole-country runs).

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
