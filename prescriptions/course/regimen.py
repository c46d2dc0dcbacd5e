"""The course's regimen, read from the criteria version the prescription was judged by: the one place that says
how long the window is, how many doses it holds, how far apart they fall, and which dose by which route.

DOMAIN.md, "The course": under the shipped version the window is 10 calendar days from the first dose (day 1);
the daily regimen gives a dose on each of them, the renal one (every 48 h) on days 1, 3, 5, 7 and 9. A dose is
never made up after the window. Each criteria version carries its regimens as data (``regimen``,
``renal_regimen`` in ``eligibility/versions/*.json``), and nothing else in the code holds a copy: the services,
the alerts, the pages, the API, the FHIR dosage, the PDFs, the monitoring queries and the seeds all ask here, so
a later listing with another window or dose count changes no code.
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from django.db.models import Case, IntegerField, Q, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from registry.calendar import rome_today

from .. import eligibility
from ..models import DoseInterval, PrescriptionStatus


@dataclass(frozen=True)
class CourseRegimen:
    """One course's schedule: ``window_days`` calendar days from the first dose, ``doses`` of ``dose_mg``
    ``route`` every ``interval_days``."""

    window_days: int
    doses: int
    interval_hours: int
    interval_days: int
    dose_mg: Decimal
    route: str
    # The renal regimen's condition: creatinine clearance below this (mL/min); None on the listing's own regimen.
    renal_below_ml_min: Decimal | None = None

    def window_last_day(self, first_dose_on: date) -> date:
        """Day ``window_days`` of the course (day 1: the first dose's Rome day)."""
        return first_dose_on + timedelta(days=self.window_days - 1)

    def dose_days(self, first_dose_on: date) -> list[date]:
        """The scheduled days of the window: every day, or every other day every 48 h."""
        return [first_dose_on + timedelta(days=n) for n in range(0, self.window_days, self.interval_days)][: self.doses]


@cache
def regimen_of(criteria_version: str, dose_interval_hours: int) -> CourseRegimen:
    """The regimen of a course judged by ``criteria_version`` at ``dose_interval_hours`` (24, or 48 on the renal
    regimen)."""
    version = eligibility.criteria_version(criteria_version)
    regimen = version.regimen
    renal = version.renal_regimen
    renal_below = None
    if renal is not None and dose_interval_hours == renal.interval_hours and renal != version.regimen:
        regimen = renal
        renal_below = version.thresholds.creatinine_clearance_below_ml_min
    interval_hours = dose_interval_hours or regimen.interval_hours
    return _course(replace(regimen, interval_hours=interval_hours), renal_below_ml_min=renal_below)


def _course(regimen: eligibility.Regimen, renal_below_ml_min: Decimal | None = None) -> CourseRegimen:
    interval_hours = regimen.interval_hours
    return CourseRegimen(
        renal_below_ml_min=renal_below_ml_min,
        window_days=regimen.duration_days,
        doses=regimen.doses,
        interval_hours=interval_hours,
        interval_days=max(1, interval_hours // 24),
        dose_mg=regimen.dose_mg,
        route=regimen.route,
    )


def course_regimen(prescription) -> CourseRegimen:
    """The regimen ``prescription``'s course follows (its criteria version, its dose interval)."""
    return regimen_of(prescription.criteria_version, prescription.dose_interval_hours)


def listing_regimen(day: date | None = None) -> CourseRegimen:
    """The listing's (daily) regimen of the criteria version in force on ``day`` (today): what a new prescription
    offers by default. Before the first version, or after the last, the nearest shipped one."""
    day = day or rome_today()
    try:
        version = eligibility.criteria_in_force(day)
    except eligibility.NoCriteriaInForce:
        shipped = eligibility.SHIPPED_VERSIONS
        version = shipped[0] if day < shipped[0].valid_from else shipped[-1]
    return _course(version.regimen)


def window_last_day(prescription) -> date | None:
    """The window's last day (day ``window_days``), or None before the first dose."""
    if prescription.first_dose_on is None:
        return None
    return course_regimen(prescription).window_last_day(prescription.first_dose_on)


def plain_number(number: Decimal) -> str:
    """A decimal as written, without trailing zeros or exponent (100, 1.5)."""
    return format(number.normalize(), "f") if isinstance(number, Decimal) else str(number)


def regimen_text(regimen: CourseRegimen) -> str:
    """The regimen as the pages, the PDFs and the alerts name it, in the active language: "100 mg SC every 24
    hours for 10 days (10 doses)"."""
    return ngettext(
        "%(dose)s mg %(route)s every %(interval)s hours for %(days)s day (%(doses)s doses)",
        "%(dose)s mg %(route)s every %(interval)s hours for %(days)s days (%(doses)s doses)",
        regimen.window_days,
    ) % {
        "dose": plain_number(regimen.dose_mg),
        "route": regimen.route,
        "interval": regimen.interval_hours,
        "days": regimen.window_days,
        "doses": regimen.doses,
    }


def course_description(prescription) -> str:
    """The course's regimen in one sentence, with the renal regimen's condition when it follows that one."""
    regimen = course_regimen(prescription)
    if regimen.renal_below_ml_min is not None:
        return _("%(regimen)s: creatinine clearance below %(threshold)s mL/min.") % {
            "regimen": regimen_text(regimen),
            "threshold": plain_number(regimen.renal_below_ml_min),
        }
    return f"{regimen_text(regimen)}."


# --- The same, for queries (reports, work lists): one ``When`` per shipped criteria version -------------------


def _by_version_and_interval(value) -> Case:
    whens = [
        When(
            Q(criteria_version=version.identifier, dose_interval_hours=interval),
            then=Value(value(regimen_of(version.identifier, interval))),
        )
        for version in eligibility.SHIPPED_VERSIONS
        for interval in DoseInterval.values
    ]
    fallback = regimen_of(eligibility.SHIPPED_VERSIONS[-1].identifier, DoseInterval.EVERY_24_H)
    return Case(*whens, default=Value(value(fallback)), output_field=IntegerField())


def window_days_expression() -> Case:
    """The window's length of each prescription's course, in SQL."""
    return _by_version_and_interval(lambda regimen: regimen.window_days)


def course_doses_expression() -> Case:
    """The doses of each prescription's course, in SQL."""
    return _by_version_and_interval(lambda regimen: regimen.doses)


def windows_ended_before(today: date) -> Q:
    """Running courses whose window's last day is before ``today``."""
    condition = Q(pk__in=[])
    for version in eligibility.SHIPPED_VERSIONS:
        for interval in DoseInterval.values:
            regimen = regimen_of(version.identifier, interval)
            condition |= Q(
                criteria_version=version.identifier,
                dose_interval_hours=interval,
                first_dose_on__lte=today - timedelta(days=regimen.window_days),
            )
    return Q(status=PrescriptionStatus.IN_COURSE) & condition


def longest_window_days() -> int:
    return max(
        regimen_of(version.identifier, interval).window_days
        for version in eligibility.SHIPPED_VERSIONS
        for interval in DoseInterval.values
    )
