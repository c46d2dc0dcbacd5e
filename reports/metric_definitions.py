"""Every figure of a monitoring report, defined once: key, default, where it is counted, label, section.

The computation (``reports.metrics``), the merge of centres or regions (``sum_counts``), the small-count
suppression, the CSV / XLSX / PDF renderers, the charts and the run page all read this table; none keeps its
own list of keys or labels.

What the figures count: the cohort is the prescriptions made in the period (Rome days, both ends included),
each followed over its whole course whenever its doses, stops, events or outcomes happened; records entered in
error are left out everywhere.

- ``prescriptions_submitted``: the cohort; ``prescriptions_eligible`` / ``prescriptions_rejected``: by the
  eligibility engine's verdict at submission. ``rejections_by_criterion``: criterion code → requests failing
  it (a request failing two criteria counts under both); only codes that refused at least one request appear.
- ``patients_treated``: distinct patients with at least one dose on a cohort prescription (a patient with two
  courses counts once; in ``by_centre`` once per centre), so a total is never the sum of its centres.
- ``courses_completed`` / ``courses_stopped`` / ``courses_cancelled``: by status now (data as of the run);
  ``courses_in_progress``: awaiting dispensing + dispensed + in course. Rejected requests are no course.
- ``stops_by_reason``: reason → stopped courses (after at least one dose); cancellations are not stops.
- ``doses_administered`` / ``syringes_dispensed``: administrations and syringes dispensed on the cohort's
  prescriptions, counted from the records (not the counters).
- ``adverse_events_by_category`` (every category, zeros included) and ``serious_adverse_events``.
- ``outcomes_day28``: WHO-CPS score ("0" … "10") → day-28 outcomes; ``deaths_day28``: day-28 WHO-CPS 10.
- ``missed_doses``: per prescription, the scheduled days of the window (its criteria version's days
  from the first dose: 10 under the shipped one; ``prescriptions.course.regimen``) after the
  first dose and before the course's end (the last dose's day once complete; the stop's day; today while it runs;
  never past the window) with no dose recorded, summed. Scheduled: every calendar day, or every other day on the
  renal regimen (every 48 h).
- ``protocol_deviations``: administrations flagged as a dose other than the regimen's (100 mg SC).
- ``courses_with_il_jak_comedication``: prescriptions with a medicine started during the course that the catalogue
  recognised as an interleukin or JAK inhibitor (the blocking alert ``COMEDICATION_IL_JAK``).
- ``deaths``: prescriptions with an outcome (day 14 or 28) at WHO-CPS 10; ``icu_admissions``: with an outcome
  reporting an ICU admission; ``respiratory_failure_day14`` / ``respiratory_failure_day28``: whose day-14 / day-28
  outcome reports severe respiratory failure by that day (PaO2/FiO2 < 150, NIV or mechanical ventilation:
  SAVE-MORE's key secondary endpoint). Runs made before these existed lack them.
- ``requests_by_week``: ISO week ("2025-W07") → requests submitted in it (Rome days), every week the period
  touches listed, zeros included; for the whole report only (not per centre). Runs made before it existed
  lack it, and show no such chart.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from prescriptions.eligibility.types import ALL_CRITERION_CODES
from prescriptions.models import AdverseEventCategory, PrescriptionStatus, StopReason

# Keys of a by_centre entry that identify the centre: never counts, never suppressed.
CENTRE_IDENTITY_KEYS = ("centre_id", "centre_name", "region")
BY_CENTRE = "by_centre"

# Which records a figure is counted from: one query (or one group of queries) each, in ``reports.metrics``.
PRESCRIPTIONS = "prescriptions"
CRITERIA = "criteria"  # the eligibility verdict's criterion outcomes
ADMINISTRATIONS = "administrations"
DISPENSATIONS = "dispensations"
ADVERSE_EVENTS = "adverse_events"
OUTCOMES = "outcomes"
COMEDICATIONS = "comedications"  # medicines recorded during the course
REQUEST_WEEKS = "request_weeks"  # the cohort's requests by the ISO week of their Rome day

# How a figure's own chart is drawn.
BARS = "bars"
TIMELINE = "timeline"  # across the page, after the others

WHO_CPS_SCORES = tuple(str(score) for score in range(11))
WHO_CPS_DEAD = 10

CRITERION_LABELS: dict[str, Promise] = {
    "AGE_ADULT": gettext_lazy("Adult (≥ 18 years)"),
    "HOSPITALISED": gettext_lazy("Hospitalised"),
    "SARS_COV_2_CONFIRMED": gettext_lazy("SARS-CoV-2 confirmed"),
    "PNEUMONIA_MODERATE_SEVERE": gettext_lazy("Moderate or severe pneumonia"),
    "PAO2_FIO2_ABOVE_150": gettext_lazy("PaO2/FiO2 > 150 mmHg"),
    "NO_CPAP_OR_VENTILATION": gettext_lazy("No CPAP or ventilation"),
    "SUPAR_AT_LEAST_6": gettext_lazy("suPAR ≥ 6 ng/mL"),
    "NO_IL_OR_JAK_INHIBITOR": gettext_lazy("No interleukin or JAK inhibitor"),
    "REGIMEN_648": gettext_lazy("L.648 regimen"),
    "NO_NEUTROPENIA": gettext_lazy("Neutrophils ≥ 1.5 ×10⁹/L"),
    "NO_HYPERSENSITIVITY": gettext_lazy("No hypersensitivity"),
    "TOCILIZUMAB_SHORTAGE": gettext_lazy("Tocilizumab shortage in force"),
}
# WHO Clinical Progression Scale (WHO Working Group, Lancet Infect Dis 2020).
WHO_CPS_LABELS: dict[str, Promise] = {
    "0": gettext_lazy("uninfected"),
    "1": gettext_lazy("asymptomatic, viral RNA detected"),
    "2": gettext_lazy("symptomatic, independent"),
    "3": gettext_lazy("symptomatic, assistance needed"),
    "4": gettext_lazy("hospitalised, no oxygen"),
    "5": gettext_lazy("oxygen by mask or prongs"),
    "6": gettext_lazy("high-flow oxygen or NIV"),
    "7": gettext_lazy("ventilated, PaO2/FiO2 ≥ 150"),
    "8": gettext_lazy("ventilated, PaO2/FiO2 < 150 or vasopressors"),
    "9": gettext_lazy("ventilated, and vasopressors, dialysis or ECMO"),
    "10": gettext_lazy("dead"),
}


@dataclass(frozen=True)
class Section:
    key: str
    label: Promise


@dataclass(frozen=True)
class MetricDefinition:
    key: str
    label: Promise
    short: Promise  # column header of the per-centre table, where space is short
    section: str
    source: str  # which records it is counted from (see the constants above)
    breakdown: bool = False  # a dict code → count rather than one count
    # A breakdown's codes that are always there (zeros included), in the order they are shown; empty: only the
    # codes that occurred, then shown in ``code_labels`` order (or sorted).
    fixed_codes: Callable[[], tuple[str, ...]] = tuple
    code_labels: Callable[[], Mapping[str, Promise]] = dict
    # The order of an open breakdown's codes (stored and shown); empty: ``fixed_codes``, else ``code_labels``.
    code_sequence: Callable[[], tuple[str, ...]] = tuple
    additive: bool = True  # the total of several centres (or regions) is their sum
    per_centre: bool = True  # also counted for each centre of ``by_centre``
    computed: bool = True  # computed by ``reports.metrics`` (False: shown when a run's metrics carry it)
    chart: str = ""  # drawn as its own chart (the run page and the PDF): BARS, or TIMELINE across the page
    optional: bool = False  # older runs' metrics may lack it: shown only when a run's metrics carry it
    table: bool = False  # listed as its own breakdown table (XLSX sheet, PDF and page tables)
    codes_shown: bool = False  # the page prints the code beside its label (criterion codes)
    whole_scale: bool = False  # shown with every fixed code, even one a run's metrics leave out (a scale)

    def default(self):
        """The value of a centre (or a report) with nothing to count."""
        if self.breakdown:
            return dict.fromkeys(self.fixed_codes(), 0)
        return 0

    def code_order(self) -> list[str]:
        return list(self.code_sequence() or self.fixed_codes() or self.code_labels())

    def in_order(self, counts: Mapping[str, int]) -> dict[str, int]:
        """``counts`` with its codes in the domain's order, unknown codes after, sorted."""
        known = [code for code in self.code_order() if code in counts]
        return {code: counts[code] for code in known + sorted(code for code in counts if code not in known)}


def _m(key, label, short=None, *, section, source, **options) -> MetricDefinition:
    return MetricDefinition(key, label, short or label, section, source, **options)


SECTIONS: tuple[Section, ...] = (
    Section("requests", gettext_lazy("Requests")),
    Section("courses", gettext_lazy("Courses")),
    Section("treatment", gettext_lazy("Doses and dispensing")),
    Section("safety", gettext_lazy("Safety")),
    Section("outcomes", gettext_lazy("Outcomes")),
)
OTHER_SECTION = gettext_lazy("Other")

# In the order the figures are stored (and the API returns them); shown grouped by section in this order.
DEFINITIONS: tuple[MetricDefinition, ...] = (
    _m(
        "prescriptions_submitted",
        gettext_lazy("Requests submitted"),
        gettext_lazy("Requests"),
        section="requests",
        source=PRESCRIPTIONS,
    ),
    _m("prescriptions_eligible", gettext_lazy("Eligible"), section="requests", source=PRESCRIPTIONS),
    _m("prescriptions_rejected", gettext_lazy("Refused"), section="requests", source=PRESCRIPTIONS),
    _m(
        "rejections_by_criterion",
        gettext_lazy("Refusals by criterion"),
        section="requests",
        source=CRITERIA,
        breakdown=True,
        code_labels=lambda: CRITERION_LABELS,
        code_sequence=lambda: ALL_CRITERION_CODES,  # the eligibility engine's order
        chart=BARS,
        table=True,
        codes_shown=True,
    ),
    _m(
        "requests_by_week",
        gettext_lazy("Requests per week"),
        section="requests",
        source=REQUEST_WEEKS,
        breakdown=True,
        per_centre=False,
        optional=True,
        chart=TIMELINE,
    ),
    _m(
        "patients_treated",
        gettext_lazy("Patients treated (at least one dose)"),
        gettext_lazy("Treated"),
        section="courses",
        source=PRESCRIPTIONS,
        additive=False,
    ),
    _m(
        "courses_completed",
        gettext_lazy("Courses completed"),
        gettext_lazy("Completed"),
        section="courses",
        source=PRESCRIPTIONS,
    ),
    _m(
        "courses_stopped",
        gettext_lazy("Courses stopped"),
        gettext_lazy("Stopped"),
        section="courses",
        source=PRESCRIPTIONS,
    ),
    _m(
        "courses_cancelled",
        gettext_lazy("Courses cancelled"),
        gettext_lazy("Cancelled"),
        section="courses",
        source=PRESCRIPTIONS,
    ),
    _m(
        "courses_in_progress",
        gettext_lazy("Courses in progress"),
        gettext_lazy("In progress"),
        section="courses",
        source=PRESCRIPTIONS,
    ),
    _m(
        "stops_by_reason",
        gettext_lazy("Stops by reason"),
        section="courses",
        source=PRESCRIPTIONS,
        breakdown=True,
        fixed_codes=lambda: tuple(StopReason.values),
        code_labels=lambda: dict(StopReason.choices),
        table=True,
    ),
    _m(
        "doses_administered",
        gettext_lazy("Doses administered"),
        gettext_lazy("Doses"),
        section="treatment",
        source=ADMINISTRATIONS,
    ),
    _m(
        "syringes_dispensed",
        gettext_lazy("Syringes dispensed"),
        gettext_lazy("Syringes"),
        section="treatment",
        source=DISPENSATIONS,
    ),
    _m(
        "adverse_events_by_category",
        gettext_lazy("Adverse events by category"),
        section="safety",
        source=ADVERSE_EVENTS,
        breakdown=True,
        fixed_codes=lambda: tuple(AdverseEventCategory.values),
        code_labels=lambda: dict(AdverseEventCategory.choices),
        chart=BARS,
        table=True,
    ),
    _m(
        "serious_adverse_events",
        gettext_lazy("Serious adverse events"),
        gettext_lazy("Serious AEs"),
        section="safety",
        source=ADVERSE_EVENTS,
    ),
    _m(
        "outcomes_day28",
        gettext_lazy("WHO-CPS at day 28"),
        section="outcomes",
        source=OUTCOMES,
        breakdown=True,
        fixed_codes=lambda: WHO_CPS_SCORES,
        code_labels=lambda: WHO_CPS_LABELS,
        whole_scale=True,
        chart=BARS,
        table=True,
    ),
    _m(
        "deaths_day28",
        gettext_lazy("Deaths by day 28 (WHO-CPS 10)"),
        gettext_lazy("Deaths d28"),
        section="outcomes",
        source=OUTCOMES,
    ),
    _m("missed_doses", gettext_lazy("Missed doses"), section="treatment", source=PRESCRIPTIONS),
    _m(
        "courses_with_il_jak_comedication",
        gettext_lazy("Courses with an IL or JAK inhibitor started during them"),
        gettext_lazy("IL/JAK co-med."),
        section="safety",
        source=COMEDICATIONS,
        optional=True,
    ),
    _m(
        "deaths",
        gettext_lazy("Deaths recorded (WHO-CPS 10 at day 14 or 28)"),
        gettext_lazy("Deaths"),
        section="outcomes",
        source=OUTCOMES,
        optional=True,
    ),
    _m(
        "icu_admissions",
        gettext_lazy("ICU admissions (by day 28)"),
        gettext_lazy("ICU"),
        section="outcomes",
        source=OUTCOMES,
        optional=True,
    ),
    _m(
        "respiratory_failure_day14",
        gettext_lazy("Severe respiratory failure by day 14"),
        gettext_lazy("Resp. failure d14"),
        section="outcomes",
        source=OUTCOMES,
        optional=True,
    ),
    _m(
        "respiratory_failure_day28",
        gettext_lazy("Severe respiratory failure by day 28"),
        gettext_lazy("Resp. failure d28"),
        section="outcomes",
        source=OUTCOMES,
        optional=True,
    ),
    _m(
        "protocol_deviations",
        gettext_lazy("Protocol deviations"),
        gettext_lazy("Deviations"),
        section="treatment",
        source=ADMINISTRATIONS,
    ),
)

BY_KEY: dict[str, MetricDefinition] = {definition.key: definition for definition in DEFINITIONS}
SECTION_BY_KEY: dict[str, Section] = {section.key: section for section in SECTIONS}
# As shown: section by section, in the table's order inside each.
SHOWN: tuple[MetricDefinition, ...] = tuple(d for s in SECTIONS for d in DEFINITIONS if d.section == s.key)
# The figures ``reports.metrics`` computes, in the order they are stored.
COMPUTED: tuple[MetricDefinition, ...] = tuple(d for d in DEFINITIONS if d.computed)
COUNT_KEYS: tuple[str, ...] = tuple(d.key for d in COMPUTED)
METRIC_KEYS: tuple[str, ...] = (*COUNT_KEYS, BY_CENTRE)
PER_CENTRE: tuple[MetricDefinition, ...] = tuple(d for d in COMPUTED if d.per_centre)
BREAKDOWN_KEYS: tuple[str, ...] = tuple(d.key for d in DEFINITIONS if d.breakdown)
# The breakdowns that get a table of their own (an XLSX sheet, a PDF and page table).
TABLE_KEYS: tuple[str, ...] = tuple(d.key for d in SHOWN if d.table)
# The figures with a chart of their own: bar charts first, time lines after.
CHART_KEYS: tuple[str, ...] = tuple(d.key for kind in (BARS, TIMELINE) for d in DEFINITIONS if d.chart == kind)
# Courses by status: one chart of the single counts below.
COURSE_STATUS_KEYS = ("courses_completed", "courses_stopped", "courses_cancelled", "courses_in_progress")

# The coded columns of the quarterly report, printed as words in the PDF.
QUARTERLY_CODE_LABELS: dict[str, Mapping[str, Promise]] = {
    "status": dict(PrescriptionStatus.choices),
    "stop_reason": dict(StopReason.choices),
}


def iso_week(day) -> str:
    """The ISO week holding ``day``, as "2025-W07" (the key of ``requests_by_week``)."""
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def empty_counts(definitions=PER_CENTRE) -> dict:
    """Every per-centre figure at its default (zero, or a breakdown of zeros)."""
    return {definition.key: definition.default() for definition in definitions}


def code_labels(metric_key: str) -> Mapping[str, Promise]:
    definition = BY_KEY.get(metric_key)
    if definition is not None:
        return definition.code_labels()
    return QUARTERLY_CODE_LABELS.get(metric_key, {})


__all__ = [
    "BY_CENTRE",
    "BY_KEY",
    "CENTRE_IDENTITY_KEYS",
    "COUNT_KEYS",
    "DEFINITIONS",
    "METRIC_KEYS",
    "MetricDefinition",
    "SECTIONS",
]
