"""PDF files for print (reportlab, A4), in DejaVu Sans so "≥", "×" and accents print (Helvetica if it is missing).

Monitoring report: title; region, period, data as of, run; the headline figures grouped by section; the charts of
``reports.charts`` (courses by status, refusals by criterion, adverse events by category, WHO-CPS at day 28,
requests per week when the metrics carry it); then, on landscape pages, the per-centre table. Every page has the
footer "Registro 648 — dati pseudonimizzati" and "page N of M"; pages after the first repeat title, region and
period at the top.

Quarterly report: landscape pages drawn one at a time as rows come (a page's worth of rows in memory at most):
identity on top of the first page, the column header on every page, "page N" in the footer (the total is
unknown while streaming).
"""

import functools
import io
from collections.abc import Iterable
from datetime import date, datetime
from itertools import islice
from typing import BinaryIO

from django.utils import formats
from django.utils.html import escape
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas as pdf_canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    Image,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from registry.pdf import (
    BRAND,
    HEAD_BG,
    HEADED_GRID,
    INK,
    LINE,
    MARGIN,
    MUTED,
    ZEBRA,
    NumberedCanvas,
    fit_lines,
    fonts,
    styles,
)
from registry.pdf import footer as _footer
from registry.pdf import paragraph as _p

from .. import charts, who_cps_reference
from ..kinds import ReportContext
from ..quarterly import LISTING
from . import figures, quarterly_text, spending


def _running_header(canvas, context: ReportContext) -> None:
    width, height = canvas._pagesize
    canvas.saveState()
    font_name = fonts().regular
    canvas.setFont(font_name, 7.5)
    canvas.setFillColor(MUTED)
    text = f"{context.title} · {figures.region_display(context)} · {figures.period_display(context)}"
    canvas.drawString(MARGIN, height - 9 * mm, fit_lines(text, font_name, 7.5, width - 2 * MARGIN, max_lines=1))
    canvas.restoreState()


# ---------------------------------------------------------------- monitoring


def _identity(context: ReportContext, *, compact: bool = False) -> Table:
    rows = [
        (_("Region"), figures.region_display(context)),
        (_("Period"), figures.period_display(context)),
        (_("Data as of"), figures.as_of_display(context)),
    ]
    if not compact:
        rows.append((_("Run"), context.run_id))
    table = Table([[_p(label, "label"), _p(value)] for label, value in rows], colWidths=[32 * mm, None], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("LEFTPADDING", (0, 0), (0, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return table


def _section_table(title: str, rows: list[tuple[str, object]], width: float, *, value_size: float) -> Table:
    font = fonts()
    data = [[title, ""]] + [[_p(label), figures.number_display(value)] for label, value in rows]
    table = Table(data, colWidths=[width - 24 * mm, 24 * mm])
    table.setStyle(
        TableStyle(
            [
                ("SPAN", (0, 0), (1, 0)),
                ("FONT", (0, 0), (-1, 0), font.bold, 9),
                ("TEXTCOLOR", (0, 0), (-1, 0), BRAND),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, BRAND),
                ("FONT", (1, 1), (1, -1), font.bold if value_size >= 10 else font.regular, value_size),
                ("ALIGN", (1, 1), (1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (0, 1), (-1, -1), 0.4, LINE),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _two_columns(blocks: list[tuple[str, list[tuple[str, object]]]], width: float, *, value_size: float) -> Table:
    """Small titled tables in two columns, each into the shorter column, in order."""
    gap = 8 * mm
    column_width = (width - gap) / 2
    columns: list[list] = [[], []]
    heights = [0, 0]
    for title, rows in blocks:
        side = 0 if heights[0] <= heights[1] else 1
        columns[side] += [_section_table(title, rows, column_width, value_size=value_size), Spacer(1, 3 * mm)]
        heights[side] += len(rows) + 2
    outer = Table([[columns[0], "", columns[1]]], colWidths=[column_width, gap, column_width])
    outer.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return outer


def _headline(context: ReportContext, width: float) -> Table | Paragraph:
    sections = figures.headline_sections(context)
    if not sections:
        return _p(_("No figures in this report."), "muted")
    blocks = [(title, [(label, value) for _key, label, value in rows]) for title, rows in sections]
    return _two_columns(blocks, width, value_size=10)


def _breakdowns(context: ReportContext, width: float) -> Table | None:
    """Every breakdown as a table, so the printed report carries each figure as text, not only as a bar."""
    blocks = []
    for key in figures.BREAKDOWN_KEYS:
        rows = figures.breakdown_table(context, key, numbered=True)
        if rows:
            blocks.append((str(figures.METRICS[key].label), [(label, value) for _code, label, value in rows]))
    return _two_columns(blocks, width, value_size=9) if blocks else None


def _chart_cell(name: str, context: ReportContext, width: float) -> list:
    png = charts.chart_png(name, context.metrics, suppress_below=context.suppress_below)
    cell = [_p(charts.chart_title(name), "chart"), Spacer(1, 1.5 * mm)]
    if png is None:
        cell.append(_p(_("No data in the period."), "muted"))
        return cell
    pixels_wide, pixels_high = ImageReader(io.BytesIO(png)).getSize()
    cell.append(Image(io.BytesIO(png), width=width, height=width * pixels_high / pixels_wide))
    return cell


def _charts(context: ReportContext, width: float) -> list:
    """Requests per week across the page (a time line), then the breakdowns two by two."""
    names = charts.chart_names(context.metrics)
    flowables = []
    for name in [name for name in names if charts.is_wide(name)]:
        names.remove(name)
        flowables += [KeepTogether(_chart_cell(name, context, width)), Spacer(1, 5 * mm)]
    gap = 6 * mm
    column_width = (width - gap) / 2
    cells = [_chart_cell(name, context, column_width) for name in names]
    if len(cells) % 2:
        cells.append("")
    rows = [[cells[i], "", cells[i + 1]] for i in range(0, len(cells), 2)]
    table = Table(rows, colWidths=[column_width, gap, column_width])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5 * mm),
            ]
        )
    )
    return [*flowables, table]


def _funnels(context: ReportContext, width: float) -> list:
    """The funnel plots two by two, each with its note, then the centres outside their limits."""
    charts_ = figures.funnels(context)
    if not charts_:
        return []
    gap = 6 * mm
    column_width = (width - gap) / 2
    cells = []
    for chart in charts_:
        png = charts.funnel_png(chart)
        pixels_wide, pixels_high = ImageReader(io.BytesIO(png)).getSize()
        cells.append(
            [
                _p(charts.funnel_title(chart), "chart"),
                Spacer(1, 1.5 * mm),
                Image(io.BytesIO(png), width=column_width, height=column_width * pixels_high / pixels_wide),
                _p(figures.funnel_note(chart), "muted"),
            ]
        )
    if len(cells) % 2:
        cells.append("")
    rows = [[cells[i], "", cells[i + 1]] for i in range(0, len(cells), 2)]
    table = Table(rows, colWidths=[column_width, gap, column_width])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    flagged = [
        [_p(row["measure"], "cell"), _p(row["centre"], "cell"), figures.percent_display(row["proportion"]), row["flag"]]
        for chart in charts_
        for row in figures.funnel_rows(chart)
        if row["flag"]
    ]
    story = [_p(_("Funnel plots"), "h2"), Spacer(1, 1 * mm), table]
    if flagged:
        header = [_p(_("Outcome"), "head"), _p(_("Centre"), "head"), _p(_("Proportion"), "head"), _p(_("Flag"), "head")]
        outside = Table([header, *flagged], colWidths=[45 * mm, 60 * mm, 25 * mm, width - 130 * mm], repeatRows=1)
        outside.setStyle(TableStyle([*HEADED_GRID, ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
        story += [Spacer(1, 2 * mm), outside]
    else:
        story += [_p(_("No centre outside the limits."), "muted")]
    return story


def _region_table(context: ReportContext, width: float) -> Table:
    """A whole-country report's regions, the per-centre table's columns."""
    font = fonts()
    columns = figures.centre_columns(context, flatten=False)
    header = [_p(_("Region"), "head")]
    header += [_p(figures.centre_column_label(column, short=True), "head_right") for column in columns]
    data = [header]
    for entry in figures.regions(context):
        name = f"{entry.get('region')} {figures.region_name(entry)}"
        data.append(
            [_p(name, "cell")]
            + [figures.number_display(figures.region_cell(entry, c, context.suppress_below)) for c in columns]
        )
    count_width = (width - 50 * mm) / max(len(columns), 1)
    table = Table(data, colWidths=[50 * mm] + [count_width] * len(columns), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (1, 1), (-1, -1), font.regular, 7.5),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                *HEADED_GRID,
                ("LEFTPADDING", (0, 0), (-1, -1), 1.5),
                ("RIGHTPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return table


def _centre_table(context: ReportContext, width: float) -> Table:
    font = fonts()
    columns = figures.centre_columns(context, flatten=False)
    centres = figures.centres(context)
    # A regional report's centres are all in its region: the column would repeat it on every line.
    with_region = len({figures.centre_region(entry) for entry in centres}) > 1 or not context.region_code
    identity_widths = [40 * mm, 18 * mm] if with_region else [56 * mm]
    count_width = (width - sum(identity_widths)) / max(len(columns), 1)
    header = [_p(_("Centre"), "head")] + ([_p(_("Region"), "head")] if with_region else [])
    head = styles()["head_right"]
    header += [
        fitted_head(figures.centre_column_label(column, short=True), count_width, head, size=head.fontSize)
        for column in columns
    ]
    data = [header]
    for entry in centres:
        identity = [_p(figures.centre_name(entry), "cell")]
        if with_region:
            identity.append(_p(figures.centre_region(entry), "cell"))
        data.append(
            identity + [figures.number_display(figures.centre_cell(entry, c, context.suppress_below)) for c in columns]
        )
    first_count = len(identity_widths)
    table = Table(data, colWidths=identity_widths + [count_width] * len(columns), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (first_count, 1), (-1, -1), font.regular, 7.5),
                ("ALIGN", (first_count, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                *HEADED_GRID,
                ("LEFTPADDING", (0, 0), (-1, -1), 1.5),
                ("RIGHTPADDING", (0, 0), (-1, -1), 1.5),
                ("LEFTPADDING", (0, 0), (0, -1), 3),
            ]
        )
    )
    return table


def monitoring(context: ReportContext, out: BinaryIO) -> None:
    portrait_size, landscape_size = A4, landscape(A4)
    document = BaseDocTemplate(
        out,
        pagesize=portrait_size,
        title=context.title,
        subject=f"{figures.region_display(context)} · {figures.period_display(context)}",
        author="Registro 648",
        creator="Registro 648",
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
    )

    def on_page(canvas, doc):
        if doc.page > 1:
            _running_header(canvas, context)

    def frame(size, name):
        return Frame(MARGIN, MARGIN, size[0] - 2 * MARGIN, size[1] - 2 * MARGIN, id=name, leftPadding=0, rightPadding=0)

    document.addPageTemplates(
        [
            PageTemplate("portrait", [frame(portrait_size, "p")], onPage=on_page, pagesize=portrait_size),
            PageTemplate("landscape", [frame(landscape_size, "l")], onPage=on_page, pagesize=landscape_size),
        ]
    )
    width = portrait_size[0] - 2 * MARGIN
    story = [_p(context.title, "title"), Spacer(1, 2 * mm), _identity(context)]
    note = figures.suppression_note(context)
    if note:
        story += [Spacer(1, 2 * mm), _p(note, "muted")]
    story += [
        Spacer(1, 3 * mm),
        KeepTogether([_p(_("Headline figures"), "h2"), Spacer(1, 1 * mm), _headline(context, width)]),
        _p(_("Charts"), "h2"),
        Spacer(1, 1 * mm),
        *_charts(context, width),
    ]
    story += _funnels(context, width)
    story += _who_cps_reference(context, width)
    breakdowns = _breakdowns(context, width)
    if breakdowns is not None:
        story += [KeepTogether([_p(_("Breakdowns"), "h2"), Spacer(1, 1 * mm), breakdowns])]
    spending_table = _spending(context, width)
    if spending_table is not None:
        story += [KeepTogether(spending_table)]
    if figures.regions(context):
        story += [
            NextPageTemplate("landscape"),
            PageBreak(),
            _p(_("By region"), "h2"),
            Spacer(1, 2 * mm),
            _region_table(context, landscape_size[0] - 2 * MARGIN),
        ]
    if figures.centres(context):
        story += [
            NextPageTemplate("landscape"),
            PageBreak(),
            _p(_("By centre"), "h2"),
            Spacer(1, 2 * mm),
            _centre_table(context, landscape_size[0] - 2 * MARGIN),
        ]
    else:
        story += [_p(_("By centre"), "h2"), _p(_("No centre in this report."), "muted")]
    document.build(story, canvasmaker=NumberedCanvas)


def _who_cps_reference(context: ReportContext, width: float) -> list:
    """The day-28 WHO-CPS bands beside SAVE-MORE's (``reports.who_cps_reference``)."""
    rows = who_cps_reference.display_rows(context.metrics, figures.percent_display)
    if not rows:
        return []
    header = [
        _p(label, "head" if index == 0 else "head_right") for index, label in enumerate(who_cps_reference.header())
    ]
    table = Table(
        [header, *([_p(label, "cell"), *values] for label, *values in rows)],
        colWidths=[width * 0.4, *[width * 0.2] * 3],
    )
    table.setStyle(
        TableStyle([*HEADED_GRID, ("ALIGN", (1, 1), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])
    )
    title = _p(_("WHO-CPS at day 28 beside SAVE-MORE"), "h2")
    return [KeepTogether([title, Spacer(1, 1 * mm), table, _p(str(who_cps_reference.SOURCE), "muted")])]


def _spending(context: ReportContext, width: float) -> list | None:
    """The Region's L.648 spending: the total, then each centre (``renderers.spending``)."""
    rows = spending.spending_rows(context)
    if not rows:
        return None
    right = ParagraphStyle("spending_number", styles()["cell"], alignment=2)  # 2: right-aligned

    def number(text: str) -> Paragraph:
        return Paragraph(escape(text), right)

    data = [
        [_p(_("Centre"), "head"), *(_p(label, "head_right") for label in spending.column_labels())],
        *(
            [
                _p(row.centre_name, "cell_strong" if not row.centre_id else "cell"),
                *(
                    number(figures.number_display(value))
                    for value in (row.syringes_dispensed, row.syringes_returned, row.net_syringes)
                ),
                number(spending.amount_display(row.amount_eur)),
                number(figures.number_display(row.unpriced_syringes)),
            ]
            for row in rows
        ),
    ]
    table = Table(data, colWidths=[width * 0.35, *[width * 0.13] * 5], repeatRows=1)
    table.setStyle(TableStyle([*HEADED_GRID, ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return [_p(_("L.648 spending"), "h2"), Spacer(1, 1 * mm), table, Spacer(1, 1 * mm), _p(spending.note(), "muted")]


# ---------------------------------------------------------------- quarterly

# Points, on a landscape A4 page inside 15 mm margins (757 pt): text columns first, counts narrow.
QUARTERLY_WIDTHS = {
    "pseudonym": 52,  # its first 12 characters (quarterly_text.short_pseudonym) in DejaVu Sans Mono at 6 pt
    "age_band": 36,  # the national form's only: the centre's column gives up that room there
    "centre": 64,
    "prescription_date": 50,
    "criteria_version": 52,
    "status": 51,
    "stop_reason": 70,
    "adverse_events": 104,  # the room the whole pseudonym took: "05/11/2021 neutropenia (grave)" on a line
    "first_dose_date": 48,
    "stop_date": 48,
    "death_date": 48,
}
COUNT_WIDTH = 34
CELL_SIZE = 6.5
ROW_HEIGHT = 17  # two lines of a cell's text
HEADER_HEIGHT = 24
QUARTERLY_IDENTITY_HEIGHT = 28 * mm


def _quarterly_text(value, column: str, width: float) -> str:
    """A cell as the reader writes it: dates the language's short way, codes in words, the short pseudonym."""
    if isinstance(value, datetime):
        text = formats.date_format(figures.local_time(value), "SHORT_DATETIME_FORMAT")
    elif isinstance(value, date):
        text = formats.date_format(value, "SHORT_DATE_FORMAT")
    elif column == "pseudonym":  # the pages' short form; the CSV and the XLSX carry the whole pseudonym
        return quarterly_text.short_pseudonym(value or "")
    elif column == "adverse_events" and isinstance(value, str) and value:
        text = quarterly_text.adverse_events_text(value, date_format="SHORT_DATE_FORMAT")
    elif column in figures.QUARTERLY_CODE_LABELS and value:
        text = quarterly_text.code_text(column, value)  # "clinical worsening" reads better on paper than its code
    else:
        text = figures.number_display(value)
    return fit_lines(text, fonts().regular, CELL_SIZE, width - 6)


def quarterly(context: ReportContext, rows: Iterable[dict], out: BinaryIO) -> None:
    font = fonts()
    page_width, page_height = landscape(A4)
    canvas = pdf_canvas.Canvas(out, pagesize=(page_width, page_height), pageCompression=1)
    canvas.setTitle(context.title)
    canvas.setAuthor("Registro 648")
    canvas.setSubject(f"{figures.region_display(context)} · {figures.period_display(context)}")
    columns = context.columns
    widths = [QUARTERLY_WIDTHS.get(column, COUNT_WIDTH) for column in columns]
    overflow = sum(widths) - (page_width - 2 * MARGIN)
    if overflow > 0 and "adverse_events" in columns:  # the national form's age band: the events' text wraps
        widths[columns.index("adverse_events")] -= overflow
    header = Table([_quarterly_header(columns, widths)], colWidths=widths, rowHeights=[HEADER_HEIGHT])
    header.setStyle(QUARTERLY_HEADER_STYLE)
    header.wrapOn(canvas, page_width - 2 * MARGIN, HEADER_HEIGHT)
    # The same header on every page: drawn once, into a form each page shows where its table starts.
    canvas.beginForm(QUARTERLY_HEADER_FORM, 0, 0, sum(widths), HEADER_HEIGHT)
    header.drawOn(canvas, 0, 0)
    canvas.endForm()
    grid = _QuarterlyGrid(columns, widths)
    top = page_height - MARGIN
    bottom = 15 * mm
    first_page_identity = QUARTERLY_IDENTITY_HEIGHT

    def rows_fitting(identity_height: float) -> int:
        return int((top - identity_height - bottom - HEADER_HEIGHT) // ROW_HEIGHT)

    page = 1
    size = rows_fitting(first_page_identity)
    iterator = iter(rows)
    pending: list[dict] = []  # the row read to learn that another page is needed
    while True:
        chunk = pending + list(islice(iterator, size - len(pending)))
        pending = []
        if page == 1:
            y = _quarterly_identity(canvas, context, top)
        else:
            _running_header(canvas, context)
            y = top
        canvas.saveState()
        canvas.translate(MARGIN, y - HEADER_HEIGHT)
        canvas.doForm(QUARTERLY_HEADER_FORM)
        canvas.restoreState()
        grid.draw(canvas, [grid.texts(row) for row in chunk], MARGIN, y - HEADER_HEIGHT)
        if not chunk:
            canvas.setFont(font.regular, 9)
            canvas.setFillColor(MUTED)
            canvas.drawString(MARGIN, y - HEADER_HEIGHT - 6 * mm, _("No patient in this period."))
        _footer(canvas, page, None)
        # A new page only when another row exists, so a full last page is not followed by an empty one.
        page_full = len(chunk) == size
        chunk = None  # let this page's rows go before reading the next page's
        following = next(iterator, None) if page_full else None
        if following is None:
            break
        pending = [following]
        canvas.showPage()
        page += 1
        size = rows_fitting(0)
    canvas.showPage()
    canvas.save()


HEADER_SIZE = 6.2
HEADER_MIN_SIZE = 4.6
HEADER_LINES = 3  # HEADER_HEIGHT holds three lines at the header's leading


def _quarterly_header(columns, widths) -> list[Paragraph]:
    """The column labels, each broken between words only (``fitted_head``)."""
    return [
        fitted_head(
            quarterly_text.column_label(column),
            width,
            styles()["head" if column in QUARTERLY_WIDTHS else "head_right"],
            size=HEADER_SIZE,
        )
        for column, width in zip(columns, widths, strict=True)
    ]


def fitted_head(label: str, width: float, base: ParagraphStyle, *, size: float) -> Paragraph:
    """A column's label broken between words only: a label whose longest word (or whose lines) would not fit its
    column is set smaller, down to HEADER_MIN_SIZE, rather than cut mid-word ("Somministra-zioni", "Richiest-e")."""
    font = fonts()
    room = width - 2 * CELL_PADDING
    while size > HEADER_MIN_SIZE and (
        max(pdfmetrics.stringWidth(word, font.bold, size) for word in label.split()) > room
        or len(simpleSplit(label, font.bold, size, room)) > HEADER_LINES
    ):
        size = round(size - 0.2, 1)
    style = ParagraphStyle(f"{base.name}_{size}", base, fontSize=size, leading=size * 1.2, splitLongWords=0)
    return Paragraph(escape(label), style)


# The column header: shaded, bottom-aligned, ruled in the brand's colour (registry.pdf.HEADED_GRID's first row).
QUARTERLY_HEADER_STYLE = TableStyle(
    [
        ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, BRAND),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]
)
QUARTERLY_HEADER_FORM = "quarterly_header"
CELL_PADDING = 3
CELL_LEADING = 7.5
PSEUDONYM_SIZE = 6


class _QuarterlyGrid:
    """The rows of a page drawn straight on the canvas, as a reportlab Table of plain strings would draw them
    (zebra rows, a thin line under each, counts to the right, text vertically centred), without its cost: a
    Table lays out and draws cell by cell (three quarters of the report's time), here a page is one text object,
    one batch of rectangles and one of lines. A cell's text is worked out once per distinct value."""

    def __init__(self, columns, widths):
        self.columns = columns
        self.widths = widths
        self.lefts = [sum(widths[:index]) for index in range(len(widths))]
        self.right_aligned = [column not in QUARTERLY_WIDTHS for column in columns]
        self._texts: dict = {}
        self._encoded: dict = {}  # one grid per document: the strings' encodings hold for its pages

    def texts(self, row: dict) -> list[str]:
        cells = []
        for column, width in zip(self.columns, self.widths, strict=True):
            value = row.get(column)
            key = (column, type(value), value)
            text = self._texts.get(key)
            if text is None:
                text = self._texts[key] = _quarterly_text(value, column, width)
            cells.append(text)
        return cells

    def draw(self, canvas, rows: list[list[str]], x: float, top: float) -> None:
        font = fonts()
        width = sum(self.widths)
        canvas.saveState()
        canvas.setFillColor(ZEBRA)
        for index in range(1, len(rows), 2):  # every other row shaded (the others stay the page's white)
            canvas.rect(x, top - (index + 1) * ROW_HEIGHT, width, ROW_HEIGHT, stroke=0, fill=1)
        canvas.setFillColor(colors.black)
        text = _TextBlock(canvas, self._encoded)
        for index, cells in enumerate(rows):
            row_bottom = top - (index + 1) * ROW_HEIGHT
            for column, value in enumerate(cells):
                if not value:
                    continue
                face = (font.mono, PSEUDONYM_SIZE) if column == 0 else (font.regular, CELL_SIZE)
                lines = value.split("\n")
                # Table's MIDDLE: centred between the paddings (1 pt each), from the first line's baseline.
                y = row_bottom + (ROW_HEIGHT + len(lines) * CELL_LEADING) / 2 - face[1]
                for line in lines:
                    if self.right_aligned[column]:
                        right = x + self.lefts[column] + self.widths[column] - CELL_PADDING
                        left = right - _string_width(line, *face)
                    else:
                        left = x + self.lefts[column] + CELL_PADDING
                    text.show(left, y, line, *face)
                    y -= CELL_LEADING
        text.close()
        canvas.setStrokeColor(LINE)
        canvas.setLineWidth(0.3)
        bottoms = [top - (index + 1) * ROW_HEIGHT for index in range(len(rows))]
        canvas.lines([(x, y, x + width, y) for y in bottoms])
        canvas.restoreState()


class _TextBlock:
    """One page's cells as one PDF text object: each cell an absolute position and its string.

    reportlab's text object measures every string to advance its cursor and encodes it anew; a cell here is
    placed by its own coordinates, and a string's encoding (its TrueType subset's name and escaped bytes, which
    depend only on the document) is worked out once per document. The base fonts (DejaVu missing) go through
    reportlab's own text object."""

    def __init__(self, canvas, encoded: dict):
        self.canvas = canvas
        self.encoded = encoded  # the document's: (font, string) -> [(subset's font name, escaped bytes)]
        self.code = ["BT"]
        self.current = None
        self.slow = None

    def show(self, x: float, y: float, line: str, font_name: str, size: float) -> None:
        font = pdfmetrics.getFont(font_name)
        if not getattr(font, "_dynamicFont", False):
            if self.slow is None:
                self.slow = self.canvas.beginText()
            self.slow.setFont(font_name, size, CELL_LEADING)
            self.slow.setTextOrigin(x, y)
            self.slow.textOut(line)
            return
        key = (font_name, line)
        pieces = self.encoded.get(key)
        if pieces is None:
            doc = self.canvas._doc
            pieces = self.encoded[key] = [
                (font.getSubsetInternalName(subset, doc), self.canvas._escape(chunk))
                for subset, chunk in font.splitString(line, doc)
            ]
        self.code.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm")
        for font_ref, chunk in pieces:
            if (font_ref, size) != self.current:
                self.code.append(f"{font_ref} {size:g} Tf {CELL_LEADING:g} TL")
                self.current = (font_ref, size)
            self.code.append(f"({chunk}) Tj")

    def close(self) -> None:
        if len(self.code) > 1:
            self.code.append("ET")
            self.canvas._code.append(" ".join(self.code))
        if self.slow is not None:
            self.canvas.drawText(self.slow)


@functools.lru_cache(maxsize=4096)
def _string_width(text: str, font_name: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, font_name, size)


def _quarterly_identity(canvas, context: ReportContext, top: float) -> float:
    """Title and identity at the top of the first page; returns where the table starts."""
    font = fonts()
    canvas.saveState()
    canvas.setFillColor(BRAND)
    canvas.setFont(font.bold, 15)
    canvas.drawString(MARGIN, top - 14, context.title)
    canvas.setFillColor(INK)
    canvas.setFont(font.regular, 9)
    lines = [
        f"{_('Region')}: {figures.region_display(context)}",
        f"{_('Period')}: {figures.period_display(context)}",
        f"{_('Listing')}: {LISTING}",
        f"{_('Data as of')}: {figures.as_of_display(context)}",
    ]
    for index, line in enumerate(lines):
        canvas.drawString(MARGIN, top - 30 - 12 * index, line)
    canvas.restoreState()
    return top - QUARTERLY_IDENTITY_HEIGHT
