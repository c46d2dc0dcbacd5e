"""The benchmark's code path on a tiny database, so ``make bench`` cannot rot; and the synthetic seed's data."""

import io
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import translation

from bench import run as bench
from prescriptions.eligibility import result_message
from prescriptions.management.commands.seed_synthetic import syn_fiscal_code
from prescriptions.models import (
    ConcomitantMedicationRecord,
    CriterionOutcome,
    Outcome,
    Prescription,
    PrescriptionStatus,
)
from registry.audit import verify_chains
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
        "metrics_region_vs_best_ratio",
        "metrics_national_vs_best_ratio",
        "metrics_region_vs_orm_plan_ratio",
        "metrics_national_vs_orm_plan_ratio",
        "list_officer_page1_ms",
        "list_officer_deep_cursor_ms",
        "list_admin_page1_ms",
        "list_page_officer_deep_cursor_ms",
        "list_page_officer_deep_page_ms",
        "quarterly_pdf_ms",
        "quarterly_xlsx_ms",
        "eligibility_vs_trivial_ratio",
        "report_quarterly_region_peak_mib",
        "report_monthly_region_peak_mib",
        "submissions_per_s",
        "submission_p95_ms",
    ):
        assert row[key] is not None and row[key] >= 0, key
    assert row["report_monthly_region_status"] == "done"
    assert "metrics_region_ms" in bench.table(results)


def test_admin_bench_code_path_on_a_tiny_trail(postgresql):
    from bench import admin_bench
    from registry.models import AuditEvent

    before = AuditEvent.objects.count()

    row = admin_bench.run(before + 40, repeat=1)

    assert AuditEvent.objects.count() == before + 40
    for label in ("first_page", "filter_action", "filter_object_type", "search_object_id", "search_username"):
        assert row[f"admin_audit_{label}_ms"] > 0 and row[f"admin_audit_{label}_queries"] > 0, label


def _first_per_region(queryset, prescription_path: str, per_region: int) -> list:
    """The first ``per_region`` rows of each region by date and then key, so every region (Lombardia included)
    gets some: the keys are random UUIDs, and "the first n by pk" falls in whichever regions chance gives."""
    chosen: list = []
    for region in Region.objects.order_by("code"):
        rows = queryset.filter(**{f"{prescription_path}centre__region": region})
        chosen.extend(rows.order_by(f"{prescription_path}prescribed_at", "pk")[:per_region])
    return chosen


def _record_what_the_seed_leaves_out(since) -> None:
    """ICU admissions, severe respiratory failure and IL/JAK co-medications, which the synthetic seed does not
    write, on a few of each region's courses of the period (some twice, so that a course is counted once)."""
    outcomes = Outcome.objects.filter(prescription__prescribed_at__date__gte=since, day=28)
    chosen = _first_per_region(outcomes, "prescription__", 2)
    Outcome.objects.filter(pk__in=[outcome.pk for outcome in chosen]).update(
        icu_admission=True, severe_respiratory_failure=True
    )
    courses = Prescription.objects.filter(prescribed_at__date__gte=since, first_dose_on__isnull=False)
    for index, course in enumerate(_first_per_region(courses, "", 2)):
        for name in ["tocilizumab"] * (1 + index % 2):
            ConcomitantMedicationRecord.objects.create(
                prescription=course,
                recorded_by=course.prescriber,
                recorded_at=course.prescribed_at,
                name=name,
                started_on=course.first_dose_on,
                il_jak_inhibitor=True,
            )


@pytest.mark.parametrize("yardstick", ["best", "orm_plan"])
@pytest.mark.parametrize("region", ["030", None])
def test_each_hand_written_yardstick_counts_what_the_metrics_count(postgresql, seeded, region, yardstick):
    """The benchmark's ratios mean something only if bench.hand_sql computes the same figures."""
    from bench import hand_sql
    from registry.calendar import rome_today
    from reports.metrics import monitoring_metrics

    today = rome_today()
    start, end = today.replace(day=1) - timedelta(days=62), today  # the seed's last three months, or most of them
    _record_what_the_seed_leaves_out(start)
    ours = monitoring_metrics(region_code=region, period_start=start, period_end=end, today=today)
    hand = hand_sql.YARDSTICKS[yardstick](region_code=region, period_start=start, period_end=end, today=today)

    assert ours["prescriptions_submitted"] > 20 and ours["missed_doses"] > 0 and ours["doses_administered"] > 0
    for figure in ("courses_with_il_jak_comedication", "icu_admissions", "respiratory_failure_day28"):
        assert ours[figure] > 0, figure  # each figure is compared on something, not on zeros
    assert ours["rejections_by_criterion"] and ours["adverse_events_by_category"] and ours["outcomes_day28"]
    if yardstick == "best":  # every figure of a centre, not only those the seed happens to give
        for entry in ours["by_centre"]:
            scalars = {key for key, value in entry.items() if not isinstance(value, dict)} - {"centre_id"}
            assert set(hand["by_centre"][entry["centre_id"]]) >= scalars
    assert hand_sql.differences(ours, hand) == []


def test_a_second_seeding_process_numbers_its_patients_from_its_own_serial(seeded):
    """Two seed_synthetic processes can fill one database side by side: the second numbers its patients from
    ``--first-serial``, so their fiscal codes (and pseudonyms) never meet the first one's."""
    call_command("seed_synthetic", prescriptions=20, months=3, first_serial=5_000_000, force=True, stdout=io.StringIO())
    assert Prescription.objects.count() == 320
    newest = Patient.objects.order_by("-created_at", "-pk")
    found = 0
    for patient in newest[:320]:
        codes = {syn_fiscal_code(s, patient.birth_date, patient.sex) for s in range(5_000_001, 5_000_021)}
        found += patient.pseudonym in {pseudonymise(code) for code in codes}
    assert found == 20
    assert next(verify_chains(), None) is None
