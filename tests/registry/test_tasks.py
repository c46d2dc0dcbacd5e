"""Tasks queued by services after commit, executed by a real Celery worker on Redis."""

import time
from datetime import date

import pytest
from django.core import mail
from django.core.management import call_command

from registry import services
from registry.models import Centre, Role


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.services
def test_authorisation_notice_is_sent_by_a_real_worker_after_commit(live_celery_worker, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("seed_demo", force=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
    from django.contrib.auth import get_user_model

    User = get_user_model()
    officer = User.objects.get(username="officer.lombardia")
    centre = Centre.objects.get(name="Ospedale Demo Milano")
    prescriber = services.staff_create(
        actor=officer,
        username="dr.bianchi",
        password=None,
        role=Role.PRESCRIBER,
        centre=centre,
        email="bianchi@example.org",
    )
    mail.outbox.clear()

    services.prescriber_authorise(actor=officer, prescriber=prescriber, centre=centre, valid_from=date(2021, 10, 1))

    assert _wait_for(lambda: len(mail.outbox) == 1), "the worker did not send the notice"
    assert mail.outbox[0].to == ["bianchi@example.org"]
    assert "Ospedale Demo Milano" in mail.outbox[0].body


@pytest.mark.services
def test_a_rolled_back_service_queues_nothing(live_celery_worker, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("seed_demo", force=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
    from django.contrib.auth import get_user_model
    from django.db import transaction

    User = get_user_model()
    officer = User.objects.get(username="officer.lombardia")
    centre = Centre.objects.get(name="Ospedale Demo Milano")
    prescriber = services.staff_create(
        actor=officer,
        username="dr.verdi",
        password=None,
        role=Role.PRESCRIBER,
        centre=centre,
        email="verdi@example.org",
    )
    mail.outbox.clear()

    with pytest.raises(RuntimeError), transaction.atomic():
        services.prescriber_authorise(actor=officer, prescriber=prescriber, centre=centre, valid_from=date(2021, 10, 1))
        raise RuntimeError("the surrounding request failed")

    time.sleep(2)
    assert mail.outbox == []
