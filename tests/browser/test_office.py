"""The regional office, AIFA's pages, the second factor and the admin in a real browser (issue 18): each new page in
Italian and in English with axe-core clean (no serious or critical violation), the office's pages on a phone without
sideways scrolling. Selectors use URLs, names and data attributes, never translated text."""

import io
import os
import re
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from registry.calendar import rome_today
from registry.models import Centre, Pharmacy, PrescriberAuthorisation
from tests.browser.test_journeys import DESKTOP, LOCALES, PHONE, axe, no_sideways_scrolling, shot
from tests.browser_support import CHROMIUM_ARGS, DEMO_PASSWORD, follow

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_demo(transactional_db, live_server):
    """The demo (no history: these pages are about the organisation), committed for the live server's thread."""
    call_command("seed_demo", force=True, stdout=io.StringIO())
    from django.contrib.auth import get_user_model

    return {user.username: user for user in get_user_model().objects.all()}


@pytest.fixture
def open_page(browser, live_server, live_demo):
    contexts = []

    def make(language: str, viewport: dict = DESKTOP):
        context = browser.new_context(
            base_url=live_server.url, locale=LOCALES[language], viewport=viewport, bypass_csp=True
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield make
    for context in contexts:
        context.close()


def sign_in(page, username: str, *, landing: str = "/") -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(re.escape(landing)))


def current_code(username: str) -> str:
    device = TOTPDevice.objects.filter(user__username=username).order_by("-pk").first()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_officer_manages_the_region_in_pages(open_page, live_demo, language):
    page = open_page(language)
    sign_in(page, "officer.lombardia")
    follow(page, f"nav.menu a[href='{reverse('office:centres')}']")
    assert page.locator("nav.menu a.active").get_attribute("href") == reverse("office:centres")
    assert page.locator("[data-validity=current]").count() >= 1
    axe(page, f"office-centres-{language}")
    shot(page, "office-centres", language)

    follow(page, "[data-centre] a[data-action=designate]")
    axe(page, f"office-designate-{language}")
    page.goto(reverse("office:pharmacies"))
    axe(page, f"office-pharmacies-{language}")

    # Grant an authorisation: form, confirmation, the list showing it in force.
    page.goto(reverse("office:authorisations"))
    axe(page, f"office-authorisations-{language}")
    follow(page, "a[data-action=grant]")
    page.select_option("select[name=prescriber]", str(live_demo["prescriber.expired"].pk))
    page.select_option("select[name=centre]", str(Centre.objects.get(name="Ospedale Demo Milano").pk))
    page.click("main form button[type=submit]")
    page.locator("button[data-confirm]").wait_for()
    axe(page, f"office-confirm-{language}")
    shot(page, "office-confirm", language)
    page.click("button[data-confirm]")
    page.wait_for_url(re.compile(re.escape(reverse("office:authorisations")) + "$"))
    assert page.locator("tr[data-authorisation] [data-validity=current]").count() == 2
    shot(page, "office-authorisations", language)
    follow(page, "tr[data-authorisation] a[data-action=end]")
    axe(page, f"office-authorisation-end-{language}")

    # Invite a nurse: the one-time link is shown once.
    page.goto(reverse("office:staff"))
    axe(page, f"office-staff-{language}")
    follow(page, "a[data-action=invite]")
    axe(page, f"office-invite-{language}")
    page.fill("input[name=username]", f"nurse.invited.{language}")
    page.select_option("select[name=role]", "nurse")
    page.select_option("select[name=centre]", str(Centre.objects.get(name="Ospedale Demo Milano").pk))
    follow(page, "main form button[type=submit]")
    follow(page, "button[data-confirm]")
    link = page.locator("input[data-invitation-link]").input_value()
    assert "/accounts/invitation/" in link
    axe(page, f"office-invited-{language}")
    page.goto(reverse("office:staff_deactivate", args=[live_demo["nurse.milano"].pk]))
    axe(page, f"office-deactivate-{language}")

    # The invited person opens the link: a password, then the second factor.
    invited = open_page(language)
    invited.goto(link)
    axe(invited, f"invitation-{language}")
    invited.fill("input[name=password1]", "a-long-Password-648")
    invited.fill("input[name=password2]", "a-long-Password-648")
    invited.click("main form button[type=submit]")
    invited.wait_for_url(re.compile(r"/accounts/otp/setup/"))


def test_the_office_pages_fit_a_phone(open_page):
    page = open_page("it", viewport=PHONE)
    sign_in(page, "officer.lombardia")
    for url in ("office:centres", "office:pharmacies", "office:authorisations", "office:staff", "office:staff_invite"):
        assert page.goto(reverse(url)).status == 200
        no_sideways_scrolling(page)


@pytest.mark.parametrize("language", ["it", "en"])
def test_aifa_records_a_shortage_and_reads_the_criteria(open_page, language):
    page = open_page(language)
    sign_in(page, "aifa")
    follow(page, f"nav.menu a[href='{reverse('prescriptions:shortages')}']")
    axe(page, f"shortages-{language}")
    follow(page, "a[data-action=record]")
    page.fill("input[name=starts_on]", "2027-01-01")
    page.fill("input[name=aifa_reference]", "Carenze AIFA 2027")
    axe(page, f"shortage-form-{language}")
    follow(page, "main form button[type=submit]")
    page.click("button[data-confirm]")
    page.wait_for_url(re.compile(re.escape(reverse("prescriptions:shortages")) + "$"))
    assert page.locator("tr[data-shortage]").count() == 2
    follow(page, f"nav.menu a[href='{reverse('prescriptions:criteria')}']")
    assert page.locator("[data-criteria-version] [data-validity=current]").count() == 1
    axe(page, f"criteria-{language}")
    page.goto(reverse("prescriptions:shortages"))
    shot(page, "shortages", language)


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_second_factor_pages(open_page, settings, language):
    settings.OTP_REQUIRED = True
    settings.OTP_EXEMPT_USERNAMES = []
    settings.OTP_TOTP_THROTTLE_FACTOR = settings.OTP_STATIC_THROTTLE_FACTOR = 0
    page = open_page(language)
    sign_in(page, "nurse.milano", landing="/accounts/otp/setup/")
    field = page.locator("input[name=code]")
    assert field.get_attribute("inputmode") == "text"
    assert field.get_attribute("autocomplete") == "one-time-code"
    axe(page, f"otp-setup-{language}")
    page.fill("input[name=code]", current_code("nurse.milano"))
    page.click("main form button[type=submit]")
    page.locator("[data-backup-codes]").wait_for()
    codes = page.locator("[data-backup-codes] code").all_inner_texts()
    assert len(codes) == 10
    assert page.locator("a[data-download-codes]").get_attribute("download") is not None
    expect(page.locator("button[data-print]")).to_be_visible()
    axe(page, f"otp-backup-codes-{language}")
    shot(page, "otp-backup-codes", language)
    page.click("button[data-confirm-saved]")  # not ticked: asked again
    page.locator("#saved-error").wait_for()
    axe(page, f"otp-backup-codes-error-{language}")
    page.check("input[name=saved]")
    page.click("button[data-confirm-saved]")
    page.wait_for_url(re.compile(r"/$"))

    # Next sign-in: the code page, a wrong code, then a backup code typed with capitals.
    again = open_page(language)
    sign_in(again, "nurse.milano", landing="/accounts/otp/")
    axe(again, f"otp-verify-{language}")
    again.fill("input[name=code]", "000000")
    again.click("main form button[type=submit]")
    again.locator(".field.invalid").wait_for()
    axe(again, f"otp-verify-error-{language}")
    again.fill("input[name=code]", codes[0].upper())
    again.click("main form button[type=submit]")
    again.wait_for_url(re.compile(r"/$"))


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_admin_for_administrators(open_page, live_demo, language):
    page = open_page(language)
    sign_in(page, "admin")
    admin_pages = ["/admin/", "/admin/registry/centre/", "/admin/registry/prescriberauthorisation/add/"]
    for url in [*admin_pages, "/admin/auth/user/"]:
        assert page.goto(url).status == 200
        axe(page, f"admin {url} {language}")
    if language == "it":
        assert "Amministrazione Registro 648" in page.locator("#site-name").inner_text()


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_officer_opens_a_pharmacy_and_a_centre_and_changes_who_serves_it(open_page, live_demo, language):
    """The new-pharmacy and new-centre pages, and the one changing a centre's serving pharmacy: each form (empty and
    refused, then filled in) and its confirmation axe clean, and what was confirmed is what the lists show."""
    page = open_page(language)
    sign_in(page, "officer.lombardia")
    pharmacy_name = f"Farmacia Ospedaliera Nuova {language}"
    centre_name = f"Ospedale Nuovo {language}"

    page.goto(reverse("office:pharmacies"))
    follow(page, "a[data-action=new-pharmacy]")
    assert page.url.endswith(reverse("office:pharmacy_new"))
    axe(page, f"office-pharmacy-new-{language}")
    follow(page, "main form button[type=submit]")  # no name: refused beside the field
    page.locator("[data-field=name].invalid").wait_for()
    axe(page, f"office-pharmacy-new-error-{language}")
    page.fill("input[name=name]", pharmacy_name)
    follow(page, "main form button[type=submit]")
    axe(page, f"office-pharmacy-confirm-{language}")
    follow(page, "button[data-confirm]")
    page.wait_for_url(re.compile(re.escape(reverse("office:pharmacies")) + "$"))
    pharmacy = Pharmacy.objects.get(name=pharmacy_name)
    expect(page.locator(f"tr[data-pharmacy='{pharmacy.pk}']")).to_be_visible()

    page.goto(reverse("office:centres"))
    follow(page, "a[data-action=new-centre]")
    assert page.url.endswith(reverse("office:centre_new"))
    axe(page, f"office-centre-new-{language}")
    page.fill("input[name=name]", centre_name)
    page.select_option("select[name=pharmacy]", str(pharmacy.pk))
    follow(page, "main form button[type=submit]")
    axe(page, f"office-centre-confirm-{language}")
    follow(page, "button[data-confirm]")
    page.wait_for_url(re.compile(re.escape(reverse("office:centres")) + "$"))
    centre = Centre.objects.get(name=centre_name)
    assert centre.pharmacy_id == pharmacy.pk
    expect(page.locator(f"section[data-centre='{centre.pk}']")).to_be_visible()

    # Milano's centre is now served by the new pharmacy.
    milano = Centre.objects.get(name="Ospedale Demo Milano")
    follow(page, f"section[data-centre='{milano.pk}'] a[data-action=edit-centre]")
    assert page.url.endswith(reverse("office:centre_edit", args=[milano.pk]))
    assert page.locator("input[name=name]").input_value() == milano.name
    axe(page, f"office-centre-edit-{language}")
    page.select_option("select[name=pharmacy]", str(pharmacy.pk))
    follow(page, "main form button[type=submit]")
    axe(page, f"office-centre-edit-confirm-{language}")
    follow(page, "button[data-confirm]")
    page.wait_for_url(re.compile(re.escape(reverse("office:centres")) + "$"))
    milano.refresh_from_db()
    assert milano.pharmacy_id == pharmacy.pk
    page.goto(reverse("office:pharmacies"))
    assert milano.name in page.locator(f"tr[data-pharmacy='{pharmacy.pk}']").inner_text()


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_officer_renews_an_authorisation(open_page, live_demo, language):
    """The renewal of the authorisation that ended yesterday: its form (the same prescriber and centre, from today)
    and its confirmation axe clean; afterwards the prescriber holds one in force."""
    page = open_page(language)
    sign_in(page, "officer.lombardia")
    expired = live_demo["prescriber.expired"]
    authorisation = PrescriberAuthorisation.objects.get(prescriber=expired)
    page.goto(reverse("office:authorisations"))
    axe(page, f"office-authorisations-{language}")
    follow(page, f"tr[data-authorisation='{authorisation.pk}'] a[data-action=renew]")
    assert page.url.endswith(reverse("office:authorisation_renew", args=[authorisation.pk]))
    assert page.locator("select[name=prescriber]").input_value() == str(expired.pk)
    assert page.locator("input[name=valid_from]").input_value() == rome_today().isoformat()
    axe(page, f"office-authorisation-renew-{language}")
    page.fill("input[name=valid_to]", (rome_today() - timedelta(days=3)).isoformat())  # before its start: refused
    follow(page, "main form button[type=submit]")
    page.locator("[data-field=valid_to].invalid").wait_for()
    axe(page, f"office-authorisation-renew-error-{language}")
    page.fill("input[name=valid_to]", (rome_today() + timedelta(days=365)).isoformat())
    follow(page, "main form button[type=submit]")
    axe(page, f"office-authorisation-renew-confirm-{language}")
    follow(page, "button[data-confirm]")
    page.wait_for_url(re.compile(re.escape(reverse("office:authorisations")) + "$"))
    renewed = PrescriberAuthorisation.objects.filter(prescriber=expired).exclude(pk=authorisation.pk).get()
    assert renewed.valid_from == rome_today()
    expect(page.locator(f"tr[data-authorisation='{renewed.pk}'] [data-validity=current]")).to_be_visible()
