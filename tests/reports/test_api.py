"""The reports API (/api/v1/reports/), tried with every role, including those it must refuse."""

import csv
import hashlib
import io

import pytest
from rest_framework.test import APIClient

from reports.disclosure import SUPPRESSED
from reports.models import ReportRun, ReportStatus

from .disclosure_support import attack, too_narrow
from .test_cohort import LOMBARDIA, as_whole_month, build_cohort, per_centre_figures


@pytest.fixture
def cohort(demo):
    return build_cohort(demo)


URL = "/api/v1/reports/"
NOVEMBER = {"period_start": "2021-11-01", "period_end": "2021-11-30"}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def post(client_for, django_capture_on_commit_callbacks):
    """POST a report request as ``username``; its task runs in-process once the request has committed."""

    def make(username: str, body: dict):
        with django_capture_on_commit_callbacks(execute=True):
            return client_for(username).post(URL, body, format="json")

    return make


@pytest.mark.parametrize(
    ("username", "region", "expected"),
    [
        ("officer.lombardia", "030", 202),
        ("officer.lombardia", "120", 403),
        ("officer.lombardia", None, 403),
        ("officer.lazio", "120", 202),
        ("officer.lazio", "030", 403),
        ("aifa", "030", 202),
        ("aifa", "120", 202),
        ("aifa", None, 202),
        ("prescriber.milano", "030", 403),
        ("prescriber.roma", "120", 403),
        ("pharmacist.milano", "030", 403),
        ("nurse.milano", "030", 403),
    ],
)
def test_who_may_ask_for_which_report(client_for, username, region, expected):
    # Without the on-commit hooks the run stays queued: this checks the answer, not the generation.
    response = client_for(username).post(URL, {"region": region, **NOVEMBER}, format="json")
    assert response.status_code == expected, response.content
    if expected == 202:
        run = ReportRun.objects.get()
        assert response.json()["id"] == str(run.pk)
        assert response.json()["status"] == "queued"
        assert response["Location"].endswith(f"/api/v1/reports/{run.pk}/")
    else:
        assert "detail" in response.json()
        assert not ReportRun.objects.exists()


def test_anonymous_callers_are_refused(demo):
    assert APIClient().post(URL, {"region": "030", **NOVEMBER}, format="json").status_code == 401
    assert APIClient().get(URL).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"region": "030", "period_start": "2021-11-30", "period_end": "2021-11-01"}, "period_end"),
        ({"region": "030", "period_start": "2019-01-01", "period_end": "2021-11-01"}, "period_end"),
        ({"region": "030", "period_start": "yesterday", "period_end": "2021-11-30"}, "period_start"),
        ({"region": "030", "period_end": "2021-11-30"}, "period_start"),
        ({"period_start": "2021-11-01", "period_end": "2021-11-30"}, "region"),
        ({"region": "999", **NOVEMBER}, "region"),
        ({"region": "030", "kind": "weekly", **NOVEMBER}, "kind"),
        ({"region": "030", "kind": "quarterly_patients", **NOVEMBER}, "period_start"),
    ],
    ids=[
        "end-before-start",
        "over-two-years",
        "start-not-a-date",
        "start-missing",
        "region-missing",
        "region-unknown",
        "kind-unknown",
        "quarterly-not-a-quarter",
    ],
)
def test_bad_input_is_a_400_naming_the_field(client_for, body, field):
    response = client_for("aifa").post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_a_run_reads_back_with_its_figures_and_file_links(cohort, post, client_for):
    body = {"region": "030", "period_start": str(cohort.period_start), "period_end": str(cohort.period_end)}
    run_id = post("officer.lombardia", body).json()["id"]

    response = client_for("officer.lombardia").get(f"{URL}{run_id}/")

    assert response.status_code == 200
    data = response.json()
    assert data["id"] == run_id
    assert (data["kind"], data["region"], data["status"], data["progress"]) == ("monitoring", "030", "done", 100)
    assert (data["period_start"], data["period_end"]) == (body["period_start"], body["period_end"])
    assert data["error"] == "" and data["data_as_of"]
    assert per_centre_figures(data["metrics"]) == LOMBARDIA  # a region's own: not suppressed
    assert data["suppressed_below"] is None
    assert set(data["files"]) == {"csv", "xlsx", "pdf"}
    assert data["files"]["pdf"] == f"http://testserver/api/v1/reports/{run_id}/files/pdf/"


def test_files_are_streamed_as_attachments_only_within_scope(cohort, post, client_for):
    body = {"region": "030", "period_start": str(cohort.period_start), "period_end": str(cohort.period_end)}
    run_id = post("officer.lombardia", body).json()["id"]
    as_whole_month(run_id)
    run = ReportRun.objects.get(pk=run_id)

    # The region's officer reads the region's form; the national role its national form (small counts hidden).
    for username, audience in (("officer.lombardia", "region"), ("aifa", "national")):
        for fmt in ("csv", "xlsx", "pdf"):
            response = client_for(username).get(f"{URL}{run_id}/files/{fmt}/")
            assert response.status_code == 200, (username, fmt)
            content = b"".join(response.streaming_content)
            assert response["Content-Disposition"].startswith("attachment; filename=")
            assert hashlib.sha256(content).hexdigest() == run.files.get(format=fmt, audience=audience).sha256
    for username in ("officer.lazio", "prescriber.milano", "pharmacist.milano", "nurse.milano"):
        assert client_for(username).get(f"{URL}{run_id}/files/csv/").status_code == 404, username
    assert client_for("aifa").get(f"{URL}{run_id}/files/docx/").status_code == 404
    # No public URL: media files are not served.
    path = run.files.get(format="csv", audience="region").file.name
    assert client_for("aifa").get(f"/media/{path}").status_code == 404
    assert client_for("aifa").get(f"/{path}").status_code == 404


def test_files_of_an_unfinished_run_are_not_served(client_for):
    run_id = client_for("aifa").post(URL, {"region": "030", **NOVEMBER}, format="json").json()["id"]
    data = client_for("aifa").get(f"{URL}{run_id}/").json()
    assert (data["status"], data["files"]) == ("queued", {})
    assert client_for("aifa").get(f"{URL}{run_id}/files/csv/").status_code == 404


def test_other_regions_runs_are_not_found(client_for):
    run_id = client_for("officer.lazio").post(URL, {"region": "120", **NOVEMBER}, format="json").json()["id"]
    national = client_for("aifa").post(URL, {"region": None, **NOVEMBER}, format="json").json()["id"]
    for username in ("officer.lombardia", "prescriber.roma", "pharmacist.roma", "nurse.milano"):
        assert client_for(username).get(f"{URL}{run_id}/").status_code == 404, username
    assert client_for("officer.lombardia").get(f"{URL}{national}/").status_code == 404
    assert client_for("officer.lazio").get(f"{URL}{run_id}/").status_code == 200
    assert client_for("aifa").get(f"{URL}{run_id}/").status_code == 200
    assert client_for("aifa").get(f"{URL}00000000-0000-0000-0000-000000000000/").status_code == 404


def test_the_list_shows_only_runs_in_scope(client_for):
    client_for("officer.lombardia").post(URL, {"region": "030", **NOVEMBER}, format="json")
    client_for("officer.lazio").post(URL, {"region": "120", **NOVEMBER}, format="json")
    client_for("aifa").post(URL, {"region": None, **NOVEMBER}, format="json")

    def regions(username):
        response = client_for(username).get(URL)
        assert response.status_code == 200
        return sorted((run["region"] or "IT") for run in response.json()["results"])

    assert regions("officer.lombardia") == ["030"]
    assert regions("officer.lazio") == ["120"]
    assert regions("aifa") == ["030", "120", "IT"]
    assert regions("prescriber.milano") == []
    assert regions("nurse.milano") == []


def test_a_whole_country_run_suppresses_small_counts_in_figures_and_files(cohort, post, client_for, settings):
    settings.REPORTS_SUPPRESS_BELOW = 3
    body = {"region": None, "period_start": str(cohort.period_start), "period_end": str(cohort.period_end)}
    run_id = post("admin", body).json()["id"]  # the cohort's days are no calendar month: AIFA could not ask
    as_whole_month(run_id)  # nor read it
    run = ReportRun.objects.get(pk=run_id)
    assert run.status == ReportStatus.DONE, run.error
    assert run.metrics["deaths_day28"] == 1  # stored as counted; suppressed where it leaves the region

    data = client_for("aifa").get(f"{URL}{run_id}/").json()
    metrics = data["metrics"]
    assert data["suppressed_below"] == 3
    assert metrics["prescriptions_submitted"] in (13, SUPPRESSED)  # a complement, where it must be
    assert metrics["deaths_day28"] == SUPPRESSED
    assert metrics["protocol_deviations"] == SUPPRESSED  # 2
    assert metrics["outcomes_day28"]["0"] == 0  # zero identifies nobody
    milano = next(entry for entry in metrics["by_centre"] if entry["region"] == "030")
    assert milano["courses_completed"] == SUPPRESSED
    assert [part["region"] for part in data["parts"]][:3] == ["010", "020", "030"]
    # Read beside the regions' own reports (the parts, in the national form), nothing hidden can be narrowed.
    parts = [client_for("aifa").get(f"{URL}{part['id']}/").json()["metrics"] for part in data["parts"]]
    assert too_narrow(attack(metrics, *(part for part in parts if part.get("by_centre"))), 3) == {}

    csv_text = b"".join(client_for("aifa").get(f"{URL}{run_id}/files/csv/").streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(csv_text), delimiter=";"))
    figures = {
        (row["metric"], row["code"]): (row["value"], row["suppressed"]) for row in rows if row["level"] == "report"
    }
    shown = metrics["prescriptions_submitted"]
    assert figures[("prescriptions_submitted", "")] == (("", "1") if shown == SUPPRESSED else (str(shown), "0"))
    assert figures[("deaths_day28", "")] == ("", "1")
    assert figures[("outcomes_day28", "10")] == ("", "1")
    assert {row["level"] for row in rows} == {"report", "region", "centre"}  # the country: regions and centres


def test_the_schema_describes_the_reports_api(db, api_client):
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    for path in ("/api/v1/reports/", "/api/v1/reports/{run_id}/", "/api/v1/reports/{run_id}/files/{fmt}/"):
        assert path in schema["paths"], path
    assert set(schema["paths"]["/api/v1/reports/"]["post"]["responses"]) >= {"202", "400", "403"}
    detail = schema["components"]["schemas"]["ReportRunDetail"]["properties"]
    assert {"id", "status", "progress", "metrics", "files", "error", "data_as_of", "parts"} <= set(detail)
    assert set(detail["metrics"]["properties"]) >= set(LOMBARDIA) | {"by_centre"}


def test_the_admin_lists_runs_read_only(demo, client):
    client.force_login(demo["admin"])
    run = ReportRun.objects.create(kind="monitoring", period_start="2021-11-01", period_end="2021-11-30")
    assert client.get("/admin/reports/reportrun/").status_code == 200
    assert client.get(f"/admin/reports/reportrun/{run.pk}/change/").status_code == 200
    assert client.get("/admin/reports/reportrun/add/").status_code == 403
    assert client.post(f"/admin/reports/reportrun/{run.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ReportRun.objects.filter(pk=run.pk).exists()


@pytest.mark.parametrize(
    ("period_start", "period_end", "expected"),
    [
        ("2025-02-01", "2025-02-28", 202),  # a calendar month
        ("2025-04-01", "2025-06-30", 202),  # a calendar quarter
        ("2025-02-01", "2025-02-27", 400),  # a month short of a day
        ("2025-02-02", "2025-03-01", 400),  # a month's length, not a calendar month
        ("2025-01-01", "2025-02-28", 400),  # two months: Jan–Feb minus Jan would give February's days
        ("2025-02-01", "2025-04-30", 400),  # three months, not a calendar quarter
    ],
)
def test_aifa_asks_for_whole_calendar_months_or_quarters_only(post, period_start, period_end, expected):
    for region in ("030", None):
        response = post("aifa", {"region": region, "period_start": period_start, "period_end": period_end})
        assert response.status_code == expected, response.content
        if expected == 400:
            assert response.json()["code"] == "VALIDATION_ERROR" and "period_start" in response.json()


def test_an_officer_still_asks_for_any_period_of_their_region(post):
    response = post("officer.lombardia", {"region": "030", "period_start": "2025-02-02", "period_end": "2025-03-01"})
    assert response.status_code == 202


def test_aifa_reads_only_runs_of_whole_calendar_months_or_quarters(post, client_for):
    """An officer may ask for any days of their region, an administrator for any days of the country; the national
    role reads none of them but whole calendar months and quarters (not in the list, 404 for the run and its
    files), or 1–7 Dec minus 1–6 Dec would give it the figures of 7 December."""
    partial = [
        post("officer.lombardia", {"region": "030", "period_start": "2025-12-01", "period_end": "2025-12-06"}),
        post("officer.lombardia", {"region": "030", "period_start": "2025-12-01", "period_end": "2025-12-07"}),
        post("admin", {"region": None, "period_start": "2025-12-01", "period_end": "2025-12-07"}),
        post("admin", {"region": "030", "period_start": "2025-11-01", "period_end": "2025-12-31"}),  # two months
    ]
    whole = [
        post("officer.lombardia", {"region": "030", "period_start": "2025-12-01", "period_end": "2025-12-31"}),
        post("officer.lombardia", {"region": "030", "period_start": "2025-10-01", "period_end": "2025-12-31"}),
        post("admin", {"region": None, "period_start": "2025-12-01", "period_end": "2025-12-31"}),
    ]
    partial_ids = [response.json()["id"] for response in partial]
    whole_ids = [response.json()["id"] for response in whole]
    assert all(ReportRun.objects.get(pk=pk).status == ReportStatus.DONE for pk in partial_ids + whole_ids)
    aifa = client_for("aifa")

    listed = {run["id"] for run in aifa.get(URL, {"page_size": 100}).json()["results"]}
    assert listed == set(whole_ids)
    for run_id in partial_ids:
        assert aifa.get(f"{URL}{run_id}/").status_code == 404, run_id
        for fmt in ("csv", "xlsx", "pdf"):
            assert aifa.get(f"{URL}{run_id}/files/{fmt}/").status_code == 404, (run_id, fmt)
    for run_id in whole_ids:
        assert aifa.get(f"{URL}{run_id}/").status_code == 200, run_id
        assert aifa.get(f"{URL}{run_id}/files/csv/").status_code == 200, run_id
    # Those who asked still read them all.
    officer = {run["id"] for run in client_for("officer.lombardia").get(URL, {"page_size": 100}).json()["results"]}
    assert set(partial_ids[:2]) <= officer
    assert all(client_for("admin").get(f"{URL}{run_id}/").status_code == 200 for run_id in partial_ids)
