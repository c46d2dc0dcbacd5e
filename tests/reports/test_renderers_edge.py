"""Every renderer (CSV, XLSX, PDF; monitoring and quarterly) with empty, zero and suppressed figures.

A centre that refused no request has an empty ``rejections_by_criterion``: the files must still be written,
with no breakdown printed as "{}" (XLSX used to refuse it: "Cannot convert {} to Excel").
"""

import io

import pytest
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from reports.kinds import QUARTERLY_COLUMNS, QUARTERLY_PATIENTS
from reports.metrics import empty_counts
from reports.renderers import quarterly_text, render_monitoring, render_quarterly

from .test_renderers import centre, context

FORMATS = ("csv", "xlsx", "pdf")


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _zero_centre(centre_id: str, name: str) -> dict:
    return {"centre_id": centre_id, "centre_name": name, "region": "030", **empty_counts()}


def _no_refusals() -> dict:
    centres = [
        centre("c-1", "Ospedale Uno", prescriptions_rejected=0, rejections_by_criterion={}),
        centre("c-2", "Ospedale Due", prescriptions_rejected=0, rejections_by_criterion={}),
    ]
    totals = {key: value for key, value in centres[0].items() if key not in ("centre_id", "centre_name", "region")}
    return {**totals, "by_centre": centres}


def _small_counts() -> dict:
    small = centre(
        "c-1",
        "Ospedale Uno",
        prescriptions_submitted=2,
        prescriptions_eligible=2,
        prescriptions_rejected=0,
        rejections_by_criterion={},
        patients_treated=1,
    )
    totals = {key: value for key, value in small.items() if key not in ("centre_id", "centre_name", "region")}
    return {**totals, "by_centre": [small]}


CASES = {
    "no-figures": ({}, 0),
    "all-zero-no-centre": (lambda: {**empty_counts(), "by_centre": []}, 0),
    "all-zero-one-centre": (lambda: {**empty_counts(), "by_centre": [_zero_centre("c-1", "Ospedale Uno")]}, 0),
    "no-refusals": (_no_refusals, 0),
    "no-refusals-suppressed": (_no_refusals, 3),
    "small-counts-suppressed": (_small_counts, 3),
}


def _text(fmt: str, data: bytes) -> str:
    if fmt == "csv":
        return data.decode("utf-8-sig")
    if fmt == "xlsx":
        book = load_workbook(io.BytesIO(data))
        return "\n".join(
            str(cell.value) for sheet in book for row in sheet.iter_rows() for cell in row if cell.value is not None
        )
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(CASES))
def test_monitoring_files_are_written_for_empty_zero_and_suppressed_figures(case, fmt):
    metrics, suppress_below = CASES[case]
    metrics = metrics() if callable(metrics) else metrics
    out = io.BytesIO()

    render_monitoring(context(metrics, suppress_below=suppress_below), fmt, out)

    text = _text(fmt, out.getvalue())
    assert "{}" not in text and "{'" not in text
    if suppress_below and case == "small-counts-suppressed":
        assert {"csv": ";;1;", "xlsx": "hidden", "pdf": "“x”"}[fmt] in text


def test_the_centres_table_has_no_column_for_a_breakdown_nobody_has():
    out = io.BytesIO()
    render_monitoring(context(_no_refusals()), "csv", out)
    centre_lines = [line for line in _text("csv", out.getvalue()).splitlines() if ";centre;" in line]
    assert centre_lines and not [line for line in centre_lines if ";rejections_by_criterion;" in line]
    assert [line for line in centre_lines if ";prescriptions_rejected;" in line]

    out = io.BytesIO()
    render_monitoring(context(_no_refusals()), "xlsx", out)
    header = [cell.value for cell in load_workbook(io.BytesIO(out.getvalue()))["Centres"][1]]
    assert "Refused" in header or "Requests refused" in header or any("Refus" in str(v) for v in header)
    assert not any(str(value).startswith("Refusals by criterion") for value in header)


QUARTERLY_ROW = {
    "pseudonym": "a" * 64,
    "centre": "Ospedale Uno",
    "prescription_date": None,
    "criteria_version": "",
    "status": "",
    "doses_administered": 0,
    "syringes_dispensed": 0,
    "stop_reason": None,
    "adverse_events": "",
    "serious_adverse_events": 0,
    "who_cps_day14": None,
    "who_cps_day28": 0,
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("rows", ["no-rows", "zero-row"])
def test_quarterly_files_are_written_with_no_rows_and_zero_rows(rows, fmt):
    out = io.BytesIO()
    given = [] if rows == "no-rows" else [QUARTERLY_ROW]

    render_quarterly(context({}, kind=QUARTERLY_PATIENTS, suppress_below=3), iter(given), fmt, out)

    text = _text(fmt, out.getvalue())
    assert "{}" not in text
    if fmt != "pdf":
        assert all(quarterly_text.column_label(column) in text for column in QUARTERLY_COLUMNS)


def test_a_chart_whose_counts_are_all_hidden_is_drawn_hidden_not_said_empty():
    # The audit: AIFA's national report said "No data in the period" under every chart, with 5 patients treated:
    # their counts were only hidden (disclosure's "x").
    from reports import charts
    from reports.disclosure import SUPPRESSED

    metrics = {charts.REQUESTS_PER_WEEK: {"2026-W45": SUPPRESSED, "2026-W46": SUPPRESSED}}
    assert charts.chart_svg(charts.REQUESTS_PER_WEEK, metrics) is not None
    nothing = {charts.REQUESTS_PER_WEEK: {"2026-W45": 0, "2026-W46": 0}}
    assert charts.chart_svg(charts.REQUESTS_PER_WEEK, nothing) is None  # zeros: truly nothing to draw
