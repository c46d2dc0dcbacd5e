"""CSV files: UTF-8 with a byte-order mark, ";" between fields, CRLF line ends.

Why ";": Excel with Italian regional settings takes "," as the decimal mark and ";" as the list separator, so a
";" file opens in columns with a double click; the BOM makes it read the text as UTF-8 (accents, "≥"). Python's
``csv`` module and any other reader just need ``delimiter=";"`` and ``encoding="utf-8-sig"``.

Monitoring report: **one tidy table** (``figures.TIDY_COLUMNS``, documented in ``docs/monitoring-data.md``), one
row a figure: the report's own figures (``level`` "report"), a whole-country report's regions ("region") and every
centre's ("centre"), each with ``metric`` (the API's key), ``code`` (a breakdown's code, else empty), ``value`` (a
number, or empty where the figure is hidden) and ``suppressed`` (1 where hidden by the disclosure control,
``reports.disclosure``; else 0). ``pandas.read_csv(path, sep=";")`` opens it as it is.

Keys are stable (the metric keys of the API); labels are in the language active when the file is written.

Text that a spreadsheet would take for a formula (first character "=", "+", "-", "@", tab or carriage return)
is written with a leading apostrophe (``cells.safe_text``), in every block of both reports.

Quarterly report: one header line (the columns' labels in the file's language), then one line a patient, written as
the rows come; statuses, stop reasons and adverse events in words of that language, dates ISO.
"""

import csv
import io
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date, datetime
from typing import BinaryIO

from ..kinds import ReportContext
from . import figures, quarterly_text, spending
from .cells import safe_text

DELIMITER = ";"
ENCODING = "utf-8-sig"  # UTF-8 with BOM


class _SafeWriter:
    """A ``csv.writer`` whose every cell goes through ``cell``: no text is ever written as a formula."""

    def __init__(self, writer):
        self._writer = writer

    def writerow(self, row) -> None:
        self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


@contextmanager
def _writer(out: BinaryIO):
    text = io.TextIOWrapper(out, encoding=ENCODING, newline="", write_through=False)
    try:
        yield _SafeWriter(csv.writer(text, delimiter=DELIMITER, lineterminator="\r\n"))
    finally:
        text.flush()
        text.detach()  # the caller owns ``out``: leave it open


def cell(value) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return figures.local_time(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return safe_text(value)


def monitoring(context: ReportContext, out: BinaryIO) -> None:
    with _writer(out) as writer:
        writer.writerow(figures.TIDY_COLUMNS)
        for row in figures.tidy_rows(context):
            writer.writerow([cell(row[column]) for column in figures.TIDY_COLUMNS])
        for row in spending_tidy_rows(context):
            writer.writerow([cell(row[column]) for column in figures.TIDY_COLUMNS])


def spending_tidy_rows(context: ReportContext):
    """The Region's spending in the same long table: ``metric`` ``spending.<column>`` at the report's level (the
    total) and each centre's; the amount in euros with a "." decimal mark, as every number of the file."""
    here = context.region_code or figures.COUNTRY_CODE
    labels = dict(zip(spending.COLUMNS, spending.column_labels(), strict=True))
    for row in spending.spending_rows(context):
        for column in spending.COLUMNS:
            value = getattr(row, column)
            yield {
                "run_id": context.run_id,
                "period_start": context.period_start,
                "period_end": context.period_end,
                "level": figures.LEVEL_CENTRE if row.centre_id else figures.LEVEL_REPORT,
                "region": here,
                "centre_id": row.centre_id,
                "centre_name": row.centre_name if row.centre_id else "",
                "metric": f"{spending.SPENDING}.{column}",
                "code": "",
                "value": f"{value:.2f}" if column == "amount_eur" else value,
                "suppressed": 0,
                "label": labels[column],
            }


def quarterly(context: ReportContext, rows: Iterable[dict], out: BinaryIO) -> None:
    # Per-patient rows are not aggregates: small-count suppression does not apply to them.
    with _writer(out) as writer:
        writer.writerow([quarterly_text.column_label(column) for column in context.columns])
        for row in rows:
            writer.writerow([cell(quarterly_text.value_text(column, row.get(column))) for column in context.columns])
