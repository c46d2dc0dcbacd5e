"""The regimen has one source: the criteria version's data (issue 17). A version whose course lasts 7 days instead
of 10 changes the course everywhere it shows — the services (the window, the dose that completes the course, the
syringes), the page, the API, the printable form, the FHIR dosage — with no change of code."""

import dataclasses
import io

import pytest
from django.conf import settings
from pypdf import PdfReader

import prescriptions.eligibility as eligibility
from prescriptions.course import regimen
from prescriptions.eligibility import versioning
from prescriptions.interop.fhir import prescription_bundle
from prescriptions.models import PrescriptionStatus
from registry.errors import Conflict, InvalidInput

from . import factories as f


@pytest.fixture
def seven_day_version(monkeypatch):
    """The shipped version with both regimens lasting 7 days (7 daily doses; 4 every 48 h), as if its JSON said so."""
    (shipped,) = versioning.SHIPPED_VERSIONS
    seven = dataclasses.replace(
        shipped,
        regimen=dataclasses.replace(shipped.regimen, duration_days=7),
        renal_regimen=dataclasses.replace(shipped.renal_regimen, duration_days=7),
    )
    monkeypatch.setattr(versioning, "SHIPPED_VERSIONS", (seven,))
    monkeypatch.setattr(eligibility, "SHIPPED_VERSIONS", (seven,))
    regimen.regimen_of.cache_clear()
    yield seven
    regimen.regimen_of.cache_clear()


def test_the_shipped_version_gives_ten_days():
    course = regimen.regimen_of("L648-2021-10", 24)
    assert (course.window_days, course.doses) == (10, 10)
    assert regimen.regimen_of("L648-2021-10", 48).doses == 5


def test_a_seven_day_version_changes_the_course_everywhere(seven_day_version, demo, client_for, client):
    # The submission's default regimen is the version's: 7 days, eligible.
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=12, dose_days_ago=[11, 10], syringes=7)
    assert prescription.eligible
    assert (regimen.course_regimen(prescription).window_days, regimen.course_regimen(prescription).doses) == (7, 7)

    # Service: no eighth syringe; day 8 is past the window.
    with pytest.raises((InvalidInput, Conflict)):
        f.dispense(demo["pharmacist.milano"], prescription, syringes=1)
    nurse = demo["nurse.milano"]
    for days in (9, 8, 7, 6, 5):  # days 3 to 7
        f.administer(nurse, prescription, f.days_ago(days))
    prescription.refresh_from_db()
    assert prescription.doses_administered == 7
    assert prescription.status == PrescriptionStatus.COMPLETED  # the seventh dose completes the course

    other = f.prescription_at(demo, "in_course", prescribed_days_ago=12, dose_days_ago=[11], syringes=7)
    with pytest.raises(Conflict) as refused:
        f.administer(nurse, other, f.days_ago(4))  # day 8
    assert refused.value.code == "COURSE_WINDOW_ENDED"

    # API: the detail names the course's days and doses.
    detail = client_for("prescriber.milano").get(f"/api/v1/prescriptions/{prescription.pk}/").json()
    assert (detail["course_days"], detail["course_doses"]) == (7, 7)

    # Page: the regimen line, the counters and the grid's days.
    client.force_login(demo["prescriber.milano"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(f"/prescriptions/{prescription.pk}/", headers={"Accept-Language": "en"}).content.decode()
    assert "100 mg SC every 24 hours for 7 days (7 doses)." in page
    assert "for 10 days" not in page
    assert "Doses given: <strong>7</strong>/7" in page
    new_page = client.get("/prescriptions/new/", headers={"Accept-Language": "en"}).content.decode()
    assert "for 7 days" in new_page and "for 10 days" not in new_page

    # The printable request form and the FHIR dosage.
    printed = client.get(f"/prescriptions/{prescription.pk}/scheda.pdf", headers={"Accept-Language": "en"})
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(printed.content)).pages)
    assert "for 7 days (7 doses)" in " ".join(text.split())
    bundle = prescription_bundle(prescription)
    (request,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationRequest"]
    repeat = request["dosageInstruction"][0]["timing"]["repeat"]
    assert (repeat["boundsDuration"]["value"], repeat["count"]) == (7, 7)


def test_the_renal_regimen_of_a_seven_day_version(seven_day_version):
    course = regimen.regimen_of("L648-2021-10", 48)
    assert (course.window_days, course.doses, course.interval_days) == (7, 4, 2)
