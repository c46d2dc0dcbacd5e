"""The stock pages (issue 20): the pharmacist's stock and its confirmed forms, dispensing from a lot on the
prescription page, the Region's stock for its officer."""

from datetime import timedelta

import pytest
from django.test import Client

from prescriptions.models import Dispensation, Lot, StockMovement, StockTransfer
from registry.models import Pharmacy

from . import factories as f
from .stock_support import MILANO_PHARMACY, keep_stock, receive, second_pharmacy

STOCK = "/prescriptions/stock/"


@pytest.fixture
def login(demo):
    def make(username: str, *, language: str = "en") -> Client:
        client = Client()
        client.force_login(demo[username])
        client.cookies["django_language"] = language
        return client

    return make


def receipt(days=200, **extra):
    return {
        "lot_number": "A123",
        "expiry_date": (f.today() + timedelta(days=days)).isoformat(),
        "syringes": "20",
        "supplier_document": "DDT 881",
        "unit_price": "152,30",
        **extra,
    }


def test_a_pharmacy_without_stock_says_so(login):
    page = login("pharmacist.milano").get(STOCK)
    assert page.status_code == 200
    assert "does not keep its anakinra stock" in page.content.decode()


def test_receiving_asks_for_confirmation_then_records(login, demo):
    keep_stock(demo)
    client = login("pharmacist.milano")
    review = client.post(f"{STOCK}operations/receive/", receipt())
    assert review.status_code == 200
    assert "Confirm: record the delivery" in review.content.decode()
    assert not Lot.objects.exists()
    done = client.post(f"{STOCK}operations/receive/", {**receipt(), "confirmed": "yes"})
    assert done.status_code == 302
    lot = Lot.objects.get()
    assert (lot.on_hand, str(StockMovement.objects.get().unit_price)) == (20, "152.3000")
    page = client.get(STOCK).content.decode()
    assert 'data-lot="A123"' in page and "Dispense first from lot" in page


def test_form_errors_come_back_on_the_page(login, demo):
    keep_stock(demo)
    client = login("pharmacist.milano")
    expired = client.post(f"{STOCK}operations/receive/", {**receipt(days=-1), "confirmed": "yes"})
    assert expired.status_code == 400
    yesterday = f.today() - timedelta(days=1)
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September"]
    month = [*months, "October", "November", "December"][yesterday.month - 1]
    # The long date, as the dispensing form's same refusal writes it; never ISO (2026-12-07).
    assert f"This lot expired on {yesterday.day} {month} {yesterday.year}." in expired.content.decode()
    lot = receive(demo["pharmacist.milano"], syringes=2).lot
    over = client.post(
        f"{STOCK}operations/write_off/", {"lot": str(lot.pk), "syringes": "3", "reason": "damaged", "confirmed": "yes"}
    )
    assert over.status_code == 409
    assert "2 syringes on hand, 3 asked" in over.content.decode()


def test_write_off_of_an_expired_lot_from_the_page(login, demo):
    keep_stock(demo)
    lot = receive(demo["pharmacist.milano"], syringes=5).lot
    Lot.objects.filter(pk=lot.pk).update(expiry_date=f.today() - timedelta(days=1))
    client = login("pharmacist.milano")
    assert "expired: write it off" in client.get(STOCK).content.decode()
    body = {"lot": str(lot.pk), "reason": "expired", "confirmed": "yes"}
    assert client.post(f"{STOCK}operations/write_off/", body).status_code == 302
    lot.refresh_from_db()
    assert lot.on_hand == 0


def test_the_dispensing_form_offers_the_lots_first_expiry_first(login, demo):
    keep_stock(demo)
    pharmacist = demo["pharmacist.milano"]
    receive(pharmacist, lot_number="LATE", syringes=20, days=300)
    soon = receive(pharmacist, lot_number="SOON", syringes=20, days=40).lot
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    client = login("pharmacist.milano")
    page = client.get(f"/prescriptions/{prescription.pk}/").content.decode()
    select = page[page.index('name="dispense-lot"') :]
    assert select.index("SOON") < select.index("LATE")
    assert f'value="{soon.pk}" selected' in page
    assert 'name="dispense-lot_number"' not in page
    response = client.post(
        f"/prescriptions/{prescription.pk}/dispense/", {"dispense-syringes": "10", "dispense-lot": str(soon.pk)}
    )
    assert response.status_code == 302
    assert Dispensation.objects.get().lot_number == "SOON"
    soon.refresh_from_db()
    assert soon.on_hand == 10


def test_the_dispensing_form_of_a_pharmacy_without_stock_is_unchanged(login, demo):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    page = login("pharmacist.milano").get(f"/prescriptions/{prescription.pk}/").content.decode()
    assert 'name="dispense-lot_number"' in page and 'name="dispense-lot"' not in page


def test_the_officer_sees_the_region_and_requests_then_approves_a_transfer(login, demo):
    keep_stock(demo)
    bergamo, _ = second_pharmacy(demo)
    lot = receive(demo["pharmacist.milano"], syringes=30, days=20).lot
    client = login("officer.lombardia")
    page = client.get(f"{STOCK}region/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-pharmacy="{MILANO_PHARMACY}"' in html and "expiring within 30 days" in html
    milano = Pharmacy.objects.get(name=MILANO_PHARMACY)
    body = {"from_pharmacy": str(milano.pk), "to_pharmacy": str(bergamo.pk), "syringes": "5", "lot": str(lot.pk)}
    review = client.post(f"{STOCK}transfers/", body)
    assert "Confirm: request the transfer" in review.content.decode() and not StockTransfer.objects.exists()
    assert client.post(f"{STOCK}transfers/", {**body, "confirmed": "yes"}).status_code == 302
    transfer = StockTransfer.objects.get()
    assert client.post(f"{STOCK}transfers/{transfer.pk}/approve/", {"confirmed": "yes"}).status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == "approved"
    ship = login("pharmacist.milano").post(f"{STOCK}transfers/{transfer.pk}/ship/", {"confirmed": "yes"})
    assert ship.status_code == 302
    lot.refresh_from_db()
    assert lot.on_hand == 25


@pytest.mark.parametrize(("username", "url"), [("nurse.milano", STOCK), ("pharmacist.milano", f"{STOCK}region/")])
def test_other_roles_are_refused_with_a_reason(login, demo, username, url):
    assert login(username).get(url).status_code == 403


def test_another_regions_officer_cannot_act_on_a_transfer(login, demo):
    keep_stock(demo)
    bergamo, _ = second_pharmacy(demo)
    milano = Pharmacy.objects.get(name=MILANO_PHARMACY)
    from prescriptions.stock import services

    transfer = services.stock_transfer_request(
        user=demo["officer.lombardia"], from_pharmacy_id=milano.pk, to_pharmacy_id=bergamo.pk, syringes=1
    )
    response = login("officer.lazio").post(f"{STOCK}transfers/{transfer.pk}/approve/", {"confirmed": "yes"})
    assert response.status_code == 404


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_pages_speak_the_readers_language(login, demo, language):
    keep_stock(demo)
    receive(demo["pharmacist.milano"])
    pharmacy = login("pharmacist.milano", language=language).get(STOCK).content.decode()
    region = login("officer.lombardia", language=language).get(f"{STOCK}region/").content.decode()
    if language == "it":
        assert "Ricevi una consegna" in pharmacy and "Giorni di copertura" in region
    else:
        assert "Receive a delivery" in pharmacy and "Days of cover" in region


def test_the_regional_page_costs_the_same_queries_whatever_the_stock(login, demo):
    keep_stock(demo)
    bergamo, bergamo_pharmacist = second_pharmacy(demo)
    receive(demo["pharmacist.milano"], syringes=5)
    client = login("officer.lombardia")
    client.get(f"{STOCK}region/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(f"{STOCK}region/")
    for i in range(6):
        receive(bergamo_pharmacist, lot_number=f"B-{i}", syringes=3, days=40 + i)
        f.prescription_at(demo, "awaiting_dispensing", code=f.fiscal_code(serial=10 + i))
    with CaptureQueriesContext(connection) as many:
        client.get(f"{STOCK}region/")
    assert len(few) > 0 and len(many) == len(few)


def test_no_confirmation_page_for_who_may_not_take_the_step(login, demo):
    keep_stock(demo)
    bergamo, _ = second_pharmacy(demo)
    milano = Pharmacy.objects.get(name=MILANO_PHARMACY)
    from prescriptions.stock import services

    transfer = services.stock_transfer_request(
        user=demo["officer.lombardia"], from_pharmacy_id=milano.pk, to_pharmacy_id=bergamo.pk, syringes=1
    )
    pharmacist = login("pharmacist.milano")
    assert pharmacist.post(f"{STOCK}transfers/{transfer.pk}/approve/").status_code == 403
    assert pharmacist.post(f"{STOCK}pharmacies/{bergamo.pk}/switch/", {"keeps_stock": "no"}).status_code == 403
    assert login("nurse.milano").post(f"{STOCK}transfers/", {"syringes": "1"}).status_code == 403


def _days_cell(html: str, pharmacy: str) -> str:
    import re

    row = re.search(rf'<tr data-pharmacy="{re.escape(pharmacy)}"[^>]*>(.*?)</tr>', html, re.S).group(0)
    return re.search(r'<td class="days">(.*?)</td>', row, re.S).group(1)


def test_a_pharmacy_with_no_stock_and_no_demand_shows_a_dash_not_short(login, demo):
    keep_stock(demo)
    html = login("officer.lombardia").get(f"{STOCK}region/").content.decode()
    assert _days_cell(html, MILANO_PHARMACY).strip() == "—"
    assert f'<tr data-pharmacy="{MILANO_PHARMACY}" class="short">' not in html


@pytest.mark.parametrize(("language", "days"), [("it", "2,8"), ("en", "2.8")])
def test_days_of_cover_in_the_readers_decimal_notation(login, demo, language, days):
    keep_stock(demo, threshold=7)
    receive(demo["pharmacist.milano"], syringes=14)
    f.prescription_at(demo, "awaiting_dispensing", prescribed_days_ago=1)  # 10 owed, 10 doses lately: 5.6 days
    html = login("officer.lombardia", language=language).get(f"{STOCK}region/").content.decode()
    cell = _days_cell(html, MILANO_PHARMACY)
    expected = "5,6" if language == "it" else "5.6"
    assert expected in cell, cell


def test_aifa_without_a_region_chooses_one(login, demo):
    response = login("aifa", language="it").get(f"{STOCK}region/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{STOCK}region/?region=030"' in html and "Lombardia" in html
    assert "Scegli la Regione" in html
    english = login("aifa").get(f"{STOCK}region/").content.decode()
    assert "Choose the Region" in english
    assert login("aifa").get(f"{STOCK}region/?region=030").status_code == 200
    assert login("aifa").get(f"{STOCK}region/?region=999").status_code == 404


# --- Prices, a pharmacist's transfer request, the officer's setting, a lot's history (issue 20 audit) ------------


@pytest.mark.parametrize(("language", "title"), [("it", "Prezzi per siringa"), ("en", "Prices per syringe")])
def test_aifa_sets_a_price_after_confirming_and_it_is_listed_and_audited(login, demo, language, title):
    from prescriptions.models import SyringePrice
    from registry.models import AuditEvent

    aifa = login("aifa", language=language)
    page = aifa.get(f"{STOCK}prices/").content.decode()
    assert title in page and 'action="/prescriptions/stock/prices/new/"' in page
    form = {"valid_from": "2026-01-01", "valid_to": "", "price_eur": "152,30", "aifa_reference": "Det. 1/2026"}
    confirm = aifa.post(f"{STOCK}prices/new/", form)
    assert confirm.status_code == 200 and "data-confirm" in confirm.content.decode()
    assert not SyringePrice.objects.exists()
    done = aifa.post(f"{STOCK}prices/new/", {**form, "confirmed": "yes"})
    assert done.status_code == 302
    price = SyringePrice.objects.get()
    assert str(price.price_eur) == "152.3000" and price.valid_to is None
    assert AuditEvent.objects.filter(object_id=str(price.pk)).exists()
    overlap = aifa.post(f"{STOCK}prices/new/", {**form, "valid_from": "2026-06-01", "confirmed": "yes"})
    assert overlap.status_code == 400 and SyringePrice.objects.count() == 1


def test_only_aifa_and_administrators_set_prices_but_anyone_reads_them(login, demo):
    officer = login("officer.lombardia")
    assert officer.get(f"{STOCK}prices/").status_code == 200
    assert "price_record" not in officer.get(f"{STOCK}prices/").content.decode()
    assert officer.post(f"{STOCK}prices/new/", {"valid_from": "2026-01-01", "price_eur": "1"}).status_code == 403


def test_a_pharmacist_asks_another_pharmacy_for_a_transfer(login, demo):
    keep_stock(demo)
    bergamo, _ = second_pharmacy(demo)
    milano = Pharmacy.objects.get(name=MILANO_PHARMACY)
    client = login("pharmacist.milano", language="it")
    page = client.get(STOCK).content.decode()
    assert "Chiedi un trasferimento" in page and f'value="{bergamo.pk}"' in page
    form = {"from_pharmacy": str(bergamo.pk), "to_pharmacy": str(milano.pk), "syringes": "4", "note": "urgente"}
    confirm = client.post(f"{STOCK}transfers/", form)
    assert confirm.status_code == 200 and "data-confirm" in confirm.content.decode()
    assert not StockTransfer.objects.exists()
    assert client.post(f"{STOCK}transfers/", {**form, "confirmed": "yes"}).status_code == 302
    transfer = StockTransfer.objects.get()
    assert (transfer.from_pharmacy, transfer.to_pharmacy, transfer.syringes) == (bergamo, milano, 4)
    assert transfer.status == "requested"


def test_a_transfer_asked_without_a_lot_is_shipped_from_a_lot_the_sender_chooses_then_received(login, demo):
    # The audit: a pharmacist asked Bergamo for 4 syringes (no lot: the asker does not hold Bergamo's), the officer
    # approved, and Bergamo's "Ship" was refused for a lot no page asked for: the transfer stayed approved for ever.
    keep_stock(demo)
    bergamo, bergamo_pharmacist = second_pharmacy(demo)
    milano = Pharmacy.objects.get(name=MILANO_PHARMACY)
    late = receive(bergamo_pharmacist, lot_number="BG-LATE", syringes=10, days=300).lot
    soon = receive(bergamo_pharmacist, lot_number="BG-SOON", syringes=10, days=60).lot
    receive(bergamo_pharmacist, lot_number="BG-FEW", syringes=2, days=30)  # too few for the transfer: not offered
    asker = login("pharmacist.milano")
    form = {"from_pharmacy": str(bergamo.pk), "to_pharmacy": str(milano.pk), "syringes": "4", "confirmed": "yes"}
    assert asker.post(f"{STOCK}transfers/", form).status_code == 302
    transfer = StockTransfer.objects.get()
    login("officer.lombardia").post(f"{STOCK}transfers/{transfer.pk}/approve/", {"confirmed": "yes"})
    sender = Client()
    sender.force_login(bergamo_pharmacist)
    sender.cookies["django_language"] = "en"

    confirm = sender.post(f"{STOCK}transfers/{transfer.pk}/ship/").content.decode()
    select = confirm[confirm.index('name="lot"') :]
    select = select[: select.index("</select>")]
    assert "BG-SOON" in select and "BG-LATE" in select and "BG-FEW" not in select
    assert select.index("BG-SOON") < select.index("BG-LATE")  # first expiry first, and chosen
    assert f'value="{soon.pk}" selected' in select

    shipped = sender.post(f"{STOCK}transfers/{transfer.pk}/ship/", {"confirmed": "yes", "lot": str(late.pk)})
    assert shipped.status_code == 302
    transfer.refresh_from_db()
    late.refresh_from_db()
    assert (transfer.status, transfer.lot_id, late.on_hand) == ("shipped", late.pk, 6)
    assert asker.post(f"{STOCK}transfers/{transfer.pk}/receive/", {"confirmed": "yes"}).status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == "received"
    assert Lot.objects.get(pharmacy=milano, lot_number="BG-LATE").on_hand == 4


def test_the_officer_switches_stock_off_and_sets_the_threshold_after_confirming(login, demo):
    from prescriptions.models import PharmacyStockSetting
    from registry.models import AuditEvent

    keep_stock(demo)
    milano = Pharmacy.objects.get(name=MILANO_PHARMACY)
    officer = login("officer.lombardia")
    page = officer.get(f"{STOCK}region/").content.decode()
    assert f'action="{STOCK}pharmacies/{milano.pk}/switch/"' in page and 'name="cover_threshold_days"' in page
    url = f"{STOCK}pharmacies/{milano.pk}/switch/"
    confirm = officer.post(url, {"keeps_stock": "yes", "cover_threshold_days": "10"})
    assert confirm.status_code == 200 and "data-confirm" in confirm.content.decode()
    assert PharmacyStockSetting.objects.get(pharmacy=milano).cover_threshold_days is None
    assert (
        officer.post(url, {"keeps_stock": "yes", "cover_threshold_days": "10", "confirmed": "yes"}).status_code == 302
    )
    assert PharmacyStockSetting.objects.get(pharmacy=milano).cover_threshold_days == 10
    bad = officer.post(url, {"keeps_stock": "yes", "cover_threshold_days": "0"}, follow=True)
    assert "Days of cover alert threshold" in bad.content.decode()
    officer.post(url, {"keeps_stock": "no", "cover_threshold_days": "10", "confirmed": "yes"})
    setting = PharmacyStockSetting.objects.get(pharmacy=milano)
    assert (setting.keeps_stock, setting.cover_threshold_days) == (False, 10)
    # Switching back on with the plain button keeps the threshold.
    officer.post(url, {"keeps_stock": "yes", "confirmed": "yes"})
    assert PharmacyStockSetting.objects.get(pharmacy=milano).cover_threshold_days == 10
    assert AuditEvent.objects.filter(action__startswith="stock.setting").count() >= 3


@pytest.mark.parametrize("language", ["it", "en"])
def test_a_lots_whole_history_a_page_at_a_time(login, demo, monkeypatch, language):
    from prescriptions.stock import services
    from prescriptions.web import stock as stock_pages

    monkeypatch.setattr(stock_pages, "LOT_HISTORY_PAGE", 3)
    keep_stock(demo)
    pharmacist = demo["pharmacist.milano"]
    lot = receive(pharmacist, syringes=20).lot
    for _ in range(4):
        services.stock_write_off(pharmacist=pharmacist, lot_id=lot.pk, syringes=1, reason="damaged")
    client = login("pharmacist.milano", language=language)
    assert f'href="{STOCK}lots/{lot.pk}/"' in client.get(STOCK).content.decode()
    first = client.get(f"{STOCK}lots/{lot.pk}/").content.decode()
    second = client.get(f"{STOCK}lots/{lot.pk}/?page=2").content.decode()
    assert first.count('data-kind="write_off"') == 3 and 'rel="next"' in first
    assert second.count('data-kind="receipt"') == 1 and second.count('data-kind="write_off"') == 1
    assert ("Pagina 2 di 2" if language == "it" else "Page 2 of 2") in second
    assert login("officer.lombardia").get(f"{STOCK}lots/{lot.pk}/").status_code == 200
    assert login("officer.lazio").get(f"{STOCK}lots/{lot.pk}/").status_code == 404
    assert login("nurse.milano").get(f"{STOCK}lots/{lot.pk}/").status_code == 404


def test_the_receipts_confirmation_shows_its_date_and_price_as_the_reader_writes_them(login, demo):
    # The audit: "2027-06-30" and "123.45" on an Italian confirmation page.
    from django.utils import translation
    from django.utils.formats import date_format

    keep_stock(demo)
    review = login("pharmacist.milano", language="it").post(f"{STOCK}operations/receive/", receipt(days=200))
    html = review.content.decode()
    summary = html[html.index('class="run-facts"') :]
    summary = summary[: summary.index("</dl>")]
    expiry = f.today() + timedelta(days=200)
    with translation.override("it"):
        assert date_format(expiry, "SHORT_DATE_FORMAT") in summary
    assert expiry.isoformat() not in summary
    assert "152,30" in summary and "152.3" not in summary


def test_an_expired_receipt_or_a_write_off_past_the_lot_is_refused_before_its_confirmation(login, demo):
    # The audit: both reached the confirmation page and were refused only once confirmed.
    keep_stock(demo)
    lot = receive(demo["pharmacist.milano"], lot_number="L-SOON", syringes=5, days=20).lot
    client = login("pharmacist.milano")

    expired = client.post(f"{STOCK}operations/receive/", receipt(days=-1))
    too_many = client.post(
        f"{STOCK}operations/write_off/", {"lot": str(lot.pk), "syringes": "50", "reason": "damaged", "note": ""}
    )

    for response, status, said in ((expired, 400, "This lot expired on"), (too_many, 409, "5 syringes on hand, 50")):
        html = response.content.decode()
        assert response.status_code == status, html[:500]
        assert said in html and "data-confirm" not in html
    lot.refresh_from_db()
    assert lot.on_hand == 5 and not Lot.objects.filter(lot_number="A123").exists()
