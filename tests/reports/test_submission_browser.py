"""The quarterly transmission in a real browser, Italian and English, axe on every page: the officer opens the
quarter, approves it with the statement and the password; AIFA finds it on the national board and accepts it."""

import re

import pytest
from django.urls import reverse

from registry.calendar import rome_today
from reports.models import QuarterlySubmission
from tests.browser.test_journeys import (  # noqa: F401 - the journeys' fixtures
    PHONE,
    UUID,
    browser,
    check_page,
    live_history,
    no_sideways_scrolling,
    sign_in,
)
from tests.browser_support import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_officer_approves_the_quarter_and_aifa_accepts_it_on_the_board(sign_in, live_history, language):  # noqa: F811
    today = rome_today()
    quarter = (today.month - 1) // 3 + 1

    officer = sign_in("officer.lombardia", language)
    officer.click(f"nav.menu a[href='{reverse('reports:quarters')}']")
    check_page(officer, "quarters-officer", language)
    officer.select_option("select[name=year]", str(today.year))
    officer.select_option("select[name=quarter]", str(quarter))
    officer.click("form.report-request button[type=submit]")
    officer.wait_for_url(re.compile(rf"/reports/quarters/{UUID}/$"))
    assert officer.locator("[data-status=open]").count() == 1
    check_page(officer, "quarter-open", language)

    officer.click("a[href$='/approve/']")
    statement = officer.locator("#statement").inner_text()
    assert "Lombardia" in statement and str(today.year) in statement
    check_page(officer, "quarter-approve", language)
    officer.check("input[name=statement_accepted]")
    officer.check("input[name=running_quarter_accepted]")  # the quarter of today: its writes stop too
    officer.fill("input[name=password]", DEMO_PASSWORD)
    officer.click("button[data-confirm]", timeout=120_000)  # the signed report is generated now
    officer.wait_for_url(re.compile(rf"/reports/quarters/{UUID}/$"), timeout=120_000)
    assert officer.locator(".page-head [data-status=approved]").count() == 1
    assert officer.locator("table.signatures tr[data-version='1']").count() == 1
    check_page(officer, "quarter-approved", language)

    submission = QuarterlySubmission.objects.get(region_id="030", year=today.year, quarter=quarter)
    aifa = sign_in("aifa", language)
    aifa.click(f"nav.menu a[href='{reverse('reports:quarters')}']")
    assert aifa.locator("table.submission-board tbody tr").count() == 21
    cell = aifa.locator(f"tr[data-region='030'] td[data-quarter='{quarter}']")
    assert cell.locator("[data-status=approved]").count() == 1
    check_page(aifa, "quarters-board", language)
    cell.locator("a[data-action=accept]").click()
    check_page(aifa, "quarter-accept", language)
    aifa.click("button[data-confirm]")
    aifa.wait_for_url(re.compile(rf"/reports/quarters/{submission.pk}/$"))
    assert aifa.locator(".page-head [data-status=accepted]").count() == 1

    phone = sign_in("aifa", language, viewport=PHONE)
    phone.goto(reverse("reports:quarters"))
    no_sideways_scrolling(phone)
