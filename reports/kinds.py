"""The kinds of report, and what a renderer receives: the run's identity and its figures (every format)."""

from dataclasses import dataclass, field
from datetime import date, datetime

MONITORING = "monitoring"
QUARTERLY_PATIENTS = "quarterly_patients"
# The key of a monitoring run's L.648 spending in its metrics (reports.renderers.spending): the Region's own.
SPENDING = "spending"

# The columns of the L.648 quarterly per-patient report (pseudonymised), in order.
QUARTERLY_COLUMNS = (
    "pseudonym",
    "centre",
    "prescription_date",
    "criteria_version",
    "status",
    "doses_administered",
    "syringes_dispensed",
    "stop_reason",
    "adverse_events",
    "serious_adverse_events",
    "who_cps_day14",
    "who_cps_day28",
    # Added with issue 10, after the older columns so that a reader of the older files finds them where they were.
    "first_dose_date",
    "stop_date",
    "death_date",
)


@dataclass(frozen=True)
class ReportContext:
    """Identity of a report run, as printed on every file."""

    run_id: str
    kind: str  # MONITORING or QUARTERLY_PATIENTS
    title: str
    region_code: str | None  # None: the whole country
    region_name: str  # "Italia" for the whole country
    period_start: date
    period_end: date
    data_as_of: datetime
    # Monitoring: the metrics dict (keys in reports.metric_definitions), with "by_centre" a list of dicts
    # holding "centre_id", "centre_name", "region" and the same counts. Empty for the quarterly report.
    metrics: dict = field(default_factory=dict)
    # Cells below this count, and their complements, are hidden in files that leave the region (reports.disclosure).
    suppress_below: int = 0
    # Who the file is for ("region" or "national", see reports.models.ReportAudience).
    audience: str = "region"
    # The quarterly report's columns for this audience (the national form: reports.national.national_columns).
    columns: tuple[str, ...] = QUARTERLY_COLUMNS


# How the whole country is named on a report (the run of no region).
COUNTRY_NAME = "Italia"
