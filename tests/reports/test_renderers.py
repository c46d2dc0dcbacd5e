"""The report files, read back as a user's tools read them: CSV with ``csv``, XLSX with openpyxl, PDF with pypdf.

No database: each ReportContext is built by hand with known figures. Text is asserted in English (the msgids),
so the tests hold whether or not the Italian catalogue is compiled.
"""

import csv
import io
import weakref
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from reports import charts
from reports.kinds import MONITORING, QUARTERLY_COLUMNS, QUARTERLY_PATIENTS, ReportContext
from reports.renderers import pdf_format, quarterly_text, render_monitoring, render_quarterly

BOM = b"\xef\xbb\xbf"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def centre(centre_id: str, name: str, **counts) -> dict:
    entry = {
        "centre_id": centre_id,
        "centre_name": name,
        "region": "030",
        "prescriptions_submitted": 7,
        "prescriptions_eligible": 5,
        "prescriptions_rejected": 2,
        "rejections_by_criterion": {"SUPAR_AT_LEAST_6": 2},
        "patients_treated": 4,
        "courses_completed": 3,
        "courses_stopped": 1,
        "courses_cancelled": 0,
        "courses_in_progress": 1,
        "stops_by_reason": {"death": 1},
        "doses_administered": 36,
        "syringes_dispensed": 40,
        "adverse_events_by_category": {"neutropenia": 1, "hepatic": 0},
        "serious_adverse_events": 1,
        "outcomes_day28": {"2": 2, "10": 1},
        "deaths_day28": 1,
        "missed_doses": 2,
        "protocol_deviations": 0,
    }
    entry.update(counts)
    return entry


METRICS = {
    "prescriptions_submitted": 1234,
    "prescriptions_eligible": 1000,
    "prescriptions_rejected": 234,
    "rejections_by_criterion": {"SUPAR_AT_LEAST_6": 120, "PAO2_FIO2_ABOVE_150": 80, "AGE_ADULT": 2},
    "patients_treated": 980,
    "courses_completed": 850,
    "courses_stopped": 90,
    "courses_cancelled": 0,
    "courses_in_progress": 40,
    "stops_by_reason": {"adverse_event": 30, "clinical_worsening": 58, "death": 2},
    "doses_administered": 9200,
    "syringes_dispensed": 9500,
    "adverse_events_by_category": {"neutropenia": 25, "hepatic": 9, "hypersensitivity": 1, "other": 0},
    "serious_adverse_events": 14,
    "outcomes_day28": {"0": 300, "4": 80, "6": 30, "9": 2, "10": 31},
    "deaths_day28": 31,
    "missed_doses": 45,
    "protocol_deviations": 12,
    "requests_by_week": {"2025-W01": 90, "2025-W02": 110, "2025-W03": 1},
    "by_centre": [
        centre("c-niguarda", "ASST Grande Ospedale Metropolitano Niguarda"),
        centre("c-pavia", "Fondazione IRCCS Policlinico San Matteo — Pavia", prescriptions_submitted=12),
    ],
}


def context(metrics=None, *, suppress_below: int = 0, kind: str = MONITORING, region=("030", "Lombardia")):
    return ReportContext(
        run_id="3f1c2d9e-1111-4222-8333-944455556666",
        kind=kind,
        title="Monitoring report, anakinra for COVID-19 (L.648/96) — Lombardia",
        region_code=region[0],
        region_name=region[1],
        period_start=date(2025, 1, 1),
        period_end=date(2025, 3, 31),
        data_as_of=datetime(2025, 4, 1, 8, 30, tzinfo=UTC),
        metrics=METRICS if metrics is None else metrics,
        suppress_below=suppress_below,
    )


def rendered(ctx: ReportContext, fmt: str) -> bytes:
    out = io.BytesIO()
    render_monitoring(ctx, fmt, out)
    return out.getvalue()


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def tidy(data: bytes) -> pd.DataFrame:
    """The monitoring CSV as pandas reads it (docs/monitoring-data.md)."""
    return pd.read_csv(io.BytesIO(data), sep=";", encoding="utf-8-sig", dtype={"region": str, "code": str})


def report_values(frame: pd.DataFrame) -> dict:
    """The report's own figures: "metric" or "metric.code" → value (None where hidden)."""
    rows = frame[frame.level == "report"]
    return {
        (f"{r.metric}.{r.code}" if isinstance(r.code, str) else r.metric): (None if r.suppressed else int(r.value))
        for r in rows.itertuples()
    }


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# --- CSV -----------------------------------------------------------------------------------------------


def test_csv_is_one_tidy_table_that_pandas_reads():
    data = rendered(context(), "csv")

    assert data.startswith(BOM)
    frame = tidy(data)
    assert list(frame.columns) == [
        "run_id",
        "period_start",
        "period_end",
        "level",
        "region",
        "centre_id",
        "centre_name",
        "metric",
        "code",
        "value",
        "suppressed",
        "label",
    ]
    assert set(frame.level) == {"report", "centre"}
    assert set(frame.run_id) == {"3f1c2d9e-1111-4222-8333-944455556666"}
    assert set(frame.period_start) == {"2025-01-01"} and set(frame.period_end) == {"2025-03-31"}
    assert set(frame.region) == {"030"}
    assert frame.value.dtype.kind in "if" and frame.suppressed.sum() == 0


def test_csv_figures_are_right_and_breakdowns_have_their_code():
    frame = tidy(rendered(context(), "csv"))
    values = report_values(frame)

    assert values["prescriptions_submitted"] == 1234
    assert values["prescriptions_rejected"] == 234
    assert values["deaths_day28"] == 31
    assert values["rejections_by_criterion.SUPAR_AT_LEAST_6"] == 120
    assert values["stops_by_reason.death"] == 2
    assert values["adverse_events_by_category.other"] == 0
    assert values["outcomes_day28.10"] == 31
    assert values["outcomes_day28.5"] == 0  # the whole WHO-CPS scale, a score nobody reached included
    assert values["requests_by_week.2025-W02"] == 110
    assert "by_centre" not in set(frame.metric)
    # Criteria in the order the engine lists them, whatever order the dict had.
    criteria = [key for key in values if key.startswith("rejections_by_criterion.")]
    assert criteria == [
        "rejections_by_criterion.AGE_ADULT",
        "rejections_by_criterion.PAO2_FIO2_ABOVE_150",
        "rejections_by_criterion.SUPAR_AT_LEAST_6",
    ]
    labels = dict(zip(frame.metric + "." + frame.code.fillna(""), frame.label, strict=True))
    assert labels["rejections_by_criterion.SUPAR_AT_LEAST_6"] == "Refusals by criterion: suPAR ≥ 6 ng/mL"


def test_csv_centres_are_rows_of_the_same_table():
    frame = tidy(rendered(context(), "csv"))
    centres = frame[frame.level == "centre"]
    table = centres.pivot_table(index="centre_name", columns="metric", values="value", aggfunc="sum")

    assert list(table.index) == [
        "ASST Grande Ospedale Metropolitano Niguarda",
        "Fondazione IRCCS Policlinico San Matteo — Pavia",
    ]
    assert table.loc["Fondazione IRCCS Policlinico San Matteo — Pavia", "prescriptions_submitted"] == 12
    assert table.loc["ASST Grande Ospedale Metropolitano Niguarda", "doses_administered"] == 36
    deaths = centres[(centres.metric == "outcomes_day28") & (centres.code == "10")]
    assert list(deaths.value) == [1, 1]
    assert set(centres.centre_id) == {"c-niguarda", "c-pavia"}


def test_csv_keeps_a_metric_it_does_not_know():
    values = report_values(tidy(rendered(context({**METRICS, "lab_alerts": 5}), "csv")))

    assert values["lab_alerts"] == 5


# --- XLSX ----------------------------------------------------------------------------------------------


def workbook(data: bytes):
    return load_workbook(io.BytesIO(data))


def test_xlsx_has_a_summary_a_sheet_per_breakdown_and_the_centres():
    book = workbook(rendered(context(), "xlsx"))

    assert book.sheetnames == [
        "Summary",
        "Refusals by criterion",
        "Stops by reason",
        "Adverse events by category",
        "WHO-CPS at day 28",
        "Requests per week",
        "Funnel plots",
        "WHO-CPS vs SAVE-MORE",
        "Centres",
    ]


def test_xlsx_summary_holds_identity_and_headline_figures_as_numbers():
    sheet = workbook(rendered(context(), "xlsx"))["Summary"]
    labels = {row[0].value: row for row in sheet.iter_rows() if row[0].value}

    assert sheet["A1"].value.startswith("Monitoring report")
    assert sheet["A1"].font.bold
    assert labels["Region"][1].value == "Lombardia (030)"
    assert labels["Period from"][1].value.date() == date(2025, 1, 1)
    assert labels["Data as of"][1].value == datetime(2025, 4, 1, 10, 30)  # Rome wall-clock time
    # Shown as an Italian reader writes them (the audit saw 2025-01-01), still real dates to compute with.
    assert labels["Period from"][1].number_format == "dd/mm/yyyy"
    assert labels["Data as of"][1].number_format == "dd/mm/yyyy hh:mm"
    header = labels["Section"]
    assert [cell.value for cell in header] == ["Section", "Figure", "Value", "Key"]
    assert all(cell.font.bold for cell in header)
    by_key = {row[3].value: row[2].value for row in sheet.iter_rows(min_row=header[0].row + 1) if row[3].value}
    assert by_key["prescriptions_submitted"] == 1234
    assert by_key["patients_treated"] == 980
    assert by_key["serious_adverse_events"] == 14
    assert sheet.column_dimensions["B"].width > 20


def test_xlsx_breakdown_and_centre_sheets():
    book = workbook(rendered(context(), "xlsx"))

    refusals = [[cell.value for cell in row] for row in book["Refusals by criterion"].iter_rows()]
    assert refusals[0] == ["Code", "Description", "Count"]
    assert ["SUPAR_AT_LEAST_6", "suPAR ≥ 6 ng/mL", 120] in refusals
    outcomes = {row[0].value: row[2].value for row in book["WHO-CPS at day 28"].iter_rows(min_row=2)}
    assert list(outcomes) == [str(score) for score in range(11)]
    assert outcomes["10"] == 31 and outcomes["1"] == 0
    sheet = book["Centres"]
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["Centre ID", "Centre", "Region", "Requests submitted"]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert rows[1][:4] == ["c-pavia", "Fondazione IRCCS Policlinico San Matteo — Pavia", "030", 12]


# --- PDF -----------------------------------------------------------------------------------------------


def test_pdf_prints_title_region_period_as_of_figures_and_footer():
    data = rendered(context(), "pdf")
    text = pdf_text(data)

    assert data.startswith(b"%PDF")
    assert "Monitoring report, anakinra for COVID-19 (L.648/96) — Lombardia" in text
    assert "Lombardia (030)" in text
    assert "1 January 2025 – 31 March 2025" in text
    assert "1 April 2025 10:30" in text  # data as of, Rome time
    for figure in ("1,234", "9,200", "980", "850"):
        assert figure in text
    assert "suPAR ≥ 6 ng/mL" in text  # DejaVu: the sign prints
    assert "Fondazione IRCCS Policlinico San Matteo" in text
    assert "Registro 648 — dati pseudonimizzati" in text
    reader = PdfReader(io.BytesIO(data))
    pages = len(reader.pages)
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text


def _images(page) -> int:
    return sum(1 for _name in page.images)


def test_pdf_embeds_the_five_charts_and_puts_the_centres_on_landscape_pages():
    reader = PdfReader(io.BytesIO(rendered(context(), "pdf")))

    assert sum(_images(page) for page in reader.pages) == 6  # five charts and the mortality funnel
    last = reader.pages[-1]
    assert float(last.mediabox.width) > float(last.mediabox.height)
    assert "By centre" in last.extract_text()
    first = reader.pages[0]
    assert float(first.mediabox.width) < float(first.mediabox.height)


def test_pdf_without_requests_per_week_leaves_that_chart_out():
    metrics = {key: value for key, value in METRICS.items() if key != "requests_by_week"}
    reader = PdfReader(io.BytesIO(rendered(context(metrics), "pdf")))

    assert sum(_images(page) for page in reader.pages) == 5
    assert "Requests per week" not in "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_of_a_report_with_no_data_still_renders():
    text = pdf_text(rendered(context({}, region=(None, "Italia")), "pdf"))

    assert "Italia" in text
    assert "No figures in this report." in text
    assert "No centre in this report." in text


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="docx"):
        render_monitoring(context(), "docx", io.BytesIO())


# --- Small-count suppression ------------------------------------------------------------------------


def test_suppression_hides_small_counts_in_every_format_numbers_only_with_a_flag_and_keeps_zeros():
    ctx = context(suppress_below=3)

    frame = tidy(rendered(ctx, "csv"))
    values = report_values(frame)
    assert values["rejections_by_criterion.AGE_ADULT"] is None  # 2
    assert values["adverse_events_by_category.hypersensitivity"] is None  # 1
    assert values["stops_by_reason.death"] is None
    assert values["courses_cancelled"] == 0  # zero names nobody
    assert values["serious_adverse_events"] == 14
    assert values["outcomes_day28.9"] is None
    hidden = frame[frame.suppressed == 1]
    assert hidden.value.isna().all() and (frame[frame.suppressed == 0].value.notna()).all()
    niguarda = frame[(frame.centre_id == "c-niguarda") & (frame.code.isna())].set_index("metric")
    assert niguarda.loc["prescriptions_rejected", "suppressed"] == 1
    assert niguarda.loc["courses_completed", "value"] == 3  # 3 is not below 3

    book = workbook(rendered(ctx, "xlsx"))
    refusals = {
        row[0].value: (row[2].value, row[3].value) for row in book["Refusals by criterion"].iter_rows(min_row=2)
    }
    assert refusals == {"AGE_ADULT": (None, 1), "PAO2_FIO2_ABOVE_150": (80, 0), "SUPAR_AT_LEAST_6": (120, 0)}
    header, *rows = list(book["Centres"].iter_rows(values_only=True))
    stopped = header.index("Courses stopped")
    assert header[stopped + 1] == "Courses stopped — hidden"
    assert rows[0][stopped] is None and rows[0][stopped + 1] == 1
    for row in rows:  # count columns hold numbers only
        assert all(value is None or isinstance(value, int) for value in row[3:])

    text = pdf_text(rendered(ctx, "pdf"))
    assert "“x”: a hidden count, from 1 to 2 (small-count suppression)" in text


def test_without_suppression_small_counts_print_as_they_are():
    frame = tidy(rendered(context(), "csv"))

    assert report_values(frame)["rejections_by_criterion.AGE_ADULT"] == 2
    assert frame.suppressed.sum() == 0
    summary = workbook(rendered(context(), "xlsx"))["Summary"]
    assert "Value" in [cell.value for row in summary.iter_rows() for cell in row]
    assert "Hidden" not in [cell.value for row in summary.iter_rows() for cell in row]


# --- Quarterly per-patient report ------------------------------------------------------------------


class Row(dict):
    """A row that can be watched: a weak reference tells whether the renderer still holds it."""


class WatchedRows:
    """5,000 rows made one at a time; records how many made rows are still alive each time one is asked for.

    A renderer that gathered the rows (``list(rows)``) would keep them all alive; a streaming one lets each go
    once written.
    """

    def __init__(self, count: int, out: io.BytesIO | None = None):
        self.count = count
        self.out = out
        self.alive: list[weakref.ref] = []
        self.max_alive = 0
        self.output_sizes: list[int] = []
        self.consumed = 0

    def __iter__(self):
        for index in range(self.count):
            self.alive = [ref for ref in self.alive if ref() is not None]
            self.max_alive = max(self.max_alive, len(self.alive))
            if self.out is not None and index % 500 == 0:
                self.output_sizes.append(self.out.tell())
            row = Row(
                pseudonym=f"{index:064x}",
                centre="Ospedale Demo Milano",
                prescription_date=date(2025, 1, 1 + index % 28),
                criteria_version="L648-2021-10",
                status="completed" if index % 10 else "stopped",
                doses_administered=10 if index % 10 else 4,
                syringes_dispensed=10,
                stop_reason=None if index % 10 else "clinical_worsening",
                adverse_events=index % 3,
                serious_adverse_events=0,
                who_cps_day14=3,
                who_cps_day28=None if index % 7 == 0 else 0,
            )
            self.alive.append(weakref.ref(row))
            self.consumed += 1
            yield row


def quarterly_context() -> ReportContext:
    return context({}, kind=QUARTERLY_PATIENTS)


def quarterly_labels() -> list[str]:
    return [quarterly_text.column_label(column) for column in QUARTERLY_COLUMNS]


def test_quarterly_csv_streams_5000_rows():
    out = io.BytesIO()
    rows = WatchedRows(5000, out)

    render_quarterly(quarterly_context(), rows, "csv", out)

    assert rows.consumed == 5000
    assert rows.max_alive <= 2  # one row at a time
    # The file grew while rows were still being made: written as they came, not at the end.
    assert rows.output_sizes[1] > 0
    assert rows.output_sizes == sorted(rows.output_sizes) and rows.output_sizes[-1] > 4 * rows.output_sizes[1]
    data = out.getvalue()
    assert data.startswith(BOM)
    header, *lines = csv_rows(data)
    assert header == quarterly_labels()  # the columns' labels, in the file's language
    assert len(lines) == 5000
    first = dict(zip(QUARTERLY_COLUMNS, lines[0], strict=True))
    assert first["prescription_date"] == "2025-01-01"
    assert first["stop_reason"] == "clinical worsening"  # the code in words
    assert first["who_cps_day28"] == ""  # not recorded
    assert dict(zip(QUARTERLY_COLUMNS, lines[1], strict=True))["doses_administered"] == "10"


def test_quarterly_xlsx_streams_5000_rows_into_one_sheet():
    out = io.BytesIO()
    rows = WatchedRows(5000)

    render_quarterly(quarterly_context(), rows, "xlsx", out)

    assert rows.consumed == 5000
    assert rows.max_alive <= 2
    book = load_workbook(io.BytesIO(out.getvalue()))
    assert len(book.sheetnames) == 1
    sheet = book.active
    assert sheet.max_row == 5001
    header = [cell.value for cell in sheet[1]]
    assert header == quarterly_labels()
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.column_dimensions["A"].width >= 20
    assert sheet["C2"].value.date() == date(2025, 1, 1)
    assert sheet["F2"].value == 4
    assert sheet.cell(row=5001, column=1).value == f"{4999:064x}"
    assert "114586" in book.properties.subject and "Period" in book.properties.subject


def test_quarterly_pdf_is_drawn_page_by_page():
    out = io.BytesIO()
    rows = WatchedRows(600)

    render_quarterly(quarterly_context(), rows, "pdf", out)

    assert rows.consumed == 600
    assert rows.max_alive <= 40  # a page's worth of rows, never the whole report
    reader = PdfReader(io.BytesIO(out.getvalue()))
    assert len(reader.pages) > 10
    first = reader.pages[0].extract_text()
    assert "Monitoring report, anakinra for COVID-19 (L.648/96) — Lombardia" in first
    assert "Lombardia (030)" in first
    assert "Pseudonym" in first and "clinical worsening" in first
    assert "Determina of 30 September 2021 n. 114586" in first  # the listing the report is made under
    last = reader.pages[-1].extract_text()
    assert f"Page {len(reader.pages)}" in last
    assert "Registro 648 — dati pseudonimizzati" in last
    # The pseudonym's short form, as on the pages (the CSV and the XLSX carry it whole).
    assert f"{599:064x}"[:12] in last and f"{599:064x}"[:13] not in last


def test_quarterly_pdf_prints_every_cell_of_every_row_in_order_under_a_header_on_each_page():
    """Issue 17: the rows are drawn straight on the canvas, the header once as a form shown on each page (a Table
    a page took three quarters of the report's time); a reader still gets each row's cells in the columns'
    order, page after page."""
    rows = [dict(row) for row in WatchedRows(120)]
    out = io.BytesIO()

    render_quarterly(quarterly_context(), iter(rows), "pdf", out)

    pages = [page.extract_text() for page in PdfReader(io.BytesIO(out.getvalue())).pages]
    assert len(pages) > 3 and all("Pseudonym" in page and "Stop reason" in page for page in pages)
    printed = iter(" ".join(pages).split())
    for row in rows:
        for column in QUARTERLY_COLUMNS:
            width = pdf_format.QUARTERLY_WIDTHS.get(column, pdf_format.COUNT_WIDTH)
            for token in pdf_format._quarterly_text(row.get(column), column, width).split():
                assert token in printed, (row["pseudonym"], column, token)  # found after the previous one


def test_quarterly_with_no_rows_still_gives_a_header():
    out = io.BytesIO()
    render_quarterly(quarterly_context(), iter(()), "csv", out)
    assert csv_rows(out.getvalue()) == [quarterly_labels()]

    out = io.BytesIO()
    render_quarterly(quarterly_context(), iter(()), "pdf", out)
    assert "No patient in this period." in pdf_text(out.getvalue())


# --- Charts --------------------------------------------------------------------------------------------


def test_charts_come_as_png_and_inline_svg():
    png = charts.chart_png(charts.OUTCOMES_DAY28, METRICS)
    svg = charts.chart_svg(charts.REJECTIONS_BY_CRITERION, METRICS)

    assert png.startswith(b"\x89PNG")
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    assert 'aria-label="Refusals by criterion"' in svg
    assert "suPAR ≥ 6 ng/mL" in svg  # text stays text


def test_requests_per_week_is_shown_only_when_the_metrics_carry_it():
    without = {key: value for key, value in METRICS.items() if key != "requests_by_week"}

    assert charts.REQUESTS_PER_WEEK in charts.chart_names(METRICS)
    assert charts.chart_names(without) == [
        charts.COURSES_BY_STATUS,
        charts.REJECTIONS_BY_CRITERION,
        charts.ADVERSE_EVENTS_BY_CATEGORY,
        charts.OUTCOMES_DAY28,
    ]
    assert charts.chart_svg(charts.REQUESTS_PER_WEEK, without) is None


def test_a_chart_with_nothing_to_draw_is_none():
    assert charts.chart_png(charts.REJECTIONS_BY_CRITERION, {"rejections_by_criterion": {}}) is None
    assert charts.chart_svg(charts.COURSES_BY_STATUS, {"courses_completed": 0, "courses_stopped": 0}) is None


def test_a_suppressed_bar_is_labelled_x_not_with_its_count():
    metrics = {"adverse_events_by_category": {"neutropenia": 25, "hypersensitivity": 1}}

    svg = charts.chart_svg(charts.ADVERSE_EVENTS_BY_CATEGORY, metrics, suppress_below=3)

    assert ">x<" in svg.replace(" ", "")
    assert ">1<" not in svg.replace(" ", "")


def test_the_pdf_centre_table_breaks_its_headers_between_words_only():
    # The audit: "Richiest/e", "Eleggibi/li", "Siringh/e" in the Italian PDF's "Per centro" table.
    from pypdf import PdfReader

    from reports.renderers import figures

    # Every single count a centre can have: about twenty columns, as a real region's report has.
    counts = {key: 1 for key, metric in figures.METRICS.items() if not metric.breakdown}
    by_centre = [{**entry, **counts} for entry in METRICS["by_centre"]]
    with translation.override("it"):
        ctx = context({**METRICS, "by_centre": by_centre})
        labels = [figures.centre_column_label(c, short=True) for c in figures.centre_columns(ctx, flatten=False)]
        assert len(labels) >= 15
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(rendered(ctx, "pdf"))).pages)
    words = {word for label in labels for word in label.split() if len(word) > 3}
    assert words
    table = text[text.rindex("Per centro") :]  # the centre table's own header, not the same words elsewhere
    tokens = set(table.split())
    broken = sorted(word for word in words if word not in tokens)
    assert not broken, broken
