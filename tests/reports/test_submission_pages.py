"""The pages of the quarterly transmission: the officer's quarters and quarter page (incomplete list, approve with
the statement, password and confirmation, reopen), AIFA's national board (accept, return)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from prescriptions.models import PrescriptionStatus
from registry.calendar import rome_today
from registry.models import AuditEvent, Notification, PeriodLock
from reports.models import QuarterlySubmission
from tests.conftest import DEMO_PASSWORD
from tests.prescriptions import factories as f


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def login(demo):
    def make(username: str, language: str = "en") -> Client:
        client = Client()
        client.force_login(demo[username])
        client.cookies["django_language"] = language
        return client

    return make


def this_quarter() -> tuple[int, int]:
    today = rome_today()
    return today.year, (today.month - 1) // 3 + 1


def open_from_page(client) -> QuarterlySubmission:
    year, quarter = this_quarter()
    response = client.post(reverse("reports:quarters"), {"year": year, "quarter": quarter})
    assert response.status_code == 302, response.content.decode()[:2000]
    return QuarterlySubmission.objects.get(region_id="030", year=year, quarter=quarter)


def test_the_officer_opens_the_quarter_and_sees_what_is_incomplete_with_links(demo, login):
    waiting = f.prescription_at(demo, PrescriptionStatus.AWAITING_DISPENSING, prescribed_days_ago=0)
    officer = login("officer.lombardia")
    assert "Quarters for AIFA" in officer.get(reverse("home")).content.decode()
    submission = open_from_page(officer)
    html = officer.get(reverse("reports:quarter", args=[submission.pk])).content.decode()
    assert 'data-code="WAITING_AT_PHARMACY"' in html
    assert reverse("prescriptions:detail", args=[waiting.pk]) in html
    assert "Approve and sign" in html


def test_approve_from_the_page_shows_the_statement_and_needs_the_password(demo, login):
    officer = login("officer.lombardia")
    submission = open_from_page(officer)
    url = reverse("reports:quarter_approve", args=[submission.pk])
    form = officer.get(url).content.decode()
    year, quarter = this_quarter()
    assert "Lombardia" in form and f"Q{quarter} {year}" in form and "version 1" in form
    assert "data-confirm" in form and "data-cancel" in form

    unaccepted = officer.post(url, {"password": DEMO_PASSWORD})
    assert unaccepted.status_code == 400
    wrong = officer.post(url, {"password": "wrong", "statement_accepted": "on", "running_quarter_accepted": "on"})
    assert wrong.status_code == 403
    assert "password is wrong" in wrong.content.decode()
    submission.refresh_from_db()
    assert submission.status == "open"

    signed = {"password": DEMO_PASSWORD, "statement_accepted": "on", "running_quarter_accepted": "on"}
    done = officer.post(url, signed, follow=True)
    assert done.redirect_chain[-1][0] == reverse("reports:quarter", args=[submission.pk])
    html = done.content.decode()
    assert "Quarter approved and signed (version 1)" in html
    assert 'data-status="approved"' in html
    submission.refresh_from_db()
    assert (submission.status, submission.version) == ("approved", 1)
    assert PeriodLock.objects.filter(region_id="030").exists()
    assert submission.signatures.get().manifest_sha256 in html


def test_approving_the_quarter_still_running_asks_to_accept_that_todays_writes_stop(demo, login):
    # The audit: the officer approved the quarter of today with no word of what follows; the nurses' doses of the
    # whole region were refused from then on (PERIOD_LOCKED). The page says it and asks for one more box.
    officer = login("officer.lombardia")
    submission = open_from_page(officer)
    url = reverse("reports:quarter_approve", args=[submission.pk])
    form = officer.get(url).content.decode()
    assert 'name="running_quarter_accepted"' in form
    assert "doses included, for the whole region" in form

    refused = officer.post(url, {"password": DEMO_PASSWORD, "statement_accepted": "on"})
    assert refused.status_code == 400
    submission.refresh_from_db()
    assert submission.status == "open" and not PeriodLock.objects.exists()


def test_an_ended_quarter_is_approved_without_that_box(demo, login):
    year, quarter = this_quarter()
    year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    officer = login("officer.lombardia")
    assert officer.post(reverse("reports:quarters"), {"year": year, "quarter": quarter}).status_code == 302
    submission = QuarterlySubmission.objects.get(region_id="030", year=year, quarter=quarter)
    url = reverse("reports:quarter_approve", args=[submission.pk])
    assert 'name="running_quarter_accepted"' not in officer.get(url).content.decode()
    done = officer.post(url, {"password": DEMO_PASSWORD, "statement_accepted": "on"})
    assert done.status_code == 302
    submission.refresh_from_db()
    assert submission.status == "approved"


def test_an_action_no_longer_open_goes_back_to_the_quarter_saying_why(demo, login):
    # A second tab, the back button: "approve" on a quarter already approved answered a 403 about report roles.
    officer = login("officer.lombardia")
    submission = open_from_page(officer)
    url = reverse("reports:quarter_approve", args=[submission.pk])
    signed = {"password": DEMO_PASSWORD, "statement_accepted": "on", "running_quarter_accepted": "on"}
    officer.post(url, signed)

    again = officer.get(url, follow=True)

    assert again.redirect_chain == [(reverse("reports:quarter", args=[submission.pk]), 302)]
    assert "already approved" in again.content.decode()


def test_the_board_shows_every_region_and_lets_aifa_accept_or_return(demo, login):
    officer = login("officer.lombardia")
    submission = open_from_page(officer)
    officer.post(
        reverse("reports:quarter_approve", args=[submission.pk]),
        {"password": DEMO_PASSWORD, "statement_accepted": "on", "running_quarter_accepted": "on"},
    )
    aifa = login("aifa")
    board = aifa.get(reverse("reports:quarters")).content.decode()
    assert board.count("<tr data-region=") == 21
    assert 'data-status="approved"' in board
    assert reverse("reports:quarter_accept", args=[submission.pk]) in board

    # The officer may not review; AIFA returns with a comment (required), then, after reopening and a new
    # approval (version 2), accepts.
    assert officer.get(reverse("reports:quarter_return", args=[submission.pk])).status_code == 403
    returned = aifa.post(reverse("reports:quarter_return", args=[submission.pk]), {"comment": ""})
    assert returned.status_code == 400
    aifa.post(reverse("reports:quarter_return", args=[submission.pk]), {"comment": "Outcomes missing"})
    submission.refresh_from_db()
    assert submission.status == "returned"
    assert "Outcomes missing" in officer.get(reverse("reports:quarter", args=[submission.pk])).content.decode()

    reopen_url = reverse("reports:quarter_reopen", args=[submission.pk])
    assert officer.post(reopen_url, {"reason": ""}).status_code == 400
    officer.post(reopen_url, {"reason": "Outcomes to record"})
    submission.refresh_from_db()
    assert submission.status == "open"
    assert not PeriodLock.objects.exists()
    assert Notification.objects.filter(recipient=demo["aifa"], kind="submission_reopened").exists()
    officer.post(
        reverse("reports:quarter_approve", args=[submission.pk]),
        {"password": DEMO_PASSWORD, "statement_accepted": "on", "running_quarter_accepted": "on"},
    )
    aifa.post(reverse("reports:quarter_accept", args=[submission.pk]), {"comment": ""})
    submission.refresh_from_db()
    assert (submission.status, submission.version) == ("accepted", 2)
    assert AuditEvent.objects.filter(object_id=str(submission.pk), action="submission.accept").count() == 1


def test_the_pages_are_scoped(demo, login):
    submission = open_from_page(login("officer.lombardia"))
    assert login("officer.lazio").get(reverse("reports:quarter", args=[submission.pk])).status_code == 404
    assert login("prescriber.milano").get(reverse("reports:quarters")).status_code == 403
    assert login("aifa").get(reverse("reports:quarter_approve", args=[submission.pk])).status_code == 403


def test_the_pages_are_in_italian(demo, login):
    officer = login("officer.lombardia", "it")
    submission = open_from_page(officer)
    approve = officer.get(reverse("reports:quarter_approve", args=[submission.pk])).content.decode()
    assert "Approva e firma" in approve
    assert "Confermo" in approve or "Conferma" in approve
    board = login("aifa", "it").get(reverse("reports:quarters")).content.decode()
    assert "Quadro nazionale dei trimestri" in board


def test_administrators_read_the_quarters_in_the_admin_without_changing_them(demo, login):
    submission = open_from_page(login("officer.lombardia"))
    admin = login("admin")
    assert admin.get("/admin/reports/quarterlysubmission/").status_code == 200
    page = admin.get(f"/admin/reports/quarterlysubmission/{submission.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()


def test_a_quarter_is_named_the_same_way_everywhere_in_italian(demo, login):
    # The audit: "T4 2026" on the quarter's page, "Q4 2026" in the list, the board and the select.
    officer = login("officer.lombardia", "it")
    submission = open_from_page(officer)
    year, quarter = this_quarter()
    listing = officer.get(reverse("reports:quarters")).content.decode()
    board = login("aifa", "it").get(reverse("reports:quarters")).content.decode()
    page = officer.get(reverse("reports:quarter", args=[submission.pk])).content.decode()
    for html in (listing, board, page):
        assert f"T{quarter} {year}" in html
        assert f"Q{quarter} {year}" not in html
    assert re.search(r'<option value="1"[^>]*>T1</option>', listing)


def test_the_reopen_page_says_what_reopening_does_and_the_approved_quarter_no_longer_asks_to_complete(demo, login):
    # The audit: the reopen page asked only "why?"; an approved quarter still said "5 items to complete before
    # approving".
    f.prescription_at(demo, PrescriptionStatus.AWAITING_DISPENSING, prescribed_days_ago=0)
    officer = login("officer.lombardia")
    submission = open_from_page(officer)
    signed = {"password": DEMO_PASSWORD, "statement_accepted": "on", "running_quarter_accepted": "on"}
    officer.post(reverse("reports:quarter_approve", args=[submission.pk]), signed)

    page = officer.get(reverse("reports:quarter", args=[submission.pk])).content.decode()
    assert "before approving" not in page and "the quarter was approved with" in page
    reopen = officer.get(reverse("reports:quarter_reopen", args=[submission.pk])).content.decode()
    explained = reopen[reopen.index('data-explains="reopen"') :]
    assert "Version 1 and its signed files are kept; the next approval will be version 2." in explained
    assert "AIFA is told" in explained
