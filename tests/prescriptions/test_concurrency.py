"""Races on real PostgreSQL: parallel requests never break the course's invariants, and never answer a 500.

Each test starts its threads together on a barrier; each thread has its own API client and its own database
connection (closed when the thread ends), as two hospital systems calling at once would.
"""

import os
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import DatabaseError, connections, transaction
from rest_framework.test import APIClient

from prescriptions import services
from prescriptions.models import (
    ACTIVE_STATUSES,
    Administration,
    Dispensation,
    IdempotentRequest,
    Prescription,
)
from registry.audit import verify_chains
from registry.auth.tokens import token_issue
from registry.models import Centre, Patient, Region
from registry.regions import REGIONS

from . import factories as f

pytestmark = pytest.mark.services

URL = "/api/v1/prescriptions/"


@pytest.fixture
def people(postgresql, transactional_db):
    """The demo, committed for every connection to see (regions reloaded: an earlier flush may have taken them)."""
    for code, name in REGIONS:
        Region.objects.update_or_create(code=code, defaults={"name": name})
    with open(os.devnull, "w") as devnull:
        call_command("seed_demo", force=True, stdout=devnull)
    return {user.username: user for user in get_user_model().objects.all()}


def client(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")
    return api


def in_parallel(count: int, work) -> list:
    """Run ``work(i)`` in ``count`` threads started together; each result, or the exception it raised."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # reported to the test below
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    errors = [result for result in results if isinstance(result, BaseException)]
    assert not errors, f"a request raised: {errors!r}"
    return results


def answered(response) -> tuple[int, dict]:
    return response.status_code, response.json()


def codes(results) -> Counter:
    return Counter((status, body.get("code")) if status == 409 else (status, None) for status, body in results)


def test_parallel_dispensations_never_exceed_ten_syringes(people):
    prescription = f.prescription_at(people, "awaiting_dispensing")
    pharmacist = people["pharmacist.milano"]
    body = {"syringes": 3, "lot_number": "RACE-1", "expiry_date": (f.today() + timedelta(days=90)).isoformat()}

    results = in_parallel(
        8, lambda i: answered(client(pharmacist).post(f"{URL}{prescription.pk}/dispensations/", body, format="json"))
    )

    assert codes(results) == Counter({(201, None): 3, (409, "OVER_QUANTITY"): 5})
    prescription.refresh_from_db()
    dispensed = sum(Dispensation.objects.filter(prescription=prescription).values_list("syringes", flat=True))
    assert prescription.syringes_dispensed == dispensed == 9
    assert list(verify_chains()) == []


@pytest.mark.parametrize("keys", ["none", "different"])
@pytest.mark.parametrize("known_patient", [False, True], ids=["new-patient", "known-patient"])
def test_parallel_submissions_for_one_patient_open_one_course(people, keys, known_patient):
    prescriber = people["prescriber.milano"]
    code = f.fiscal_code()
    if known_patient:
        f.submit(prescriber, code=code, eligible=False)
    body = f.submission_body(code=code)

    def submit(i):
        headers = {"HTTP_IDEMPOTENCY_KEY": f"key-{i}"} if keys == "different" else {}
        return answered(client(prescriber).post(URL, body, format="json", **headers))

    results = in_parallel(6, submit)

    assert codes(results) == Counter({(201, None): 1, (409, "ACTIVE_COURSE"): 5})
    assert Patient.objects.count() == 1
    assert Prescription.objects.filter(status__in=ACTIVE_STATUSES).count() == 1
    assert IdempotentRequest.objects.count() == (1 if keys == "different" else 0)
    assert list(verify_chains()) == []


@pytest.mark.parametrize("eligible", [True, False], ids=["eligible", "rejected"])
def test_parallel_retries_with_one_key_create_one_prescription(people, eligible):
    prescriber = people["prescriber.milano"]
    body = f.submission_body(eligible=eligible)

    results = in_parallel(
        6, lambda i: answered(client(prescriber).post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="one-key"))
    )

    statuses = {status for status, _body in results}
    assert statuses == {201}, results
    bodies = [body for _status, body in results]
    assert all(body == bodies[0] for body in bodies)
    assert Prescription.objects.count() == 1
    assert str(Prescription.objects.get().pk) == bodies[0]["id"]
    assert Patient.objects.count() == 1
    assert IdempotentRequest.objects.count() == 1
    assert list(verify_chains()) == []


def test_parallel_doses_on_one_rome_day_record_one(people):
    prescription = f.prescription_at(people, "dispensed")
    users = [people["nurse.milano"], people["prescriber.milano"]]

    def administer(i):
        body = {"administered_at": f.days_ago(5, 8 + i).isoformat(), "dose_mg": 100, "route": "SC"}
        return answered(client(users[i % 2]).post(f"{URL}{prescription.pk}/administrations/", body, format="json"))

    results = in_parallel(4, administer)

    assert codes(results) == Counter({(201, None): 1, (409, "DOSE_ALREADY_GIVEN_TODAY"): 3})
    prescription.refresh_from_db()
    assert prescription.doses_administered == 1 == Administration.objects.filter(prescription=prescription).count()
    assert list(verify_chains()) == []


def test_parallel_doses_never_exceed_the_syringes(people):
    prescription = f.prescription_at(people, "in_course", syringes=2, dose_days_ago=[6])
    nurse = people["nurse.milano"]

    def administer(i):
        # A different day each, all after day 1: only the one syringe left limits them.
        body = {"administered_at": f.days_ago(5 - i).isoformat(), "dose_mg": 100, "route": "SC"}
        return answered(client(nurse).post(f"{URL}{prescription.pk}/administrations/", body, format="json"))

    results = in_parallel(4, administer)

    assert codes(results) == Counter({(201, None): 1, (409, "NO_SYRINGE_LEFT"): 3})
    prescription.refresh_from_db()
    assert prescription.doses_administered == prescription.syringes_dispensed == 2


def test_a_locked_prescription_does_not_lock_its_centre(people):
    """A dose being recorded must not hold up the centre's other patients nor its officer."""
    prescription = f.prescription_at(people, "dispensed")
    other = f.prescription_at(people, "dispensed")
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                services._lock(prescription)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        with transaction.atomic():
            try:
                Centre.objects.select_for_update(nowait=True).get(pk=prescription.centre_id)
                Prescription.objects.select_for_update(nowait=True).get(pk=other.pk)
            except DatabaseError as exc:
                pytest.fail(f"locking one prescription locked more than its row: {exc}")
    finally:
        release.set()
        holder.join(timeout=30)
