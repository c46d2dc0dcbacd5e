"""What the page tests and the browser tests share: demo patients, a filled-in prescription form, Chromium."""

from datetime import date

from django.utils import timezone
from stdnum.it.codicefiscale import calc_check_digit

DEMO_PASSWORD = "demo-password-648"
# Chromium in a container: no sandbox, no GPU, nothing phoning home (ENGINEERING.md: the system Chromium).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
MONTHS = "ABCDEHLMPRST"  # the fiscal code's letter for each month


def follow(page, selector: str, **options) -> None:
    """Click a link or a submit button and wait until the page it leads to has loaded.

    Playwright's click returns once the next document is committed, not parsed: a check that does not wait
    (``count()``, ``is_visible()``, axe) can still read a half-built page. Every navigating click goes through here.
    """
    page.click(selector, **options)
    page.wait_for_load_state(timeout=options.get("timeout"))


def settle_every_click() -> None:
    """Make every ``Page.click`` and ``Locator.click`` of the suite wait, like ``follow``, for the page it opens.

    A test that clicks a link with a plain ``click()`` and reads the next page at once can read a half-built one on a
    loaded machine (CI failed so twice). After a click that navigates, the new document is already committed when
    ``click()`` returns, so waiting for its load is enough; after one that does not, the current document has long
    loaded and the wait returns at once. Installed once per process by the ``chromium_path`` fixture.
    """
    from playwright.sync_api import Locator, Page

    if getattr(Page.click, "settles", False):
        return

    def page_click(self, selector, **options):
        clicked(self, selector, **options)
        self.wait_for_load_state(timeout=options.get("timeout"))

    def locator_click(self, **options):
        clicked_locator(self, **options)
        self.page.wait_for_load_state(timeout=options.get("timeout"))

    clicked, clicked_locator = Page.click, Locator.click
    page_click.settles = locator_click.settles = True
    Page.click, Locator.click = page_click, locator_click


def fiscal_code(*, surname: str = "RSS", name: str = "MRA", birth_date: date, sex: str = "M") -> str:
    """A valid fiscal code for a patient born in Milano (F205)."""
    day = birth_date.day + (40 if sex == "F" else 0)
    body = f"{surname}{name}{birth_date:%y}{MONTHS[birth_date.month - 1]}{day:02d}F205"
    return body + calc_check_digit(body)


BIRTH = date(1960, 5, 1)
PATIENT = fiscal_code(birth_date=BIRTH)


def local_input(moment) -> str:
    """A moment as a datetime field posts it, Rome time; to the microsecond, so that "now" is never before a
    prescription submitted a moment ago."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S.%f")


def prescription_fields(**overrides) -> dict:
    """The new-prescription form filled in for an eligible patient; ``None`` leaves a field out."""
    fields = {
        "fiscal_code": PATIENT,
        "family_name": "Rossi",
        "given_name": "Mario",
        "birth_date": BIRTH.isoformat(),
        "sex": "M",
        "weight_kg": "80",
        "hospitalised": "true",
        "sars_cov_2_confirmed": "true",
        "pneumonia": "severe",
        "pao2_mmhg": "80",
        "fio2": "0.40",
        "respiratory_support": "low_flow_oxygen",
        "supar_ng_ml": "7.2",
        "anc_10e9_l": "3.1",
        "creatinine_clearance_ml_min": "80",
        "alt_x_uln": "0.8",
        "ast_x_uln": "1.1",
        "med-0-name": "warfarin",
        "med-0-ongoing": "on",
        "regimen_dose_mg": "100",
        "regimen_route": "SC",
        "regimen_interval_hours": "24",
        "regimen_duration_days": "10",
        "informed_consent": "on",
        "consent_given_by": "patient",
        "consent_date": timezone.localdate().isoformat(),
    }
    fields.update(overrides)
    return {key: value for key, value in fields.items() if value is not None}
