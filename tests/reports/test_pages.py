"""The report pages as each role sees them: the dashboard and its form, a run's page, scope and refusals.

Tasks run in-process (eager) with the on-commit hooks executed, so a run asked for on the form may already be
done when its page opens. Files go to a temporary MEDIA_ROOT.
"""

import io
import re
from datetime import date, timedelta
from html import unescape
from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone, translation
from openpyxl import load_workbook
from pypdf import PdfReader

from registry.calendar import rome_today
from registry.models import Region
from reports.models import ReportRun, ReportStatus
from reports.periods import current_month, previous_month, previous_quarter, quarter_of

from .test_cohort import LOMBARDIA, Cohort, build_cohort

DASHBOARD = "/reports/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def cohort(demo) -> Cohort:
    """The report tests' hand-counted cohort (``test_cohort``): Lombardia's figures are ``LOMBARDIA``."""
    return build_cohort(demo)


@pytest.fixture
def browser(client, demo):
    """A browser session signed in as a demo user."""

    def make(username: str):
        client.force_login(demo[username])
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the msgids, whatever catalogue is compiled
        return client

    return make


@pytest.fixture
def ask(browser, django_capture_on_commit_callbacks):
    """Post the dashboard form as ``username``, letting the run's task run once the request commits."""

    def post(username: str, **fields):
        client = browser(username)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(DASHBOARD, fields)
        return client, response

    return post


def html(response) -> str:
    return response.content.decode()


def squash(text: str) -> str:
    """The page's text with tags and runs of white space squeezed, to look for a label beside its figure."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", text)))


def region_options(page: str) -> list[str]:
    select = re.search(r'<select name="region".*?</select>', page, re.S).group(0)
    return re.findall(r'<option value="([^"]*)"', select)


# --- Who may open the pages ----------------------------------------------------------------------


@pytest.mark.parametrize("username", ["officer.lombardia", "aifa"])
def test_dashboard_opens_for_regional_officers_and_the_national_role(browser, username):
    response = browser(username).get(DASHBOARD)

    assert response.status_code == 200
    assert "Ask for a report" in html(response)


@pytest.mark.parametrize("username", ["prescriber.milano", "pharmacist.milano", "nurse.milano"])
def test_clinical_roles_get_a_403_page_saying_why(browser, username):
    client = browser(username)

    response = client.get(DASHBOARD)

    assert response.status_code == 403
    assert "Not allowed" in html(response)
    assert "Only these roles may do this" in html(response)
    assert client.post(DASHBOARD, {"kind": "monitoring"}).status_code == 403
    assert ReportRun.objects.count() == 0


def test_signed_out_visitors_are_sent_to_sign_in(client, demo):
    response = client.get(DASHBOARD)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_region_choice_is_limited_to_what_the_user_may_ask(browser):
    officer = region_options(html(browser("officer.lombardia").get(DASHBOARD)))
    national = region_options(html(browser("aifa").get(DASHBOARD)))

    assert officer == ["030"]
    assert national[0] == "IT"  # the whole country
    assert national[1:] == list(Region.objects.order_by("code").values_list("code", flat=True))


# --- Asking for a report ---------------------------------------------------------------------------


def test_posting_the_form_creates_a_run_and_opens_its_page(cohort, ask, demo):
    client, response = ask(
        "officer.lombardia",
        kind="monitoring",
        region="030",
        period_start=cohort.period_start.isoformat(),
        period_end=cohort.period_end.isoformat(),
    )

    run = ReportRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/reports/{run.pk}/"
    assert (run.region_id, run.period_start, run.period_end) == ("030", cohort.period_start, cohort.period_end)
    assert run.requested_by == demo["officer.lombardia"]
    assert run.status == ReportStatus.DONE, run.error  # generated in-process

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Done" in html(page)


def test_the_form_offers_the_current_month_up_to_today(browser):
    page = html(browser("officer.lombardia").get(DASHBOARD))
    today = rome_today()

    assert f'name="period_start" value="{today.replace(day=1).isoformat()}"' in page
    assert f'name="period_end" value="{today.isoformat()}"' in page


def test_a_report_generated_in_process_says_ready_never_being_generated(transactional_db, browser):
    """Requests commit for real here: the in-process run is done before the page opens."""
    client = browser("officer.lombardia")
    response = client.post(DASHBOARD, {"kind": "monitoring", "region": "030", **_this_month()})

    page = html(client.get(response["Location"]))

    assert ReportRun.objects.get().status == ReportStatus.DONE
    assert "Report ready." in page and "Done" in page
    assert "Being generated" not in page and "progress is shown below" not in page and "data-poll-url" not in page


def test_with_the_in_process_thread_the_request_does_not_wait_for_the_report(transactional_db, browser, settings):
    settings.REPORTS_IN_PROCESS_THREAD = True
    started = []

    class Deferred:
        """The thread, held back until the page has been read: what the user sees while the report runs."""

        def __init__(self, target, name, daemon):
            started.append(target)

        def start(self):
            pass

    client = browser("officer.lombardia")
    with mock.patch("reports.messages.threading.Thread", Deferred):
        response = client.post(DASHBOARD, {"kind": "monitoring", "region": "030", **_this_month()})
    page = html(client.get(response["Location"]))

    run = ReportRun.objects.get()
    assert run.status == ReportStatus.QUEUED and len(started) == 1
    assert "Report requested: its progress is shown below." in page
    assert "Waiting for a worker." in page and f'data-poll-url="/reports/{run.pk}/status/"' in page
    assert "Report ready" not in page and "Done" not in page

    started[0]()  # the thread runs the report
    run.refresh_from_db()
    assert run.status == ReportStatus.DONE, run.error
    assert client.get(f"/reports/{run.pk}/status/")["X-Run-Finished"] == "true"


def _this_month() -> dict:
    start, end = current_month(rome_today())
    return {"period_start": start.isoformat(), "period_end": end.isoformat()}


def test_the_run_page_shows_the_figures_charts_centres_and_download_links(cohort, ask):
    client, response = ask(
        "officer.lombardia",
        kind="monitoring",
        region="030",
        period_start=cohort.period_start.isoformat(),
        period_end=cohort.period_end.isoformat(),
    )
    run = ReportRun.objects.get()

    page = html(client.get(response["Location"]))
    text = squash(page)

    assert f"Requests submitted {LOMBARDIA['prescriptions_submitted']}" in text
    assert f"Refused {LOMBARDIA['prescriptions_rejected']}" in text
    assert f"Doses administered {LOMBARDIA['doses_administered']}" in text
    assert f"Syringes dispensed {LOMBARDIA['syringes_dispensed']}" in text
    assert f"Missed doses {LOMBARDIA['missed_doses']}" in text
    # The PDF's charts, inline; a region's own report suppresses nothing.
    charts = ("courses_by_status", "rejections_by_criterion", "adverse_events_by_category", "outcomes_day28")
    for chart in (*charts, "requests_by_week"):
        assert re.search(rf'data-chart="{chart}">\s*<figcaption>[^<]+</figcaption>\s*<svg ', page), chart
    # Requests per week, promised by the README: drawn across the page, in the PDF and as an XLSX sheet too.
    assert 'class="chart-card wide" data-chart="requests_by_week"' in page
    pdf = PdfReader(io.BytesIO(b"".join(client.get(f"/api/v1/reports/{run.pk}/files/pdf/").streaming_content)))
    assert "Requests per week" in "".join(p.extract_text() for p in pdf.pages)
    xlsx = b"".join(client.get(f"/api/v1/reports/{run.pk}/files/xlsx/").streaming_content)
    weeks = load_workbook(io.BytesIO(xlsx))["Requests per week"]
    assert sum(row[2].value for row in weeks.iter_rows(min_row=2)) == LOMBARDIA["prescriptions_submitted"]
    assert "a hidden count" not in page
    assert "Ospedale Demo Milano" in text
    assert "Ospedale Demo Roma" not in text
    for fmt, magic in (("pdf", b"%PDF"), ("xlsx", b"PK"), ("csv", b"\xef\xbb\xbf")):
        url = f"/api/v1/reports/{run.pk}/files/{fmt}/"
        assert f'href="{url}"' in page
        download = client.get(url)  # the session that shows the link may follow it
        assert download.status_code == 200
        assert download["Content-Disposition"].startswith("attachment")
        assert b"".join(download.streaming_content).startswith(magic)


def test_a_quarterly_run_page_shows_the_patients_and_the_files(cohort, ask):
    start, end = quarter_of(cohort.period_end)

    client, response = ask(
        "officer.lombardia", kind="quarterly_patients", region="030", period_start=start, period_end=end
    )

    run = ReportRun.objects.get()
    assert run.kind == "quarterly_patients" and run.status == ReportStatus.DONE, run.error
    assert run.metrics["patients"] > 0
    page = html(client.get(response["Location"]))
    assert f"Patients treated in the quarter {run.metrics['patients']}" in squash(page)
    assert f'href="/api/v1/reports/{run.pk}/files/pdf/"' in page


def test_errors_come_back_next_to_their_fields(ask):
    today = timezone.localdate()

    _client, response = ask(
        "officer.lombardia",
        kind="monitoring",
        region="030",
        period_start=today.isoformat(),
        period_end=(today - timedelta(days=5)).isoformat(),
    )

    assert response.status_code == 200
    assert ReportRun.objects.count() == 0
    field = re.search(r'<div class="field invalid" data-field="period_end">.*?</div>', html(response), re.S)
    assert field and "The end of the period cannot come before its start." in field.group(0)


def test_a_quarterly_report_must_cover_a_calendar_quarter(ask):
    _client, response = ask(
        "officer.lombardia", kind="quarterly_patients", region="030", period_start="2025-01-15", period_end="2025-03-31"
    )

    assert ReportRun.objects.count() == 0
    field = re.search(r'<div class="field invalid" data-field="period_start">.*?</div>', html(response), re.S)
    assert field and "exactly one calendar quarter" in field.group(0)


def test_an_officer_cannot_ask_for_another_region(ask):
    _client, response = ask(
        "officer.lombardia", kind="monitoring", region="120", period_start="2025-01-01", period_end="2025-01-31"
    )

    assert response.status_code == 200
    assert ReportRun.objects.count() == 0
    assert re.search(r'<div class="field invalid" data-field="region">', html(response))


# --- Scope ---------------------------------------------------------------------------------------


def _run(**fields) -> ReportRun:
    values = {
        "region_id": "030",
        "period_start": date(2025, 1, 1),
        "period_end": date(2025, 3, 31),
        "status": ReportStatus.QUEUED,
    }
    values.update(fields)
    return ReportRun.objects.create(**values)


def test_another_regions_run_is_not_found(browser, demo):
    lazio = _run(region_id="120", status=ReportStatus.FAILED, error="boom")
    client = browser("officer.lombardia")

    assert client.get(f"/reports/{lazio.pk}/").status_code == 404
    assert client.get(f"/reports/{lazio.pk}/status/").status_code == 404
    assert f"/reports/{lazio.pk}/" not in html(client.get(DASHBOARD))
    assert browser("officer.lazio").get(f"/reports/{lazio.pk}/").status_code == 200


def test_a_national_run_is_not_found_for_an_officer_but_listed_for_aifa(browser):
    national = _run(region_id=None)

    assert browser("officer.lombardia").get(f"/reports/{national.pk}/").status_code == 404
    dashboard = html(browser("aifa").get(DASHBOARD))
    assert f"/reports/{national.pk}/" in dashboard
    assert "Italia" in dashboard


# --- Progress, failure, suppression ------------------------------------------------------------------


def test_a_running_run_shows_its_progress_and_polls_with_a_static_script(browser):
    run = _run(status=ReportStatus.RUNNING, progress=40)
    client = browser("officer.lombardia")

    page = html(client.get(f"/reports/{run.pk}/"))

    assert 'aria-valuenow="40"' in page and "width: 40%" in page
    assert f'data-poll-url="/reports/{run.pk}/status/"' in page and 'data-poll-seconds="2"' in page
    assert "js/reports.js" in page
    # No inline script (Content-Security-Policy); without JavaScript the page reloads itself.
    assert "<script>" not in page and "hx-get" not in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    fragment = client.get(f"/reports/{run.pk}/status/")
    assert fragment.status_code == 200 and "X-Run-Finished" not in fragment
    assert "Being generated." in html(fragment)
    # Once it has finished, the fragment tells the script to reload the page, which then shows the result.
    ReportRun.objects.filter(pk=run.pk).update(status=ReportStatus.FAILED, error="x")
    assert client.get(f"/reports/{run.pk}/status/")["X-Run-Finished"] == "true"


def test_a_finished_run_page_neither_polls_nor_says_it_is_being_generated(browser):
    run = _run(status=ReportStatus.DONE, progress=100, data_as_of=timezone.now())

    page = html(browser("officer.lombardia").get(f"/reports/{run.pk}/"))

    assert "Being generated" not in page and "Waiting for a worker" not in page
    assert "data-poll-url" not in page and "reports.js" not in page and "refresh" not in page


def test_a_failed_run_shows_its_error(browser):
    run = _run(status=ReportStatus.FAILED, error="OperationalError: the database went away")

    page = html(browser("officer.lombardia").get(f"/reports/{run.pk}/"))

    assert "The report could not be generated." in page
    assert "OperationalError: the database went away" in page
    assert "/files/" not in page


def test_a_whole_country_run_shows_small_counts_suppressed(browser):
    metrics = {
        "prescriptions_submitted": 40,
        "prescriptions_rejected": 2,
        "deaths_day28": 0,
        "rejections_by_criterion": {"SUPAR_AT_LEAST_6": 1, "AGE_ADULT": 7},
        "by_centre": [{"centre_id": "x", "centre_name": "Ospedale Demo Roma", "region": "120", "courses_stopped": 1}],
    }
    run = _run(region_id=None, status=ReportStatus.DONE, progress=100, metrics=metrics, data_as_of=timezone.now())

    text = squash(html(browser("aifa").get(f"/reports/{run.pk}/")))

    assert "Requests submitted 40" in text
    assert "Refused x" in text
    assert "Deaths by day 28 (WHO-CPS 10) 0" in text
    assert "suPAR ≥ 6 ng/mL SUPAR_AT_LEAST_6 x" in text
    assert "“x”: a hidden count, from 1 to 2" in text
    assert "Ospedale Demo Roma 120 x" in text  # a national table names each centre's region


# --- One click for last month and last quarter (issue 18) --------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "kind", "period"),
    [("last_month", "monitoring", previous_month), ("last_quarter", "quarterly_patients", previous_quarter)],
)
def test_one_click_asks_for_last_month_or_last_quarter_whatever_the_dates_say(ask, preset, kind, period):
    _client, response = ask(
        "officer.lombardia", kind=kind, region="030", period_start="", period_end="x", preset=preset
    )

    run = ReportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reports/{run.pk}/"
    assert (run.kind, run.region_id) == (kind, "030")
    assert (run.period_start, run.period_end) == period(rome_today())


def test_the_dashboard_shows_the_one_click_buttons_with_their_days(browser):
    page = html(browser("officer.lombardia").get(DASHBOARD))
    start, end = previous_quarter(rome_today())
    assert 'name="preset" value="last_month"' in page and 'name="preset" value="last_quarter"' in page
    assert f"{start.day} {start:%B} {start.year}" in unescape(page)  # English: the days the button covers


def test_an_unknown_preset_is_ignored_and_the_dates_are_checked_as_usual(ask):
    _client, response = ask("officer.lombardia", kind="monitoring", region="030", period_start="", preset="someday")
    assert response.status_code == 200 and ReportRun.objects.count() == 0
