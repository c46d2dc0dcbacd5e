"""Who sees patient data: the national role (AIFA) reads a region's reports in their national form.

- the quarterly per-patient file: for the region, by the registry's pseudonym; for AIFA, by a national pseudonym
  and an age band, no birth date, no fiscal code, no name;
- a region's monitoring figures and files read by AIFA: small counts suppressed, as in whole-country reports;
- every download of a report file is audited (who, which run, which form, which file).
"""

import csv
import io
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import translation

from registry.models import AuditEvent
from reports import national, selectors
from reports.kinds import QUARTERLY_COLUMNS, QUARTERLY_PATIENTS
from reports.models import ReportRun, ReportStatus
from reports.periods import quarter_of
from reports.renderers import quarterly_text

from .disclosure_support import attack, too_narrow
from .test_cohort import as_whole_month, build_cohort

URL = "/api/v1/reports/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def cohort(demo):
    return build_cohort(demo)


@pytest.fixture
def post(client_for, django_capture_on_commit_callbacks):
    def make(username: str, body: dict) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(username).post(URL, body, format="json")
        assert response.status_code == 202, response.content
        return response.json()["id"]

    return make


def _csv(client, run_id: str) -> list[list[str]]:
    response = client.get(f"{URL}{run_id}/files/csv/")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def test_aifa_downloads_the_per_patient_file_pseudonymised_and_every_download_is_audited(cohort, post, client_for):
    start, end = quarter_of(cohort.today - timedelta(days=20))
    run_id = post(
        "officer.lombardia",
        {"region": "030", "kind": QUARTERLY_PATIENTS, "period_start": str(start), "period_end": str(end)},
    )
    assert ReportRun.objects.get(pk=run_id).status == ReportStatus.DONE

    regional = _csv(client_for("officer.lombardia"), run_id)
    for_aifa = _csv(client_for("aifa"), run_id)

    with translation.override("it"):  # asked through an Italian request: the files are Italian
        assert regional[0] == [quarterly_text.column_label(column) for column in QUARTERLY_COLUMNS]
        header = for_aifa[0]
        assert header == [
            quarterly_text.column_label(column) for column in national.national_columns(QUARTERLY_COLUMNS)
        ]
        assert header[:2] == ["Pseudonimo", "Fascia d'età"]
    registry_pseudonyms = [row[0] for row in regional[1:]]
    assert registry_pseudonyms and len(for_aifa) == len(regional)
    # AIFA's pseudonyms are its own: stable for a patient, matching nothing in the registry or the region's file.
    assert [row[0] for row in for_aifa[1:]] == [national.national_pseudonym(p) for p in registry_pseudonyms]
    aifa_text = "\n".join(";".join(row) for row in for_aifa)
    assert not any(pseudonym in aifa_text for pseudonym in registry_pseudonyms)
    assert "1960-05-01" not in aifa_text  # the cohort's birth date
    assert {row[1] for row in for_aifa[1:]} <= {"60-69", "70-79"}
    # The rest of each row is the region's.
    assert [row[2:] for row in for_aifa[1:]] == [row[1:] for row in regional[1:]]

    downloads = AuditEvent.objects.filter(object_id=run_id, action="report.file_download").order_by("sequence")
    assert [(e.actor_username, e.changes["audience"], e.changes["format"]) for e in downloads] == [
        ("officer.lombardia", "region", "csv"),
        ("aifa", "national", "csv"),
    ]


def test_aifa_reads_a_regions_monitoring_report_with_small_counts_suppressed(cohort, post, client_for, settings):
    settings.REPORTS_SUPPRESS_BELOW = 3
    body = {"region": "030", "period_start": str(cohort.period_start), "period_end": str(cohort.period_end)}
    run_id = post("officer.lombardia", body)
    as_whole_month(run_id)

    officer = client_for("officer.lombardia").get(f"{URL}{run_id}/").json()
    aifa = client_for("aifa").get(f"{URL}{run_id}/").json()

    assert officer["metrics"]["deaths_day28"] == 1 and officer["suppressed_below"] is None
    assert aifa["metrics"]["deaths_day28"] == "x" and aifa["suppressed_below"] == 3
    # Whatever else is hidden so that the small counts cannot be worked out, nothing hidden can be narrowed.
    assert too_narrow(attack(aifa["metrics"]), 3) == {}

    def hidden(rows):  # a hidden value: empty, flagged
        header, *rows = rows
        return [row for row in rows if row[header.index("suppressed")] == "1" and not row[header.index("value")]]

    assert hidden(_csv(client_for("aifa"), run_id)) and not hidden(_csv(client_for("officer.lombardia"), run_id))


def test_aifas_run_page_of_a_region_hides_small_counts_and_offers_the_national_files(cohort, post, client_for, demo):
    body = {"region": "030", "period_start": str(cohort.period_start), "period_end": str(cohort.period_end)}
    run_id = post("officer.lombardia", body)
    as_whole_month(run_id)
    aifa, officer = Client(HTTP_ACCEPT_LANGUAGE="en"), Client(HTTP_ACCEPT_LANGUAGE="en")
    aifa.force_login(demo["aifa"])
    officer.force_login(demo["officer.lombardia"])

    aifa_page = aifa.get(f"/reports/{run_id}/").content.decode()
    officer_page = officer.get(f"/reports/{run_id}/").content.decode()

    assert "a hidden count" in aifa_page and "National form" in aifa_page
    assert "a hidden count" not in officer_page and "National form" not in officer_page


# --- The national form, piece by piece -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "on", "band"),
    [
        (date(1960, 5, 1), date(2021, 11, 3), "60-69"),
        (date(1960, 11, 4), date(2021, 11, 3), "60-69"),  # 60 the next day
        (date(1961, 11, 4), date(2021, 11, 3), "50-59"),  # 59 until the next day
        (date(2003, 1, 1), date(2021, 11, 3), "18-29"),
        (date(1930, 1, 1), date(2021, 11, 3), "90+"),
        (None, date(2021, 11, 3), ""),
    ],
    ids=["sixties", "birthday-tomorrow-60", "birthday-tomorrow-59", "young", "ninety", "unknown"],
)
def test_the_age_band_is_ten_years_on_the_prescription_day(born, on, band):
    assert national.age_band(born, on) == band


def test_identifying_columns_never_reach_the_national_form():
    columns = ("pseudonym", "fiscal_code", "first_name", "last_name", "birth_date", "centre", "doses_administered")
    assert national.national_columns(columns) == ("pseudonym", "age_band", "centre", "doses_administered")


def test_the_national_pseudonym_is_stable_and_not_the_registrys():
    registry_pseudonym = "a" * 64
    assert national.national_pseudonym(registry_pseudonym) == national.national_pseudonym(registry_pseudonym)
    assert national.national_pseudonym(registry_pseudonym) != registry_pseudonym
    assert len(national.national_pseudonym(registry_pseudonym)) == 64


def test_who_reads_which_form(demo):
    period = {"period_start": date(2021, 11, 1), "period_end": date(2021, 11, 30)}
    country = ReportRun.objects.create(region=None, **period)
    lombardia = ReportRun.objects.create(region_id="030", **period)

    assert selectors.report_audience(user=demo["aifa"], run=lombardia) == "national"
    assert selectors.report_audience(user=demo["officer.lombardia"], run=lombardia) == "region"
    assert selectors.report_audience(user=demo["admin"], run=lombardia) == "region"
    # A whole-country run has only the national form, whoever reads it.
    assert selectors.report_audience(user=demo["aifa"], run=country) == "national"
    assert selectors.report_audience(user=demo["admin"], run=country) == "national"
