"""Notifications (API.md, "Notifications"; issue 18): every kind reaches its person once, the API shows each person
their own in their language, the bell counts the unread, e-mail follows the preference and is sent once."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from prescriptions import notices
from prescriptions import services as rx
from prescriptions.models import Outcome
from registry import notifications, services
from registry.calendar import rome_today
from registry.models import Centre, Notification, PrescriberAuthorisation, StaffProfile
from registry.notifications import notify
from reports import services as report_services
from tests.prescriptions import factories as f

pytestmark = pytest.mark.django_db

USERS = [
    "prescriber.milano",
    "prescriber.roma",
    "pharmacist.milano",
    "pharmacist.roma",
    "nurse.milano",
    "officer.lombardia",
    "officer.lazio",
    "aifa",
    "admin",
]


def told(kind: str, **filters) -> list[str]:
    """Who was told of ``kind``, by username, sorted."""
    rows = Notification.objects.filter(kind=kind, **filters).select_related("recipient")
    return sorted(n.recipient.username for n in rows)


# --- Every kind reaches its person, once --------------------------------------------------------------------


def test_an_eligible_request_tells_the_pharmacists_of_its_centres_pharmacy(demo):
    prescription = f.submit(demo["prescriber.milano"])
    rejected = f.submit(demo["prescriber.milano"], eligible=False)

    assert told("request_waiting", prescription_id=prescription.pk) == ["pharmacist.milano"]
    assert told("request_waiting", prescription_id=rejected.pk) == []
    # The same event again tells nobody twice.
    notices.request_waiting(prescription)
    assert told("request_waiting", prescription_id=prescription.pk) == ["pharmacist.milano"]


def test_a_dispensation_tells_the_prescriber(demo):
    prescription = f.prescription_at(demo, "dispensed", syringes=4)
    assert told("dispensed", prescription_id=prescription.pk) == ["prescriber.milano"]
    f.dispense(demo["pharmacist.milano"], prescription, syringes=2)
    assert told("dispensed", prescription_id=prescription.pk) == ["prescriber.milano", "prescriber.milano"]


def test_a_hold_and_a_refusal_tell_the_prescriber(demo):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    pharmacist = demo["pharmacist.milano"]
    rx.dispensing_hold(pharmacist=pharmacist, prescription=prescription, reason="out_of_stock")
    rx.dispensing_refuse(pharmacist=pharmacist, prescription=prescription, category="clinical_objection")
    assert told("on_hold", prescription_id=prescription.pk) == ["prescriber.milano"]
    assert told("refused", prescription_id=prescription.pk) == ["prescriber.milano"]


def test_a_blocking_alert_tells_the_prescriber_once_per_record(demo):
    prescription = f.prescription_at(demo, "in_course")

    def low_anc():
        return rx.lab_result_record(
            user=demo["nurse.milano"],
            prescription=prescription,
            test="anc",
            value=Decimal("0.9"),
            upper_limit_normal=None,
            collected_at=timezone.now() - timedelta(hours=1),
        )

    low_anc()
    assert told("blocking_alert", prescription_id=prescription.pk) == ["prescriber.milano"]
    # A normal count raises nothing.
    rx.lab_result_record(
        user=demo["nurse.milano"],
        prescription=prescription,
        test="anc",
        value=Decimal("3.1"),
        upper_limit_normal=None,
        collected_at=timezone.now() - timedelta(minutes=30),
    )
    assert len(told("blocking_alert", prescription_id=prescription.pk)) == 1


def test_a_due_day_28_outcome_tells_the_prescriber_once(demo):
    # Prescribed and first dosed 29 days ago: day 28 was yesterday.
    prescription = f.prescription_at(demo, "in_course")
    today = rome_today()

    assert notices.outcomes_due_notify(today=today) >= 1
    notices.outcomes_due_notify(today=today)
    assert told("outcome_due", prescription_id=prescription.pk) == ["prescriber.milano"]


def test_a_recorded_day_28_outcome_is_not_due(demo):
    prescription = f.prescription_at(demo, "in_course")
    Outcome.objects.create(
        prescription=prescription,
        day=28,
        who_cps=1,
        assessed_on=rome_today(),
        recorded_by=demo["prescriber.milano"],
        recorded_at=timezone.now(),
    )
    notices.outcomes_due_notify(today=rome_today())
    assert told("outcome_due", prescription_id=prescription.pk) == []


def test_an_authorisation_ending_within_30_days_tells_the_prescriber_and_the_regions_officers_once(demo):
    centre = Centre.objects.get(name="Ospedale Demo Milano")
    prescriber = services.staff_create(
        actor=demo["admin"], username="prescriber.ending", password=None, role="prescriber", centre=centre
    )
    today = rome_today()
    PrescriberAuthorisation.objects.create(
        prescriber=prescriber,
        centre=centre,
        valid_from=today - timedelta(days=100),
        valid_to=today + timedelta(days=30),
        granted_by=demo["officer.lombardia"],
    )
    PrescriberAuthorisation.objects.create(
        prescriber=prescriber,
        centre=centre,
        valid_from=today - timedelta(days=100),
        valid_to=today + timedelta(days=31),
        granted_by=demo["officer.lombardia"],
    )

    notifications.authorisations_expiring_notify(today=today)
    notifications.authorisations_expiring_notify(today=today)

    assert told("authorisation_expiring") == ["officer.lombardia", "prescriber.ending"]


def test_a_finished_report_tells_who_asked(demo, django_capture_on_commit_callbacks, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        run = report_services.report_request(
            user=demo["officer.lombardia"],
            kind="monitoring",
            region_code="030",
            period_start=date(2021, 11, 1),
            period_end=date(2021, 11, 30),
        )
    run.refresh_from_db()
    assert run.status == "done"
    assert told("report_ready") == ["officer.lombardia"]
    assert Notification.objects.get(kind="report_ready").params["run"] == str(run.pk)


# --- The API: each person's own -----------------------------------------------------------------------------


@pytest.fixture
def one_each(demo):
    """One notification for every demo user, and a second, older, read one for the prescriber."""
    for username in USERS:
        notify("report_ready", [demo[username]], event_key=f"test:{username}", params={"run": "x"})
    old = notify("report_ready", [demo["prescriber.milano"]], event_key="test:old")
    assert old == 1
    Notification.objects.filter(event_key="test:old").update(
        read_at=timezone.now(), created_at=timezone.now() - timedelta(days=1)
    )


@pytest.mark.parametrize("username", USERS)
def test_everyone_lists_only_their_own(client_for, demo, one_each, username):
    response = client_for(username).get("/api/v1/notifications/")
    assert response.status_code == 200
    results = response.json()["results"]
    ids = {n["id"] for n in results}
    assert ids == set(Notification.objects.filter(recipient=demo[username]).values_list("id", flat=True))
    assert set(results[0]) == {"id", "kind", "created_at", "read_at", "prescription", "message"}


def test_the_list_is_newest_first_and_filters_the_unread(client_for, one_each):
    client = client_for("prescriber.milano")
    every = client.get("/api/v1/notifications/").json()["results"]
    assert [n["read_at"] is None for n in every] == [True, False]
    unread = client.get("/api/v1/notifications/?unread=true").json()["results"]
    assert len(unread) == 1 and unread[0]["read_at"] is None
    assert client.get("/api/v1/notifications/?unread=maybe").status_code == 400


def test_the_message_is_in_the_readers_language(client_for, demo):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    rx.dispensing_hold(pharmacist=demo["pharmacist.milano"], prescription=prescription, reason="out_of_stock")
    client = client_for("prescriber.milano")
    english = client.get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]
    italian = client.get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="it").json()["results"][0]
    assert english["kind"] == "on_hold" and english["prescription"] == str(prescription.pk)
    assert "out of stock" in english["message"]
    assert "farmaco esaurito" in italian["message"]


@pytest.mark.parametrize("username", USERS)
def test_marking_read_is_for_ones_own_only(client_for, demo, one_each, username):
    own = Notification.objects.filter(recipient=demo[username], read_at__isnull=True).get()
    others = Notification.objects.exclude(recipient=demo[username]).first()
    client = client_for(username)

    response = client.post(f"/api/v1/notifications/{own.pk}/read/")
    assert response.status_code == 200
    assert response.json()["read_at"]
    assert client.post(f"/api/v1/notifications/{own.pk}/read/").status_code == 200  # read stays read
    refused = client.post(f"/api/v1/notifications/{others.pk}/read/")
    assert refused.status_code == 404
    assert refused.json()["code"] == "NOT_FOUND"
    assert client.post("/api/v1/notifications/99999999999999999999/read/").status_code == 404
    others.refresh_from_db()
    assert others.read_at is None


def test_anonymous_callers_are_refused(one_each):
    assert Client().get("/api/v1/notifications/").status_code in (401, 403)


# --- The bell and the page -----------------------------------------------------------------------------------


def test_the_bell_counts_the_unread_on_every_page_and_the_page_marks_them_read(demo, one_each):
    client = Client()
    client.force_login(demo["prescriber.milano"])
    notify("report_ready", [demo["prescriber.milano"]], event_key="test:second")
    for url in (reverse("home"), reverse("prescriptions:list"), reverse("notifications")):
        assert 'data-unread="2"' in client.get(url).content.decode(), url

    first = Notification.objects.filter(recipient=demo["prescriber.milano"], read_at__isnull=True).first()
    client.post(reverse("notification-read", args=[first.pk]))
    assert 'data-unread="1"' in client.get(reverse("home")).content.decode()
    client.post(reverse("notifications-read-all"))
    assert 'data-unread="0"' in client.get(reverse("home")).content.decode()
    # Another's notification is a 404.
    other = Notification.objects.exclude(recipient=demo["prescriber.milano"]).first()
    assert client.post(reverse("notification-read", args=[other.pk])).status_code == 404


def test_the_email_preference_is_changed_on_its_page(demo):
    client = Client()
    client.force_login(demo["pharmacist.milano"])
    assert client.get(reverse("notification-settings")).status_code == 200
    client.post(reverse("notification-settings"), {})
    assert StaffProfile.objects.get(user=demo["pharmacist.milano"]).email_notifications is False
    client.post(reverse("notification-settings"), {"email_notifications": "on"})
    assert StaffProfile.objects.get(user=demo["pharmacist.milano"]).email_notifications is True


def test_a_change_of_the_email_preference_is_audited_and_no_change_is_not(demo):
    from registry.audit_actions import AuditAction
    from registry.models import AuditEvent

    user = demo["pharmacist.milano"]
    client = Client()
    client.force_login(user)
    client.post(reverse("notification-settings"), {})
    client.post(reverse("notification-settings"), {})  # already off: nothing changes, nothing recorded
    events = AuditEvent.objects.filter(action=AuditAction.STAFF_EMAIL_PREFERENCE, object_id=str(user.pk))
    assert [event.changes for event in events] == [{"email_notifications": [True, False]}]
    assert events.get().actor_id == user.pk


# --- E-mail ---------------------------------------------------------------------------------------------------


@pytest.fixture
def prescriber_with_email(demo):
    user = demo["prescriber.milano"]
    user.email = "prescriber@example.org"
    user.save(update_fields=["email"])
    return user


def test_the_email_task_sends_each_notification_once(demo, prescriber_with_email):
    from registry import tasks

    mail.outbox.clear()
    notify("report_ready", [prescriber_with_email, demo["pharmacist.milano"]], event_key="test:mail")

    assert tasks.send_notification_emails.delay(kind="report_ready", event_key="test:mail").get() == 1
    assert tasks.send_notification_emails.delay(kind="report_ready", event_key="test:mail").get() == 0
    assert tasks.send_notification_emails.delay().get() == 0  # the sweep finds nothing left either
    assert [m.to for m in mail.outbox] == [["prescriber@example.org"]]
    assert "Registro 648" in mail.outbox[0].subject
    assert Notification.objects.get(recipient=prescriber_with_email, event_key="test:mail").emailed_at is not None


def test_a_hold_emails_the_prescriber_after_the_commit(demo, prescriber_with_email, django_capture_on_commit_callbacks):
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        rx.dispensing_hold(pharmacist=demo["pharmacist.milano"], prescription=prescription, reason="out_of_stock")
    assert [m.to for m in mail.outbox] == [["prescriber@example.org"]]
    # In Italian, the registry's language.
    assert "farmaco esaurito" in mail.outbox[0].body


def test_no_email_for_who_turned_it_off(demo, prescriber_with_email):
    StaffProfile.objects.filter(user=prescriber_with_email).update(email_notifications=False)
    mail.outbox.clear()
    notify("report_ready", [prescriber_with_email], event_key="test:off")
    assert notifications.notification_emails_send(kind="report_ready", event_key="test:off") == 0
    assert mail.outbox == []


def test_a_request_waiting_queues_the_email_task_only_when_a_pharmacist_takes_email(
    demo, django_capture_on_commit_callbacks
):
    """Issue 17: the pharmacists told of a request are selected in SQL; when none of those just told takes e-mail
    (no address, or turned off) there is nothing to send, so no task is queued after the commit (on a
    submission's path: the broker's round trip, or the task itself where tasks run in-process)."""
    pharmacist = demo["pharmacist.milano"]
    pharmacists = notices.pharmacists_of(pharmacist.staff.pharmacy_id)
    assert pharmacist.email == ""
    with django_capture_on_commit_callbacks() as callbacks:
        assert notify("request_waiting", pharmacists, event_key="test:no-address", params={"centre": "x"}) == 1
    assert callbacks == []

    pharmacist.email = "pharmacist@example.org"
    pharmacist.save(update_fields=["email"])
    StaffProfile.objects.filter(user=pharmacist).update(email_notifications=False)
    with django_capture_on_commit_callbacks() as callbacks:
        assert notify("request_waiting", pharmacists, event_key="test:turned-off", params={"centre": "x"}) == 1
    assert callbacks == []

    StaffProfile.objects.filter(user=pharmacist).update(email_notifications=True)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert notify("request_waiting", pharmacists, event_key="test:mail", params={"centre": "x"}) == 1
    assert len(callbacks) == 1
    assert [m.to for m in mail.outbox] == [["pharmacist@example.org"]]
    # Told already: nothing written, nothing to send.
    with django_capture_on_commit_callbacks() as callbacks:
        assert notify("request_waiting", pharmacists, event_key="test:mail", params={"centre": "x"}) == 0
    assert callbacks == []


def test_a_scheduled_report_is_announced_to_the_regions_officers_once_in_the_app_and_by_email(
    demo, django_capture_on_commit_callbacks, settings, tmp_path
):
    """Issue 18: the month's and the quarter's reports the schedule makes reach the region's officers."""
    settings.MEDIA_ROOT = str(tmp_path)
    officer = demo["officer.lombardia"]
    officer.email = "officer@example.org"
    officer.save(update_fields=["email"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        run = report_services.report_request(
            user=demo["aifa"],  # the schedule's own request (reports.services.scheduled_runs_create), made by hand
            kind="monitoring",
            region_code="030",
            period_start=date(2021, 11, 1),
            period_end=date(2021, 11, 30),
            scheduled=True,
        )
    run.refresh_from_db()
    assert run.status == "done", run.error
    # The region's officers hear of it (not Lazio's).
    assert told("scheduled_report_ready") == ["officer.lombardia"]
    notification = Notification.objects.get(kind="scheduled_report_ready", recipient=officer)
    assert notification.params["run"] == str(run.pk)
    assert [m.to for m in mail.outbox] == [["officer@example.org"]]
    assert "report mensile di monitoraggio di Lombardia dal 01/11/2021 al 30/11/2021" in mail.outbox[0].body
    # The page links the notification to its report.
    client = Client()
    client.force_login(officer)
    assert f"/reports/{run.pk}/" in client.get(reverse("notifications")).content.decode()


def test_the_page_pages_and_keeps_its_filter(demo):
    user = demo["nurse.milano"]
    for i in range(30):
        notify("report_ready", [user], event_key=f"test:many:{i}")
    client = Client()
    client.force_login(user)
    html = client.get(reverse("notifications"), {"unread": "1"}).content.decode()
    assert html.count('class="notification unread"') == 25
    assert "?unread=1&amp;page=2" in html
    assert (
        client.get(reverse("notifications"), {"unread": "1", "page": "2"})
        .content.decode()
        .count('class="notification unread"')
        == 5
    )


def test_a_broker_that_is_down_never_fails_the_write_that_notified(
    demo, client_for, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    class Down:
        def apply_async(self, **kwargs):
            raise OperationalError("broker down")

    monkeypatch.setattr(notifications.current_app, "signature", lambda *args, **kwargs: Down())
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("pharmacist.milano").post(
            f"/api/v1/prescriptions/{prescription.pk}/hold/", {"reason": "out_of_stock"}, format="json"
        )
    assert response.status_code == 200
    assert told("on_hold", prescription_id=prescription.pk) == ["prescriber.milano"]
