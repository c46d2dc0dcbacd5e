"""Alerts on a prescription, computed when it is read (never stored, so never stale).

Pure: the prescription's records and today's Rome date in, alerts out.
Thresholds come from the criteria version the prescription was judged by (``AlertThresholds``): ANC below the
version's ``anc_at_least_10e9_l`` (neutropenia, Kineret SmPC: 1.5 ×10⁹/L), a dose other than the version's
regimen (protocol deviation: 100 mg SC once a day, CTS 23/09/2021); ALT/AST ≥ 3 × ULN (hepatic events, Kineret
SmPC), which the criteria versions do not carry (their liver threshold, 1.5 × ULN, is the start-of-therapy
warning). Also a course day with no dose (missed dose: from day 1, the first dose's Rome day, every calendar
day up to the end of the course must have its dose) and no day-28 outcome after day 28. While the course is
active, a medicine started during it that the catalogue recognises as an interleukin or JAK inhibitor
(``COMEDICATION_IL_JAK``, blocking: L.648 does not allow the co-administration) or does not recognise at all
(``COMEDICATION_UNRECOGNISED``, until someone confirms it is neither).
"""

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from registry.calendar import rome_date

from .. import eligibility
from ..codes import AlertCode, BaselineWarning
from ..models import ACTIVE_STATUSES, ILLNESS_DAYS_HYPERINFLAMMATORY, PrescriptionStatus
from .regimen import course_regimen, regimen_text, window_last_day
from .workflow import FINAL_OUTCOME_DAY

# Kineret SmPC: liver enzymes at 3 × ULN or more during treatment suggest a hepatic event. Not in the criteria
# versions (see the module docstring); it moves there if a version ever changes it.
HEPATIC_FROM_X_ULN = Decimal(3)
# Used when a lab gives no upper limit of normal: common adult reference for ALT and AST (U/L).
DEFAULT_ULN = {"alt": Decimal(40), "ast": Decimal(40)}


def _plain(value) -> str:
    """150, 1.2, 0.75 (1,2 and 0,75 in Italian): no trailing zeros, never scientific notation, the reader's
    decimal separator."""
    return number_format(Decimal(f"{Decimal(value).normalize():f}"))


def _day(day: date) -> str:
    """A day as the reader writes it: 01/12/2026 in Italian, 01 Dec 2026 in English (never ISO)."""
    return date_format(day, "SHORT_DATE_FORMAT")


@dataclass(frozen=True)
class AlertThresholds:
    """The limits the alerts apply, from the criteria version a prescription was judged by."""

    neutropenia_below_10e9_l: Decimal
    hepatic_from_x_uln: Decimal
    regimen: eligibility.Regimen

    @classmethod
    def of_version(cls, identifier: str) -> "AlertThresholds":
        version = eligibility.criteria_version(identifier)
        return cls(
            neutropenia_below_10e9_l=version.thresholds.anc_at_least_10e9_l,
            hepatic_from_x_uln=HEPATIC_FROM_X_ULN,
            regimen=version.regimen,
        )

    @classmethod
    def of(cls, prescription) -> "AlertThresholds":
        return cls.of_version(prescription.criteria_version)


def is_protocol_deviation(prescription, *, dose_mg, route: str) -> bool:
    """A dose other than the regimen of the prescription's criteria version (L.648: 100 mg SC)."""
    regimen = AlertThresholds.of(prescription).regimen
    return Decimal(dose_mg) != regimen.dose_mg or route != regimen.route


@dataclass(frozen=True)
class Alert:
    code: str
    message: str
    on: date | None = None

    def as_dict(self) -> dict:
        data = asdict(self)
        data["on"] = self.on.isoformat() if self.on else None
        return data


def course_end_exclusive(prescription, *, today: date) -> date | None:
    """The first day not counted for missed doses: never past the window (day 11, the day after day 10); before
    it, the last dose's day once the course is complete, the stop's day once stopped, today while running."""
    if prescription.first_dose_on is None:
        return None
    after_window = window_last_day(prescription) + timedelta(days=1)
    if prescription.status == PrescriptionStatus.COMPLETED:
        if prescription.doses_administered >= course_regimen(prescription).doses:
            end = prescription.last_dose_on  # the last dose's day, which has its dose
        else:
            end = after_window  # closed when its window ended, whatever doses were missed
    elif prescription.stopped_at is not None:
        end = rome_date(prescription.stopped_at)  # the stop's day is not counted
    else:
        end = today  # running: today is not counted
    return min(end, after_window)


def course_last_day(prescription, *, today: date) -> date | None:
    """The last day records raise alerts for: the stop's day, the window's last day once it ended or the course
    was completed; None while the course runs (or has not begun)."""
    if prescription.stopped_at is not None:
        return rome_date(prescription.stopped_at)
    if prescription.first_dose_on is None:
        return None
    last = window_last_day(prescription)
    if prescription.status == PrescriptionStatus.COMPLETED or today > last:
        return last
    return None


def missed_days(prescription, dose_days: Iterable[date], *, today: date) -> list[date]:
    """Scheduled days of the window after the first dose and before the course's end with no dose recorded
    (every calendar day; every other day on a course every 48 h)."""
    end = course_end_exclusive(prescription, today=today)
    if end is None:
        return []
    given = set(dose_days)
    step = timedelta(days=course_regimen(prescription).interval_days)
    day = prescription.first_dose_on + step
    missed = []
    while day < end:
        if day not in given:
            missed.append(day)
        day += step
    return missed


def serious_infection_alert(event) -> Alert | None:
    """A serious infection recorded during the course (Kineret SmPC 4.4: stop anakinra)."""
    if event.category != "serious_infection" or event.entered_in_error_at is not None:
        return None
    return Alert(
        AlertCode.SERIOUS_INFECTION,
        _("Serious infection from %(day)s: stop anakinra (Kineret SmPC 4.4) and treat the infection.")
        % {"day": _day(event.onset_date)},
        event.onset_date,
    )


def lab_alert(result, thresholds: AlertThresholds | None = None) -> Alert | None:
    """The alert a lab result raises, if any; ``thresholds`` default to its prescription's."""
    thresholds = thresholds or AlertThresholds.of(result.prescription)
    value = Decimal(result.value)
    day = rome_date(result.collected_at)
    if result.test == "anc":
        if value < thresholds.neutropenia_below_10e9_l:
            return Alert(
                AlertCode.NEUTROPENIA,
                _("ANC %(value)s ×10⁹/L on %(day)s is below 1.5: monitor closely and consider stopping anakinra.")
                % {"value": _plain(value), "day": _day(day)},
                day,
            )
        return None
    uln = Decimal(result.upper_limit_normal) if result.upper_limit_normal else DEFAULT_ULN[result.test]
    ratio = value / uln
    if ratio >= thresholds.hepatic_from_x_uln:
        return Alert(
            AlertCode.HEPATIC,
            _("%(test)s %(value)s U/L on %(day)s is %(ratio)s × the upper limit of normal (%(uln)s): hepatic event?")
            % {
                "test": result.test.upper(),
                "value": _plain(value),
                "day": _day(day),
                "ratio": number_format(ratio.quantize(Decimal("0.1"))),
                "uln": _plain(uln),
            },
            day,
        )
    return None


def comedication_alert(record) -> Alert | None:
    """The alert a medicine started during the course raises, if any."""
    if record.il_jak_inhibitor:
        return Alert(
            AlertCode.COMEDICATION_IL_JAK,
            _(
                "%(medicine)s, started on %(day)s, is an interleukin or JAK inhibitor: co-administration not "
                "allowed under L.648. Stop the course or withdraw the medicine."
            )
            % {"medicine": record.name or record.atc_code, "day": _day(record.started_on)},
            record.started_on,
        )
    if not record.drug_classes and not record.confirmed_not_il_jak:
        return Alert(
            AlertCode.COMEDICATION_UNRECOGNISED,
            _(
                "%(medicine)s, started on %(day)s, is not in the catalogue: check its ATC code, or confirm it "
                "is neither an interleukin nor a JAK inhibitor."
            )
            % {"medicine": record.name or record.atc_code, "day": _day(record.started_on)},
            record.started_on,
        )
    return None


def prescription_alerts(
    prescription, *, administrations, lab_results, outcomes, today: date, comedications=(), adverse_events=()
) -> list[Alert]:
    """Every alert on the prescription, from its records not entered in error; a course that ended (stopped,
    completed, or past its window) raises nothing from what was recorded after its last day."""
    thresholds = AlertThresholds.of(prescription)
    administrations = [a for a in administrations if a.entered_in_error_at is None]
    last_day = course_last_day(prescription, today=today)
    alerts: list[Alert] = []
    serious_infection = None  # one alert per course: the latest
    for event in sorted(adverse_events, key=lambda e: e.onset_date):
        if (alert := serious_infection_alert(event)) is not None and (last_day is None or alert.on <= last_day):
            serious_infection = alert
    if serious_infection is not None:
        alerts.append(serious_infection)
    if prescription.status in ACTIVE_STATUSES:
        for record in comedications:
            if record.entered_in_error_at is None and (alert := comedication_alert(record)) is not None:
                alerts.append(alert)
    for day in missed_days(prescription, (a.administered_on for a in administrations), today=today):
        alerts.append(Alert(AlertCode.MISSED_DOSE, _("No dose recorded on %(day)s.") % {"day": _day(day)}, day))
    neutropenia = None  # one alert per course, from the latest low count, however many counts were low
    for result in sorted(lab_results, key=lambda r: r.collected_at):
        if last_day is not None and rome_date(result.collected_at) > last_day:
            continue
        if result.entered_in_error_at is None and (alert := lab_alert(result, thresholds)) is not None:
            if alert.code == AlertCode.NEUTROPENIA:
                neutropenia = alert
            else:
                alerts.append(alert)
    if neutropenia is not None:
        alerts.append(neutropenia)
    regimen = course_regimen(prescription)
    for administration in administrations:
        if administration.protocol_deviation:
            values = {
                "dose": _plain(administration.dose_mg),
                "route": administration.route,
                "day": _day(administration.administered_on),
                "regimen": regimen_text(regimen),
            }
            message = _("Dose of %(dose)s mg %(route)s on %(day)s: the regimen prescribed is %(regimen)s.")
            alerts.append(Alert(AlertCode.PROTOCOL_DEVIATION, message % values, administration.administered_on))
    if prescription.first_dose_on is not None:
        day_28 = prescription.first_dose_on + timedelta(days=FINAL_OUTCOME_DAY - 1)
        has_day_28 = any(o.day == FINAL_OUTCOME_DAY and o.entered_in_error_at is None for o in outcomes)
        if today > day_28 and not has_day_28:
            alerts.append(
                Alert(
                    AlertCode.OUTCOME_OVERDUE,
                    _("Day 28 was %(day)s: the WHO-CPS outcome at day 28 is missing.") % {"day": _day(day_28)},
                    day_28,
                )
            )
    return alerts


def course_grid(prescription, administrations, *, today: date) -> list[dict]:
    """The course's window as a grid for the page: exactly its days (10), day 1 the first dose's. Each day is a
    dose day of the schedule (every day, or days 1, 3, 5, 7 and 9 on the renal regimen) or not (``scheduled``),
    and its ``state``: ``given``, ``missed``, ``to_come``, ``not_given`` (a dose day after the course ended) or
    ``rest`` (no dose scheduled). A dose given off the schedule shows where it fell, as given."""
    regimen = course_regimen(prescription)
    first = prescription.first_dose_on
    if first is None:
        return [
            {
                "day": n + 1,
                "date": None,
                "scheduled": n % regimen.interval_days == 0,
                "state": "to_come" if n % regimen.interval_days == 0 else "rest",
                "dose": None,
                "today": False,
            }
            for n in range(regimen.window_days)
        ]
    by_day = {a.administered_on: a for a in administrations if a.entered_in_error_at is None}
    missed = set(missed_days(prescription, by_day, today=today))
    ended = prescription.status in (PrescriptionStatus.STOPPED, PrescriptionStatus.COMPLETED)
    cells = []
    for n in range(regimen.window_days):
        day = first + timedelta(days=n)
        scheduled = n % regimen.interval_days == 0
        dose = by_day.get(day)
        if dose is not None:
            state = "given"
        elif not scheduled:
            state = "rest"
        elif day in missed:
            state = "missed"
        elif ended or day < today:
            state = "not_given"
        else:
            state = "to_come"
        cells.append(
            {"day": n + 1, "date": day, "scheduled": scheduled, "state": state, "dose": dose, "today": day == today}
        )
    return cells


def baseline_warnings(prescription) -> list[Alert]:
    """What the baseline asks the prescriber to weigh: shown and recorded, never a criterion.

    The day of illness outside the hyperinflammatory phase (days 6–13, day 1: the symptom onset's day) in which
    anakinra was studied; an active serious infection other than COVID-19 (Kineret SmPC: do not start
    anakinra in patients with an active serious infection).
    """
    warnings: list[Alert] = []
    illness_day = prescription.day_of_illness
    first, last = ILLNESS_DAYS_HYPERINFLAMMATORY
    if illness_day is not None and not first <= illness_day <= last:
        warnings.append(
            Alert(
                BaselineWarning.ILLNESS_DAY_OUTSIDE_HYPERINFLAMMATORY_PHASE,
                _(
                    "Day %(day)d of illness (symptom onset on %(onset)s): anakinra was studied in the "
                    "hyperinflammatory phase, days %(first)d–%(last)d."
                )
                % {
                    "day": illness_day,
                    "onset": _day(prescription.symptom_onset_on),
                    "first": first,
                    "last": last,
                },
                prescription.symptom_onset_on,
            )
        )
    if prescription.active_serious_infection:
        warnings.append(
            Alert(
                BaselineWarning.ACTIVE_SERIOUS_INFECTION,
                _(
                    "Active serious infection other than COVID-19: the Kineret SmPC advises against starting "
                    "anakinra; weigh it and monitor closely."
                ),
            )
        )
    return warnings
