"""A notification e-mail links to what it is about (audit of issue 18): the prescription, the report, or else the
person's notifications, as an absolute address built from ``SITE_URL`` (the registry's public address)."""

from datetime import date

import pytest
from django.conf import settings as django_settings
from django.core import mail

from prescriptions import services as rx
from registry import notifications
from registry.notifications import notify
from tests.prescriptions import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def prescriber(demo):
    user = demo["prescriber.milano"]
    user.email = "prescriber@example.org"
    user.save(update_fields=["email"])
    return user


def test_the_default_is_the_development_server():
    assert django_settings.SITE_URL == "http://127.0.0.1:8000"


def test_a_hold_email_links_to_the_prescription(demo, prescriber, settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://registro648.example.org/"
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        rx.dispensing_hold(pharmacist=demo["pharmacist.milano"], prescription=prescription, reason="out_of_stock")
    [message] = mail.outbox
    assert f"https://registro648.example.org/prescriptions/{prescription.pk}/" in message.body.split()
    assert "Apri la prescrizione" in message.body  # in Italian, the registry's language
    assert "https://registro648.example.org/notifications/settings/" in message.body.split()


def test_a_report_email_links_to_the_report(prescriber, settings):
    settings.SITE_URL = "https://registro648.example.org/regione"
    run = "0b0c6f1e-3c57-4a8e-9d7e-2a4a5f0c1d2e"
    notify("report_ready", [prescriber], event_key="test:link", params={"run": run})
    mail.outbox.clear()
    assert notifications.notification_emails_send(kind="report_ready", event_key="test:link") == 1
    assert f"https://registro648.example.org/regione/reports/{run}/" in mail.outbox[0].body.split()


def test_an_email_about_nothing_to_open_links_to_the_notifications(prescriber):
    notify("authorisation_expiring", [prescriber], event_key="test:page", params={"centre": "x", "valid_to": None})
    mail.outbox.clear()
    assert notifications.notification_emails_send(kind="authorisation_expiring", event_key="test:page") == 1
    assert "http://127.0.0.1:8000/notifications/" in mail.outbox[0].body.split()


def test_a_link_made_while_serving_under_a_path_prefix_is_not_prefixed_twice(settings):
    from django.urls import reverse, set_script_prefix

    from registry.notifications import site_url

    settings.SITE_URL = "https://example.org/regione/"
    set_script_prefix("/regione/")
    try:
        assert site_url(reverse("notifications")) == "https://example.org/regione/notifications/"
    finally:
        set_script_prefix("/")
    assert site_url(reverse("notifications")) == "https://example.org/regione/notifications/"


def test_the_deploy_check_warns_of_a_local_site_url(settings):
    from django.core import checks

    from registry.checks import SITE_URL_LOCAL

    settings.DEBUG = False
    ids = {message.id for message in checks.run_checks(include_deployment_checks=True)}
    assert SITE_URL_LOCAL in ids
    settings.SITE_URL = "https://registro648.regione.it"
    assert SITE_URL_LOCAL not in {message.id for message in checks.run_checks(include_deployment_checks=True)}


def test_the_notifications_page_opens_what_each_is_about_as_its_email_does(demo, client):
    from django.urls import reverse

    officer = demo["officer.lombardia"]
    submission = "5d1c0e7a-8c1e-4f0e-9a57-3f3b8f1e2a10"
    run = "0b0c6f1e-3c57-4a8e-9d7e-2a4a5f0c1d2e"
    quarter = {"submission": submission, "region": "Lombardia", "quarter": "Q4 2025", "version": 1, "comment": "x"}
    notify("submission_returned", [officer], event_key="test:quarter", params=quarter)
    notify("report_ready", [officer], event_key="test:report", params={"run": run})
    client.force_login(officer)
    html = client.get(reverse("notifications")).content.decode()
    assert f'href="{reverse("reports:quarter", args=[submission])}">Apri il trimestre</a>' in html
    assert f'href="{reverse("reports:run", args=[run])}">Apri il report</a>' in html


def test_the_authorisation_email_writes_its_days_as_the_reader_does(demo, prescriber):
    # The e-mail said "dal 2021-10-01": the days were ISO. Italian, the registry's language, in words.
    from registry.models import PrescriberAuthorisation
    from registry.tasks import send_authorisation_notice

    authorisation = PrescriberAuthorisation.objects.filter(prescriber=prescriber).earliest("valid_from")
    authorisation.valid_from, authorisation.valid_to = date(2021, 10, 1), date(2026, 12, 8)
    authorisation.save(update_fields=["valid_from", "valid_to"])
    mail.outbox.clear()

    assert send_authorisation_notice(str(authorisation.pk))

    [message] = mail.outbox
    assert "a partire dal giorno 1 ottobre 2021; termine: 8 dicembre 2026." in message.body, message.body
