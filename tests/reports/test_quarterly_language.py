"""Issue 18: the quarterly per-patient files speak the reader's language, headers and values alike.

An Italian officer's CSV and XLSX said ``prescription_date`` and ``in_course``; the PDF printed ISO dates, cut
headers mid-word and spent a quarter of the page on a 64-character pseudonym.
"""

import csv
import html
import io
from datetime import date

import pytest
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from reports import services
from reports.kinds import MONITORING, QUARTERLY_COLUMNS, QUARTERLY_PATIENTS, ReportContext
from reports.models import ReportRun
from reports.renderers import pdf_format, quarterly_text, render_quarterly

PSEUDONYM = "9f" * 32
ROW = {
    "pseudonym": PSEUDONYM,
    "centre": "Ospedale Demo Milano",
    "prescription_date": date(2021, 11, 3),
    "criteria_version": "L648-2021-10",
    "status": "stopped",
    "doses_administered": 4,
    "syringes_dispensed": 10,
    "stop_reason": "clinical_worsening",
    "adverse_events": "2021-11-05 neutropenia (serious); 2021-11-07 hepatic",
    "serious_adverse_events": 1,
    "who_cps_day14": 5,
    "who_cps_day28": None,
    "first_dose_date": date(2021, 11, 3),
    "stop_date": date(2021, 11, 7),
    "death_date": None,
}


def _context() -> ReportContext:
    return ReportContext(
        run_id="00000000-0000-0000-0000-000000000001",
        kind=QUARTERLY_PATIENTS,
        title="Rapporto trimestrale",
        region_code="030",
        region_name="Lombardia",
        period_start=date(2021, 10, 1),
        period_end=date(2021, 12, 31),
        data_as_of=None,
    )


def _render(fmt: str, language: str) -> bytes:
    out = io.BytesIO()
    with translation.override(language):
        render_quarterly(_context(), iter([dict(ROW)]), fmt, out)
    return out.getvalue()


def test_the_italian_csv_has_italian_headers_and_values_and_the_whole_pseudonym():
    header, row = csv.reader(io.StringIO(_render("csv", "it").decode("utf-8-sig"), newline=""), delimiter=";")
    assert header[:5] == ["Pseudonimo", "Centro", "Data di prescrizione", "Versione dei criteri", "Stato"]
    assert not set(header) & set(QUARTERLY_COLUMNS)  # no machine key left
    values = dict(zip(QUARTERLY_COLUMNS, row, strict=True))
    assert values["pseudonym"] == PSEUDONYM  # whole: the key a reader looks up
    assert values["status"] == "interrotta"
    assert values["stop_reason"] == "peggioramento clinico"
    assert values["adverse_events"] == "2021-11-05 neutropenia (grave); 2021-11-07 evento epatico"
    assert values["prescription_date"] == "2021-11-03"  # ISO in a file programs read


def test_the_english_csv_stays_english():
    header, row = csv.reader(io.StringIO(_render("csv", "en").decode("utf-8-sig"), newline=""), delimiter=";")
    assert header[:3] == ["Pseudonym", "Centre", "Prescribed on"]
    values = dict(zip(QUARTERLY_COLUMNS, row, strict=True))
    assert values["stop_reason"] == "clinical worsening"
    assert values["adverse_events"] == "2021-11-05 neutropenia (serious); 2021-11-07 hepatic event"


def test_the_italian_xlsx_has_italian_headers_words_and_real_dates():
    sheet = load_workbook(io.BytesIO(_render("xlsx", "it"))).active
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["Pseudonimo", "Centro", "Data di prescrizione"]
    values = dict(zip(QUARTERLY_COLUMNS, [cell.value for cell in sheet[2]], strict=True))
    assert values["status"] == "interrotta" and values["stop_reason"] == "peggioramento clinico"
    assert values["prescription_date"].date() == date(2021, 11, 3)  # a date a spreadsheet can sort
    assert values["doses_administered"] == 4  # numbers stay numbers


def test_the_italian_pdf_writes_dates_the_italian_way_the_short_pseudonym_and_whole_header_words():
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(_render("pdf", "it"))).pages)
    assert "03/11/2021" in text and "07/11/2021" in text and "2021-11-03" not in text
    assert "05/11/2021 neutropenia (grave)" in text.replace("\n", " ")
    assert PSEUDONYM[:12] in text and PSEUDONYM[:13] not in text
    assert "peggioramento clinico" in text.replace("\n", " ")
    words = set(text.split())
    with translation.override("it"):
        for column in QUARTERLY_COLUMNS:
            for word in quarterly_text.column_label(column).split():
                assert word in words, (column, word)  # printed whole, never split mid-word


@pytest.mark.parametrize("language", ["it", "en"])
def test_no_header_word_is_wider_than_its_column(language):
    """The header's size is chosen so that its longest word fits: reportlab would otherwise break it."""
    with translation.override(language):
        columns = QUARTERLY_COLUMNS
        widths = [pdf_format.QUARTERLY_WIDTHS.get(column, pdf_format.COUNT_WIDTH) for column in columns]
        for paragraph, width in zip(pdf_format._quarterly_header(columns, widths), widths, strict=True):
            style = paragraph.style
            room = width - 2 * pdf_format.CELL_PADDING
            longest = max(
                pdf_format.pdfmetrics.stringWidth(word, style.fontName, style.fontSize)
                for word in html.unescape(paragraph.text).split()
            )
            assert longest <= room + 0.01, (paragraph.text, style.fontSize)


def test_a_run_keeps_the_language_it_was_asked_in(demo):
    with translation.override("en"):
        english = services.report_request(
            user=demo["officer.lombardia"],
            kind=QUARTERLY_PATIENTS,
            region_code="030",
            period_start=date(2021, 10, 1),
            period_end=date(2021, 12, 31),
        )
    italian = services.report_request(
        user=demo["aifa"],
        kind=MONITORING,
        region_code="030",
        period_start=date(2021, 10, 1),
        period_end=date(2021, 12, 31),
        scheduled=True,  # a scheduled run: the registry's language
    )
    assert ReportRun.objects.get(pk=english.pk).language == "en"
    assert ReportRun.objects.get(pk=italian.pk).language == "it"
