"""XLSX workbooks (openpyxl). Count columns hold numbers only: where the disclosure control hides a count
(``reports.disclosure``, files that leave the region) its cell is empty and a flag column beside it holds 1.

Monitoring report, one sheet each (names in the active language):

- "Summary": title, region, period, data as of, run, suppression note; then a table Section | Figure | Value |
  (Hidden |) Key of the single-count figures;
- one sheet a breakdown: refusals by criterion, stops by reason, adverse events by category, WHO-CPS at day 28
  (and requests per week when the metrics carry it): Code | Description | Count (| Hidden);
- "Regions" (a whole-country report): Region | Region name | one column a count;
- "Centres": Centre ID | Centre | Region | one column a count (breakdowns as "Label: code").

"Hidden" columns appear only in files that leave the region: beside Value and Count, and in the per-region and
per-centre tables beside each count column that has a hidden cell ("<label> — hidden").

Text that a spreadsheet would take for a formula is written with a leading apostrophe (``cells.safe_text``).
Header rows are bold and frozen, columns sized to their content.

Quarterly report: one sheet, a bold header row (the columns' labels in the file's language) then one row a patient,
written with a write-only workbook so rows go to disk as they come; statuses, stop reasons and adverse events in
words of that language, dates as dates.
"""

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import BinaryIO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from .. import who_cps_reference
from ..kinds import ReportContext
from ..quarterly import quarterly_header
from . import figures, quarterly_text, spending
from .cells import safe_text

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
MUTED = Font(color="5B6B7C")
RIGHT = Alignment(horizontal="right")
DATE_FORMAT = "dd/mm/yyyy"  # real dates, shown as the registry writes them
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
MAX_WIDTH = 60
# Quarterly columns' widths (characters): fixed, as a write-only sheet cannot measure rows it has not seen.
QUARTERLY_WIDTHS = {
    "pseudonym": 26,
    "centre": 36,
    "prescription_date": 16,
    "criteria_version": 16,
    "status": 16,
    "stop_reason": 24,
    "adverse_events": 40,
}


def sheet_title(text: str) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "-", text)[:31]


def cell_value(value):
    """What a cell holds: Rome wall-clock time for a moment, text never taken for a formula, numbers as numbers."""
    if isinstance(value, datetime):
        return figures.local_time(value).replace(tzinfo=None)  # Excel has no time zones: Rome time
    return safe_text(value)


def _text_width(value) -> int:
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    return len(str(value)) if value is not None else 0


def _table(sheet, header: Sequence[str], rows: Iterable[Sequence], *, freeze: bool = True) -> None:
    """Append a header (bold) and rows; counts stay numbers."""
    sheet.append([cell_value(value) for value in header])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = BOLD
    for row in rows:
        sheet.append([cell_value(value) for value in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, datetime):
                cell.number_format = DATETIME_FORMAT
            elif isinstance(cell.value, date):
                cell.number_format = DATE_FORMAT
    if freeze:
        sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)


def _number_and_flag(value, flagged: bool) -> tuple:
    """A count as its cell holds it (a number; empty where hidden), then its flag (1 hidden, 0 not) when the file
    carries flags."""
    number, hidden = figures.tidy_value(value)
    return (number, hidden) if flagged else (number if not hidden else "",)


def _wide_table(sheet, identity_header, entries, columns, cell_of, *, flagged: bool, label) -> None:
    """Identity columns, then one column a count, each followed by its flag column when one of its cells is hidden."""
    values = [[cell_of(entry, column) for column in columns] for entry, _identity in entries]
    with_flag = [flagged and any(figures.tidy_value(row[index])[1] for row in values) for index in range(len(columns))]
    header = list(identity_header)
    for column, flag in zip(columns, with_flag, strict=True):
        header.append(label(column))
        if flag:
            header.append(_("%(figure)s — hidden") % {"figure": label(column)})
    rows = []
    for (_entry, identity), row_values in zip(entries, values, strict=True):
        row = list(identity)
        for value, flag in zip(row_values, with_flag, strict=True):
            number, hidden = figures.tidy_value(value)
            row.append(number)
            if flag:
                row.append(hidden)
        rows.append(row)
    _table(sheet, header, rows)
    _fit_columns(sheet)
    for column in range(len(identity_header) + 1, len(header) + 1):  # long labels: wrap them, keep columns narrow
        sheet.column_dimensions[get_column_letter(column)].width = 14
        sheet.cell(row=1, column=column).alignment = Alignment(wrap_text=True, vertical="top")


def _fit_columns(sheet, *, minimum: int = 8) -> None:
    widths: dict[int, int] = {}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is None or cell.font == TITLE:
                continue
            widths[cell.column] = max(widths.get(cell.column, minimum), _text_width(cell.value) + 2)
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = min(width, MAX_WIDTH)


def _summary(sheet, context: ReportContext) -> None:
    sheet.append([cell_value(context.title)])
    sheet["A1"].font = TITLE
    identity = [
        (_("Region"), figures.region_display(context)),
        (_("Period from"), context.period_start),
        (_("Period to (included)"), context.period_end),
        (_("Data as of"), context.data_as_of),
        (_("Run"), context.run_id),
    ]
    note = figures.suppression_note(context)
    if note:
        identity.append((_("Suppression"), note))
    for label, value in identity:
        sheet.append([cell_value(label), cell_value(value)])
        row = sheet[sheet.max_row]
        row[0].font = BOLD
        if isinstance(value, datetime):
            row[1].number_format = DATETIME_FORMAT
        elif isinstance(value, date):
            row[1].number_format = DATE_FORMAT
        row[1].alignment = Alignment(horizontal="left")
    sheet.append([])
    flagged = context.suppress_below > 0
    _table(
        sheet,
        [_("Section"), _("Figure"), _("Value"), *([_("Hidden")] if flagged else []), _("Key")],
        (
            (section, label, *_number_and_flag(value, flagged), key)
            for section, rows in figures.headline_sections(context)
            for key, label, value in rows
        ),
        freeze=False,
    )
    key_column = 5 if flagged else 4
    for row in sheet.iter_rows(
        min_row=sheet.max_row - len(figures.headline(context)) + 1, min_col=key_column, max_col=key_column
    ):
        row[0].font = MUTED


def monitoring(context: ReportContext, out: BinaryIO) -> None:
    workbook = Workbook()
    summary = workbook.active
    summary.title = sheet_title(_("Summary"))
    _summary(summary, context)
    _fit_columns(summary)
    # A sheet a breakdown table, then the other breakdowns the metrics carry (requests per week).
    breakdowns = [*figures.BREAKDOWN_KEYS]
    breakdowns += [key for key in figures.ALL_BREAKDOWN_KEYS if key not in breakdowns and key in context.metrics]
    flagged = context.suppress_below > 0
    for key in breakdowns:
        sheet = workbook.create_sheet(sheet_title(str(figures.METRICS[key].label)))
        _table(
            sheet,
            [_("Code"), _("Description"), _("Count"), *([_("Hidden")] if flagged else [])],
            (
                (code, label, *_number_and_flag(value, flagged))
                for code, label, value in figures.breakdown_table(context, key)
            ),
        )
        _fit_columns(sheet)
    funnel_charts = figures.funnels(context)
    if funnel_charts:
        sheet = workbook.create_sheet(sheet_title(_("Funnel plots")))
        _table(
            sheet,
            figures.funnel_column_labels(),
            (
                [row[column] for column in figures.FUNNEL_COLUMNS]
                for chart in funnel_charts
                for row in figures.funnel_rows(chart)
            ),
        )
        for row in sheet.iter_rows(min_row=2, min_col=7, max_col=12):
            for cell in row:
                cell.number_format = "0.0%"
        sheet.append([])
        for chart in funnel_charts:
            sheet.append([cell_value(str(chart.measure.label)), cell_value(figures.funnel_note(chart))])
        _fit_columns(sheet)
    reference_rows = who_cps_reference.rows(context.metrics)
    if reference_rows:
        sheet = workbook.create_sheet(sheet_title(_("WHO-CPS vs SAVE-MORE")))
        _table(
            sheet,
            who_cps_reference.header(),
            ([str(row.band.label), row.observed, row.band.anakinra, row.band.placebo] for row in reference_rows),
        )
        for row in sheet.iter_rows(min_row=2, min_col=2, max_col=4):
            for cell in row:
                cell.number_format = "0.0%"
        sheet.append([])
        sheet.append([cell_value(str(who_cps_reference.SOURCE))])
        _fit_columns(sheet)
    region_entries = figures.regions(context)
    if region_entries:
        _wide_table(
            workbook.create_sheet(sheet_title(_("Regions"))),
            [_("Region"), _("Region name")],
            [(entry, (str(entry.get("region") or ""), figures.region_name(entry))) for entry in region_entries],
            figures.region_columns(context),
            lambda entry, column: figures.region_cell(entry, column, context.suppress_below),
            flagged=flagged,
            label=figures.centre_column_label,
        )
    spending_rows = spending.spending_rows(context)
    if spending_rows:
        sheet = workbook.create_sheet(sheet_title(_("L.648 spending")))
        _table(
            sheet,
            [_("Centre ID"), _("Centre"), *spending.column_labels()],
            (
                (
                    row.centre_id,
                    row.centre_name,
                    row.syringes_dispensed,
                    row.syringes_returned,
                    row.net_syringes,
                    row.amount_eur,
                    row.unpriced_syringes,
                )
                for row in spending_rows
            ),
        )
        for (cell,) in sheet.iter_rows(min_row=2, min_col=6, max_col=6):
            cell.number_format = "#,##0.00"
        _fit_columns(sheet)
    _wide_table(
        workbook.create_sheet(sheet_title(_("Centres"))),
        [_("Centre ID"), _("Centre"), _("Region")],
        [
            (entry, (entry.get("centre_id"), figures.centre_name(entry), figures.centre_region(entry)))
            for entry in figures.centres(context)
        ],
        figures.centre_columns(context, flatten=True),
        lambda entry, column: figures.centre_cell(entry, column, context.suppress_below),
        flagged=flagged,
        label=figures.centre_column_label,
    )
    workbook.save(out)


def quarterly(context: ReportContext, rows: Iterable[dict], out: BinaryIO) -> None:
    workbook = Workbook(write_only=True)
    # The first row stays the columns' header (files are read by programs): the listing and the period go in
    # the document's properties.
    workbook.properties.title = context.title
    workbook.properties.subject = " · ".join(
        f"{label}: {text}"
        for label, text in quarterly_header(period_start=context.period_start, period_end=context.period_end)
    )
    sheet = workbook.create_sheet(sheet_title(_("Quarterly report")))
    # A write-only sheet takes widths and panes before its first row.
    for index, column in enumerate(context.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = QUARTERLY_WIDTHS.get(
            column, max(len(quarterly_text.column_label(column)), 10) + 2
        )
    sheet.freeze_panes = "A2"
    header = []
    for column in context.columns:
        cell = WriteOnlyCell(sheet, value=cell_value(quarterly_text.column_label(column)))
        cell.font = BOLD
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append(
            [_quarterly_cell(sheet, quarterly_text.value_text(column, row.get(column))) for column in context.columns]
        )
    workbook.save(out)


def _quarterly_cell(sheet, value):
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=cell_value(value))
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    return cell_value(value)
