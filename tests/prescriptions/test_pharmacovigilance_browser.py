"""The nurse's pharmacovigilance journey in a real browser (Playwright on the system Chromium, against
live_server and the demo with history), in Italian and in English, on a phone: the serious event waiting to be
reported, its E2B(R3) download, and marking it reported after the confirmation; axe-core on each page."""

import pytest

from prescriptions import services
from prescriptions.models import AdverseEvent, Prescription
from tests.browser.test_journeys import (  # noqa: F401 (fixtures)
    PHONE,
    axe,
    browser,
    live_history,
    no_sideways_scrolling,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_nurse_reports_a_serious_event(sign_in, live_history, language):  # noqa: F811
    prescription = (
        Prescription.objects.filter(centre__region_id="030", status__in=["in_course", "completed", "stopped"])
        .order_by("prescribed_at")
        .first()
    )
    event = services.adverse_event_record(
        user=live_history["nurse.milano"],
        prescription=prescription,
        category="hepatic",
        serious=True,
        onset_date=prescription.first_dose_on,
        description="ALT 9 x ULN",
        reported_to_pharmacovigilance=False,
    )
    page = sign_in("nurse.milano", language, viewport=PHONE)
    page.goto("/prescriptions/pharmacovigilance/")
    row = page.locator(f'tr[data-event="{event.pk}"]')
    row.wait_for()
    axe(page, "pharmacovigilance")
    no_sideways_scrolling(page)

    with page.expect_download() as download:
        row.locator("a[data-e2b]").click()
    assert download.value.suggested_filename == f"IT-REG648-{event.pk}.xml"
    assert b"MCCI_IN200100UV01" in open(download.value.path(), "rb").read()  # noqa: SIM115

    row.locator("a[data-mark-reported]").click()
    page.wait_for_url(f"**/adverse-events/{event.pk}/reported/")
    axe(page, "mark reported")
    no_sideways_scrolling(page)
    page.fill("#id_report_number", "RNF-0042")
    page.click("button[data-confirm]")
    page.wait_for_url("**/prescriptions/pharmacovigilance/")
    page.locator("#nothing-to-report").wait_for()
    event.refresh_from_db()
    assert event.reported_to_pharmacovigilance
    assert event.pharmacovigilance_report_number == "RNF-0042"
    assert not AdverseEvent.objects.filter(serious=True, reported_to_pharmacovigilance=False).exists()
