"""The prescription workflow in a real browser: Playwright driving the system Chromium against live_server.

One test per user journey: the prescriber sees the verdict change as they type and submits; the pharmacist
dispenses from the queue; the nurse records today's dose after confirming it. Selectors use names and data attributes,
never translated text, so the tests hold in either language.
"""

import io
import os
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from prescriptions.eligibility import ALL_CRITERION_CODES
from prescriptions.models import Prescription, PrescriptionStatus
from registry.calendar import rome_today
from tests.browser_support import CHROMIUM_ARGS, DEMO_PASSWORD, prescription_fields

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls there unless told.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.services]

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_demo(transactional_db, live_server):
    """The demo data, committed, so that the live server's thread sees it."""
    call_command("seed_demo", force=True, stdout=io.StringIO())
    from django.contrib.auth import get_user_model

    return {user.username: user for user in get_user_model().objects.all()}


@pytest.fixture
def new_page(browser, live_server, live_demo):
    contexts = []

    def make(username: str):
        context = browser.new_context(
            base_url=live_server.url, locale="it-IT", viewport={"width": 1280, "height": 1000}
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        return page

    yield make
    for context in contexts:
        context.close()


def prepare(live_demo, *, dispensed: bool) -> Prescription:
    """A prescription made through the pages (and dispensed, if asked), as other users would have."""
    prescriber = Client()
    prescriber.force_login(live_demo["prescriber.milano"])
    response = prescriber.post(reverse("prescriptions:new"), prescription_fields())
    assert response.status_code == 302
    prescription = Prescription.objects.get()
    if dispensed:
        pharmacist = Client()
        pharmacist.force_login(live_demo["pharmacist.milano"])
        pharmacist.post(
            reverse("prescriptions:dispense", kwargs={"prescription_id": prescription.pk}),
            {
                "dispense-syringes": "10",
                "dispense-lot_number": "KIN-1",
                "dispense-expiry_date": (rome_today() + timedelta(days=365)).isoformat(),
            },
        )
        prescription.refresh_from_db()
        assert prescription.status == PrescriptionStatus.DISPENSED
    return prescription


def verdict_row(page, code: str):
    return page.locator(f"#verdict li[data-code={code}]")


def test_the_prescriber_sees_the_verdict_before_submitting(new_page, live_server):
    page = new_page("prescriber.milano")
    page.click(f"nav.menu a[href='{reverse('prescriptions:new')}']")
    page.wait_for_selector("#verdict ul.missing")  # loaded by htmx: what is still missing

    fields = prescription_fields()
    page.fill("input[name=fiscal_code]", fields["fiscal_code"])
    page.fill("input[name=family_name]", fields["family_name"])
    page.fill("input[name=given_name]", fields["given_name"])
    page.fill("input[name=birth_date]", fields["birth_date"])
    page.check("input[name=sex][value=M]")
    page.check("input[name=hospitalised][value=true]")
    page.check("input[name=sars_cov_2_confirmed][value=true]")
    page.select_option("select[name=pneumonia]", "severe")
    page.select_option("select[name=respiratory_support]", "low_flow_oxygen")
    page.fill("input[name=pao2_mmhg]", "80")
    page.fill("input[name=fio2]", "0.90")
    page.fill("input[name=supar_ng_ml]", "7.2")
    page.fill("input[name='med-0-name']", "warfarin")
    page.check("input[name='med-0-ongoing']")

    # 80 / 0.90 is below 150: the verdict says so before anything is stored.
    page.locator("#verdict li[data-code=PAO2_FIO2_ABOVE_150][data-outcome=fail]").wait_for()
    assert verdict_row(page, "PAO2_FIO2_ABOVE_150").locator(".badge.fail").is_visible()
    assert verdict_row(page, "TOCILIZUMAB_SHORTAGE").get_attribute("data-outcome") == "pass"
    assert verdict_row(page, "CYP450_NARROW_THERAPEUTIC_INDEX").get_attribute("data-outcome") == "warn"
    assert page.locator("#verdict li[data-code]").count() == len(ALL_CRITERION_CODES)
    assert page.locator("#verdict [data-eligible=false]").is_visible()
    assert not Prescription.objects.exists()

    page.fill("input[name=fio2]", "0.40")
    page.keyboard.press("Tab")  # a text field reports its change on leaving it
    page.locator("#verdict li[data-code=PAO2_FIO2_ABOVE_150][data-outcome=pass]").wait_for()
    page.locator("#verdict [data-eligible=true]").wait_for()

    page.check("input[name=informed_consent]")
    page.click("#prescription-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/prescriptions/{UUID}/$"))
    assert page.locator(".page-head [data-status=awaiting_dispensing]").is_visible()
    prescription = Prescription.objects.get()
    assert prescription.status == PrescriptionStatus.AWAITING_DISPENSING
    assert page.url == f"{live_server.url}{reverse('prescriptions:detail', args=[prescription.pk])}"


def test_the_pharmacist_dispenses_ten_syringes_from_the_queue(new_page, live_demo):
    prescription = prepare(live_demo, dispensed=False)
    page = new_page("pharmacist.milano")
    page.click(f"nav.menu a[href='{reverse('prescriptions:dispensing_queue')}']")
    page.click(f"tr[data-id='{prescription.pk}'] a.button")

    form = page.locator("#dispense form")
    assert form.locator("input[name='dispense-syringes']").input_value() == "10"
    form.locator("input[name='dispense-lot_number']").fill("KIN-2041")
    expiry = (rome_today() + timedelta(days=365)).isoformat()
    form.locator("input[name='dispense-expiry_date']").fill(expiry)
    form.locator("button[type=submit]").click()

    page.locator(".page-head [data-status=dispensed]").wait_for()
    assert "KIN-2041" in page.locator("#dispensations").inner_text()
    assert page.locator("#dispense").count() == 0  # all 10 syringes are out
    prescription.refresh_from_db()
    assert prescription.syringes_dispensed == 10


def test_the_nurse_records_todays_dose_after_confirming_it(new_page, live_demo):
    prescription = prepare(live_demo, dispensed=True)
    page = new_page("nurse.milano")
    page.click(f"nav.menu a[href='{reverse('prescriptions:doses_due')}']")
    page.click(f"tr[data-id='{prescription.pk}'] a[data-record]")
    page.click("button[data-confirm]")

    page.locator("ul.messages li.success").wait_for()
    assert page.locator(f"tr[data-id='{prescription.pk}']").count() == 0  # nothing more due today
    page.goto(reverse("prescriptions:detail", args=[prescription.pk]))
    day_1 = page.locator(".course .day[data-day='1']")
    assert day_1.get_attribute("data-state") == "given"
    assert "today" in day_1.get_attribute("class")
    assert page.locator(".page-head [data-status=in_course]").is_visible()


def test_the_live_verdict_says_a_second_course_cannot_be_submitted_and_links_to_the_first(new_page, live_demo):
    from tests.browser.test_journeys import axe

    first = prepare(live_demo, dispensed=False)
    page = new_page("prescriber.milano")
    page.goto(reverse("prescriptions:new"))
    fields = prescription_fields()
    page.fill("input[name=fiscal_code]", fields["fiscal_code"])
    page.fill("input[name=birth_date]", fields["birth_date"])
    page.check("input[name=sex][value=M]")
    page.check("input[name=hospitalised][value=true]")
    page.check("input[name=sars_cov_2_confirmed][value=true]")
    page.select_option("select[name=pneumonia]", "severe")
    page.select_option("select[name=respiratory_support]", "low_flow_oxygen")
    page.fill("input[name=pao2_mmhg]", "80")
    page.fill("input[name=fio2]", "0.40")
    page.fill("input[name=supar_ng_ml]", "7.2")
    page.keyboard.press("Tab")

    # Eligible by the criteria, and told at once that the submission would be refused (in Italian, in words).
    page.locator("#verdict [data-blocked=true]").wait_for()
    assert page.locator("#verdict [data-eligible=true]").is_visible()
    blockers = page.locator("#verdict [data-blockers]")
    assert "ciclo di anakinra attivo" in blockers.inner_text()
    assert "ACTIVE_COURSE" not in blockers.inner_text() and str(first.pk)[:8] not in blockers.inner_text()
    axe(page, "live-verdict-blocked")

    blockers.get_by_role("link", name="Apri quella prescrizione").click()
    page.wait_for_url(re.compile(rf"/prescriptions/{first.pk}/$"))
    assert Prescription.objects.count() == 1
