"""The lock against a race, on real PostgreSQL: a write in flight when the officer signs either commits before the
signed data are read (and is in them) or meets the lock; none slips in between."""

import os
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connections, transaction
from django.test import RequestFactory
from django.utils import timezone

from prescriptions import services
from prescriptions.models import LabResult
from registry.errors import Conflict
from registry.models import Region
from registry.regions import REGIONS
from reports import submissions
from reports.models import SubmissionSignature
from tests.conftest import DEMO_PASSWORD
from tests.prescriptions import factories as f

pytestmark = pytest.mark.services


@pytest.fixture
def people(postgresql, transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    for code, name in REGIONS:
        Region.objects.update_or_create(code=code, defaults={"name": name})
    with open(os.devnull, "w") as devnull:
        call_command("seed_demo", force=True, stdout=devnull)
    return {user.username: user for user in get_user_model().objects.all()}


def test_an_approval_waits_for_the_write_in_flight_and_the_next_write_meets_the_lock(people):
    prescription = f.prescription_at(people, "in_course")
    today = f.today()
    officer = people["officer.lombardia"]
    submission, _created = submissions.submission_open(
        user=officer, region_code="030", year=today.year, quarter=(today.month - 1) // 3 + 1
    )
    checked = threading.Event()
    release = threading.Event()
    approved_at: list[float] = []
    committed_at: list[float] = []

    def write_in_flight():
        try:
            with transaction.atomic():
                result = services.lab_result_record(
                    user=people["nurse.milano"],
                    prescription=prescription,
                    test="anc",
                    value=Decimal("2.0"),
                    upper_limit_normal=None,
                    collected_at=timezone.now() - timedelta(minutes=1),
                )
                checked.set()  # past the lock's check, not committed yet
                release.wait(10)
                time.sleep(0.5)
                committed_at.append(time.monotonic())
            assert result.pk
        finally:
            connections.close_all()

    def approve():
        try:
            request = RequestFactory().post("/api/v1/quarterly-submissions/x/approve/", REMOTE_ADDR="10.0.0.9")
            submissions.submission_approve(
                user=officer,
                submission_id=submission.pk,
                statement_accepted=True,
                password=DEMO_PASSWORD,
                http_request=request,
            )
            approved_at.append(time.monotonic())
        finally:
            connections.close_all()

    writer = threading.Thread(target=write_in_flight)
    writer.start()
    assert checked.wait(20)
    signer = threading.Thread(target=approve)
    signer.start()
    signer.join(6)  # an approval left alone takes a second or two
    assert signer.is_alive() and not approved_at  # it waits for the write in flight
    release.set()
    writer.join(30)
    signer.join(60)
    assert committed_at and approved_at and approved_at[0] > committed_at[0]

    # The write that was in flight is in the signed figures; a write after the approval meets the lock.
    assert LabResult.objects.filter(prescription=prescription).count() == 1
    assert SubmissionSignature.objects.filter(submission=submission).count() == 1
    with pytest.raises(Conflict) as refused:
        services.lab_result_record(
            user=people["nurse.milano"],
            prescription=prescription,
            test="anc",
            value=Decimal("2.1"),
            upper_limit_normal=None,
            collected_at=timezone.now() - timedelta(minutes=1),
        )
    assert refused.value.code == "PERIOD_LOCKED"
