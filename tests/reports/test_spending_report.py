"""Issue 20: the monitoring report shows the Region's L.648 spending (dispensed less returned, at AIFA's price),
on its page and in its files, and keeps it in the region: AIFA's form of the report carries none."""

import io
from datetime import date
from decimal import Decimal

import pandas
import pytest
from django.test import Client
from openpyxl import load_workbook
from pypdf import PdfReader

from prescriptions import services
from prescriptions.models import SyringePrice
from prescriptions.stock import services as stock
from reports import services as report_services
from reports.models import ReportStatus
from reports.periods import quarter_of
from tests.prescriptions import factories as f
from tests.prescriptions.stock_support import keep_stock, receive


@pytest.fixture
def run(demo, django_capture_on_commit_callbacks, settings, tmp_path):
    """Lombardia's report of the quarter holding today: 10 syringes dispensed from stock at 100 €, 4 returned."""
    settings.MEDIA_ROOT = str(tmp_path)
    keep_stock(demo)
    pharmacist = demo["pharmacist.milano"]
    SyringePrice.objects.create(valid_from=date(2020, 1, 1), price_eur=Decimal("100"))
    lot = receive(pharmacist, syringes=20).lot
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    services.dispensation_record(pharmacist=pharmacist, prescription=prescription, syringes=10, lot=str(lot.pk))
    services.prescription_stop(prescriber=demo["prescriber.milano"], prescription=prescription, reason="discharge")
    stock.stock_return(pharmacist=pharmacist, syringes=4, prescription_id=prescription.pk)
    start, end = quarter_of(f.today())
    with django_capture_on_commit_callbacks(execute=True):
        made = report_services.report_request(
            user=demo["officer.lombardia"], region_code="030", period_start=start, period_end=end
        )
    made.refresh_from_db()
    assert made.status == ReportStatus.DONE, made.error
    return made


def _get(client, url) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_run_keeps_the_regions_spending_net_of_returns(run):
    total = run.metrics["spending"]["total"]
    assert total == {
        "syringes_dispensed": 10,
        "syringes_returned": 4,
        "net_syringes": 6,
        "amount_eur": "600.00",
        "unpriced_syringes": 0,
    }


def test_the_officer_sees_the_spending_in_the_api_the_page_and_every_file(run, client_for, demo):
    api = client_for("officer.lombardia")
    detail = api.get(f"/api/v1/reports/{run.pk}/").json()
    assert detail["metrics"]["spending"]["total"]["amount_eur"] == "600.00"

    page = Client(HTTP_ACCEPT_LANGUAGE="it")
    page.force_login(demo["officer.lombardia"])
    html = page.get(f"/reports/{run.pk}/").content.decode()
    assert 'data-section="spending"' in html and "Spesa L.648" in html and "600,00 €" in html

    data = pandas.read_csv(io.BytesIO(_get(api, detail["files"]["csv"])), sep=";", encoding="utf-8-sig")
    amount = data[(data["metric"] == "spending.amount_eur") & (data["level"] == "report")]["value"]
    assert list(amount.astype(float)) == [600.0]
    book = load_workbook(io.BytesIO(_get(api, detail["files"]["xlsx"])))
    sheet = next(book[name] for name in book.sheetnames if "648" in name)
    assert [cell.value for cell in sheet[2]][2:6] == [10, 4, 6, 600]
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(_get(api, detail["files"]["pdf"]))).pages)
    assert "600,00 €" in text


def test_aifa_reads_the_regions_report_without_its_spending(run, client_for):
    api = client_for("aifa")
    detail = api.get(f"/api/v1/reports/{run.pk}/").json()
    assert "spending" not in detail["metrics"]
    data = pandas.read_csv(io.BytesIO(_get(api, detail["files"]["csv"])), sep=";", encoding="utf-8-sig")
    assert not data["metric"].astype(str).str.startswith("spending").any()
