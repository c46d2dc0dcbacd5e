"""The frame of every page and the prescription page as people use them: error pages in both languages, the menu
each role sees, the favicon, the live verdict's fiscal-code check, and the prescription page that leads with the
day's work."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from prescriptions.models import PrescriptionStatus
from tests.browser_support import BIRTH, PATIENT, prescription_fields

from .prescriptions import factories as f


@pytest.fixture
def login(demo):
    def make(username: str, *, language: str = "en") -> Client:
        client = Client()
        client.force_login(demo[username])
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        return client

    return make


def menu(html: str) -> str:
    return re.search(r'<nav class="menu">(.*?)</nav>', html, re.S).group(1)


def active_links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)" class="active"', menu(html))


# --- Error pages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "heading"), [("en", "Page not found"), ("it", "<h1>")])
def test_a_missing_page_is_a_friendly_404_in_the_users_language(login, language, heading):
    response = login("prescriber.milano", language=language).get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert f'<html lang="{language}">' in html
    assert heading in html
    assert 'data-status="404"' in html
    assert "Traceback" not in html and "Using the URLconf" not in html  # never Django's debug page


def test_the_error_handlers_render_their_pages(rf):
    from registry import views

    for handler, status in ((views.permission_denied, 403), (views.page_not_found, 404)):
        response = handler(rf.get("/"), Exception())
        assert response.status_code == status
        assert f'data-status="{status}"' in response.content.decode()
    response = views.server_error(rf.get("/"))
    assert response.status_code == 500
    assert 'data-status="500"' in response.content.decode()


def test_the_500_page_needs_nothing_but_itself(settings):
    """Rendered with no request, no user and no database (what the handler gives it)."""
    from django.template import loader

    html = loader.get_template("500.html").render({})
    assert 'data-status="500"' in html
    assert "{% static" not in html and "/static/css/" not in html


# --- Menu and chrome ---------------------------------------------------------------------------------------


def test_every_page_has_the_favicon(login):
    html = login("prescriber.milano").get(reverse("home")).content.decode()
    assert re.search(r'<link rel="icon" href="[^"]*favicon\.svg"', html)


@pytest.mark.parametrize(
    ("username", "url", "active"),
    [
        ("prescriber.milano", "/", "/"),
        ("prescriber.milano", "/prescriptions/new/", "/prescriptions/new/"),
        ("prescriber.milano", "/prescriptions/", "/prescriptions/"),
        ("nurse.milano", "/prescriptions/doses-due/", "/prescriptions/doses-due/"),
        ("officer.lombardia", "/prescriptions/", "/prescriptions/"),
        ("officer.lombardia", "/reports/", "/reports/"),
        ("aifa", "/reports/", "/reports/"),
        ("aifa", "/", "/"),
    ],
)
def test_the_menu_highlights_the_page_you_are_on_and_only_that(login, username, url, active):
    assert active_links(login(username).get(url).content.decode()) == [active]


def test_a_prescription_page_highlights_prescriptions(login, demo):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    html = login("prescriber.milano").get(reverse("prescriptions:detail", args=[prescription.pk])).content.decode()
    assert active_links(html) == ["/prescriptions/"]


@pytest.mark.parametrize(
    ("username", "api"),
    [
        ("prescriber.milano", False),
        ("pharmacist.milano", False),
        ("nurse.milano", False),
        ("officer.lombardia", True),
        ("aifa", True),
        ("admin", True),
    ],
)
def test_only_the_roles_that_use_the_api_see_its_link(login, username, api):
    html = login(username).get(reverse("home")).content.decode()
    assert (reverse("api-docs") in menu(html)) is api


def test_a_prescriber_with_no_authorisation_today_is_not_offered_a_new_prescription(login):
    new = reverse("prescriptions:new")
    assert new in menu(login("prescriber.milano").get("/").content.decode())
    for url in ("/", reverse("prescriptions:list")):
        html = login("prescriber.expired").get(url).content.decode()
        assert new not in html, url


def test_the_language_switch_is_a_pair_of_buttons_marking_the_current_one(login):
    html = login("prescriber.milano", language="it").get("/").content.decode()
    form = re.search(r'<form action="/i18n/setlang/".*?</form>', html, re.S).group(0)
    assert re.search(r'value="it"[^>]*aria-pressed="true"', form)
    assert re.search(r'value="en"[^>]*aria-pressed="false"', form)
    assert "onchange" not in form  # no inline script


# --- The live verdict --------------------------------------------------------------------------------------


def check(client, **fields) -> str:
    return client.post(reverse("prescriptions:check"), fields).content.decode()


def test_the_live_verdict_says_at_once_that_a_fiscal_code_is_wrong(login):
    prescriber = login("prescriber.milano")
    alone = check(prescriber, fiscal_code="RSSMRA60E01F205")  # 15 characters, nothing else filled in
    assert 'data-field-error="fiscal_code"' in alone
    wrong_check = PATIENT[:-1] + ("A" if PATIENT[-1] != "A" else "B")
    assert 'data-field-error="fiscal_code"' in check(prescriber, fiscal_code=wrong_check)
    # A well-formed code is judged against the birth date and sex once they are there.
    assert 'data-field-error="fiscal_code"' not in check(prescriber, fiscal_code=PATIENT)
    other_birth = BIRTH.replace(year=BIRTH.year + 1).isoformat()
    assert 'data-field-error="fiscal_code"' in check(prescriber, fiscal_code=PATIENT, birth_date=other_birth, sex="M")
    assert 'data-field-error="fiscal_code"' not in check(
        prescriber, fiscal_code=PATIENT, birth_date=BIRTH.isoformat(), sex="M"
    )


def test_the_live_verdict_shows_the_fiscal_code_error_beside_a_complete_verdict(login):
    fields = prescription_fields(fiscal_code="RSSMRA60E01F205X")
    html = check(login("prescriber.milano"), **fields)
    assert 'data-field-error="fiscal_code"' in html
    assert 'data-eligible="true"' in html


def test_the_live_verdict_reads_as_text_with_codes_only_as_a_small_reference(login):
    html = check(login("prescriber.milano"), **prescription_fields(fio2="0.90"))
    assert 'data-eligible="false"' in html
    assert "<code>" not in html
    assert re.search(r'<small class="ref"[^>]*>PAO2_FIO2_ABOVE_150</small>', html)
    failed = re.search(r'<ul class="failed small">(.*?)</ul>', html, re.S).group(1)
    assert "PAO2_FIO2_ABOVE_150" not in failed and "<li>" in failed


# --- The prescription page ---------------------------------------------------------------------------------


def sections(html: str) -> list[tuple[str, bool]]:
    """(id, folded) of every action section, in page order."""
    return [
        (name, bool(folded) and "open" not in opened)
        for name, folded, opened in re.findall(
            r'<section class="card action" id="(\w+)"( data-folded="true")?>\s*(<details(?: open)?>)?', html
        )
    ]


def test_the_prescription_page_leads_with_todays_dose_and_folds_the_rarer_actions(login, demo):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=2, dose_days_ago=[2, 1])
    html = login("prescriber.milano").get(reverse("prescriptions:detail", args=[prescription.pk])).content.decode()
    assert sections(html) == [
        ("administer", False),
        ("stop", True),
        ("adverse_event", True),
        ("lab_result", True),
        ("outcome", True),
        ("concomitant_medication", True),
    ]
    assert html.index('id="course"') < html.index('id="summary"')  # the course and today's dose come first


def test_a_folded_action_sent_back_with_errors_comes_back_open(login, demo):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=2, dose_days_ago=[2, 1])
    url = reverse("prescriptions:lab_result", args=[prescription.pk])
    html = login("prescriber.milano").post(url, {"lab_result-test": "anc"}).content.decode()
    assert ("lab_result", False) in sections(html)
    assert ("stop", True) in sections(html)


def test_the_pharmacist_is_offered_dispensing_and_one_click_away_the_refusal(login, demo):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    html = login("pharmacist.milano").get(reverse("prescriptions:detail", args=[prescription.pk])).content.decode()
    assert sections(html) == [("dispense", False), ("refuse", True)]


@pytest.mark.parametrize("stage", [PrescriptionStatus.REJECTED, PrescriptionStatus.CANCELLED])
def test_a_refused_request_shows_no_course_grid(login, demo, stage):
    prescription = f.prescription_at(demo, stage)
    html = login("prescriber.milano").get(reverse("prescriptions:detail", args=[prescription.pk])).content.decode()
    assert 'id="course"' not in html
    assert 'class="course"' not in html


def test_neutropenia_is_shown_once_however_many_low_counts(login, demo):
    from decimal import Decimal

    from prescriptions import services

    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=3, dose_days_ago=[3, 2, 1])
    for days, value in ((2, "1.2"), (1, "0.8")):
        services.lab_result_record(
            user=demo["nurse.milano"],
            prescription=prescription,
            test="anc",
            value=Decimal(value),
            upper_limit_normal=None,
            collected_at=f.days_ago(days, 7),
        )
    html = login("prescriber.milano").get(reverse("prescriptions:detail", args=[prescription.pk])).content.decode()
    alerts = re.search(r'<section class="card" id="alerts".*?</section>', html, re.S).group(0)
    assert alerts.count('data-code="NEUTROPENIA"') == 1
    assert "0.8" in alerts  # the latest count


def test_no_table_has_an_empty_header(login, demo):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=2, dose_days_ago=[2, 1])
    f.prescription_at(demo, "awaiting_dispensing")
    pages = [
        ("prescriber.milano", reverse("prescriptions:list")),
        ("prescriber.milano", reverse("prescriptions:detail", args=[prescription.pk])),
        ("nurse.milano", reverse("prescriptions:doses_due")),
        ("pharmacist.milano", reverse("prescriptions:dispensing_queue")),
    ]
    for username, url in pages:
        html = login(username).get(url).content.decode()
        assert "<th></th>" not in html, url
        assert "<th>" in html or "<th " in html, url


# --- The API schema in a browser ---------------------------------------------------------------------------

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def test_the_schema_opens_in_a_browser_as_text(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "Content-Disposition" not in response or "attachment" not in response["Content-Disposition"]
    assert response.content.decode().startswith("openapi:")


def test_api_clients_still_get_the_openapi_yaml_or_json(client, db):
    yaml = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert client.get("/api/schema/", {"format": "json"})["Content-Type"].startswith("application/vnd.oai.openapi+json")


# --- The national report's page ----------------------------------------------------------------------------


def test_a_finished_national_report_says_its_status_once(
    login, demo, django_capture_on_commit_callbacks, settings, tmp_path
):
    from datetime import timedelta

    from registry.calendar import rome_today
    from reports import services as report_services
    from tests.test_pages_i18n import visible_text

    settings.MEDIA_ROOT = str(tmp_path)
    today = rome_today()
    with django_capture_on_commit_callbacks(execute=True):
        run = report_services.report_request(  # the admin: AIFA asks for whole calendar months only
            user=demo["admin"], region_code=None, period_start=today - timedelta(days=31), period_end=today
        )
    text = visible_text(login("aifa").get(reverse("reports:run", args=[run.pk])).content.decode())
    assert text.count("Status") == 1


def test_submitting_says_every_wrong_field_at_once_fiscal_code_included(login):
    fields = prescription_fields(fiscal_code="RSSMRA60E01F205X", fio2="", informed_consent=None)
    html = login("prescriber.milano").post(reverse("prescriptions:new"), fields).content.decode()
    for name in ("fiscal_code", "fio2", "informed_consent"):
        marker = f'data-field="{name}"'
        field = html[html.rfind("<", 0, html.index(marker)) : html.find('data-field="', html.index(marker) + 1)]
        assert 'class="error"' in field, name
