"""The prescription page on paper, in a real browser (print media): what was decided and recorded, black on white,
without the menus, buttons and forms of the screen."""

import io
import os

import pytest
from pypdf import PdfReader

from tests.prescriptions.test_browser import browser, live_demo, new_page, prepare  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.services]


def test_the_prescription_page_prints_the_record_without_what_is_clicked(new_page, live_demo):  # noqa: F811
    prescription = prepare(live_demo, dispensed=True)
    page = new_page("pharmacist.milano")
    page.goto(f"/prescriptions/{prescription.pk}/")
    assert page.locator(".print-links a[data-paper=form]").is_visible()  # on screen, the links to the papers

    page.emulate_media(media="print")

    for screen_only in (".topbar", "body > footer", ".print-links", "#dispense", "#dispense form button"):
        assert page.locator(screen_only).first.is_hidden(), screen_only
    for record in ("#summary", "#eligibility", "#dispensations", "#course"):
        assert page.locator(record).is_visible(), record
    assert page.eval_on_selector("body", "body => getComputedStyle(body).color") == "rgb(0, 0, 0)"
    assert page.eval_on_selector("body", "body => getComputedStyle(body).backgroundColor") == "rgb(255, 255, 255)"
    printed = page.pdf(format="A4")
    if path := os.environ.get("PRINT_PAGE_PDF"):  # to look at it: PRINT_PAGE_PDF=/tmp/page.pdf
        with open(path, "wb") as out:
            out.write(printed)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(printed)).pages)
    assert "KIN-1" in text and prescription.patient.pseudonym[:12] in text
