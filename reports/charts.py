"""The charts of a monitoring report, drawn once for the PDF (PNG) and the run page (inline SVG).

Drawn with matplotlib's object API on the Agg canvas (no pyplot: no global figure state in a web or Celery
process). A hidden count (``reports.disclosure``) is drawn as no bar, only its mark, so the picture tells no more
than the table.
"""

import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import funnel
from . import metric_definitions as definitions
from .disclosure import SUPPRESSED
from .renderers.figures import (
    COURSE_STATUS_KEYS,
    METRICS,
    breakdown_items,
    code_label,
    is_count,
    is_suppressed,
    shown,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _new_figure(**kwargs) -> "Figure":
    """A figure on the Agg canvas. matplotlib is imported on the first chart drawn, not when the app starts: it
    is a second and a half of every process's start, and only the report pages and files draw."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(**kwargs)
    FigureCanvasAgg(figure)
    return figure


def _rc_context(params):
    import matplotlib

    return matplotlib.rc_context(params)


# One chart of the course counts by status, then one chart a figure that its definition draws.
COURSES_BY_STATUS = "courses_by_status"
REJECTIONS_BY_CRITERION = "rejections_by_criterion"
ADVERSE_EVENTS_BY_CATEGORY = "adverse_events_by_category"
OUTCOMES_DAY28 = "outcomes_day28"
REQUESTS_PER_WEEK = "requests_by_week"
CHART_NAMES = (COURSES_BY_STATUS, *definitions.CHART_KEYS)
COURSES_BY_STATUS_TITLE = gettext_lazy("Courses by status")
# The palette of static/css/registry.css, so the page and the PDF look alike.
INK, BRAND, MUTED, LINE = "#1d2733", "#0b5c8a", "#5b6b7c", "#d8dee6"
OK, FAIL, WARN, INFO = "#1f7a3d", "#b3261e", "#9a6400", "#2e5c9a"
STATUS_COLOURS = {
    "courses_completed": OK,
    "courses_stopped": FAIL,
    "courses_cancelled": WARN,
    "courses_in_progress": INFO,
}
RC = {
    "font.family": "DejaVu Sans",  # matplotlib's own font: "≥", "×" and accents are in it
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.edgecolor": LINE,
    "axes.labelcolor": MUTED,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "svg.fonttype": "none",  # SVG text stays text: selectable, searchable, small
}
# Sized for the PDF, where they print at about these widths (two a row; requests per week across the page):
# text comes out near 7 pt. The page scales the SVG to its column.
WIDE_INCHES = 7.0
DEFAULT_WIDTH_INCHES = 4.2
PNG_DPI = 200


@dataclass(frozen=True)
class Bars:
    labels: list[str]
    values: list[object]  # raw counts
    colours: list[str]
    horizontal: bool
    axis_label: str = ""


def chart_title(name: str) -> str:
    return str(COURSES_BY_STATUS_TITLE if name == COURSES_BY_STATUS else definitions.BY_KEY[name].label)


def is_wide(name: str) -> bool:
    """A time line is drawn across the page (the PDF) or the page's width (the run page)."""
    return name != COURSES_BY_STATUS and definitions.BY_KEY[name].chart == definitions.TIMELINE


def chart_names(metrics: Mapping) -> list[str]:
    """The charts a report shows: every one, but a figure older runs may lack only when the metrics carry it."""
    return [
        name
        for name in CHART_NAMES
        if name == COURSES_BY_STATUS or not definitions.BY_KEY[name].optional or name in metrics
    ]


def _bars(name: str, metrics: Mapping) -> Bars | None:
    if name == COURSES_BY_STATUS:
        keys = [key for key in COURSE_STATUS_KEYS if key in metrics]
        return Bars(
            [str(METRICS[key].short) for key in keys],
            [metrics[key] for key in keys],
            [STATUS_COLOURS[key] for key in keys],
            horizontal=True,
        )
    if name in (REJECTIONS_BY_CRITERION, ADVERSE_EVENTS_BY_CATEGORY):
        items = breakdown_items(metrics, name)
        colour = FAIL if name == REJECTIONS_BY_CRITERION else WARN
        return Bars(
            [code_label(name, code) for code, _count in items], [c for _code, c in items], [colour] * len(items), True
        )
    if name == OUTCOMES_DAY28:
        if OUTCOMES_DAY28 not in metrics:
            return None
        items = breakdown_items(metrics, name)  # the whole scale, 0 to 10
        colours = [_who_cps_colour(score) for score, _count in items]
        return Bars([s for s, _c in items], [c for _s, c in items], colours, False, _("WHO-CPS score (10 = dead)"))
    if name == REQUESTS_PER_WEEK:
        items = breakdown_items(metrics, name)
        return Bars(
            [_week_label(code) for code, _count in items], [c for _code, c in items], [BRAND] * len(items), False
        )
    raise ValueError(f"unknown chart {name!r}")


def _who_cps_colour(score: str) -> str:
    """Green up to 4 (no oxygen), amber for oxygen or NIV (5–6), red when ventilated (7–9), ink for death."""
    if not score.isdigit():
        return MUTED
    return OK if int(score) <= 4 else WARN if int(score) <= 6 else FAIL if int(score) <= 9 else INK


def _week_label(iso_week: str) -> str:
    """ "2025-W07" → "W07" (the year is in the period), "S07" in Italian (settimana)."""
    match = re.fullmatch(r"\d{4}-?W(\d{1,2})(-?\d)?", iso_week)
    # Translators: the letter before an ISO week's number on a chart's axis ("W07"; in Italian "S07").
    return _("W%(week)s") % {"week": match.group(1)} if match else iso_week


def _figure(name: str, metrics: Mapping, suppress_below: int) -> "Figure | None":
    bars = _bars(name, metrics)
    # Nothing to draw is a chart of zeros; counts that are hidden ("x": disclosure) are drawn, each as its mark,
    # so that a chart of hidden counts never reads as "no data".
    if bars is None or not any((is_count(v) and v > 0) or v == SUPPRESSED for v in bars.values or ()):
        return None
    suppressed = [is_suppressed(v, suppress_below) for v in bars.values]
    # A hidden count has no bar, only its mark: a bar of any height would tell how large it may be.
    heights = [
        0 if hidden else (value if is_count(value) else 0)
        for value, hidden in zip(bars.values, suppressed, strict=True)
    ]
    texts = [str(shown(v, suppress_below)) for v in bars.values]
    count = len(heights)
    height = 0.55 + 0.26 * max(count, 3) if bars.horizontal else 2.3
    figure = _new_figure(figsize=(WIDE_INCHES if is_wide(name) else DEFAULT_WIDTH_INCHES, height))
    axes = figure.subplots()
    positions = list(range(count))
    draw = axes.barh if bars.horizontal else axes.bar
    patches = draw(positions, heights, color=bars.colours, **({"height": 0.62} if bars.horizontal else {"width": 0.7}))
    for patch, hidden in zip(patches, suppressed, strict=True):
        if hidden:
            patch.set_facecolor("white")
            patch.set_edgecolor(MUTED)
            patch.set_hatch("///")
    axes.bar_label(patches, labels=texts, padding=2, fontsize=8, color=INK)
    axes.spines[["top", "right"]].set_visible(False)
    if bars.horizontal:
        axes.set_yticks(positions, bars.labels)
        axes.invert_yaxis()  # first category on top, as in the table
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.margins(x=0.12)
        axes.grid(axis="x", color=LINE, linewidth=0.6)
    else:
        axes.set_xticks(positions, bars.labels, rotation=_label_rotation(bars))
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.margins(y=0.15)
        axes.grid(axis="y", color=LINE, linewidth=0.6)
        if bars.axis_label:
            axes.set_xlabel(bars.axis_label)
    axes.set_axisbelow(True)
    _fit(figure, bars, top=max([*heights, 1]), texts=texts)
    return figure


# The space around a bar chart's axes, in inches: matplotlib's defaults for ticks (length 3.5 pt, label pad 3.5 pt)
# and axis labels (pad 4 pt), constrained layout's padding (3 pt), and the room a bar label takes (pad 2 pt).
TICK_SPACE = (3.5 + 3.5) / 72
AXIS_LABEL_PAD = 4 / 72
EDGE = 3 / 72
BAR_LABEL_PAD = 2 / 72


def _label_rotation(bars: Bars) -> int:
    """Degrees the category labels of a vertical chart turn: more than 14 (weeks) would overlap upright."""
    return 60 if not bars.horizontal and len(bars.labels) > 14 else 0


def _text_size(figure: "Figure", texts, size: float = RC["font.size"]) -> tuple[float, float]:
    """The widest and the tallest of ``texts`` in inches, as the figure's renderer lays them out (font metrics:
    nothing is drawn), with 4 % to spare for the hinting at other resolutions."""
    from matplotlib.font_manager import FontProperties

    renderer = figure.canvas.get_renderer()
    prop = FontProperties(family=RC["font.family"], size=size)
    width = height = 0.0
    for text in texts:
        w, h, _descent = renderer.get_text_width_height_descent(str(text), prop, ismath=False)
        width, height = max(width, w), max(height, h)
    return width / figure.dpi * 1.04, height / figure.dpi * 1.04


def _fit(figure: "Figure", bars: Bars, *, top: float, texts: list[str]) -> None:
    """Place the axes so that their tick labels, axis label and bar labels fit inside the figure.

    What matplotlib's constrained layout finds by drawing the figure twice (half a chart's time), measured here
    from the font for the few texts a bar chart has: the category labels, the counts' tick labels (their widest
    is no wider than the top of the axis, a count and a margin), the bar labels beside or above the bars.
    """
    width, height = figure.get_size_inches()
    digits = "0" * len(str(int(top * 1.2) + 1))  # the widest count tick: every digit of DejaVu is as wide
    count_width, count_height = _text_size(figure, [digits])
    label_width, label_height = _text_size(figure, bars.labels or [""])
    bar_label_width, bar_label_height = _text_size(figure, texts, size=8)
    if bars.horizontal:
        left = EDGE + label_width + TICK_SPACE
        bottom = EDGE + count_height + TICK_SPACE
        right = EDGE + max(count_width / 2, bar_label_width + BAR_LABEL_PAD)
        upper = EDGE + label_height / 2
    else:
        # A turned label, centred on its tick, reaches below the axis and to each side of the tick.
        angle = math.radians(_label_rotation(bars))
        sin, cos = math.sin(angle), math.cos(angle)
        below = label_width * sin + label_height * cos
        side = (label_width * cos + label_height * sin) / 2
        bottom = EDGE + below + TICK_SPACE
        if bars.axis_label:
            bottom += _text_size(figure, [bars.axis_label])[1] + AXIS_LABEL_PAD
        left = EDGE + max(count_width + TICK_SPACE, side)
        right = EDGE + max(side, bar_label_width / 2)
        upper = EDGE + max(count_height / 2, bar_label_height + BAR_LABEL_PAD)
    # Fractions of the figure; the axes keep at least a tenth of it whatever the labels (a label that long would be
    # cut, as constrained layout would then squeeze the axes to nothing).
    left, right = left / width, 1 - right / width
    bottom, upper = bottom / height, 1 - upper / height
    if right - left < 0.1:
        left = right - 0.1
    if upper - bottom < 0.1:
        bottom = upper - 0.1
    figure.subplots_adjust(left=left, right=right, bottom=bottom, top=upper)


def chart_png(name: str, metrics: Mapping, *, suppress_below: int = 0) -> bytes | None:
    """The chart as PNG (for the PDF); None when the metrics hold nothing to draw."""
    with _rc_context(RC):
        figure = _figure(name, metrics, suppress_below)
        if figure is None:
            return None
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=PNG_DPI, facecolor="white")
    return buffer.getvalue()


def chart_svg(name: str, metrics: Mapping, *, suppress_below: int = 0) -> str | None:
    """The chart as an ``<svg>`` element to inline in a page; None when the metrics hold nothing to draw."""
    with _rc_context({**RC, "svg.hashsalt": name}):  # stable, distinct ids for several charts on a page
        figure = _figure(name, metrics, suppress_below)
        if figure is None:
            return None
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None}, facecolor="white")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and doctype: this goes inside HTML
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(chart_title(name))}" class="chart" ', 1)


# --- Funnel plots (``reports.funnel``) -------------------------------------------------------------------------


def _funnel_figure(chart) -> "Figure":
    """Each centre's proportion (%) against its day-28 outcomes recorded, the report's proportion, the exact
    binomial 95 % (dashed) and 99.8 % (solid) limits, the references (dotted); centres outside flagged red."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    figure = _new_figure(figsize=(DEFAULT_WIDTH_INCHES, 2.9), layout="constrained")
    axes = figure.subplots()
    curve = chart.curve()
    sizes = [n for n, _limits in curve]
    for coverage, style in zip(funnel.COVERAGES, ("--", "-"), strict=True):
        label = _("95% limits") if coverage == funnel.COVERAGES[0] else _("99.8% limits")
        axes.plot(sizes, [100 * limits[coverage][1] for _n, limits in curve], style, color=MUTED, lw=0.9, label=label)
        axes.plot(sizes, [100 * limits[coverage][0] for _n, limits in curve], style, color=MUTED, lw=0.9)
    axes.axhline(
        100 * chart.target,
        color=BRAND,
        lw=1.1,
        label=_("This report: %(p)s%%") % {"p": number_format(100 * chart.target, 1)},
    )
    for (label, value), colour in zip(chart.measure.references, (OK, WARN), strict=False):
        axes.axhline(100 * value, color=colour, lw=1, ls=":", label=str(label))
    inside = [p for p in chart.points if not p.flag]
    outside = [p for p in chart.points if p.flag]
    axes.scatter([p.cases for p in inside], [100 * p.proportion for p in inside], s=18, color=INK, zorder=3)
    axes.scatter(
        [p.cases for p in outside],
        [100 * p.proportion for p in outside],
        s=26,
        color=FAIL,
        marker="D",
        zorder=3,
        label=_("Outside the limits") if outside else None,
    )
    for point in outside:
        axes.annotate(point.centre_name[:24], (point.cases, 100 * point.proportion), fontsize=6.5, color=FAIL)
    axes.set_xlabel(_("Day-28 outcomes recorded"))
    axes.set_ylabel("%")
    # With nothing observed anywhere the limits are 0 give or take 1e-19: at least one per cent of room, so that
    # matplotlib neither scales a hair above zero (its "1e−19" offset) nor hides the report's line in the axis.
    axes.set_ylim(bottom=0, top=max(axes.get_ylim()[1], 1.0))
    # Whole outcomes on x; the reader's decimal separator on both axes (no offset text).
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: number_format(value, 0)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: number_format(round(value, 6))))
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(color=LINE, linewidth=0.6)
    axes.legend(fontsize=6.5, frameon=False, loc="upper right")
    return figure


def funnel_title(chart) -> str:
    return _("Funnel plot: %(measure)s") % {"measure": chart.measure.label}


def funnel_png(chart) -> bytes:
    with _rc_context(RC):
        buffer = io.BytesIO()
        _funnel_figure(chart).savefig(buffer, format="png", dpi=PNG_DPI, facecolor="white")
    return buffer.getvalue()


def funnel_svg(chart) -> str:
    with _rc_context({**RC, "svg.hashsalt": f"funnel-{chart.measure.key}"}):
        buffer = io.StringIO()
        _funnel_figure(chart).savefig(buffer, format="svg", metadata={"Date": None}, facecolor="white")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(funnel_title(chart))}" class="chart" ', 1)
