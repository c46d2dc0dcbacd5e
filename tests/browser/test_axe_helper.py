"""The browser tests' accessibility check (``test_journeys.axe``) still fails on a grave violation, and names it,
now that axe sends back only its violations."""

import pytest

from tests.browser.test_journeys import axe, browser  # noqa: F401 (the module's Chromium)

pytestmark = [pytest.mark.browser, pytest.mark.services]

PAGE = """<!doctype html><html lang="it"><head><title>Prova</title></head><body><main><h1>Prova</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">{extra}</main></body></html>"""


def test_the_check_fails_on_a_serious_or_critical_violation_and_names_it(browser):  # noqa: F811
    page = browser.new_page()
    try:
        page.set_content(PAGE.format(extra="<button></button>"))
        with pytest.raises(AssertionError) as failure:
            axe(page, "a page with an image without text and an empty button")
        assert '"image-alt"' in str(failure.value) and '"button-name"' in str(failure.value)
        assert '"critical"' in str(failure.value)

        page.set_content(PAGE.replace("<img ", '<img alt="punto" ').format(extra="<button>Invia</button>"))
        axe(page, "the same page mended")
    finally:
        page.close()
