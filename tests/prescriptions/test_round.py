"""The nurse's round (docs/rules.md, "The nurse's round"): the doses-due page shows each patient with the course's
alerts, asks for a confirmation naming the patient and the dose, lets whoever recorded a dose take it back within
10 minutes, and offers no one-click dose for a course with a blocking alert. Records are marked entered in error
from the prescription page, with a reason."""

import re
from datetime import timedelta
from decimal import Decimal
from unittest import mock
from urllib.parse import quote

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from prescriptions import services
from prescriptions.models import Administration, Dispensation, Outcome, PrescriptionStatus
from registry.audit_actions import AuditAction
from registry.models import AuditEvent
from registry.patient_identity import patient_label

from . import factories as f

ROUND = reverse("prescriptions:doses_due")


@pytest.fixture
def login(demo):
    def make(username: str, language: str = "en") -> Client:
        client = Client()
        client.force_login(demo[username])
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        return client

    return make


def record_url(prescription) -> str:
    return reverse("prescriptions:administer_now", args=[prescription.pk])


BIANCHI = {"family_name": "Bianchi", "given_name": "Lucia", "ward": "Medicina 2", "bed": "12"}


def row_of(html: str, prescription) -> str:
    match = re.search(rf'<tr data-id="{prescription.pk}".*?</tr>', html, re.S)
    assert match, f"no row for {prescription.pk}"
    return match.group(0)


def confirm(client: Client, prescription):
    return client.post(record_url(prescription), {"next": ROUND, "confirmed": "yes"}, follow=True)


def neutropenic(demo):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=3, dose_days_ago=[2, 1])
    services.lab_result_record(
        user=demo["nurse.milano"],
        prescription=prescription,
        test="anc",
        value=Decimal("1.1"),
        upper_limit_normal=None,
        collected_at=f.days_ago(1, 8),
    )
    return prescription


# --- The list ------------------------------------------------------------------------------------------------


def test_each_row_names_the_patient_and_shows_the_courses_alerts(demo, login):
    missed = f.prescription_at(demo, "in_course", prescribed_days_ago=4, dose_days_ago=[3, 1], identity=BIANCHI)
    quiet = f.prescription_at(demo, "dispensed", prescribed_days_ago=1)

    html = login("nurse.milano", "it").get(ROUND).content.decode()

    missed_row = row_of(html, missed)
    assert "BIANCHI Lucia" in missed_row and "Medicina 2 letto 12" in missed_row
    assert 'data-code="MISSED_DOSE"' in missed_row
    assert record_url(missed) in missed_row
    assert 'data-code="' not in row_of(html, quiet)
    # The missed day is written in the badge, not only in a tooltip a phone never shows.
    with translation.override("it"):  # the page's language (login(..., "it"))
        missed_day = date_format(f.today() - timedelta(days=2), "SHORT_DATE_FORMAT")
    badge = re.search(r'<span class="badge warn" data-code="MISSED_DOSE"[^>]*>(.*?)</span>', missed_row, re.S).group(1)
    assert missed_day in badge


def test_a_blocking_alert_turns_the_dose_into_a_link_to_the_prescription(demo, login):
    prescription = neutropenic(demo)

    row = row_of(login("nurse.milano").get(ROUND).content.decode(), prescription)

    assert 'data-blocked="true"' in row
    assert 'data-code="NEUTROPENIA"' in row
    assert record_url(prescription) not in row
    assert reverse("prescriptions:detail", args=[prescription.pk]) + "#alerts" in row


@pytest.mark.parametrize("category", ["serious_infection"])
def test_a_serious_infection_blocks_the_round_too(demo, login, category):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=3, dose_days_ago=[2, 1])
    services.adverse_event_record(
        user=demo["nurse.milano"],
        prescription=prescription,
        category=category,
        serious=True,
        onset_date=f.today(),
        description="Polmonite batterica.",
        reported_to_pharmacovigilance=False,
    )

    row = row_of(login("nurse.milano").get(ROUND).content.decode(), prescription)

    assert 'data-code="SERIOUS_INFECTION"' in row and 'data-blocked="true"' in row


def test_the_server_refuses_the_rounds_dose_for_a_course_with_a_blocking_alert(demo, login):
    prescription = neutropenic(demo)
    nurse = login("nurse.milano")

    response = confirm(nurse, prescription)

    assert response.redirect_chain[-1] == (reverse("prescriptions:detail", args=[prescription.pk]), 302)
    assert "No dose from the round" in response.content.decode()
    assert Administration.objects.filter(prescription=prescription).count() == 2


def test_the_round_costs_no_query_per_row(demo, login, django_assert_max_num_queries):
    nurse = login("nurse.milano")
    for days in (1, 2, 3):
        f.prescription_at(demo, "in_course", prescribed_days_ago=days + 1, dose_days_ago=[days])
    with django_assert_max_num_queries(100) as few:
        nurse.get(ROUND)
    for days in (1, 2, 3, 4, 5, 6):
        neutropenic(demo) if days == 1 else f.prescription_at(
            demo, "in_course", prescribed_days_ago=days + 1, dose_days_ago=[days]
        )

    with django_assert_max_num_queries(len(few.captured_queries)):
        html = nurse.get(ROUND).content.decode()
    assert html.count("<tr data-id=") >= 9


# --- The confirmation --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["it", "en"])
def test_a_dose_is_recorded_only_after_a_confirmation_naming_the_patient(demo, login, language):
    prescription = f.prescription_at(demo, "dispensed", prescribed_days_ago=1, identity=BIANCHI)
    nurse = login("nurse.milano", language)
    with translation.override(language):
        label = patient_label(user=demo["nurse.milano"], prescription=prescription)

    page = nurse.get(record_url(prescription), {"next": ROUND}).content.decode()
    unconfirmed = nurse.post(record_url(prescription), {"next": ROUND})  # the confirmation step, not the dose

    assert label.startswith("BIANCHI Lucia, ")
    assert "BIANCHI Lucia" in page and "100 mg SC" in page
    assert 'name="confirmed" value="yes"' in page and f'href="{ROUND}"' in page
    assert ("Conferma" if language == "it" else "Confirm") in page
    assert unconfirmed.status_code == 200
    assert not Administration.objects.filter(prescription=prescription).exists()

    done = confirm(nurse, prescription).content.decode()

    assert Administration.objects.filter(prescription=prescription).count() == 1
    message = re.search(r'<ul class="messages">.*?</ul>', done, re.S).group(0)
    assert label in message
    assert ("Dose registrata per" if language == "it" else "Dose recorded for") in message


def test_the_rounds_confirmations_belong_to_the_round_and_say_what_going_back_does(demo, login):
    # "Annulla" both left the dose unrecorded and, on the round, took a dose back: the way back now says what it does,
    # and the menu shows the round, not the prescriptions, as where the nurse is.
    prescription = f.prescription_at(demo, "dispensed", prescribed_days_ago=1)
    nurse = login("nurse.milano", "it")
    page = nurse.get(record_url(prescription), {"next": ROUND}).content.decode()
    back = re.search(r"<a [^>]*data-cancel[^>]*>(.*?)</a>", page).group(1)
    assert back == "Indietro: non registrare"
    assert re.search(rf'<a href="{ROUND}" class="active" aria-current="page">', page)

    confirm(nurse, prescription)
    administration = Administration.objects.get(prescription=prescription)
    take_back = nurse.get(take_back_url(administration), {"next": ROUND}).content.decode()
    assert re.search(rf'<a href="{ROUND}" class="active" aria-current="page">', take_back)


def messages_of(html: str) -> str:
    match = re.search(r'<ul class="messages">.*?</ul>', html, re.S)
    return match.group(0) if match else ""


@pytest.mark.parametrize("language", ["it", "en"])
def test_a_dose_already_given_today_is_refused_before_the_confirmation(demo, login, language):
    # A stale round (or the back button) offers "Record now" again: the page says at once that today's dose is
    # recorded, naming the patient, instead of a confirmation refused only once confirmed.
    prescription = f.prescription_at(demo, "dispensed", prescribed_days_ago=1, identity=BIANCHI)
    nurse = login("nurse.milano", language)
    confirm(nurse, prescription)

    again = nurse.get(record_url(prescription), {"next": ROUND}, follow=True)

    assert again.redirect_chain == [(ROUND, 302)]
    html = again.content.decode()
    assert 'name="confirmed"' not in html
    message = messages_of(html)
    assert "BIANCHI Lucia" in message
    expected = "è già registrata una dose" if language == "it" else "A dose is already recorded on"
    assert expected in message
    assert " Il 8 " not in message and not re.search(r"\bIl 8\b", message)  # never "Il 8 dicembre"
    assert Administration.objects.filter(prescription=prescription).count() == 1


def test_a_rejected_request_gets_no_confirmation_page(demo, login):
    rejected = f.prescription_at(demo, "rejected", prescribed_days_ago=1)

    response = login("nurse.milano").get(record_url(rejected), {"next": ROUND}, follow=True)

    assert response.redirect_chain == [(ROUND, 302)]
    assert 'name="confirmed"' not in response.content.decode()
    assert "rejected" in messages_of(response.content.decode())


def test_a_stopped_course_is_refused_as_stopped_not_for_its_alert(demo, login):
    prescription = neutropenic(demo)
    services.prescription_stop(prescriber=demo["prescriber.milano"], prescription=prescription, reason="adverse_event")

    response = login("nurse.milano").get(record_url(prescription), {"next": ROUND}, follow=True)

    message = messages_of(response.content.decode())
    assert "stopped" in message and "No dose from the round" not in message
    assert 'name="confirmed"' not in response.content.decode()


# --- Taking a dose back ------------------------------------------------------------------------------------------


def take_back_url(administration) -> str:
    return reverse("prescriptions:administration_take_back", args=[administration.prescription_id, administration.pk])


def test_whoever_recorded_a_dose_takes_it_back_from_the_round(demo, login):
    prescription = f.prescription_at(demo, "dispensed", prescribed_days_ago=1)
    nurse = login("nurse.milano")
    html = confirm(nurse, prescription).content.decode()
    administration = Administration.objects.get(prescription=prescription)
    assert take_back_url(administration) in html  # beside the message

    response = nurse.post(take_back_url(administration), {"next": ROUND, "confirmed": "yes"}, follow=True)

    administration.refresh_from_db()
    prescription.refresh_from_db()
    assert administration.in_error
    assert (prescription.status, prescription.doses_administered) == (PrescriptionStatus.DISPENSED, 0)
    assert "Dose taken back for" in response.content.decode()
    assert f'<tr data-id="{prescription.pk}"' in response.content.decode()  # due again
    assert AuditEvent.objects.filter(
        object_id=str(prescription.pk), action=AuditAction.ADMINISTRATION_ENTERED_IN_ERROR
    ).exists()


@pytest.mark.parametrize("language", ["it", "en"])
def test_a_dose_is_taken_back_only_after_a_confirmation_naming_the_patient(demo, login, language):
    # A red button beside the round's green ones: a stray tap must not undo a dose really given (the course would
    # show it due again).
    prescription = f.prescription_at(demo, "dispensed", prescribed_days_ago=1, identity=BIANCHI)
    nurse = login("nurse.milano", language)
    confirm(nurse, prescription)
    administration = Administration.objects.get(prescription=prescription)

    page = nurse.get(take_back_url(administration), {"next": ROUND})
    unconfirmed = nurse.post(take_back_url(administration), {"next": ROUND})

    html = page.content.decode()
    assert page.status_code == 200
    assert "BIANCHI Lucia" in html and "100 mg SC" in html
    assert 'name="confirmed" value="yes"' in html and f'href="{ROUND}"' in html
    assert unconfirmed.status_code == 200 and 'name="confirmed" value="yes"' in unconfirmed.content.decode()
    administration.refresh_from_db()
    assert not administration.in_error


def test_a_dose_that_may_not_be_taken_back_is_refused_before_the_confirmation(demo, login):
    prescription = f.prescription_at(demo, "dispensed", prescribed_days_ago=1)
    confirm(login("nurse.milano"), prescription)
    administration = Administration.objects.get(prescription=prescription)

    response = login("prescriber.milano").get(take_back_url(administration), {"next": ROUND}, follow=True)

    assert response.redirect_chain == [(ROUND, 302)]
    assert 'name="confirmed"' not in response.content.decode()
    assert "Only whoever recorded a dose may take it back" in messages_of(response.content.decode())


def test_after_ten_minutes_or_for_someone_else_a_dose_is_not_taken_back(demo, login):
    prescription = f.prescription_at(demo, "dispensed", prescribed_days_ago=1)
    confirm(login("nurse.milano"), prescription)
    administration = Administration.objects.get(prescription=prescription)

    confirmed = {"next": ROUND, "confirmed": "yes"}
    other = login("prescriber.milano").post(take_back_url(administration), confirmed, follow=True)
    later = timezone.now() + timedelta(minutes=10, seconds=1)
    with mock.patch("prescriptions.services.corrections.timezone.now", return_value=later):
        late = login("nurse.milano", "it").post(take_back_url(administration), confirmed, follow=True)

    administration.refresh_from_db()
    assert not administration.in_error
    assert "Only whoever recorded a dose may take it back" in other.content.decode()
    assert "entro 10 minuti" in late.content.decode()


def test_the_round_offers_to_take_back_only_ones_own_recent_doses(demo, login):
    prescription = f.prescription_at(demo, "dispensed", prescribed_days_ago=1)
    confirm(login("nurse.milano"), prescription)
    administration = Administration.objects.get(prescription=prescription)

    assert take_back_url(administration) in login("nurse.milano").get(ROUND).content.decode()
    assert take_back_url(administration) not in login("prescriber.milano").get(ROUND).content.decode()
    Administration.objects.filter(pk=administration.pk).update(recorded_at=timezone.now() - timedelta(minutes=11))
    assert take_back_url(administration) not in login("nurse.milano").get(ROUND).content.decode()


# --- Entered in error, from the prescription page ----------------------------------------------------------------


def error_url(prescription, kind, record) -> str:
    return reverse("prescriptions:entered_in_error", args=[prescription.pk, kind, record.pk])


def test_every_kind_of_record_is_marked_entered_in_error_from_the_prescription_page(demo, login):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=3, dose_days_ago=[2, 1])
    nurse = demo["nurse.milano"]
    lab = services.lab_result_record(
        user=nurse, prescription=prescription, test="alt", value=Decimal("30"), upper_limit_normal=None,
        collected_at=f.days_ago(1, 8),
    )  # fmt: skip
    event = services.adverse_event_record(
        user=nurse, prescription=prescription, category="other", serious=False, onset_date=f.today(),
        description="Cefalea.", reported_to_pharmacovigilance=False,
    )  # fmt: skip
    medicine = services.concomitant_medication_record(
        user=nurse, prescription=prescription, name="paracetamol", atc_code="", started_on=f.today()
    )
    records = {
        "administration": Administration.objects.filter(prescription=prescription).last(),
        "lab_result": lab,
        "adverse_event": event,
        "concomitant_medication": medicine,
    }
    client = login("nurse.milano")
    for kind, record in records.items():
        detail = client.get(reverse("prescriptions:detail", args=[prescription.pk])).content.decode()
        url = error_url(prescription, kind, record)
        assert url in detail, kind

        page = client.get(url).content.decode()
        without_reason = client.post(url, {"reason": " "})
        done = client.post(url, {"reason": "Wrong patient's sheet."}, follow=True)

        assert "Confirm: mark as entered in error" in page and 'name="reason"' in page
        assert without_reason.status_code == 400
        record.refresh_from_db()
        assert record.in_error and record.entered_in_error_reason == "Wrong patient's sheet."
        assert "marked as entered in error" in done.content.decode()
        assert url not in done.content.decode()


def test_dispensations_and_outcomes_are_corrected_by_who_records_them(demo, login):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=3, dose_days_ago=[2, 1], syringes=8)
    services.dispensation_record(
        pharmacist=demo["pharmacist.milano"],
        prescription=prescription,
        syringes=2,
        lot_number="LOT-2",
        expiry_date=f.today() + timedelta(days=90),
    )
    extra = Dispensation.objects.get(prescription=prescription, lot_number="LOT-2")

    nurse_detail = login("nurse.milano").get(reverse("prescriptions:detail", args=[prescription.pk])).content.decode()
    assert error_url(prescription, "dispensation", extra) not in nurse_detail
    assert login("nurse.milano").get(error_url(prescription, "dispensation", extra)).status_code == 403

    pharmacist = login("pharmacist.milano")
    pharmacist.post(error_url(prescription, "dispensation", extra), {"reason": "Lot typed twice."})
    extra.refresh_from_db()
    assert extra.in_error

    completed = f.prescription_at(demo, "completed", prescribed_days_ago=20)
    outcome = services.outcome_record(
        prescriber=demo["prescriber.milano"], prescription=completed, day=14, who_cps=4, assessed_on=f.today()
    )
    prescriber = login("prescriber.milano")
    assert (
        error_url(completed, "outcome", outcome)
        in prescriber.get(reverse("prescriptions:detail", args=[completed.pk])).content.decode()
    )
    prescriber.post(error_url(completed, "outcome", outcome), {"reason": "Score of day 28."})
    assert Outcome.objects.get(pk=outcome.pk).in_error


def test_another_regions_record_is_not_found(demo, login):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=3, dose_days_ago=[2, 1])
    dose = Administration.objects.filter(prescription=prescription).first()

    assert login("prescriber.roma").get(error_url(prescription, "administration", dose)).status_code == 404
    assert login("nurse.milano").get(error_url(prescription, "no_such_kind", dose)).status_code == 404


def test_the_rounds_pages_speak_italian(demo, login):
    from tests.test_pages_i18n import ENGLISH, ISO_DATE, visible_text

    prescription = f.prescription_at(demo, "dispensed", prescribed_days_ago=1)
    nurse = login("nurse.milano", "it")
    confirmation = nurse.get(record_url(prescription), {"next": ROUND}).content.decode()
    after = confirm(nurse, prescription).content.decode()  # the round, with the dose to take back
    dose = Administration.objects.get(prescription=prescription)
    correction = nurse.get(error_url(prescription, "administration", dose)).content.decode()

    for html in (confirmation, after, correction):
        text = visible_text(html)
        assert [chunk for chunk in text if ENGLISH.search(chunk)] == []
        assert [chunk for chunk in text if ISO_DATE.search(chunk)] == []


# --- Pages of the round ------------------------------------------------------------------------------------------


@pytest.fixture
def three_per_page():
    with mock.patch("prescriptions.web.views.ROUND_PAGE_SIZE", 3):
        yield 3


def round_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-id="([0-9a-f-]+)"', html)


def test_the_round_comes_in_pages_and_each_row_is_on_one(demo, login, three_per_page):
    for _ in range(1, 8):
        f.prescription_at(demo, "dispensed", prescribed_days_ago=1)
    nurse = login("nurse.milano", "it")
    due = len(round_ids(nurse.get(ROUND, {"page": 1}).content.decode()))
    pages = []
    for number in (1, 2, 3):
        html = nurse.get(ROUND, {"page": number}).content.decode()
        pages.append(round_ids(html))
        assert re.search(rf"Pagina {number} di \d+", html)

    assert due == 3 and [len(ids) for ids in pages[:2]] == [3, 3]
    seen = [pk for ids in pages for pk in ids]
    assert len(seen) == len(set(seen)) >= 7  # no row twice, none left out
    assert 'rel="next"' in nurse.get(ROUND, {"page": 1}).content.decode()


def test_a_dose_from_a_later_page_returns_to_that_page(demo, login, three_per_page):
    for _ in range(1, 8):
        f.prescription_at(demo, "dispensed", prescribed_days_ago=1)
    nurse = login("nurse.milano")
    page_two = nurse.get(ROUND, {"page": 2}).content.decode()
    first = round_ids(page_two)[0]
    back_to = f"{ROUND}?page=2"
    record_link = reverse("prescriptions:administer_now", args=[first]) + "?next=" + quote(back_to, safe="/")
    assert record_link in page_two

    done = nurse.post(
        reverse("prescriptions:administer_now", args=[first]), {"next": back_to, "confirmed": "yes"}, follow=True
    )

    assert done.redirect_chain[-1] == (back_to, 302)
    html = done.content.decode()
    assert first not in round_ids(html) and len(round_ids(html)) == 3
    administration = Administration.objects.get(prescription_id=first)
    # Taken back (after its confirmation), the nurse comes back to this page too.
    assert take_back_url(administration) + "?next=" + quote(back_to, safe="/") in html


def test_a_page_emptied_by_the_round_shows_the_last_page(demo, login, three_per_page):
    for _ in range(1, 5):
        f.prescription_at(demo, "dispensed", prescribed_days_ago=1)
    nurse = login("nurse.milano")
    last = 1
    while 'rel="next"' in nurse.get(ROUND, {"page": last}).content.decode():
        last += 1

    last_rows = round_ids(nurse.get(ROUND, {"page": last}).content.decode())
    for page, shown in (
        (last + 1, last_rows),
        (10**30, last_rows),
        ("x", round_ids(nurse.get(ROUND).content.decode())),
    ):
        response = nurse.get(ROUND, {"page": page})
        assert response.status_code == 200
        assert round_ids(response.content.decode()) == shown


def test_a_page_of_the_round_costs_the_same_whatever_the_rounds_length(
    demo, login, three_per_page, django_assert_max_num_queries
):
    nurse = login("nurse.milano")
    for _ in range(1, 5):
        f.prescription_at(demo, "dispensed", prescribed_days_ago=1)
    with django_assert_max_num_queries(100) as few:
        nurse.get(ROUND)
    for _ in range(1, 5):
        f.prescription_at(demo, "dispensed", prescribed_days_ago=1)

    with django_assert_max_num_queries(len(few.captured_queries)):
        html = nurse.get(ROUND).content.decode()
    assert len(round_ids(html)) == 3
