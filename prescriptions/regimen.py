"""The course's regimen, read from the criteria version the prescription was judged by: the one place that says
how long the window is, how many doses it holds and how far apart they fall.

DOMAIN.md, "The course": the window is 10 calendar days from the first dose (day 1); the daily regimen gives a
dose on each of them, the renal one (every 48 h) on days 1, 3, 5, 7 and 9. A dose is never made up after the
window. Each criteria version carries its regimens as data (``regimen``, ``renal_regimen``), so a later listing
with another window changes no code here.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from django.db.models import Case, IntegerField, Q, Value, When

from . import eligibility
from .models import DoseInterval, PrescriptionStatus


@dataclass(frozen=True)
class CourseRegimen:
    """One course's schedule: ``window_days`` calendar days from the first dose, ``doses`` of ``dose_mg``
    ``route`` every ``interval_days``."""

    window_days: int
    doses: int
    interval_days: int
    dose_mg: Decimal
    route: str

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
    if renal is not None and dose_interval_hours == renal.interval_hours:
        regimen = renal
    interval_hours = dose_interval_hours or regimen.interval_hours
    return CourseRegimen(
        window_days=regimen.duration_days,
        doses=regimen.duration_days * 24 // interval_hours,
        interval_days=max(1, interval_hours // 24),
        dose_mg=regimen.dose_mg,
        route=regimen.route,
    )


def course_regimen(prescription) -> CourseRegimen:
    return regimen_of(prescription.criteria_version, prescription.dose_interval_hours)


def window_last_day(prescription) -> date | None:
    """The window's last day (day 10), or None before the first dose."""
    if prescription.first_dose_on is None:
        return None
    return course_regimen(prescription).window_last_day(prescription.first_dose_on)


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
