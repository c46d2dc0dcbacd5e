"""CSV files: UTF-8 with a byte-order mark, ";" between fields, CRLF line ends.

Why ";": Excel with Italian regional settings takes "," as the decimal mark and ";" as the list separator, so a
";" file opens in columns with a double click; the BOM makes it read the text as UTF-8 (accents, "≥"). Python's
``csv`` module and any other reader just need ``delimiter=";"`` and ``encoding="utf-8-sig"``.

Monitoring report, three blocks separated by an empty line:

1. identity, one ``key;value;label`` line each: ``report`` (the title), ``run_id``, ``region_code`` (empty for the
   whole country), ``region_name``, ``period_start``, ``period_end`` (ISO dates), ``data_as_of`` (ISO 8601, Rome
   time), ``suppress_below`` (0: no suppression);
2. the figures: a ``section;key;value;label`` header, then one line a figure; a breakdown is flattened into
   ``key.code`` lines (``rejections_by_criterion.AGE_ADULT``, ``outcomes_day28.10``);
3. the per-centre table: a header ``centre_id;centre_name;region;<count keys…>`` (breakdowns as ``key.code``),
   then one line a centre.

Keys are stable (the metric keys of the API); labels are in the language active when the file is written.
Hidden counts read "x" (``reports.disclosure``).

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

from django.utils.translation import gettext as _

from ..kinds import ReportContext
from . import figures, quarterly_text
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
        writer.writerows(
            [
                ["report", context.title, _("Report")],
                ["run_id", context.run_id, _("Run")],
                ["region_code", context.region_code or "", _("Region code")],
                ["region_name", context.region_name, _("Region")],
                ["period_start", cell(context.period_start), _("Period from")],
                ["period_end", cell(context.period_end), _("Period to (included)")],
                ["data_as_of", cell(context.data_as_of), _("Data as of")],
                [
                    "suppress_below",
                    context.suppress_below,
                    figures.suppression_note(context) or _("Small-count suppression: none"),
                ],
                [],
                ["section", "key", "value", "label"],
            ]
        )
        for row in figures.metric_rows(context):
            writer.writerow([row.section, row.key, cell(row.value), row.label])
        centres = figures.centres(context)
        if not centres:
            return
        columns = figures.centre_columns(context, flatten=True)
        writer.writerow([])
        writer.writerow(["centre_id", "centre_name", "region", *columns])
        for entry in centres:
            writer.writerow(
                [
                    cell(entry.get("centre_id")),
                    figures.centre_name(entry),
                    figures.centre_region(entry),
                    *(cell(figures.centre_cell(entry, column, context.suppress_below)) for column in columns),
                ]
            )


def quarterly(context: ReportContext, rows: Iterable[dict], out: BinaryIO) -> None:
    # Per-patient rows are not aggregates: small-count suppression does not apply to them.
    with _writer(out) as writer:
        writer.writerow([quarterly_text.column_label(column) for column in context.columns])
        for row in rows:
            writer.writerow([cell(quarterly_text.value_text(column, row.get(column))) for column in context.columns])
