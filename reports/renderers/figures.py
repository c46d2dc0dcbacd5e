"""What a monitoring report shows, in which order, under which label: shared by every file format and the run page.

Everything here reads a ``ReportContext`` only (no ORM), so the CSV, the XLSX, the PDF and the HTML page print the
same figures with the same small-count suppression.
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from registry.calendar import REGISTRY_TIME_ZONE
from registry.formats import long_date

from .. import funnel
from .. import metric_definitions as definitions
from ..disclosure import SUPPRESSED
from ..kinds import ReportContext
from ..metric_definitions import MetricDefinition

# The figures and their labels are defined once, in ``reports.metric_definitions``; this module lays them out.
CENTRE_IDENTITY_KEYS = definitions.CENTRE_IDENTITY_KEYS
BY_CENTRE = definitions.BY_CENTRE
BY_REGION = "by_region"


@dataclass(frozen=True)
class Section:
    key: str
    label: Promise
    metrics: tuple[MetricDefinition, ...]


SECTIONS: tuple[Section, ...] = tuple(
    Section(section.key, section.label, tuple(d for d in definitions.SHOWN if d.section == section.key))
    for section in definitions.SECTIONS
)
OTHER_SECTION = definitions.OTHER_SECTION

METRICS: dict[str, MetricDefinition] = {definition.key: definition for definition in definitions.SHOWN}
SECTION_OF: dict[str, Section] = {metric.key: section for section in SECTIONS for metric in section.metrics}
HEADLINE_KEYS: tuple[str, ...] = tuple(key for key, metric in METRICS.items() if not metric.breakdown)
# The breakdowns that get a sheet, a table and a chart of their own.
BREAKDOWN_KEYS = definitions.TABLE_KEYS
ALL_BREAKDOWN_KEYS = definitions.BREAKDOWN_KEYS
QUARTERLY_CODE_LABELS = definitions.QUARTERLY_CODE_LABELS
COURSE_STATUS_KEYS = definitions.COURSE_STATUS_KEYS


def is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def shown(value, suppress_below: int = 0):
    """A cell as printed. The context's metrics come already protected where the report leaves the region
    (``reports.disclosure``: small counts and their complements are ``SUPPRESSED``); a count from 1 to
    ``suppress_below - 1`` still met here is hidden too (0 stays 0, as it identifies nobody)."""
    if suppress_below > 0 and is_count(value) and 0 < value < suppress_below:
        return SUPPRESSED
    return value


def is_suppressed(value, suppress_below: int = 0) -> bool:
    return shown(value, suppress_below) == SUPPRESSED


def code_order(metric_key: str, codes: Iterable[str]) -> list[str]:
    """Codes in the domain's order (criteria as listed, WHO-CPS 0…10, weeks in time), unknown ones after, sorted."""
    codes = [str(code) for code in codes]
    definition = METRICS.get(metric_key)
    known = definition.code_order() if definition else list(definitions.code_labels(metric_key))
    ordered = [code for code in known if code in codes]
    return ordered + sorted(code for code in codes if code not in known)


def code_label(metric_key: str, code) -> str:
    label = definitions.code_labels(metric_key).get(str(code))
    return str(label) if label is not None else str(code)


def breakdown_items(metrics: Mapping, metric_key: str) -> list[tuple[str, object]]:
    """(code, raw count) of one breakdown, in the domain's order; empty when the metric is absent."""
    values = metrics.get(metric_key) or {}
    if not isinstance(values, Mapping):
        return []
    by_code = {str(code): count for code, count in values.items()}
    definition = METRICS.get(metric_key)
    if definition is not None and definition.whole_scale:
        # The whole scale (WHO-CPS 0 to 10): a score nobody reached reads as 0, not as a gap.
        by_code = definition.default() | by_code
    return [(code, by_code[code]) for code in code_order(metric_key, by_code)]


@dataclass(frozen=True)
class MetricRow:
    section: str
    key: str  # stable; a breakdown's cell is "metric.code"
    label: str
    value: object  # as shown (suppressed)


def metric_rows(context: ReportContext) -> Iterator[MetricRow]:
    """Every figure of ``context.metrics`` but the per-centre list, breakdowns flattened as ``key.code``.

    Keys this module does not know are kept (section "Other"), so a metric added by the core is never lost.
    """
    metrics = context.metrics
    known = [metric.key for section in SECTIONS for metric in section.metrics if metric.key in metrics]
    unknown = sorted(key for key in metrics if key not in METRICS and key not in (BY_CENTRE, BY_REGION))
    for key in known + unknown:
        metric = METRICS.get(key)
        section = str(SECTION_OF[key].label) if metric else str(OTHER_SECTION)
        label = str(metric.label) if metric else key
        value = metrics[key]
        if isinstance(value, Mapping):
            for code, count in breakdown_items(metrics, key):
                yield MetricRow(
                    section, f"{key}.{code}", f"{label}: {code_label(key, code)}", shown(count, context.suppress_below)
                )
        else:
            yield MetricRow(section, key, label, shown(value, context.suppress_below))


def headline(context: ReportContext) -> list[tuple[str, str, object]]:
    """(key, label, value as shown) of the single-count figures present in the metrics, in report order."""
    return [
        (key, str(METRICS[key].label), shown(context.metrics[key], context.suppress_below))
        for key in HEADLINE_KEYS
        if key in context.metrics
    ]


def headline_sections(context: ReportContext) -> list[tuple[str, list[tuple[str, str, object]]]]:
    """The headline figures grouped by section: [(section label, [(key, label, value), …]), …]."""
    rows = headline(context)
    grouped = []
    for section in SECTIONS:
        in_section = [row for row in rows if SECTION_OF[row[0]] is section]
        if in_section:
            grouped.append((str(section.label), in_section))
    return grouped


def breakdown_table(
    context: ReportContext, metric_key: str, *, numbered: bool = False
) -> list[tuple[str, str, object]]:
    """(code, label, count as shown) of one breakdown.

    ``numbered``: a scale's label starts with its score ("10 — dead"), for tables that show no code column.
    """
    rows = []
    for code, count in breakdown_items(context.metrics, metric_key):
        label = code_label(metric_key, code)
        if numbered and metric_key in METRICS and METRICS[metric_key].whole_scale:
            label = f"{code} — {label}"
        rows.append((code, label, shown(count, context.suppress_below)))
    return rows


def centres(context: ReportContext) -> list[Mapping]:
    return [entry for entry in context.metrics.get(BY_CENTRE) or [] if isinstance(entry, Mapping)]


def centre_columns(context: ReportContext, *, flatten: bool) -> list[str]:
    """The count columns of the per-centre table: the headline counts in report order, then the rest.

    ``flatten``: breakdowns too, as ``key.code`` (CSV and XLSX, where width costs nothing); otherwise single
    counts only (PDF and HTML).
    """
    present: dict[str, set[str]] = {}
    breakdowns: set[str] = set()
    for entry in centres(context):
        for key, value in entry.items():
            if key in CENTRE_IDENTITY_KEYS:
                continue
            codes = present.setdefault(key, set())
            if isinstance(value, Mapping):
                breakdowns.add(key)
                codes.update(str(code) for code in value)
    order = [key for key in METRICS if key in present]
    order += sorted(key for key in present if key not in METRICS)
    columns = []
    for key in order:
        if key in breakdowns or (key in METRICS and METRICS[key].breakdown):
            # A breakdown is one column a code; one that no centre has a code of (no centre refused a request)
            # has no column at all, never its empty dict written into a cell.
            if flatten:
                columns += [f"{key}.{code}" for code in code_order(key, present[key])]
        elif flatten or key in METRICS:
            columns.append(key)
    return columns


def centre_column_label(column: str, *, short: bool = False) -> str:
    key, _dot, code = column.partition(".")
    metric = METRICS.get(key)
    if metric is None:
        return column
    label = str(metric.short if short else metric.label)
    return f"{label}: {code_label(key, code)}" if code else label


def centre_cell(entry: Mapping, column: str, suppress_below: int = 0):
    key, _dot, code = column.partition(".")
    value = entry.get(key)
    if code:
        if not isinstance(value, Mapping):
            return ""
        # A breakdown lists the codes that occurred: a code another centre has is a zero here.
        value = {str(other): count for other, count in value.items()}.get(code, 0)
    if value is None or isinstance(value, Mapping):  # a breakdown is never one cell
        return ""
    return shown(value, suppress_below)


def centre_name(entry: Mapping) -> str:
    return str(entry.get("centre_name") or entry.get("centre_id") or "")


def centre_region(entry: Mapping) -> str:
    region = entry.get("region")
    if isinstance(region, Mapping):
        return str(region.get("name") or region.get("code") or "")
    return "" if region is None else str(region)


def region_display(context: ReportContext) -> str:
    if context.region_code:
        return f"{context.region_name} ({context.region_code})"
    return context.region_name


def date_display(day: date) -> str:
    # The pages' long date (1 dicembre 2026): one way of writing a month, in lower case in Italian.
    return long_date(day)


def period_text(start: date, end: date) -> str:
    return _("%(start)s – %(end)s") % {"start": date_display(start), "end": date_display(end)}


def period_display(context: ReportContext) -> str:
    return period_text(context.period_start, context.period_end)


def local_time(moment: datetime) -> datetime:
    """Rome time for an aware moment; a naive one is taken as already local."""
    return moment.astimezone(REGISTRY_TIME_ZONE) if timezone.is_aware(moment) else moment


def as_of_display(context: ReportContext) -> str:
    if context.data_as_of is None:  # a run that never computed its figures
        return ""
    moment = local_time(context.data_as_of)
    return f"{date_display(moment)} {moment:%H:%M}"


def number_display(value) -> str:
    """A figure for print: thousands grouped the local way (1.234 in Italian); a hidden count's mark and text as is."""
    if is_count(value):
        return formats.number_format(value, force_grouping=True)
    return "" if value is None else str(value)


def suppression_note(context: ReportContext) -> str | None:
    if context.suppress_below <= 0:
        return None
    return _(
        "“%(mark)s”: a hidden count, from 1 to %(max)s (small-count suppression) or hidden so that those cannot be "
        "worked out from the totals (complementary suppression)."
    ) % {"mark": SUPPRESSED, "max": context.suppress_below - 1}


# --- The monitoring figures as one tidy table (the CSV file; docs/monitoring-data.md) -----------------------------

LEVEL_REPORT, LEVEL_REGION, LEVEL_CENTRE = "report", "region", "centre"
TIDY_COLUMNS = (
    "run_id",
    "period_start",
    "period_end",
    "level",
    "region",
    "centre_id",
    "centre_name",
    "metric",
    "code",
    "value",
    "suppressed",
    "label",
)
COUNTRY_CODE = "IT"


def regions(context: ReportContext) -> list[Mapping]:
    """A whole-country report's per-region table (its ``by_region``; empty otherwise)."""
    return [entry for entry in context.metrics.get(BY_REGION) or [] if isinstance(entry, Mapping)]


def region_columns(context: ReportContext) -> list[str]:
    """The per-region table's columns: the per-centre table's (breakdowns as ``key.code``), then requests per week."""
    columns = [column for column in centre_columns(context, flatten=True) if column.partition(".")[0] in METRICS]
    for entry in regions(context):
        for column in _region_count_columns(entry):
            if column not in columns:
                columns.append(column)
    weeks = sorted(
        {f"requests_by_week.{week}" for entry in regions(context) for week in entry.get("requests_by_week") or {}}
    )
    return [column for column in columns if not column.startswith("requests_by_week.")] + weeks


def _region_count_columns(entry: Mapping) -> list[str]:
    columns = []
    for key, value in entry.items():
        if key in ("region", "region_name") or key not in METRICS:
            continue
        if isinstance(value, Mapping):
            columns += [f"{key}.{code}" for code in code_order(key, value)]
        else:
            columns.append(key)
    return columns


def region_name(entry: Mapping) -> str:
    return str(entry.get("region_name") or entry.get("region") or "")


def tidy_value(value) -> tuple[object, int]:
    """(the number, or "" where hidden or absent; 1 where hidden, else 0)."""
    if value == SUPPRESSED:
        return "", 1
    return (value if is_count(value) else ""), 0


def tidy_rows(context: ReportContext) -> Iterator[dict]:
    """Every figure of the report, one row each: the report's own, each region's (a whole-country report), each
    centre's; values numbers only, a hidden one empty with ``suppressed`` 1."""
    here = context.region_code or COUNTRY_CODE
    common = {"run_id": context.run_id, "period_start": context.period_start, "period_end": context.period_end}

    def row(level, region, centre_id, centre_name_, column, value):
        metric, _dot, code = column.partition(".")
        number, hidden = tidy_value(shown(value, context.suppress_below))
        return {
            **common,
            "level": level,
            "region": region,
            "centre_id": centre_id,
            "centre_name": centre_name_,
            "metric": metric,
            "code": code,
            "value": number,
            "suppressed": hidden,
            "label": centre_column_label(column),
        }

    for figure in metric_rows(context):
        yield row(LEVEL_REPORT, here, "", "", figure.key, figure.value)
    for entry in regions(context):
        for column in region_columns(context):
            yield row(LEVEL_REGION, str(entry.get("region") or ""), "", "", column, _cell(entry, column))
    columns = centre_columns(context, flatten=True)
    for entry in centres(context):
        for column in columns:
            yield row(
                LEVEL_CENTRE,
                centre_region(entry),
                str(entry.get("centre_id") or ""),
                centre_name(entry),
                column,
                centre_cell(entry, column, context.suppress_below),
            )


def _cell(entry: Mapping, column: str):
    key, _dot, code = column.partition(".")
    value = entry.get(key)
    if code:
        if not isinstance(value, Mapping):
            return ""
        return {str(other): count for other, count in value.items()}.get(code, 0)
    return "" if value is None or isinstance(value, Mapping) else value


def region_cell(entry: Mapping, column: str, suppress_below: int = 0):
    return shown(_cell(entry, column), suppress_below)


# --- Funnel plots (``reports.funnel``) -----------------------------------------------------------------------------

FUNNEL_COLUMNS = (
    "measure",
    "centre_id",
    "centre",
    "region",
    "cases",
    "events",
    "proportion",
    "target",
    "lower_95",
    "upper_95",
    "lower_998",
    "upper_998",
    "flag",
)


def funnel_column_labels() -> list[str]:
    return [
        _("Outcome"),
        _("Centre ID"),
        _("Centre"),
        _("Region"),
        _("Day-28 outcomes recorded"),
        _("Events"),
        _("Proportion"),
        _("Report's proportion"),
        _("95% lower limit"),
        _("95% upper limit"),
        _("99.8% lower limit"),
        _("99.8% upper limit"),
        _("Flag"),
    ]


def funnel_flag(point) -> str:
    if not point.flag:
        return ""
    texts = {
        (funnel.ALARM, funnel.HIGH): _("above the 99.8% limit"),
        (funnel.ALARM, funnel.LOW): _("below the 99.8% limit"),
        (funnel.ALERT, funnel.HIGH): _("above the 95% limit"),
        (funnel.ALERT, funnel.LOW): _("below the 95% limit"),
    }
    return str(texts[(point.flag, point.direction)])


def funnels(context: ReportContext) -> list:
    """The funnel plots the report's published figures allow (``reports.funnel``)."""
    return funnel.funnels(context.metrics)


def funnel_rows(chart) -> list[dict]:
    """One row a centre of a funnel: proportions as fractions (0–1)."""
    low, high = funnel.COVERAGES
    return [
        {
            "measure": str(chart.measure.label),
            "centre_id": point.centre_id,
            "centre": point.centre_name,
            "region": point.region,
            "cases": point.cases,
            "events": point.events,
            "proportion": point.proportion,
            "target": chart.target,
            "lower_95": point.limits[low][0],
            "upper_95": point.limits[low][1],
            "lower_998": point.limits[high][0],
            "upper_998": point.limits[high][1],
            "flag": funnel_flag(point),
        }
        for point in chart.points
    ]


def funnel_note(chart) -> str:
    parts = [
        _("Report's proportion %(p)s%% (%(events)s of %(cases)s); exact binomial 95%% and 99.8%% limits.")
        % {"p": formats.number_format(100 * chart.target, 1), "events": chart.events, "cases": chart.cases}
    ]
    if chart.measure.references:
        parts.append(
            _("Reference: %(refs)s.") % {"refs": "; ".join(str(label) for label, _value in chart.measure.references)}
        )
    if chart.hidden:
        parts.append(
            _("%(n)s centre(s) not drawn: their counts are hidden (small-count suppression).") % {"n": chart.hidden}
        )
    return " ".join(parts)


def percent_display(value: float) -> str:
    return f"{formats.number_format(100 * value, 1)}%"
