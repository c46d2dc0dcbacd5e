"""The server-rendered pages of the prescription workflow, through Django's test client.

Each page for each role that uses it, the scope (another region's prescription is a 404, a role refusal a 403
page saying why), and the whole journey through the forms: prescribe, the live verdict, dispense, record doses,
stop, lab results, adverse events, outcomes. Every write goes through the services the API calls.
"""

import re
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from prescriptions.eligibility import ALL_CRITERION_CODES
from prescriptions.models import Administration, Dispensation, Outcome, Prescription, PrescriptionStatus
from prescriptions.web import views
from prescriptions.web.forms import PrescriptionForm
from registry.calendar import rome_date, rome_today
from registry.models import Centre, PrescriberAuthorisation
from tests.browser_support import BIRTH, PATIENT, fiscal_code, local_input, prescription_fields


def field_html(html: str, name: str) -> str:
    """The markup of one form field: from its ``data-field`` element up to the next field's."""
    marker = f'data-field="{name}"'
    assert marker in html, f"no field {name} on the page"
    start = html.rfind("<", 0, html.index(marker))
    end = html.find('data-field="', html.index(marker) + len(marker))
    return html[start : end if end != -1 else len(html)]


def verdict_rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-code="([A-Z0-9_]+)" data-outcome="(\w+)"', html))


@pytest.fixture
def login(demo):
    """A test client signed in as a demo user; ``language="en"`` sets the language cookie."""

    def make(username: str, *, language: str | None = None) -> Client:
        client = Client()
        client.force_login(demo[username])
        if language:
            client.cookies["django_language"] = language
        return client

    return make


@pytest.fixture
def prescriber(login):
    return login("prescriber.milano", language="en")


@pytest.fixture
def pharmacist(login):
    return login("pharmacist.milano", language="en")


@pytest.fixture
def nurse(login):
    return login("nurse.milano", language="en")


def submit(client: Client, **overrides) -> Prescription:
    response = client.post(reverse("prescriptions:new"), prescription_fields(**overrides))
    assert response.status_code == 302, response.content.decode()[:3000]
    prescription_id = response["Location"].rstrip("/").rsplit("/", 1)[1]
    return Prescription.objects.get(pk=prescription_id)


def action_url(name: str, prescription: Prescription) -> str:
    return reverse(f"prescriptions:{name}", kwargs={"prescription_id": prescription.pk})


def detail_url(prescription: Prescription) -> str:
    return reverse("prescriptions:detail", kwargs={"prescription_id": prescription.pk})


def dispense(client: Client, prescription: Prescription, syringes: int = 10, **overrides):
    fields = {
        "dispense-syringes": str(syringes),
        "dispense-lot_number": "KIN-2041",
        "dispense-expiry_date": (rome_today() + timedelta(days=365)).isoformat(),
        **overrides,
    }
    return client.post(action_url("dispense", prescription), fields, follow=True)


def administer(client: Client, prescription: Prescription, moment=None, **overrides):
    fields = {
        "administer-administered_at": local_input(moment or timezone.now()),
        "administer-dose_mg": "100",
        "administer-route": "SC",
        **overrides,
    }
    return client.post(action_url("administer", prescription), fields, follow=True)


@pytest.fixture
def awaiting(prescriber) -> Prescription:
    return submit(prescriber)


@pytest.fixture
def dispensed(awaiting, pharmacist) -> Prescription:
    assert dispense(pharmacist, awaiting).status_code == 200
    awaiting.refresh_from_db()
    assert awaiting.status == PrescriptionStatus.DISPENSED
    return awaiting


# --- Every page, every role that uses it -----------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "page"),
    [
        ("prescriber.milano", "prescriptions:list"),
        ("prescriber.milano", "prescriptions:new"),
        ("prescriber.milano", "prescriptions:doses_due"),
        ("pharmacist.milano", "prescriptions:list"),
        ("pharmacist.milano", "prescriptions:dispensing_queue"),
        ("nurse.milano", "prescriptions:list"),
        ("nurse.milano", "prescriptions:doses_due"),
        ("officer.lombardia", "prescriptions:list"),
        ("admin", "prescriptions:list"),
    ],
)
def test_each_role_opens_its_pages(login, awaiting, username, page):
    response = login(username).get(reverse(page))
    assert response.status_code == 200


@pytest.mark.parametrize("username", ["prescriber.milano", "pharmacist.milano", "nurse.milano", "officer.lombardia"])
def test_everyone_at_the_centre_or_region_opens_the_prescription_page(login, awaiting, username):
    response = login(username).get(detail_url(awaiting))
    assert response.status_code == 200
    html = response.content.decode()
    assert awaiting.patient.pseudonym[:12] in html
    assert awaiting.patient.pseudonym not in html  # only the first 12 characters
    # The fiscal code and the name: for the centre's staff only (a regional officer reveals them, with a reason).
    staff = username != "officer.lombardia"
    assert (PATIENT in html) is staff
    assert ("ROSSI Mario" in html) is staff
    assert 'data-status="awaiting_dispensing"' in html
    assert len(re.findall(r'class="day to_come', html)) == 10


def test_the_lists_show_only_the_prescriptions_in_scope(login, awaiting):
    roma = submit(login("prescriber.roma", language="en"), fiscal_code=fiscal_code(name="GNN", birth_date=BIRTH))
    milano_list = login("officer.lombardia").get(reverse("prescriptions:list")).content.decode()
    lazio_list = login("officer.lazio").get(reverse("prescriptions:list")).content.decode()
    assert str(awaiting.pk) in milano_list and str(roma.pk) not in milano_list
    assert str(roma.pk) in lazio_list and str(awaiting.pk) not in lazio_list
    queue = login("pharmacist.milano").get(reverse("prescriptions:dispensing_queue")).content.decode()
    assert str(awaiting.pk) in queue and str(roma.pk) not in queue


def test_a_signed_out_visitor_is_sent_to_the_login_page(client, demo):
    response = client.get(reverse("prescriptions:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- Scope and roles ---------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["prescriber.roma", "pharmacist.roma", "officer.lazio"])
def test_another_regions_prescription_is_not_found(login, awaiting, username):
    client = login(username)
    assert client.get(detail_url(awaiting)).status_code == 404
    assert client.post(action_url("stop", awaiting), {"stop-reason": "other"}).status_code == 404
    assert client.post(action_url("dispense", awaiting), {"dispense-syringes": "1"}).status_code == 404
    awaiting.refresh_from_db()
    assert awaiting.status == PrescriptionStatus.AWAITING_DISPENSING


def test_the_national_role_sees_no_patient_rows(login, awaiting):
    client = login("aifa", language="en")
    response = client.get(reverse("prescriptions:list"))
    assert response.status_code == 403
    assert "aggregates only" in response.content.decode()
    assert client.get(detail_url(awaiting)).status_code == 404


def test_a_pharmacist_cannot_record_a_dose(pharmacist, dispensed):
    response = pharmacist.post(action_url("administer", dispensed), {"administer-dose_mg": "100"})
    assert response.status_code == 403
    assert "Only these roles may do this" in response.content.decode()
    assert not Administration.objects.exists()


@pytest.mark.parametrize(
    ("username", "page", "reason"),
    [
        ("pharmacist.milano", "prescriptions:new", "Only these roles may do this"),
        ("nurse.milano", "prescriptions:new", "Only these roles may do this"),
        ("nurse.milano", "prescriptions:dispensing_queue", "Only these roles may do this"),
        ("pharmacist.milano", "prescriptions:doses_due", "Only these roles may do this"),
    ],
)
def test_role_refusals_are_a_403_page_with_the_reason(login, username, page, reason):
    response = login(username, language="en").get(reverse(page))
    assert response.status_code == 403
    assert reason in response.content.decode()


def test_the_page_offers_only_the_actions_the_user_may_take(login, awaiting):
    def forms_on(username):
        html = login(username).get(detail_url(awaiting)).content.decode()
        return set(re.findall(r'<section class="card action" id="(\w+)"', html))

    assert forms_on("pharmacist.milano") == {"dispense", "hold", "refuse"}
    assert forms_on("prescriber.milano") == {"stop", "adverse_event", "lab_result", "concomitant_medication"}
    assert forms_on("nurse.milano") == {"adverse_event", "lab_result", "concomitant_medication"}
    assert forms_on("officer.lombardia") == set()


# --- Prescribing -------------------------------------------------------------------------------------


def test_an_eligible_prescription_awaits_dispensing(prescriber):
    response = prescriber.post(reverse("prescriptions:new"), prescription_fields(), follow=True)
    prescription = Prescription.objects.get()
    assert response.redirect_chain == [(detail_url(prescription), 302)]
    assert prescription.status == PrescriptionStatus.AWAITING_DISPENSING
    assert prescription.centre.name == "Ospedale Demo Milano"
    assert prescription.assessment["fio2"] == 0.4  # stored as numbers, as an API client sends them
    assert prescription.assessment["concomitant_medications"][0]["name"] == "warfarin"
    html = response.content.decode()
    assert "awaits dispensing" in html
    assert verdict_rows(html)["CYP450_NARROW_THERAPEUTIC_INDEX"] == "warn"


def test_a_refused_request_is_kept_as_rejected_with_its_reasons(prescriber):
    response = prescriber.post(
        reverse("prescriptions:new"), prescription_fields(pao2_mmhg="45", fio2="0.30"), follow=True
    )
    prescription = Prescription.objects.get()
    assert prescription.status == PrescriptionStatus.REJECTED
    html = response.content.decode()
    assert "kept as rejected" in html
    assert "150" in html
    assert verdict_rows(html)["PAO2_FIO2_ABOVE_150"] == "fail"


def test_fio2_as_a_percentage_is_an_error_next_to_fio2(prescriber):
    response = prescriber.post(reverse("prescriptions:new"), prescription_fields(fio2="40"))
    assert response.status_code == 200
    fio2 = field_html(response.content.decode(), "fio2")
    assert "invalid" in fio2.split(">", 1)[0]
    assert "not a percentage" in fio2
    assert 'value="40"' in fio2  # what was typed comes back
    assert not Prescription.objects.exists()


def test_consent_is_required(prescriber):
    response = prescriber.post(reverse("prescriptions:new"), prescription_fields(informed_consent=None))
    assert response.status_code == 200
    assert "informed consent is required" in field_html(response.content.decode(), "informed_consent")
    assert not Prescription.objects.exists()


def test_errors_of_a_medication_row_show_in_that_row(prescriber):
    fields = prescription_fields(**{"med-0-name": None, "med-0-ongoing": None, "med-2-name": "tocilizumab"})
    response = prescriber.post(reverse("prescriptions:new"), fields)
    assert response.status_code == 200
    html = response.content.decode()
    # The row's errors follow its last field.
    assert "last dose" in field_html(html, "med-2-confirmed_not_il_jak")
    assert 'class="error"' not in field_html(html, "med-0-confirmed_not_il_jak")


def test_a_date_at_the_calendars_edge_is_an_error_not_a_crash(prescriber):
    edge = "0001-01-01T00:00"
    response = prescriber.post(
        reverse("prescriptions:new"), prescription_fields(prescribed_at=edge, **{"med-0-last_dose_at": edge})
    )
    assert response.status_code == 200
    assert 'class="error' in response.content.decode()
    assert not Prescription.objects.exists()


def test_a_wrong_fiscal_code_is_an_error_next_to_it(prescriber):
    response = prescriber.post(reverse("prescriptions:new"), prescription_fields(sex="F"))
    assert response.status_code == 200
    assert 'class="error"' in field_html(response.content.decode(), "fiscal_code")
    assert not Prescription.objects.exists()


def test_a_second_active_course_is_refused_with_its_code(prescriber, awaiting):
    response = prescriber.post(reverse("prescriptions:new"), prescription_fields())
    assert response.status_code == 200
    assert 'data-code="ACTIVE_COURSE"' in response.content.decode()
    assert Prescription.objects.count() == 1


def test_a_prescriber_of_several_centres_says_which(demo, prescriber):
    milano, roma = Centre.objects.get(name="Ospedale Demo Milano"), Centre.objects.get(name="Ospedale Demo Roma")
    PrescriberAuthorisation.objects.create(
        prescriber=demo["prescriber.milano"], centre=roma, valid_from=date(2021, 10, 1), granted_by=demo["admin"]
    )
    page = prescriber.get(reverse("prescriptions:new")).content.decode()
    assert f'<option value="{milano.pk}">' in page and f'<option value="{roma.pk}">' in page

    unsaid = prescriber.post(reverse("prescriptions:new"), prescription_fields())
    assert "Choose one of the centres" in field_html(unsaid.content.decode(), "centre")
    assert not Prescription.objects.exists()
    assert submit(prescriber, centre=str(roma.pk)).centre == roma


def test_a_late_registration_is_dated_in_the_past_but_not_beyond_30_days(prescriber):
    late = timezone.now() - timedelta(days=3)
    prescription = submit(prescriber, prescribed_at=local_input(late), consent_date=rome_date(late).isoformat())
    assert abs(prescription.prescribed_at - late) < timedelta(seconds=1)
    too_late = timezone.now() - timedelta(days=31)
    response = prescriber.post(
        reverse("prescriptions:new"),
        prescription_fields(fiscal_code=fiscal_code(name="LCU", birth_date=BIRTH), prescribed_at=local_input(too_late)),
    )
    assert response.status_code == 200
    assert "30 days" in field_html(response.content.decode(), "prescribed_at")


def test_the_page_and_the_api_agree_on_a_late_registration_within_an_ended_authorisation(login, client_for, demo):
    """prescriber.expired's authorisation ended yesterday: a prescription dated two days ago is within it."""
    from tests.prescriptions import factories as f

    two_days_ago = timezone.now() - timedelta(days=2)
    api = client_for("prescriber.expired").post(
        "/api/v1/prescriptions/", f.submission_body(prescribed_at=two_days_ago), format="json"
    )
    assert api.status_code == 201, api.json()

    page = login("prescriber.expired", language="en")
    assert page.get(reverse("prescriptions:new")).status_code == 200
    fields = prescription_fields(
        fiscal_code=fiscal_code(name="LTE", birth_date=BIRTH),
        prescribed_at=local_input(two_days_ago),
        consent_date=rome_date(two_days_ago).isoformat(),
    )
    response = page.post(reverse("prescriptions:new"), fields, follow=True)
    # Registered, and the page it lands on says so (not a 404: the author no longer sees the centre's rows).
    assert response.status_code == 200
    assert "Prescription registered" in response.content.decode()
    prescription = Prescription.objects.exclude(pk=api.json()["id"]).get()
    assert prescription.status == PrescriptionStatus.AWAITING_DISPENSING
    assert str(prescription.centre_id) == api.json()["centre"]


def test_a_day_outside_the_authorisation_is_a_form_error_not_a_403_page(login):
    page = login("prescriber.expired", language="en")
    code = fiscal_code(name="OUT", birth_date=BIRTH)
    response = page.post(reverse("prescriptions:new"), prescription_fields(fiscal_code=code))
    assert response.status_code == 200
    html = response.content.decode()
    assert "not authorised to prescribe" in html
    assert 'class="errors form-errors"' in html
    assert f'value="{code}"' in html  # what was typed comes back
    assert not Prescription.objects.exists()


def test_no_authorisation_within_the_late_registration_window_is_a_403_page(login, demo):
    PrescriberAuthorisation.objects.filter(prescriber=demo["prescriber.expired"]).update(
        valid_to=rome_today() - timedelta(days=31)
    )
    response = login("prescriber.expired", language="en").get(reverse("prescriptions:new"))
    assert response.status_code == 403
    assert "no authorisation" in response.content.decode()


# --- The live verdict (htmx) --------------------------------------------------------------------


def check(client: Client, **overrides):
    return client.post(reverse("prescriptions:check"), prescription_fields(**overrides), HTTP_HX_REQUEST="true")


def test_the_live_verdict_lists_every_criterion_with_its_outcome(prescriber):
    response = check(prescriber, pao2_mmhg="45", fio2="0.30")
    assert response.status_code == 200
    rows = verdict_rows(response.content.decode())
    assert len(rows) == len(ALL_CRITERION_CODES)
    assert rows["PAO2_FIO2_ABOVE_150"] == "fail"
    assert rows["AGE_ADULT"] == "pass"
    assert rows["CYP450_NARROW_THERAPEUTIC_INDEX"] == "warn"
    assert not Prescription.objects.exists()  # a dry run


def test_the_live_verdict_says_what_is_missing(prescriber):
    response = check(prescriber, pneumonia=None, supar_ng_ml=None, birth_date=None, fio2="40")
    assert response.status_code == 200
    html = response.content.decode()
    assert verdict_rows(html) == {}
    missing = re.search(r'<ul class="missing">(.*?)</ul>', html, re.S).group(1)
    for label in ("COVID-19 pneumonia", "suPAR (ng/mL)", "Birth date"):
        assert label in missing
    assert "not a percentage" in html


@pytest.mark.parametrize(
    "overrides",
    [
        dict.fromkeys(prescription_fields()),  # nothing at all
        {"pao2_mmhg": "abc", "birth_date": "yesterday", "med-0-last_dose_at": "soon"},
        {"prescribed_at": "2020-01-01T10:00"},  # before any criteria version
        {"birth_date": "2999-01-01"},
        {"prescribed_at": "0001-01-01T00:00", "med-0-last_dose_at": "0001-01-01T00:00"},  # the calendar's edge
    ],
)
def test_the_live_verdict_never_fails_on_incomplete_or_wrong_input(prescriber, overrides):
    response = check(prescriber, **overrides)
    assert response.status_code == 200
    assert b"Check these values" in response.content or b"fill in" in response.content


def test_only_prescribers_run_the_live_verdict(nurse):
    assert check(nurse).status_code == 403


# --- Dispensing --------------------------------------------------------------------------------------


def test_the_pharmacist_dispenses_from_the_queue(pharmacist, awaiting):
    queue = pharmacist.get(reverse("prescriptions:dispensing_queue")).content.decode()
    assert f"{detail_url(awaiting)}#dispense" in queue
    response = dispense(pharmacist, awaiting, 10)
    assert response.redirect_chain == [(detail_url(awaiting), 302)]
    awaiting.refresh_from_db()
    assert (awaiting.status, awaiting.syringes_dispensed) == (PrescriptionStatus.DISPENSED, 10)
    html = response.content.decode()
    assert "10 syringes dispensed (lot KIN-2041)" in html
    assert 'id="dispense"' not in html  # nothing left to dispense
    assert str(awaiting.pk) not in pharmacist.get(reverse("prescriptions:dispensing_queue")).content.decode()


def test_an_eleventh_syringe_is_refused_over_quantity(pharmacist, dispensed):
    response = dispense(pharmacist, dispensed, 1)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-code="OVER_QUANTITY"' in html
    assert "at most 10 syringes" in html
    assert Dispensation.objects.count() == 1


def test_eleven_syringes_at_once_is_an_error_next_to_syringes(pharmacist, awaiting):
    response = dispense(pharmacist, awaiting, 11)
    assert response.status_code == 200
    assert 'class="error"' in field_html(response.content.decode(), "dispense-syringes")
    assert not Dispensation.objects.exists()


def test_an_expired_lot_is_an_error_next_to_the_expiry(pharmacist, awaiting):
    yesterday = (rome_today() - timedelta(days=1)).isoformat()
    response = dispense(pharmacist, awaiting, 10, **{"dispense-expiry_date": yesterday})
    assert response.status_code == 200
    assert "expired" in field_html(response.content.decode(), "dispense-expiry_date")


def test_the_pharmacist_refuses_with_a_category_after_confirming(pharmacist, awaiting):
    response = pharmacist.post(action_url("refuse", awaiting), {"refuse-category": ""})
    assert response.status_code == 200
    assert 'class="error"' in field_html(response.content.decode(), "refuse-category")
    # "other" needs a note; any refusal needs the box ticked: nothing is written before.
    response = pharmacist.post(action_url("refuse", awaiting), {"refuse-category": "other", "refuse-confirm": "on"})
    assert 'class="error"' in field_html(response.content.decode(), "refuse-note")
    response = pharmacist.post(
        action_url("refuse", awaiting), {"refuse-category": "other", "refuse-note": "Kineret out of stock"}
    )
    assert 'class="error"' in field_html(response.content.decode(), "refuse-confirm")
    awaiting.refresh_from_db()
    assert awaiting.status == PrescriptionStatus.AWAITING_DISPENSING
    response = pharmacist.post(
        action_url("refuse", awaiting),
        {"refuse-category": "not_reimbursable", "refuse-note": "Kineret out of stock", "refuse-confirm": "on"},
        follow=True,
    )
    awaiting.refresh_from_db()
    assert awaiting.status == PrescriptionStatus.CANCELLED
    assert awaiting.refusal_category == "not_reimbursable"
    html = response.content.decode()
    assert "Kineret out of stock" in html
    assert 'data-refusal="not_reimbursable"' in html


def test_the_pharmacist_puts_on_hold_and_the_prescriber_sees_it(pharmacist, prescriber, awaiting):
    expected = rome_today() + timedelta(days=3)
    response = pharmacist.post(
        action_url("hold", awaiting),
        {"hold-reason": "out_of_stock", "hold-expected_on": expected.isoformat(), "hold-note": "Order 41"},
        follow=True,
    )
    assert response.status_code == 200
    awaiting.refresh_from_db()
    assert awaiting.status == PrescriptionStatus.AWAITING_DISPENSING
    assert awaiting.hold_reason == "out_of_stock" and awaiting.hold_expected_on == expected
    # The pharmacist may release it from the page; the prescriber sees it on the page and in the list.
    assert 'id="release_hold"' in response.content.decode()
    html = prescriber.get(detail_url(awaiting)).content.decode()
    assert 'id="hold-info"' in html and "Order 41" in html
    assert 'data-hold="out_of_stock"' in prescriber.get(reverse("prescriptions:list")).content.decode()
    assert 'id="release_hold"' not in html

    response = pharmacist.post(action_url("release_hold", awaiting), {}, follow=True)
    awaiting.refresh_from_db()
    assert awaiting.hold_since is None
    assert 'id="hold-info"' not in response.content.decode()


def test_a_hold_in_the_past_is_an_error_next_to_its_date(pharmacist, awaiting):
    yesterday = (rome_today() - timedelta(days=1)).isoformat()
    response = pharmacist.post(
        action_url("hold", awaiting), {"hold-reason": "out_of_stock", "hold-expected_on": yesterday}
    )
    assert 'class="error"' in field_html(response.content.decode(), "hold-expected_on")
    awaiting.refresh_from_db()
    assert awaiting.hold_since is None


# --- The course ----------------------------------------------------------------------------------


def test_the_nurse_records_a_dose_and_the_grid_shows_day_1_given(nurse, dispensed):
    first = timezone.now()
    response = administer(nurse, dispensed, first)
    assert response.redirect_chain == [(detail_url(dispensed), 302)]
    html = response.content.decode()
    assert "Dose recorded for " in html and ": 100 mg SC, day 1 of the course." in html
    assert re.search(r'class="day given today dose-day" data-day="1"', html)
    dispensed.refresh_from_db()
    assert dispensed.status == PrescriptionStatus.IN_COURSE

    again = administer(nurse, dispensed, first)  # the same Rome day, whatever the clock says
    assert again.status_code == 200
    assert 'data-code="DOSE_ALREADY_GIVEN_TODAY"' in again.content.decode()
    assert Administration.objects.count() == 1


def test_a_dose_other_than_100_mg_sc_is_kept_and_flagged(nurse, dispensed):
    html = administer(nurse, dispensed, **{"administer-dose_mg": "200"}).content.decode()
    assert "protocol deviation" in html
    assert 'data-code="PROTOCOL_DEVIATION"' in html


def test_doses_due_records_todays_dose_after_a_confirmation(nurse, dispensed):
    page = nurse.get(reverse("prescriptions:doses_due")).content.decode()
    record = action_url("administer_now", dispensed)
    assert record in page
    confirmation = nurse.get(record, {"next": reverse("prescriptions:doses_due")}).content.decode()
    assert "Confirm: record the dose" in confirmation and "100 mg SC" in confirmation
    assert Administration.objects.count() == 0  # nothing recorded before the confirmation
    response = nurse.post(record, {"next": reverse("prescriptions:doses_due"), "confirmed": "yes"}, follow=True)
    assert response.redirect_chain == [(reverse("prescriptions:doses_due"), 302)]
    assert ": 100 mg SC, day 1 of the course." in response.content.decode()
    assert f'data-id="{dispensed.pk}"' not in response.content.decode()  # no longer due today
    administration = Administration.objects.get()
    assert (administration.dose_mg, administration.route) == (100, "SC")

    twice = nurse.post(record, {"confirmed": "yes"}, follow=True)  # a stale page confirmed again
    assert "one a day" in twice.content.decode()
    assert Administration.objects.count() == 1


def test_the_prescriber_stops_the_course(prescriber, nurse, dispensed):
    administer(nurse, dispensed)
    response = prescriber.post(
        action_url("stop", dispensed),
        {"stop-reason": "clinical_worsening", "stop-note": "needs CPAP", "stop-confirm": "on"},
        follow=True,
    )
    dispensed.refresh_from_db()
    assert dispensed.status == PrescriptionStatus.STOPPED
    html = response.content.decode()
    assert "needs CPAP" in html and "clinical worsening" in html
    assert 'id="stop"' in html and '<section class="card action" id="stop"' not in html


@pytest.mark.parametrize("language", ["it", "en"])
def test_a_prescriber_not_authorised_today_is_told_before_filling_in_the_form(login, prescriber, language):
    # prescriber.expired's authorisation ended yesterday: the page stays open for a late registration, but says at
    # the top, before a long form is filled in, that today's prescription will be refused.
    html = login("prescriber.expired", language=language).get(reverse("prescriptions:new")).content.decode()
    notice = re.search(r'<ul class="messages">.*?</ul>', html, re.S)
    assert notice, "no notice at the top of the page"
    expected = "Non è abilitato/a a prescrivere oggi" if language == "it" else "not authorised to prescribe today"
    assert expected in notice.group(0)
    assert '<ul class="messages">' not in prescriber.get(reverse("prescriptions:new")).content.decode()


def test_a_stop_is_not_recorded_until_its_box_is_ticked(prescriber, nurse, dispensed):
    # Stopping ends the course for good (no dose can follow): one tap on "Stop" must not do it.
    administer(nurse, dispensed)
    response = prescriber.post(action_url("stop", dispensed), {"stop-reason": "discharge"})
    assert response.status_code == 200
    assert 'class="error"' in field_html(response.content.decode(), "stop-confirm")
    dispensed.refresh_from_db()
    assert dispensed.status == PrescriptionStatus.IN_COURSE and dispensed.stopped_at is None
    page = prescriber.get(detail_url(dispensed)).content.decode()
    assert 'name="stop-confirm"' in page  # the box is on the page, next to the button


def test_a_stop_without_a_reason_is_an_error_next_to_it(prescriber, awaiting):
    response = prescriber.post(action_url("stop", awaiting), {"stop-reason": ""})
    assert response.status_code == 200
    assert 'class="error"' in field_html(response.content.decode(), "stop-reason")


# --- Safety and outcomes ---------------------------------------------------------------------------


def test_a_low_neutrophil_count_raises_the_neutropenia_alert(nurse, dispensed):
    response = nurse.post(
        action_url("lab_result", dispensed),
        {"lab_result-test": "anc", "lab_result-value": "1,2", "lab_result-collected_at": local_input(timezone.now())},
        follow=True,
    )
    assert response.redirect_chain == [(detail_url(dispensed), 302)]
    html = response.content.decode()
    assert re.search(r'<div class="alert blocking" data-code="NEUTROPENIA" role="alert">', html)
    assert "ANC 1.2" in html
    # The message after saving is as grave as the alert: an error (red), not a warning (yellow).
    message = re.search(r'<ul class="messages">.*?</ul>', html, re.S).group(0)
    assert re.search(r'<li class="error">[^<]*ANC 1.2', message)


def test_a_dose_past_a_blocking_alert_needs_the_box_ticked_beside_the_alert(nurse, dispensed):
    # The round offers no dose for a course with a blocking alert and leads to its page; there the dose form must
    # not record it in one tap either: the alert is named beside the form and a box confirms the course goes on.
    nurse.post(
        action_url("lab_result", dispensed),
        {"lab_result-test": "anc", "lab_result-value": "1,2", "lab_result-collected_at": local_input(timezone.now())},
    )
    page = nurse.get(detail_url(dispensed)).content.decode()
    box = field_html(page, "administer-confirm_alerts")
    assert "Neutropenia" in box

    refused = administer(nurse, dispensed)
    assert refused.status_code == 200 and not refused.redirect_chain
    assert 'class="error"' in field_html(refused.content.decode(), "administer-confirm_alerts")
    assert not Administration.objects.filter(prescription=dispensed).exists()

    administer(nurse, dispensed, **{"administer-confirm_alerts": "on"})
    assert Administration.objects.filter(prescription=dispensed).count() == 1


def test_a_dose_without_a_blocking_alert_has_no_box(nurse, dispensed):
    assert 'name="administer-confirm_alerts"' not in nurse.get(detail_url(dispensed)).content.decode()
    administer(nurse, dispensed)
    assert Administration.objects.filter(prescription=dispensed).count() == 1


def test_an_adverse_event_is_recorded(nurse, dispensed):
    response = nurse.post(
        action_url("adverse_event", dispensed),
        {
            "adverse_event-category": "injection_site_reaction",
            "adverse_event-onset_date": rome_today().isoformat(),
            "adverse_event-description": "erythema at the injection site",
            "adverse_event-reported_to_pharmacovigilance": "on",
        },
        follow=True,
    )
    assert response.redirect_chain == [(detail_url(dispensed), 302)]
    assert "erythema at the injection site" in response.content.decode()
    assert dispensed.adverse_events.get().serious is False


def test_the_day_14_outcome_is_recorded_once(prescriber, pharmacist, nurse):
    # A late registration 20 days ago, so that day 14 of the course has come.
    prescribed = timezone.now() - timedelta(days=20)
    prescription = submit(
        prescriber, prescribed_at=local_input(prescribed), consent_date=rome_date(prescribed).isoformat()
    )
    dispense(pharmacist, prescription)
    administer(nurse, prescription, prescribed + timedelta(days=1))
    outcome = {"outcome-day": "14", "outcome-who_cps": "4", "outcome-assessed_on": rome_today().isoformat()}

    out_of_scale = prescriber.post(action_url("outcome", prescription), {**outcome, "outcome-who_cps": "11"})
    assert 'class="error"' in field_html(out_of_scale.content.decode(), "outcome-who_cps")

    response = prescriber.post(action_url("outcome", prescription), outcome, follow=True)
    assert response.redirect_chain == [(detail_url(prescription), 302)]
    assert "WHO-CPS at day 14 recorded." in response.content.decode()
    assert Outcome.objects.get().who_cps == 4

    again = prescriber.post(action_url("outcome", prescription), outcome)
    assert 'data-code="OUTCOME_ALREADY_RECORDED"' in again.content.decode()
    assert Outcome.objects.count() == 1


@pytest.mark.parametrize(
    ("answer", "stored"), [("true", True), ("false", False), ("", None)], ids=["yes", "no", "unsaid"]
)
def test_the_day_28_outcome_takes_yes_no_or_unsaid_for_icu_and_respiratory_failure(
    login, pharmacist, nurse, answer, stored
):
    # The audit's case, in the page's language (Italian): day 28, WHO-CPS 2, "Sì"/"No"/"—" to both questions.
    # The select posts "true"/"false"/"": the API takes JSON booleans, so the form must give it one.
    prescriber = login("prescriber.milano")
    prescribed = timezone.now() - timedelta(days=29)  # day 28 of a course begun the day after has come
    prescription = submit(
        prescriber, prescribed_at=local_input(prescribed), consent_date=rome_date(prescribed).isoformat()
    )
    dispense(pharmacist, prescription)
    administer(nurse, prescription, prescribed + timedelta(days=1))

    response = prescriber.post(
        action_url("outcome", prescription),
        {
            "outcome-day": "28",
            "outcome-who_cps": "2",
            "outcome-assessed_on": rome_today().isoformat(),
            "outcome-icu_admission": answer,
            "outcome-severe_respiratory_failure": answer,
        },
        follow=True,
    )

    html = response.content.decode()
    assert "valore booleano" not in html
    assert response.redirect_chain == [(detail_url(prescription), 302)], html[:3000]
    assert "WHO-CPS al giorno 28 registrata." in html
    outcome = Outcome.objects.get(prescription=prescription)
    assert (outcome.day, outcome.who_cps) == (28, 2)
    assert outcome.icu_admission is stored
    assert outcome.severe_respiratory_failure is stored


# --- List, menu, home, languages ----------------------------------------------------------------


def test_the_list_filters_and_paginates(prescriber, pharmacist, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    first = submit(prescriber)
    dispense(pharmacist, first)
    submit(prescriber, fiscal_code=fiscal_code(name="LCU", birth_date=BIRTH), pao2_mmhg="45", fio2="0.30")
    submit(prescriber, fiscal_code=fiscal_code(name="GNN", birth_date=BIRTH))
    url = reverse("prescriptions:list")

    everything = prescriber.get(url).content.decode()
    assert "Page 1 of 2" in everything
    assert len(re.findall(r"<tr data-id=", everything)) == 2
    second = prescriber.get(url, {"page": 2}).content.decode()
    assert len(re.findall(r"<tr data-id=", second)) == 1

    dispensed = prescriber.get(url, {"status": "dispensed"}).content.decode()
    assert re.findall(r'<tr data-id="([^"]+)"', dispensed) == [str(first.pk)]
    tomorrow = rome_today() + timedelta(days=1)
    assert "<tr data-id=" not in prescriber.get(url, {"submitted_from": tomorrow}).content.decode()
    bad_date = prescriber.get(url, {"submitted_from": "not a date"})
    assert bad_date.status_code == 200
    assert 'class="error"' in field_html(bad_date.content.decode(), "submitted_from")


@pytest.mark.parametrize(
    ("username", "present", "absent"),
    [
        (
            "prescriber.milano",
            ["prescriptions:new", "prescriptions:list", "prescriptions:doses_due"],
            ["prescriptions:dispensing_queue"],
        ),
        (
            "pharmacist.milano",
            ["prescriptions:dispensing_queue", "prescriptions:list"],
            ["prescriptions:new", "prescriptions:doses_due"],
        ),
        (
            "nurse.milano",
            ["prescriptions:doses_due", "prescriptions:list"],
            ["prescriptions:new", "prescriptions:dispensing_queue"],
        ),
        ("officer.lombardia", ["prescriptions:list"], ["prescriptions:new", "prescriptions:dispensing_queue"]),
    ],
)
def test_the_menu_and_home_page_offer_each_role_its_pages(login, username, present, absent):
    html = login(username).get(reverse("home")).content.decode()
    menu = re.search(r'<nav class="menu">(.*?)</nav>', html, re.S).group(1)
    panel = re.search(r'<section class="card role-panel">(.*?)</section>', html, re.S).group(1)
    for name in present:
        assert f'href="{reverse(name)}"' in menu
        assert f'href="{reverse(name)}"' in panel
    for name in absent:
        assert f'href="{reverse(name)}"' not in menu
    assert ('href="/reports/"' in menu) == (username == "officer.lombardia")


def test_italian_is_the_default_and_english_is_a_choice(login):
    italian = login("prescriber.milano").get(reverse("prescriptions:new")).content.decode()
    english = login("prescriber.milano", language="en").get(reverse("prescriptions:new")).content.decode()
    assert '<html lang="it">' in italian and '<html lang="en">' in english
    assert "Sì" in field_html(italian, "hospitalised") and "Yes" not in field_html(italian, "hospitalised")
    assert "Yes" in field_html(english, "hospitalised")

    blank = {"informed_consent": "on"}
    italian_errors = login("prescriber.milano").post(reverse("prescriptions:new"), blank).content.decode()
    english = login("prescriber.milano", language="en")
    english_errors = english.post(reverse("prescriptions:new"), blank).content.decode()
    assert "Campo obbligatorio." in field_html(italian_errors, "pao2_mmhg")
    assert "This field is required." in field_html(english_errors, "pao2_mmhg")


# --- Issue 10: baseline, co-medication during the course, pharmacovigilance, outcomes ----------------


def test_the_baseline_is_submitted_from_the_page_and_shown_with_its_warning(prescriber):
    onset = rome_today() - timedelta(days=2)  # day 3 of illness: before the hyperinflammatory phase
    prescription = submit(
        prescriber,
        symptom_onset_on=onset.isoformat(),
        sars_cov_2_test_on=onset.isoformat(),
        sars_cov_2_test_type="antigen",
        dexamethasone_dose_mg="6",
        remdesivir="true",
    )

    assert prescription.symptom_onset_on == onset and prescription.sars_cov_2_test_type == "antigen"
    assert prescription.remdesivir is True and prescription.active_serious_infection is None
    html = prescriber.get(detail_url(prescription)).content.decode()
    assert "day 3 of illness" in html
    assert 'data-code="ILLNESS_DAY_OUTSIDE_HYPERINFLAMMATORY_PHASE"' in html


def test_the_new_prescription_form_sends_its_yes_no_answers_as_json_booleans():
    # The API's JSON booleans (the baseline's as well): "Sì" is true, "No" false, "—" not sent.
    form = PrescriptionForm(
        data=prescription_fields(remdesivir="false", active_serious_infection="true", hospitalised="true")
    )
    payload = form.payload()
    assert (payload["baseline"]["remdesivir"], payload["baseline"]["active_serious_infection"]) == (False, True)
    assert payload["assessment"]["hospitalised"] is True
    unsaid = PrescriptionForm(data=prescription_fields(remdesivir="", active_serious_infection="")).payload()
    baseline = unsaid.get("baseline", {})
    assert "remdesivir" not in baseline and "active_serious_infection" not in baseline


def test_a_wrong_baseline_date_is_an_error_next_to_it(prescriber):
    fields = prescription_fields(symptom_onset_on=(rome_today() + timedelta(days=3)).isoformat())

    response = prescriber.post(reverse("prescriptions:new"), fields)

    assert response.status_code == 200
    assert 'class="error"' in field_html(response.content.decode(), "symptom_onset_on")
    assert not Prescription.objects.exists()


def test_an_il_inhibitor_started_during_the_course_raises_the_blocking_alert_on_the_page(nurse, dispensed):
    response = nurse.post(
        action_url("concomitant_medication", dispensed),
        {
            "concomitant_medication-name": "RoActemra",
            "concomitant_medication-started_on": rome_today().isoformat(),
            "concomitant_medication-dose": "8 mg/kg IV",
        },
        follow=True,
    )

    assert response.redirect_chain == [(detail_url(dispensed), 302)]
    html = response.content.decode()
    assert re.search(r'<div class="alert blocking" data-code="COMEDICATION_IL_JAK" role="alert">', html)
    assert "not allowed under L.648" in html
    assert dispensed.concomitant_medications.get().il_jak_inhibitor


def test_a_medicine_without_name_or_code_is_an_error_next_to_the_name(nurse, dispensed):
    response = nurse.post(
        action_url("concomitant_medication", dispensed),
        {"concomitant_medication-started_on": rome_today().isoformat()},
    )

    assert response.status_code == 200
    assert 'class="error"' in field_html(response.content.decode(), "concomitant_medication-name")


def test_an_adverse_event_keeps_its_pharmacovigilance_report_from_the_page(nurse, dispensed):
    response = nurse.post(
        action_url("adverse_event", dispensed),
        {
            "adverse_event-category": "hypersensitivity",
            "adverse_event-onset_date": rome_today().isoformat(),
            "adverse_event-description": "urticaria",
            "adverse_event-reported_to_pharmacovigilance": "on",
            "adverse_event-meddra_preferred_term": "Urticaria",
            "adverse_event-causality": "probable",
            "adverse_event-pharmacovigilance_report_number": "RNF-42",
        },
        follow=True,
    )

    assert response.redirect_chain == [(detail_url(dispensed), 302)]
    assert "RNF-42" in response.content.decode()
    event = dispensed.adverse_events.get()
    assert (event.meddra_preferred_term, event.causality) == ("Urticaria", "probable")


def test_an_adverse_event_keeps_its_meddra_code_from_the_page(nurse, dispensed):
    response = nurse.post(
        action_url("adverse_event", dispensed),
        {
            "adverse_event-category": "hypersensitivity",
            "adverse_event-onset_date": rome_today().isoformat(),
            "adverse_event-description": "urticaria",
            "adverse_event-meddra_preferred_term": "Urticaria",
            "adverse_event-meddra_code": "10046735",
            "adverse_event-meddra_version": "27.1",
        },
        follow=True,
    )

    assert response.redirect_chain == [(detail_url(dispensed), 302)]
    assert "10046735" in response.content.decode()
    event = dispensed.adverse_events.get()
    assert (event.meddra_code, event.meddra_version) == ("10046735", "27.1")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"adverse_event-meddra_code": "1004673", "adverse_event-meddra_version": "27.1"}, "meddra_code"),
        ({"adverse_event-meddra_code": "10046735", "adverse_event-meddra_version": "27,1"}, "meddra_version"),
        ({"adverse_event-meddra_code": "10046735"}, "meddra_version"),
    ],
)
def test_a_wrong_meddra_code_is_an_error_next_to_its_field(nurse, dispensed, fields, field):
    response = nurse.post(
        action_url("adverse_event", dispensed),
        {
            "adverse_event-category": "hypersensitivity",
            "adverse_event-onset_date": rome_today().isoformat(),
            "adverse_event-description": "urticaria",
            **fields,
        },
    )

    assert response.status_code == 200
    assert 'class="error"' in field_html(response.content.decode(), f"adverse_event-{field}")
    assert not dispensed.adverse_events.exists()


# --- The live verdict tells the truth: what would refuse the submission (issue 16) ----------------------------


def test_the_live_verdict_shows_an_active_course_and_links_to_it(prescriber, awaiting):
    response = check(prescriber)
    html = response.content.decode()

    assert response.status_code == 200
    assert 'data-eligible="true"' in html and 'data-blocked="true"' in html
    assert 'data-blocker="ACTIVE_COURSE"' in html
    assert "The criteria are met, but the submission would be refused" in html
    assert f'href="{reverse("prescriptions:detail", kwargs={"prescription_id": awaiting.pk})}"' in html
    shown = re.sub(r"<[^>]+>", " ", html)  # the text a user reads: no raw code, no id
    assert "ACTIVE_COURSE" not in shown and str(awaiting.pk)[:8] not in shown and "awaiting_dispensing" not in shown


def test_the_live_verdict_of_a_new_patient_shows_nothing_in_the_way(prescriber):
    html = check(prescriber).content.decode()

    assert 'data-eligible="true"' in html
    assert "data-blocked" not in html and "data-blockers" not in html


def test_the_live_verdict_waits_for_a_right_fiscal_code_before_the_submission_checks(prescriber, awaiting):
    html = check(prescriber, fiscal_code=PATIENT[:10]).content.decode()

    assert 'data-eligible="true"' in html  # the criteria still show while the code is being typed
    assert "data-blockers" not in html


def test_a_refused_second_course_says_it_in_words_and_links_to_the_first(prescriber, awaiting):
    html = prescriber.post(reverse("prescriptions:new"), prescription_fields()).content.decode()

    assert f'href="{reverse("prescriptions:detail", kwargs={"prescription_id": awaiting.pk})}"' in html
    shown = re.sub(r"<[^>]+>", " ", html)
    assert "already has an active course of anakinra" in shown
    assert "ACTIVE_COURSE" not in shown and str(awaiting.pk)[:8] not in shown


def test_the_live_verdict_warns_for_pregnancy_and_a_live_vaccine(prescriber):
    rows = verdict_rows(check(prescriber, pregnancy_status="breastfeeding", live_vaccine="on").content.decode())
    assert (rows["PREGNANCY_BREASTFEEDING"], rows["LIVE_VACCINE"]) == ("warn", "warn")

    rows = verdict_rows(check(prescriber, pregnancy_status="none").content.decode())
    assert (rows["PREGNANCY_BREASTFEEDING"], rows["LIVE_VACCINE"]) == ("pass", "pass")


def test_a_live_vaccine_ticked_on_the_page_is_judged_and_kept(prescriber):
    prescriber.post(reverse("prescriptions:new"), prescription_fields(live_vaccine="on", pregnancy_status="pregnant"))

    prescription = Prescription.objects.get()
    outcomes = {result["code"]: result["outcome"] for result in prescription.eligibility["results"]}
    assert (outcomes["LIVE_VACCINE"], outcomes["PREGNANCY_BREASTFEEDING"]) == ("warn", "warn")
    assert prescription.status == PrescriptionStatus.AWAITING_DISPENSING


def test_the_live_verdict_refuses_a_late_registration_the_submission_would_refuse(prescriber):
    too_old = local_input(timezone.now() - timedelta(days=31))

    html = check(prescriber, prescribed_at=too_old).content.decode()

    assert "data-eligible" not in html  # no "eligible" that the submission would then refuse
    assert "at most 30 days" in html
