"""The hold, in a real browser (issue 18): the pharmacist puts a waiting request on hold from the queue, the
prescriber sees it on the prescription's page and is told under the bell; in Italian and in English, axe clean on
each page (the fixtures and helpers of test_journeys.py)."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from prescriptions.models import Prescription, PrescriptionStatus
from registry.calendar import rome_today
from tests.browser_support import follow

from .test_journeys import (  # noqa: F401 - fixtures
    PHONE,
    UUID,
    browser,
    check_page,
    live_history,
    no_sideways_scrolling,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_pharmacist_puts_a_request_on_hold_and_the_prescriber_is_told(sign_in, live_history, language):  # noqa: F811
    waiting = (
        Prescription.objects.filter(
            status=PrescriptionStatus.AWAITING_DISPENSING, centre__name="Ospedale Demo Milano", hold_since__isnull=True
        )
        .order_by("prescribed_at")
        .first()
    )
    assert waiting is not None
    expected = rome_today() + timedelta(days=2)

    pharmacist = sign_in("pharmacist.milano", language)
    follow(pharmacist, f"nav.menu a[href='{reverse('prescriptions:dispensing_queue')}']")
    expect(pharmacist.locator(f"tr[data-id='{waiting.pk}'] td.waiting")).to_be_visible()
    check_page(pharmacist, "hold-queue", language)
    pharmacist.click(f"tr[data-id='{waiting.pk}'] a.button")
    pharmacist.wait_for_url(re.compile(rf"/prescriptions/{UUID}/"))
    assert pharmacist.locator("#hold details").get_attribute("open") is None
    pharmacist.click("#hold summary")
    pharmacist.select_option("select[name=hold-reason]", "awaited_delivery")
    pharmacist.fill("input[name=hold-expected_on]", expected.isoformat())
    pharmacist.fill("textarea[name=hold-note]", "Ordine 4711")
    pharmacist.click("#hold form button[type=submit]")
    pharmacist.locator("ul.messages li.success").wait_for()
    expect(pharmacist.locator("#hold-info[data-hold=awaited_delivery]")).to_be_visible()
    expect(pharmacist.locator(".page-head [data-status=awaiting_dispensing]")).to_be_visible()
    check_page(pharmacist, "hold-prescription", language)
    # The refusal asks for a confirmation before cancelling anything.
    pharmacist.click("#refuse summary")
    pharmacist.select_option("select[name=refuse-category]", "clinical_objection")
    follow(pharmacist, "#refuse form button[type=submit]")
    expect(pharmacist.locator("[data-field='refuse-confirm'] .error")).to_be_visible()
    waiting.refresh_from_db()
    assert waiting.status == PrescriptionStatus.AWAITING_DISPENSING
    pharmacist.goto(reverse("prescriptions:dispensing_queue") + "?hold=yes")
    expect(pharmacist.locator(f"tr[data-id='{waiting.pk}'][data-on-hold=awaited_delivery]")).to_be_visible()
    check_page(pharmacist, "hold-queue-filtered", language)

    prescriber = sign_in("prescriber.milano", language, viewport=PHONE)
    bell = prescriber.locator("header a.bell")
    assert int(bell.get_attribute("data-unread")) >= 1
    bell.click()
    prescriber.wait_for_url(re.compile(r"/notifications/$"))
    told = prescriber.locator(f"li.notification[data-kind=on_hold]:has(a[href*='{waiting.pk}'])")
    assert told.count() == 1
    assert "4711" not in told.inner_text()  # the note stays on the prescription's page
    no_sideways_scrolling(prescriber)
    check_page(prescriber, "hold-notifications", language)
    told.locator("a[href*='/prescriptions/']").click()
    prescriber.wait_for_url(re.compile(rf"/prescriptions/{waiting.pk}/$"))
    expect(prescriber.locator("#hold-info")).to_be_visible()
    assert "Ordine 4711" in prescriber.locator("#hold-info").inner_text()
    expect(prescriber.locator(".page-head .badge.hold")).to_be_visible()
    no_sideways_scrolling(prescriber)
    check_page(prescriber, "hold-prescriber", language)

    prescriber.goto(reverse("notifications"))
    before = int(prescriber.locator("header a.bell").get_attribute("data-unread"))
    told = prescriber.locator(f"li.notification[data-kind=on_hold]:has(a[href*='{waiting.pk}'])")
    told.locator("form button[type=submit]").click()
    prescriber.wait_for_url(re.compile(r"/notifications/"))
    assert int(prescriber.locator("header a.bell").get_attribute("data-unread")) == before - 1
    prescriber.goto(reverse("notification-settings"))
    check_page(prescriber, "hold-notification-settings", language)
