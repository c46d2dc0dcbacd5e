"""The quarterly per-patient report that L.648 asks of prescribing centres (CUF measure of 20 July 2000).

One row per prescription of the region, prescribed in the quarter (Rome days, as the monitoring report), with at
least one dose: the treated patients, with their first dose's day, the stop's day and reason, the adverse events
(day, category, seriousness), the WHO-CPS at day 14 and 28 and the date of death if one is recorded. The patient
appears by keyed pseudonym only. Rows are streamed from one
query (subqueries for the counts, the outcomes and the adverse events), so memory and queries stay constant
whatever the number of patients.
"""

from collections.abc import Iterator
from datetime import date

from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    DateField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, TruncDate
from django.utils.translation import gettext_lazy

from prescriptions.listing import LISTING  # the listing the report is made under, printed in its header
from prescriptions.models import AdverseEvent, Dispensation, Outcome
from registry.calendar import REGISTRY_TIME_ZONE

from .kinds import QUARTERLY_COLUMNS
from .metrics import cohort, live_administrations

CHUNK_SIZE = 500
_SEPARATOR = "|"  # between adverse events inside the query; never in a category or an ISO date


class GroupConcat(Aggregate):
    """Text of every row joined by ``|``: GROUP_CONCAT on SQLite, STRING_AGG on PostgreSQL."""

    function = "GROUP_CONCAT"
    template = "%(function)s(%(expressions)s, '" + _SEPARATOR + "')"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="STRING_AGG", **extra_context)


def _live(model):
    return model.objects.filter(prescription=OuterRef("pk"), entered_in_error_at__isnull=True).order_by()


def _per_prescription(queryset, aggregate, output_field):
    return Subquery(
        queryset.values("prescription").annotate(value=aggregate).values("value"), output_field=output_field
    )


def _outcome(day: int) -> Subquery:
    return Subquery(_live(Outcome).filter(day=day).values("who_cps")[:1], output_field=IntegerField())


def _adverse_events_text() -> Subquery:
    """'2021-11-05 neutropenia (serious)|2021-11-07 hepatic' (order fixed afterwards, in Python)."""
    item = Concat(
        Cast("onset_date", CharField()),
        Value(" "),
        "category",
        Case(When(serious=True, then=Value(" (serious)")), default=Value("")),
        output_field=CharField(),
    )
    return _per_prescription(_live(AdverseEvent), GroupConcat(item), CharField())


def quarterly_header(*, period_start: date, period_end: date) -> list[tuple[str, str]]:
    """The report's header lines (label, text): the listing (the Determina) and the period, both days included."""
    return [
        (str(gettext_lazy("Listing")), str(LISTING)),
        (str(gettext_lazy("Period")), f"{period_start.isoformat()} – {period_end.isoformat()}"),
    ]


def _death_date() -> Subquery:
    return Subquery(
        _live(Outcome).filter(death_on__isnull=False).order_by("death_on").values("death_on")[:1],
        output_field=DateField(),
    )


def quarterly_rows(*, region_code: str, period_start: date, period_end: date) -> Iterator[dict]:
    """The rows of the quarterly report, keyed by ``QUARTERLY_COLUMNS``, in centre and prescription order."""
    live_doses = live_administrations().filter(prescription=OuterRef("pk")).order_by()
    rows = (
        cohort(region_code=region_code, period_start=period_start, period_end=period_end)
        .filter(Exists(live_doses))
        .annotate(
            prescription_day=TruncDate("prescribed_at", tzinfo=REGISTRY_TIME_ZONE),
            doses=Coalesce(_per_prescription(live_doses, Count("pk"), IntegerField()), 0),
            syringes=Coalesce(_per_prescription(_live(Dispensation), Sum("syringes"), IntegerField()), 0),
            serious_events=Coalesce(
                _per_prescription(_live(AdverseEvent), Count("pk", filter=Q(serious=True)), IntegerField()), 0
            ),
            events=_adverse_events_text(),
            who_cps_14=_outcome(14),
            who_cps_28=_outcome(28),
            stop_day=TruncDate("stopped_at", tzinfo=REGISTRY_TIME_ZONE),
            death_date=_death_date(),
        )
        .order_by("centre__name", "prescribed_at", "pk")
        .values(
            "patient__pseudonym",
            "centre__name",
            "prescription_day",
            "criteria_version",
            "status",
            "doses",
            "syringes",
            "stop_reason",
            "events",
            "serious_events",
            "who_cps_14",
            "who_cps_28",
            "first_dose_on",
            "stop_day",
            "death_date",
        )
    )
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        yield dict(
            zip(
                QUARTERLY_COLUMNS,
                (
                    row["patient__pseudonym"],
                    row["centre__name"],
                    row["prescription_day"],
                    row["criteria_version"],
                    row["status"],
                    row["doses"],
                    row["syringes"],
                    row["stop_reason"],
                    "; ".join(sorted((row["events"] or "").split(_SEPARATOR))) if row["events"] else "",
                    row["serious_events"],
                    row["who_cps_14"],
                    row["who_cps_28"],
                    row["first_dose_on"],
                    row["stop_day"],
                    row["death_date"],
                ),
                strict=True,
            )
        )
