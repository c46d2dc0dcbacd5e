"""The Content-Security-Policy in a real browser: the pages and the API docs work, and nothing is refused."""

import io
import os

import pytest
from django.core.management import call_command

from tests.browser_support import CHROMIUM_ARGS, DEMO_PASSWORD

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.fixture
def page(chromium_path, transactional_db, live_server):
    from playwright.sync_api import sync_playwright

    call_command("seed_demo", force=True, stdout=io.StringIO())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=live_server.url, locale="it-IT")
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.csp_violations = []
        page.on(
            "console",
            lambda message: (
                page.csp_violations.append(message.text)
                if "Content Security Policy" in message.text and "style" not in message.text
                else None
            ),
        )
        yield page
        browser.close()


def test_the_language_switch_works_without_inline_script(page, live_server):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "prescriber.milano")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("html").get_attribute("lang") == "it"
    with page.expect_navigation():
        page.click("form.lang button[value=en]")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.csp_violations == []


def test_the_api_docs_render_under_the_policy(page):
    page.goto("/api/docs/")
    page.wait_for_selector("text=/api/v1/auth/token/")
    assert page.csp_violations == []
