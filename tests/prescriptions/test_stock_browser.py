"""The pharmacist's stock journey in a real browser, in Italian and in English, axe-core clean: receive a delivery
(confirmed), see it first-expiry-first, dispense from it on the prescription page (issue 20)."""

from datetime import timedelta

import pytest
from django.urls import reverse

from prescriptions.models import Lot, Prescription, PrescriptionStatus
from registry.calendar import rome_today
from tests.browser.test_journeys import (  # noqa: F401 - the fixtures
    PHONE,
    browser,
    check_page,
    live_history,
    no_sideways_scrolling,
    sign_in,
)

from .stock_support import keep_stock

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_pharmacist_receives_a_delivery_and_dispenses_from_it(sign_in, live_history, language):  # noqa: F811
    keep_stock(live_history)
    page = sign_in("pharmacist.milano", language)
    page.click(f"nav.menu a[href='{reverse('prescriptions:stock:pharmacy')}']")
    check_page(page, "stock", language)

    form = page.locator("#receive form")
    form.locator("input[name=lot_number]").fill("KIN-7001")
    form.locator("input[name=expiry_date]").fill((rome_today() + timedelta(days=120)).isoformat())
    form.locator("input[name=syringes]").fill("24")
    form.locator("input[name=supplier_document]").fill("DDT 2026/77")
    form.locator("input[name=unit_price]").fill("152,30")
    form.locator("button[type=submit]").click()
    page.locator("button[data-confirm]").wait_for()
    assert not Lot.objects.exists()  # nothing stored before the confirmation
    check_page(page, "stock-confirm", language)
    page.locator("button[data-confirm]").click()
    page.locator("tr[data-lot='KIN-7001']").wait_for()
    assert page.locator("tr[data-lot='KIN-7001'] .on-hand").inner_text() == "24"
    assert "KIN-7001" in page.locator("#fefo").inner_text()
    check_page(page, "stock-lots", language)

    awaiting = Prescription.objects.filter(
        status=PrescriptionStatus.AWAITING_DISPENSING, centre__name="Ospedale Demo Milano"
    ).first()
    page.goto(reverse("prescriptions:detail", args=[awaiting.pk]))
    form = page.locator("#dispense form")
    lot = Lot.objects.get(lot_number="KIN-7001")
    assert form.locator("select[name='dispense-lot']").input_value() == str(lot.pk)  # the FEFO suggestion
    assert form.locator("input[name='dispense-lot_number']").count() == 0
    check_page(page, "dispense-from-stock", language)
    form.locator("button[type=submit]").click()
    page.locator(".page-head [data-status=dispensed]").wait_for()
    assert "KIN-7001" in page.locator("#dispensations").inner_text()
    lot.refresh_from_db()
    awaiting.refresh_from_db()
    assert lot.on_hand == 24 - awaiting.syringes_dispensed


def test_the_stock_page_fits_a_phone(sign_in, live_history):  # noqa: F811
    keep_stock(live_history)
    page = sign_in("pharmacist.milano", "it", viewport=PHONE)
    page.goto(reverse("prescriptions:stock:pharmacy"))
    no_sideways_scrolling(page)
    page = sign_in("officer.lombardia", "it", viewport=PHONE)
    page.goto(reverse("prescriptions:stock:region"))
    no_sideways_scrolling(page)
    check_page(page, "stock-region", "it")
