"""Every main page, in Italian and in English, on the demo with history: dates, times and decimals as each language
writes them (never an ISO date in the text a user reads), and no English left in the Italian pages.

The pages are read as a user reads them: the visible text, not attribute values or the values of form inputs (a
date input's value is ISO by the HTML standard).
"""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from prescriptions.models import AdverseEvent, Prescription, PrescriptionStatus
from prescriptions.stock import services as stock_services
from registry.calendar import rome_today
from reports import services as report_services
from reports import submissions as report_submissions
from tests.demo_snapshot import history_build
from tests.prescriptions.stock_support import keep_stock, receive

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Words of the English interface that Italian never uses; an Italian page showing one shows an untranslated string.
ENGLISH = re.compile(
    r"\b(the|and|with|given|missed|to come|Prescriptions?|Doses|Day \d+|Status|Open|Next|Previous|Log out|"
    r"not eligible|eligible|Patient|Centre|Syringes|Alerts|Outcomes|Lab results|Adverse events|Dispensations|"
    r"Administrations|Record|recorded|Page not found|Back to the home page|Welcome)\b"
)
# Strings new in this branch, whose Italian the lead adds when regenerating locale/it (then this list is emptied).
AWAITING_TRANSLATION: set[str] = set()  # every string of the pages has its Italian translation


class VisibleText(HTMLParser):
    """The text a user reads: no script, style or head; no attribute (so no input value)."""

    HIDDEN = {"script", "style", "head", "title", "template", "textarea"}

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.chunks: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth and data.strip():
            self.chunks.append(" ".join(data.split()))


def visible_text(html: str) -> list[str]:
    """The page's visible text, the eligibility verdict included: it is stored as texts and rendered in the
    reader's language, its dates and decimals too."""
    parser = VisibleText()
    parser.feed(html)
    return parser.chunks


@pytest.fixture
def history(demo, django_capture_on_commit_callbacks, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    with django_capture_on_commit_callbacks(execute=True):
        history_build()  # the demo with its history, as `seed_demo --history` makes it
    return demo


def _status(status: str) -> Prescription:
    return Prescription.objects.filter(status=status, centre__region_id="030").order_by("prescribed_at").first()


@pytest.fixture
def pages(history, django_capture_on_commit_callbacks) -> list[tuple[str, str]]:
    """(username, url) of every main page, with a prescription at each stage and a finished report."""
    today = rome_today()
    with django_capture_on_commit_callbacks(execute=True):
        run = report_services.report_request(
            user=history["officer.lombardia"],
            region_code="030",
            period_start=today.replace(day=1) - timedelta(days=40),
            period_end=today,
        )
    submission, _created = report_submissions.submission_open(
        user=history["officer.lombardia"], region_code="030", year=today.year, quarter=(today.month - 1) // 3 + 1
    )
    detail = "prescriptions:detail"
    pages = [
        ("officer.lombardia", reverse("reports:quarters")),
        ("officer.lombardia", reverse("reports:quarter", args=[submission.pk])),
        ("officer.lombardia", reverse("reports:quarter_approve", args=[submission.pk])),
        ("aifa", reverse("reports:quarters")),
        ("aifa", reverse("reports:quarter", args=[submission.pk])),
        ("prescriber.milano", reverse("home")),
        ("prescriber.milano", reverse("prescriptions:new")),
        ("prescriber.milano", reverse("prescriptions:list")),
        ("prescriber.milano", reverse("prescriptions:doses_due")),
        ("pharmacist.milano", reverse("prescriptions:dispensing_queue")),
        ("nurse.milano", reverse("prescriptions:doses_due")),
        ("officer.lombardia", reverse("prescriptions:list")),
        ("officer.lombardia", reverse("reports:dashboard")),
        ("officer.lombardia", reverse("reports:run", args=[run.pk])),
        ("aifa", reverse("reports:dashboard")),
        ("prescriber.milano", "/no-such-page/"),
        ("nurse.milano", reverse("prescriptions:pharmacovigilance")),
        ("prescriber.milano", reverse("notifications")),
        ("pharmacist.milano", reverse("notifications")),
        ("pharmacist.milano", reverse("notification-settings")),
        ("pharmacist.milano", reverse(detail, args=[_status(PrescriptionStatus.AWAITING_DISPENSING).pk])),
        ("pharmacist.milano", reverse("prescriptions:stock:pharmacy")),
        ("officer.lombardia", reverse("prescriptions:stock:region")),
    ]
    event = AdverseEvent.objects.filter(prescription__centre__region_id="030").first()
    pages.append(("nurse.milano", reverse("prescriptions:mark_reported", args=[event.prescription_id, event.pk])))
    # The stock pages with something in them: Milano keeps its stock, a lot received, one written off (issue 20).
    keep_stock(history)
    lot = receive(history["pharmacist.milano"], syringes=12, days=20).lot
    stock_services.stock_write_off(pharmacist=history["pharmacist.milano"], lot_id=lot.pk, syringes=1, reason="damaged")
    for status in (
        PrescriptionStatus.REJECTED,
        PrescriptionStatus.AWAITING_DISPENSING,
        PrescriptionStatus.IN_COURSE,
        PrescriptionStatus.COMPLETED,
        PrescriptionStatus.STOPPED,
    ):
        pages.append(("prescriber.milano", reverse(detail, args=[_status(status).pk])))
    return pages


def render(history, username: str, url: str, language: str) -> str:
    client = Client()
    client.force_login(history[username])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(url)
    assert response.status_code in (200, 404), (url, response.status_code)
    assert response["Content-Language"] == language
    return response.content.decode()


@pytest.mark.parametrize("language", ["it", "en"])
def test_no_iso_date_in_any_page(history, pages, language):
    for username, url in pages:
        dates = [chunk for chunk in visible_text(render(history, username, url, language)) if ISO_DATE.search(chunk)]
        assert dates == [], (username, url)


def test_no_english_in_the_italian_pages(history, pages):
    for username, url in pages:
        english = [
            chunk
            for chunk in visible_text(render(history, username, url, "it"))
            if ENGLISH.search(chunk) and chunk not in AWAITING_TRANSLATION
        ]
        assert english == [], (username, url)


def test_italian_writes_dates_and_decimals_its_way(history):
    """1 dicembre 2026, 01/12/2026 10:30, 0,40: on the pages a clinician reads every day."""
    prescription = _status(PrescriptionStatus.IN_COURSE)
    detail = render(history, "prescriber.milano", reverse("prescriptions:detail", args=[prescription.pk]), "it")
    text = " ".join(visible_text(detail))
    assert re.search(r"\b\d{2}/\d{2}/\d{4} \d{2}:\d{2}\b", text)  # prescribed at
    assert "1,1" in text  # the latest neutrophil count, in its row and in its alert
    doses_due = " ".join(visible_text(render(history, "nurse.milano", reverse("prescriptions:doses_due"), "it")))
    months = [
        "gennaio",
        "febbraio",
        "marzo",
        "aprile",
        "maggio",
        "giugno",
        "luglio",
        "agosto",
        "settembre",
        "ottobre",
        "novembre",
        "dicembre",
    ]
    today = rome_today()
    assert f"{today.day} {months[today.month - 1]} {today.year}" in doses_due  # lower case, no leading zero

    english = " ".join(visible_text(render(history, "nurse.milano", reverse("prescriptions:doses_due"), "en")))
    assert f"{today.day} {today:%B} {today.year}" in english
