"""The benchmark's code path on a tiny database, so ``make bench`` cannot rot; and the synthetic seed's data."""

import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import translation

from bench import run as bench
from prescriptions.eligibility import result_message
from prescriptions.models import CriterionOutcome, Prescription, PrescriptionStatus
from registry.audit import verify_chains
from registry.management.commands.seed_synthetic import syn_fiscal_code
from registry.models import Centre, Patient, Region
from registry.pseudonym import pseudonymise


@pytest.fixture
def seeded(db):
    call_command("seed_synthetic", prescriptions=300, months=3, force=True, stdout=io.StringIO())


def test_the_synthetic_seed_covers_every_region_and_every_course_story(seeded):
    assert Prescription.objects.count() == 300
    assert set(Centre.objects.values_list("region_id", flat=True)) == set(Region.objects.values_list("pk", flat=True))
    statuses = Counter(Prescription.objects.values_list("status", flat=True))
    assert set(statuses) >= {
        PrescriptionStatus.REJECTED,
        PrescriptionStatus.COMPLETED,
        PrescriptionStatus.STOPPED,
        PrescriptionStatus.IN_COURSE,
    }
    assert 0.05 < statuses[PrescriptionStatus.REJECTED] / 300 < 0.2
    failed = set(CriterionOutcome.objects.filter(outcome="fail").values_list("code", flat=True))
    assert len(failed) >= 4  # refusals spread over the criteria
    # The verdicts in the form a submission stores them: texts rendered in the reader's language when read.
    for prescription in Prescription.objects.filter(status=PrescriptionStatus.REJECTED)[:5]:
        results = prescription.eligibility["results"]
        assert all("text" in result and "message" not in result for result in results)
        with translation.override("it"):
            assert all(result_message(result) != result["code"] for result in results)


def test_the_synthetic_audit_trail_verifies(seeded):
    assert next(verify_chains(), None) is None


def test_a_synthetic_patient_is_found_by_fiscal_code(seeded):
    patient = Patient.objects.order_by("created_at").first()
    serials = range(1, 301)
    codes = [syn_fiscal_code(s, patient.birth_date, patient.sex) for s in serials]

    assert patient.pseudonym in {pseudonymise(code) for code in codes}


def test_a_database_with_more_than_n_is_refused(seeded, monkeypatch):
    monkeypatch.setattr(bench, "OWN_SUBMISSIONS_MARGIN", 0)  # 300 seeded against N = 10
    with pytest.raises(SystemExit):
        bench.top_up(10, months=3)


@pytest.mark.django_db(transaction=True)
def test_bench_smoke_code_path_on_a_tiny_database(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    config = bench.Config(
        sizes=[60], repeat=1, clients=2, submissions_per_client=1, eligibility_requests=2, months=3, out=None
    )

    results = bench.run(config)

    row = results["sizes"]["60"]
    assert row["prescriptions"] == 60
    for key in (
        "metrics_region_ms",
        "metrics_national_ms",
        "list_officer_page1_ms",
        "list_officer_deep_cursor_ms",
        "list_admin_page1_ms",
        "list_page_officer_deep_cursor_ms",
        "eligibility_vs_trivial_ratio",
        "report_quarterly_region_peak_mib",
        "report_monthly_region_peak_mib",
        "submissions_per_s",
        "submission_p95_ms",
    ):
        assert row[key] is not None and row[key] >= 0, key
    assert row["report_monthly_region_status"] == "done"
    assert "metrics_region_ms" in bench.table(results)
