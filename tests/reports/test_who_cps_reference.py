"""Issue 19: the report's day-28 WHO-CPS distribution drawn beside SAVE-MORE's, in the bands the trial published
(AIFA's L.648 dossier: 50.4 % (204/405) and 26.5 % (50/189) fully recovered, 3.2 % and 6.9 % dead)."""

import io
from datetime import date

import pytest
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from reports import who_cps_reference
from reports.kinds import MONITORING, ReportContext
from reports.renderers import render_monitoring
from reports.renderers.figures import percent_display


def test_the_save_more_bands_are_the_published_shares():
    recovered, ill, died = who_cps_reference.BANDS
    assert round(recovered.anakinra * 100, 1) == 50.4 and round(recovered.placebo * 100, 1) == 26.5
    assert (died.anakinra, died.placebo) == (0.032, 0.069)
    for band_arm in ("anakinra", "placebo"):
        assert sum(getattr(band, band_arm) for band in who_cps_reference.BANDS) == pytest.approx(1.0)
    assert ill.scores == tuple(range(1, 10))


def test_the_reports_shares_fall_in_the_same_bands():
    rows = who_cps_reference.rows({"outcomes_day28": {"0": 6, "3": 2, "5": 1, "10": 1}})
    assert [(row.band.key, row.count) for row in rows] == [("recovered", 6), ("ill", 3), ("died", 1)]
    assert [row.observed for row in rows] == [0.6, 0.3, 0.1]


def test_no_share_is_shown_where_a_count_is_hidden_and_nothing_without_outcomes():
    rows = who_cps_reference.rows({"outcomes_day28": {"0": 6, "3": "x", "10": 0}})
    assert rows and all(row.observed is None for row in rows)
    assert who_cps_reference.rows({"outcomes_day28": {}}) == []
    assert who_cps_reference.rows({}) == []


def _context(metrics) -> ReportContext:
    return ReportContext(
        run_id="00000000-0000-0000-0000-000000000002",
        kind=MONITORING,
        title="Report",
        region_code="030",
        region_name="Lombardia",
        period_start=date(2021, 10, 1),
        period_end=date(2021, 12, 31),
        data_as_of=None,
        metrics=metrics,
    )


def test_the_pdf_and_the_xlsx_show_the_bands_in_the_readers_language():
    metrics = {"outcomes_day28": {"0": 6, "3": 2, "5": 1, "10": 1}, "by_centre": []}
    with translation.override("it"):
        pdf, xlsx = io.BytesIO(), io.BytesIO()
        render_monitoring(_context(metrics), "pdf", pdf)
        render_monitoring(_context(metrics), "xlsx", xlsx)
        expected = percent_display(204 / 405)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.getvalue())).pages).replace("\n", " ")
    assert "WHO-CPS al giorno 28 accanto a SAVE-MORE" in text and "Guarigione completa (WHO-CPS 0)" in text
    assert expected in text and "60,0%" in text
    book = load_workbook(io.BytesIO(xlsx.getvalue()))
    sheet = book["WHO-CPS e SAVE-MORE"]
    assert [cell.value for cell in sheet[2]][:2] == ["Guarigione completa (WHO-CPS 0)", 0.6]
    assert sheet["C2"].value == pytest.approx(204 / 405)
