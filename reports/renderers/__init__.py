"""Report files from a ``ReportContext``: CSV, XLSX and PDF. Pure: no ORM, no clock, no storage.

- ``render_monitoring(context, fmt, out)``: the monitoring report (figures, breakdowns, per-centre table).
- ``render_quarterly(context, rows, fmt, out)``: the L.648 quarterly per-patient report; ``rows`` is an iterable
  of dicts keyed by ``QUARTERLY_COLUMNS`` and is consumed lazily, one row at a time, in every format.

The layout of each format is described in its module (``csv_format``, ``xlsx_format``, ``pdf_format``).
"""

from collections.abc import Iterable
from typing import BinaryIO

from ..kinds import ReportContext
from . import csv_format, pdf_format, xlsx_format

FORMATS = ("csv", "xlsx", "pdf")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
_MODULES = {"csv": csv_format, "xlsx": xlsx_format, "pdf": pdf_format}


def _module(fmt: str):
    try:
        return _MODULES[fmt]
    except KeyError:
        raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}") from None


def render_monitoring(context: ReportContext, fmt: str, out: BinaryIO) -> None:
    """Write the monitoring report of ``context`` to ``out`` in ``fmt`` ("csv", "xlsx" or "pdf")."""
    _module(fmt).monitoring(context, out)


def render_quarterly(context: ReportContext, rows: Iterable[dict], fmt: str, out: BinaryIO) -> None:
    """Write the quarterly per-patient report to ``out`` in ``fmt``, streaming ``rows`` (never all in memory)."""
    _module(fmt).quarterly(context, rows, out)


__all__ = ["CONTENT_TYPES", "FORMATS", "render_monitoring", "render_quarterly"]
