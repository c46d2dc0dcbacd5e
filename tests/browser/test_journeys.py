"""Each role's day in a real browser (Playwright on the system Chromium, against live_server and the demo with
history), in Italian and in English, with axe-core run on every main page: no serious or critical violation.

axe-core (tests/browser/vendor/axe.min.js, the npm package's build) is injected by the test, never served to users.
With SCREENSHOTS=1 the main pages are saved to docs/screenshots/ for the README ("What a user sees").
Selectors use names, URLs and data attributes, never translated text, so the journeys hold in either language.
"""

import functools
import json
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from prescriptions.models import Prescription, PrescriptionStatus
from registry.calendar import rome_today
from tests.browser_support import CHROMIUM_ARGS, DEMO_PASSWORD, fiscal_code, follow
from tests.demo_snapshot import demo_build, history_build, keys_restarted

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls there unless told.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.services]

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
LOCALES = {"it": "it-IT", "en": "en-GB"}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_history(transactional_db, live_server, settings, tmp_path):
    """The demo with its history, committed, so that the live server's thread sees it.

    The rows post_migrate made are first made again with keys from 1 (the previous transactional test's flush did
    not reset the sequences): every test then meets the same database, and the demo and its history are the copies
    of tests/demo_snapshot.py instead of the command run again.
    """
    settings.MEDIA_ROOT = str(tmp_path / "media")
    keys_restarted()
    demo_build()
    history_build()
    from django.contrib.auth import get_user_model

    return {user.username: user for user in get_user_model().objects.all()}


@pytest.fixture
def sign_in(browser, live_server, live_history):
    contexts = []

    def make(username: str, language: str, viewport: dict = DESKTOP):
        context = browser.new_context(
            base_url=live_server.url, locale=LOCALES[language], viewport=viewport, bypass_csp=True
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto("/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        assert page.locator("html").get_attribute("lang") == language
        return page

    yield make
    for context in contexts:
        context.close()


@functools.cache
def _axe_source() -> str:
    return AXE.read_text()


def axe(page, name: str) -> None:
    """axe-core on the page once loaded: no serious or critical violation (WCAG 2.1 AA and best practices).

    axe checks every rule as before; only the violations come back, and only the grave ones with their first
    nodes (``resultTypes``: the passes, the inapplicable and the incomplete rules are not detailed, nor sent
    through Playwright's pipe to be parsed here, which took a fifth of a browser journey's time).
    """
    page.wait_for_load_state()
    page.evaluate(_axe_source())
    grave = page.evaluate(
        """async () => (await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
            resultTypes: ['violations'],
        })).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 5).map(n => n.target)}))"""
    )
    assert grave == [], f"{name}: {json.dumps(grave, indent=1)}"


def shot(page, name: str, language: str) -> None:
    if os.environ.get("SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{language}.png"), full_page=True)


def check_page(page, name: str, language: str) -> None:
    axe(page, name)
    shot(page, name, language)


def no_sideways_scrolling(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    wide = page.evaluate(
        """(limit) => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > limit + 1)
            .slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id)""",
        page.viewport_size["width"],
    )
    assert width <= page.viewport_size["width"], f"{page.url}: {width}px wide: {wide}"


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_prescriber_prescribes_and_records_a_dose(sign_in, live_history, live_server, language):
    page = sign_in("prescriber.milano", language)
    check_page(page, "home-prescriber", language)

    page.click(f"nav.menu a[href='{reverse('prescriptions:new')}']")
    page.wait_for_selector("#verdict ul.missing")
    page.fill("input[name=fiscal_code]", "RSSMRA60E01F205")  # one character short: said before anything else
    page.locator("#verdict [data-field-error=fiscal_code]").wait_for()
    birth = rome_today().replace(year=1961, day=2)
    page.fill("input[name=fiscal_code]", fiscal_code(surname="VRD", birth_date=birth))
    page.fill("input[name=family_name]", "Verdi")
    page.fill("input[name=given_name]", "Giuseppe")
    page.fill("input[name=birth_date]", birth.isoformat())
    page.check("input[name=sex][value=M]")
    page.check("input[name=hospitalised][value=true]")
    page.check("input[name=sars_cov_2_confirmed][value=true]")
    page.select_option("select[name=pneumonia]", "severe")
    page.select_option("select[name=respiratory_support]", "low_flow_oxygen")
    page.fill("input[name=pao2_mmhg]", "80")
    page.fill("input[name=fio2]", "0.40")
    page.fill("input[name=supar_ng_ml]", "7.2")
    page.check("input[name=informed_consent]")
    page.keyboard.press("Tab")
    page.locator("#verdict [data-eligible=true]").wait_for()
    assert page.locator("#verdict [data-field-error=fiscal_code]").count() == 0
    check_page(page, "new-prescription", language)
    page.click("#prescription-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/prescriptions/{UUID}/$"))
    expect(page.locator(".page-head [data-status=awaiting_dispensing]")).to_be_visible()
    assert page.locator("#course").count() == 1

    # A course dispensed yesterday: today's first dose, from the doses due, once confirmed.
    follow(page, f"nav.menu a[href='{reverse('prescriptions:doses_due')}']")
    waiting = Prescription.objects.get(
        status=PrescriptionStatus.DISPENSED, centre__name="Ospedale Demo Milano", doses_administered=0
    )
    check_page(page, "doses-due", language)
    follow(page, f"tr[data-id='{waiting.pk}'] a[data-record]")
    page.click("button[data-confirm]")
    page.locator("ul.messages li.success").wait_for()
    page.goto(reverse("prescriptions:detail", args=[waiting.pk]))
    assert page.locator(".course .day[data-day='1']").get_attribute("data-state") == "given"
    # The rarer actions are folded, one click away.
    assert page.locator("#stop details").get_attribute("open") is None
    page.click("#stop summary")
    expect(page.locator("#stop form")).to_be_visible()
    check_page(page, "prescription", language)


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_nurse_does_the_round(sign_in, live_history, language):
    """On a phone: every patient named with the course's alerts; a blocking alert leads to the prescription, not
    to a dose; a dose is confirmed on a page naming the patient, then taken back from the round."""
    page = sign_in("nurse.milano", language, viewport=PHONE)
    follow(page, f"nav.menu a[href='{reverse('prescriptions:doses_due')}']")
    milano = Prescription.objects.filter(centre__name="Ospedale Demo Milano")
    blocked = milano.filter(status=PrescriptionStatus.IN_COURSE, lab_results__test="anc").distinct().get()  # ANC 1.1
    running = milano.filter(status=PrescriptionStatus.IN_COURSE).exclude(pk=blocked.pk).get()
    blocked_row = page.locator(f"tr[data-id='{blocked.pk}']")
    assert blocked_row.get_attribute("data-blocked") == "true"
    assert blocked_row.locator("[data-code=NEUTROPENIA]").count() == 1
    assert blocked_row.locator("[data-code=MISSED_DOSE]").count() >= 1
    assert blocked_row.locator("a[data-record]").count() == 0
    assert blocked_row.locator("a[data-review]").count() == 1
    assert page.locator("td.patient").count() == page.locator("tbody tr").count()
    no_sideways_scrolling(page)
    check_page(page, "round", language)

    page.click(f"tr[data-id='{running.pk}'] a[data-record]")
    page.locator("button[data-confirm]").wait_for()
    assert page.locator(".patient-banner").count() == 1
    assert "100 mg SC" in page.locator(".confirm-dose .dose").inner_text()
    no_sideways_scrolling(page)
    check_page(page, "round-confirm", language)
    page.click("button[data-confirm]")
    page.locator("ul.messages li.success").wait_for()
    just_given = page.locator(f"#recent-doses li[data-prescription='{running.pk}']")  # today's, just recorded
    name = just_given.locator(".patient-cell strong").inner_text()  # "MARINO Maria": the demo's patients have names
    assert name.split()[0].isupper() and name in page.locator("ul.messages li.success").inner_text()
    assert page.locator(f"tr[data-id='{running.pk}']").count() == 0
    check_page(page, "round-recorded", language)

    just_given.locator("a[data-take-back]").click()
    page.locator("button[data-confirm-take-back]").wait_for()  # a page naming the patient asks first
    assert name in page.locator(".take-back-confirm .patient").inner_text()
    no_sideways_scrolling(page)
    check_page(page, "round-take-back", language)
    page.click("button[data-confirm-take-back]")
    page.locator("ul.messages li.success").wait_for()
    assert page.locator(f"tr[data-id='{running.pk}'] a[data-record]").count() == 1  # due again
    assert page.locator(f"#recent-doses li[data-prescription='{running.pk}']").count() == 0
    running.refresh_from_db()
    assert running.administrations.filter(entered_in_error_at__isnull=False).count() == 1


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_pharmacist_dispenses_from_the_queue(sign_in, live_history, language):
    page = sign_in("pharmacist.milano", language)
    follow(page, f"nav.menu a[href='{reverse('prescriptions:dispensing_queue')}']")
    check_page(page, "dispensing-queue", language)
    awaiting = Prescription.objects.filter(
        status=PrescriptionStatus.AWAITING_DISPENSING, centre__name="Ospedale Demo Milano"
    ).first()
    follow(page, f"tr[data-id='{awaiting.pk}'] a.button")
    form = page.locator("#dispense form")
    form.locator("input[name='dispense-lot_number']").fill("KIN-3001")
    form.locator("input[name='dispense-expiry_date']").fill((rome_today() + timedelta(days=200)).isoformat())
    check_page(page, "dispense", language)
    form.locator("button[type=submit]").click()
    page.locator(".page-head [data-status=dispensed]").wait_for()
    assert "KIN-3001" in page.locator("#dispensations").inner_text()


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_regional_officer_reads_the_list_and_a_report(sign_in, live_history, language):
    page = sign_in("officer.lombardia", language)
    check_page(page, "home-officer", language)
    follow(page, f"nav.menu a[href='{reverse('prescriptions:list')}']")
    assert page.locator("table.prescriptions tbody tr").count() >= 10
    assert page.locator("table.prescriptions [data-status=rejected]").count() >= 2
    check_page(page, "prescriptions", language)

    follow(page, f"nav.menu a[href='{reverse('reports:dashboard')}']")
    check_page(page, "reports", language)
    today = rome_today()
    page.fill("input[name=period_start]", (today - timedelta(days=31)).isoformat())
    page.fill("input[name=period_end]", today.isoformat())
    page.click("form.report-request button[type=submit]", timeout=120_000)  # in-process: the report is made now
    page.wait_for_url(re.compile(rf"/reports/{UUID}/$"), timeout=120_000)
    page.locator("[data-metric]").first.wait_for()
    # The wide tables (the spending, the per-centre table) scroll inside themselves, by keyboard, each named.
    regions = page.locator("[role=region][tabindex='0']")
    assert regions.count() == 2
    assert all(regions.nth(i).get_attribute("aria-labelledby") for i in range(regions.count()))
    assert page.locator("[data-section=spending]").count() == 1
    check_page(page, "report", language)


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_national_role_opens_the_dashboard(sign_in, language):
    page = sign_in("aifa", language)
    assert page.locator(f"nav.menu a[href='{reverse('api-docs')}']").count() == 1
    assert page.locator(f"nav.menu a[href='{reverse('prescriptions:list')}']").count() == 0
    follow(page, f"nav.menu a[href='{reverse('reports:dashboard')}']")
    assert page.locator("nav.menu a.active").get_attribute("href") == reverse("reports:dashboard")
    check_page(page, "reports-national", language)


def test_clinicians_see_no_api_link_and_the_expired_prescriber_no_new_prescription(sign_in):
    for username in ("prescriber.milano", "pharmacist.milano", "nurse.milano"):
        page = sign_in(username, "it")
        assert page.locator(f"nav.menu a[href='{reverse('api-docs')}']").count() == 0
    page = sign_in("prescriber.expired", "it")
    assert page.locator(f"a[href='{reverse('prescriptions:new')}']").count() == 0


def test_a_missing_page_in_both_languages(sign_in):
    for language in ("it", "en"):
        page = sign_in("nurse.milano", language)
        response = page.goto("/prescriptions/00000000-0000-0000-0000-000000000000/")
        assert response.status == 404
        expect(page.locator("[data-status='404']")).to_be_visible()
        assert page.locator("html").get_attribute("lang") == language
        check_page(page, "not-found", language)


def test_the_phone_pages_do_not_scroll_sideways(sign_in):
    """The new-prescription and prescription pages on a 390 px phone."""
    page = sign_in("prescriber.milano", "it", viewport=PHONE)
    page.goto(reverse("prescriptions:new"))
    page.wait_for_selector("#verdict ul.missing")
    no_sideways_scrolling(page)
    shot(page, "new-prescription-phone", "it")
    for status in (PrescriptionStatus.COMPLETED, PrescriptionStatus.STOPPED, PrescriptionStatus.IN_COURSE):
        prescription = Prescription.objects.filter(status=status, centre__name="Ospedale Demo Milano").first()
        response = page.goto(reverse("prescriptions:detail", args=[prescription.pk]))
        assert response.status == 200
        no_sideways_scrolling(page)
    shot(page, "prescription-phone", "it")
