"""The read-access log: every view of a prescription and every report file download leaves who, when, what.

Administrators see every entry in the admin; a regional officer sees their own region's entries only.
"""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from registry.access_log import Read, access_log_record, access_log_write
from registry.models import AccessKind, AccessLog
from reports.models import ReportRun
from tests.prescriptions.factories import submit
from tests.reports.test_cohort import build_cohort


@pytest.fixture
def prescription(demo):
    return submit(demo["prescriber.milano"])


def only_entry():
    """The one read logged, besides the display of the patient's decrypted identity (one row of its own)."""
    (entry,) = AccessLog.objects.exclude(kind=AccessKind.PATIENT_IDENTITY)
    return entry


def signed_in(username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(get_user_model().objects.get(username=username))  # the sign-in itself is tested elsewhere
    return client


@pytest.mark.parametrize(
    "path, kind",
    [
        ("/api/v1/prescriptions/{id}/", AccessKind.PRESCRIPTION_API),
        ("/api/v1/prescriptions/{id}/fhir/", AccessKind.PRESCRIPTION_FHIR),
    ],
    ids=["api-detail", "fhir"],
)
def test_reading_a_prescription_through_the_api_is_logged(prescription, client_for, demo, path, kind):
    response = client_for("nurse.milano").get(path.format(id=prescription.pk))

    assert response.status_code == 200
    entry = only_entry()
    assert (entry.user, entry.username, entry.kind) == (demo["nurse.milano"], "nurse.milano", kind)
    assert (entry.object_type, entry.object_id, entry.region_id) == (
        "prescriptions.prescription",
        str(prescription.pk),
        "030",
    )


def test_the_prescription_page_is_logged(prescription, demo):
    response = signed_in("pharmacist.milano").get(f"/prescriptions/{prescription.pk}/")

    assert response.status_code == 200
    entry = only_entry()
    assert (entry.username, entry.kind, entry.object_id) == (
        "pharmacist.milano",
        AccessKind.PRESCRIPTION_PAGE,
        str(prescription.pk),
    )


@pytest.mark.parametrize(
    "username, logged",
    [("nurse.milano", 1), ("pharmacist.milano", 1), ("officer.lombardia", 0), ("admin", 0)],
)
def test_showing_the_decrypted_identity_is_logged_once_per_response(prescription, username, logged):
    client = signed_in(username)

    client.get(f"/prescriptions/{prescription.pk}/")

    entries = AccessLog.objects.filter(kind=AccessKind.PATIENT_IDENTITY)
    assert entries.count() == logged
    if logged:
        assert (entries.get().username, entries.get().object_id, entries.get().region_id) == (
            username,
            str(prescription.pk),
            "030",
        )


def test_a_refused_read_is_not_logged_as_a_view(prescription, client_for):
    assert client_for("pharmacist.roma").get(f"/api/v1/prescriptions/{prescription.pk}/").status_code == 404
    assert not AccessLog.objects.exists()


def test_a_report_file_download_is_logged(demo, client_for, django_capture_on_commit_callbacks, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    cohort = build_cohort(demo)
    body = {"region": "030", "period_start": str(cohort.period_start), "period_end": str(cohort.period_end)}
    with django_capture_on_commit_callbacks(execute=True):
        run_id = client_for("officer.lombardia").post("/api/v1/reports/", body, format="json").json()["id"]
    logged_before = AccessLog.objects.order_by("-id").values_list("id", flat=True).first() or 0  # append-only

    response = client_for("officer.lombardia").get(f"/api/v1/reports/{run_id}/files/csv/")

    assert response.status_code == 200
    (entry,) = AccessLog.objects.filter(id__gt=logged_before).exclude(kind=AccessKind.PATIENT_IDENTITY)
    report_file = ReportRun.objects.get(pk=run_id).files.get(format="csv", audience="region")  # the officer's form
    assert (entry.username, entry.kind, entry.object_type, entry.object_id, entry.region_id) == (
        "officer.lombardia",
        AccessKind.REPORT_FILE,
        "reports.reportfile",
        str(report_file.pk),
        "030",
    )


def test_an_unknown_kind_is_refused(prescription, demo):
    with pytest.raises(ValueError, match="prescription.print"):
        access_log_record(user=demo["nurse.milano"], obj=prescription, kind="prescription.print")
    assert not AccessLog.objects.exists()


# --- Who sees the log ----------------------------------------------------------------------------


@pytest.fixture
def two_regions_read(prescription, demo):
    """One read in Lombardia (the Milano prescription) and one entry of Lazio."""
    access_log_record(user=demo["nurse.milano"], obj=prescription, kind=AccessKind.PRESCRIPTION_API)
    access_log_write(
        user=demo["prescriber.roma"],
        reads=[Read(AccessKind.PRESCRIPTION_PAGE, "prescriptions.prescription", "a-roma-prescription", "120")],
    )


def test_an_administrator_sees_every_entry_in_the_admin(two_regions_read):
    page = signed_in("admin").get("/admin/registry/accesslog/").content.decode()
    assert "nurse.milano" in page and "prescriber.roma" in page


def test_a_regional_officer_sees_only_their_region(two_regions_read):
    client = signed_in("officer.lombardia")
    page = client.get("/admin/registry/accesslog/").content.decode()
    assert "nurse.milano" in page
    assert "prescriber.roma" not in page
    lazio_entry = AccessLog.objects.get(region_id="120")
    assert client.get(f"/admin/registry/accesslog/{lazio_entry.pk}/change/").status_code in (302, 403, 404)


@pytest.mark.parametrize("username", ["nurse.milano", "aifa", "pharmacist.milano"], ids=str)
def test_other_roles_do_not_see_the_log(two_regions_read, username):
    assert signed_in(username).get("/admin/registry/accesslog/").status_code in (302, 403)
