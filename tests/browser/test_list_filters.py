"""The prescription list's filters (issue 18) in a real browser: "with alerts", "day-28 outcome overdue" and "on
hold", the order, and the CSV export of what the list shows; in Italian and in English, axe clean on each page (the
fixtures and helpers of test_journeys.py)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from prescriptions import services
from prescriptions.models import Prescription, PrescriptionStatus
from tests.browser_support import follow

from .test_journeys import (  # noqa: F401 - fixtures
    browser,
    check_page,
    live_history,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_list_filters_and_their_csv(sign_in, live_history, language):  # noqa: F811
    held = (
        Prescription.objects.filter(status=PrescriptionStatus.AWAITING_DISPENSING, centre__name="Ospedale Demo Milano")
        .order_by("registered_at")
        .first()
    )
    services.dispensing_hold(pharmacist=live_history["pharmacist.milano"], prescription=held, reason="out_of_stock")
    page = sign_in("prescriber.milano", language)
    follow(page, f"nav.menu a[href='{reverse('prescriptions:list')}']")

    for name in ("with_alerts", "outcome_overdue", "on_hold"):
        page.goto(reverse("prescriptions:list"))
        page.check(f"input[name={name}]")
        page.select_option("select[name=sort]", "oldest")
        follow(page, "form.filters button[type=submit]")
        assert f"{name}=on" in page.url and "sort=oldest" in page.url
        assert page.locator(f"input[name={name}]").is_checked()
        assert page.locator("select[name=sort]").input_value() == "oldest"
        check_page(page, f"prescriptions-{name.replace('_', '-')}", language)

    # On hold: the held request, and the CSV of exactly what the list shows, in the reader's form.
    assert page.locator(f"table.prescriptions tr[data-id='{held.pk}']").count() == 1
    shown = page.locator("table.prescriptions tbody tr").count()
    link = page.locator("a[data-export]")
    assert link.get_attribute("download") is not None
    href = link.get_attribute("href")
    assert href.startswith(reverse("prescriptions:list_export")) and "on_hold=on" in href
    response = page.request.get(href)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.body().decode("utf-8-sig").strip().splitlines()
    assert ";" in lines[0]
    assert len(lines) == 1 + shown
    assert any(line.startswith(f"{held.pk};") for line in lines[1:])


@pytest.mark.parametrize("language", ["it", "en"])
def test_a_filter_value_a_page_does_not_take(sign_in, live_history, language):  # noqa: F811
    """An edited address (``?sort=zzz``, ``?hold=zzz``): the page, a 400, and the message naming the filter and its
    values, axe clean."""
    page = sign_in("prescriber.milano", language)
    assert page.goto(reverse("prescriptions:list") + "?sort=zzz").status == 400
    expect(page.locator("[data-filter-errors][role=alert]")).to_contain_text("oldest")
    check_page(page, "prescriptions-bad-filter", language)
    page = sign_in("pharmacist.milano", language)
    assert page.goto(reverse("prescriptions:dispensing_queue") + "?hold=zzz").status == 400
    expect(page.locator("[data-filter-errors][role=alert]")).to_contain_text("yes")
    check_page(page, "dispensing-queue-bad-filter", language)
