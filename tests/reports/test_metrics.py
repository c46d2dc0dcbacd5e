"""Monitoring figures against a cohort counted by hand, in a fixed number of queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from prescriptions.course.alerts import missed_days
from reports.metrics import METRIC_KEYS, monitoring_metrics, suppress_small_counts
from reports.metrics import cohort as report_cohort

from .test_cohort import LAZIO, LOMBARDIA, Builder, build_cohort, fiscal_code, per_centre_figures, rome


@pytest.fixture
def cohort(demo):
    return build_cohort(demo)


def _metrics(cohort, region_code, *, today=None, **period):
    return monitoring_metrics(
        region_code=region_code,
        period_start=period.get("period_start", cohort.period_start),
        period_end=period.get("period_end", cohort.period_end),
        today=today or cohort.today,
    )


def _counts(metrics: dict) -> dict:
    return per_centre_figures(metrics)


def test_the_keys_are_exactly_those_of_the_contract(cohort):
    metrics = _metrics(cohort, "030")
    assert tuple(metrics) == METRIC_KEYS
    assert set(METRIC_KEYS) == {
        "prescriptions_submitted",
        "prescriptions_eligible",
        "prescriptions_rejected",
        "rejections_by_criterion",
        "requests_by_week",
        "patients_treated",
        "courses_completed",
        "courses_stopped",
        "courses_cancelled",
        "courses_in_progress",
        "stops_by_reason",
        "doses_administered",
        "syringes_dispensed",
        "adverse_events_by_category",
        "serious_adverse_events",
        "outcomes_day28",
        "deaths_day28",
        "missed_doses",
        "protocol_deviations",
        "courses_with_il_jak_comedication",
        "deaths",
        "icu_admissions",
        "respiratory_failure_day14",
        "respiratory_failure_day28",
        "by_centre",
    }


def test_requests_per_week_count_every_request_by_its_rome_day_with_empty_weeks_at_zero(cohort):
    # P1 … P11 were submitted D-29 (at 00:00:00 Rome), 28, 20, 15, 14, 10, 9, 8, 6, 3 and D-2 (at 23:59:59 Rome).
    expected = {}
    day = cohort.period_start
    while day <= cohort.period_end:
        year, week, _weekday = day.isocalendar()
        expected[f"{year}-W{week:02d}"] = 0
        day += timedelta(days=1)
    for offset in (29, 28, 20, 15, 14, 10, 9, 8, 6, 3, 2):
        year, week, _weekday = (cohort.today - timedelta(days=offset)).isocalendar()
        expected[f"{year}-W{week:02d}"] += 1

    weeks = _metrics(cohort, "030")["requests_by_week"]

    assert weeks == expected
    assert list(weeks) == sorted(weeks)
    assert sum(weeks.values()) == LOMBARDIA["prescriptions_submitted"]
    assert len(weeks) in (4, 5)  # 28 days touch four or five ISO weeks
    country = _metrics(cohort, None)["requests_by_week"]
    assert sum(country.values()) == LOMBARDIA["prescriptions_submitted"] + LAZIO["prescriptions_submitted"]


def test_lombardia_figures_are_those_counted_by_hand(cohort):
    assert _counts(_metrics(cohort, "030")) == LOMBARDIA


def test_by_centre_has_one_entry_per_centre_with_the_same_counts(cohort):
    metrics = _metrics(cohort, "030")
    [milano] = metrics["by_centre"]
    assert milano["centre_name"] == "Ospedale Demo Milano"
    assert milano["region"] == "030"
    assert milano["centre_id"] == str(cohort.prescriptions["P1"].centre_id)
    assert {key: milano[key] for key in LOMBARDIA} == LOMBARDIA


def test_another_region_never_leaks_in(cohort):
    lombardia = _metrics(cohort, "030")
    assert {entry["region"] for entry in lombardia["by_centre"]} == {"030"}
    assert _counts(_metrics(cohort, "120")) == LAZIO
    piemonte = _metrics(cohort, "010")
    assert piemonte["by_centre"] == []
    assert piemonte["prescriptions_submitted"] == piemonte["missed_doses"] == piemonte["patients_treated"] == 0


def test_the_country_counts_every_region_and_each_patient_once(cohort):
    country = _metrics(cohort, None)
    assert [entry["region"] for entry in country["by_centre"]] == ["030", "120"]
    for key, value in LOMBARDIA.items():
        if isinstance(value, dict):
            summed = {k: value.get(k, 0) + LAZIO[key].get(k, 0) for k in value.keys() | LAZIO[key].keys()}
            assert country[key] == summed, key
        else:
            assert country[key] == value + LAZIO[key], key


def test_the_period_is_rome_days_both_included(cohort, demo):
    """P1 at D-29 00:00:00 and P8 at D-2 23:59:59 count; P12 at D-1 00:00:00 does not."""
    d = cohort.today
    # The last second before the period, and the first after a one-day period.
    period = {"period_start": cohort.period_start, "period_end": cohort.period_end}
    counted = set(report_cohort(region_code="030", **period).values_list("pk", flat=True))
    assert cohort.prescriptions["P1"].pk in counted
    assert cohort.prescriptions["P8"].pk in counted
    assert cohort.prescriptions["P12"].pk not in counted
    # A one-day period: the last second of the day before (D-11 23:59:59) is not in it.
    day = d - timedelta(days=10)
    b = Builder(demo)
    b.submit(rome(day - timedelta(days=1), 23, 59, 59))
    first_second = b.submit(rome(day, 0, 0, 0))
    one_day = {"period_start": day, "period_end": day}
    assert set(report_cohort(region_code="030", **one_day).values_list("pk", flat=True)) == {
        cohort.prescriptions["P9"].pk,
        first_second.pk,
    }
    assert _metrics(cohort, "030", **one_day)["prescriptions_submitted"] == 2


def test_a_patient_treated_at_two_centres_counts_at_each_and_once_in_the_country(cohort, demo):
    """The total adds up the centres' patients treated less those counted at more than one centre: a patient
    treated in Milano and then in Rome counts once in the country; one only submitted in Rome counts nowhere."""
    b, d = Builder(demo), cohort.today
    moved, not_treated_again = fiscal_code(), fiscal_code()
    for code in (moved, not_treated_again):
        first = b.submit(rome(d - timedelta(days=27), 9), code=code)
        b.dispense(first, 10)
        b.doses(first, [d - timedelta(days=27)])
        b.stop(first, rome(d - timedelta(days=26), 9), "discharge")
    second = b.submit(rome(d - timedelta(days=12), 9), region="120", code=moved)
    b.dispense(second, 10, region="120")
    b.doses(second, [d - timedelta(days=12)], region="120")
    b.submit(rome(d - timedelta(days=11), 9), region="120", code=not_treated_again, supar_ng_ml=5)

    assert _metrics(cohort, "030")["patients_treated"] == LOMBARDIA["patients_treated"] + 2
    assert _metrics(cohort, "120")["patients_treated"] == LAZIO["patients_treated"] + 1
    country = _metrics(cohort, None)
    assert country["patients_treated"] == LOMBARDIA["patients_treated"] + LAZIO["patients_treated"] + 2
    assert sum(entry["patients_treated"] for entry in country["by_centre"]) == country["patients_treated"] + 1


@pytest.mark.parametrize("days_later", [0, 1, 7])
def test_missed_doses_equal_the_sum_of_the_alerts_definition(cohort, days_later):
    """The SQL total is prescriptions.course.alerts.missed_days summed over the cohort, whatever 'today' is."""
    today = cohort.today + timedelta(days=days_later)
    expected = 0
    for region in ("030", "120", None):
        prescriptions = report_cohort(
            region_code=region, period_start=cohort.period_start, period_end=cohort.period_end
        ).prefetch_related("administrations")
        expected = sum(
            len(
                missed_days(
                    prescription,
                    [a.administered_on for a in prescription.administrations.all() if a.entered_in_error_at is None],
                    today=today,
                )
            )
            for prescription in prescriptions
        )
        assert _metrics(cohort, region, today=today)["missed_doses"] == expected, region
    assert expected > 0


def test_running_course_misses_grow_with_today_but_ended_ones_do_not(cohort):
    base = _metrics(cohort, "030")["missed_doses"]
    # P6 is the only Lombardia course running: each further day without a dose is one more missed.
    assert _metrics(cohort, "030", today=cohort.today + timedelta(days=3))["missed_doses"] == base + 3


def _many_prescriptions(demo, count: int) -> None:
    b = Builder(demo)
    d = timezone.localdate()
    for n in range(count):
        at = rome(d - timedelta(days=5 + n % 20), 8, n % 60)
        if n % 3 == 2:
            b.submit(at, supar_ng_ml=5)
            continue
        prescription = b.submit(at)
        if n % 3 == 1:
            b.dispense(prescription, 3)
            b.doses(prescription, [at.date(), at.date() + timedelta(days=2)], deviations={at.date(): 200})
            b.adverse_event(prescription, "hepatic", at.date(), serious=n % 2 == 0)


@pytest.mark.parametrize("count", [3, 60])
def test_the_number_of_queries_does_not_grow_with_the_prescriptions(demo, count, django_assert_max_num_queries):
    _many_prescriptions(demo, count)
    today = timezone.localdate()
    with django_assert_max_num_queries(10):
        metrics = monitoring_metrics(
            region_code="030", period_start=today - timedelta(days=29), period_end=today, today=today
        )
    assert metrics["prescriptions_submitted"] == count
    with django_assert_max_num_queries(10):
        monitoring_metrics(region_code=None, period_start=today - timedelta(days=29), period_end=today, today=today)


def test_small_counts_are_suppressed_but_zeros_and_names_are_kept():
    metrics = {
        "prescriptions_submitted": 12,
        "patients_treated": 2,
        "deaths_day28": 0,
        "stops_by_reason": {"death": 1, "other": 3},
        "by_centre": [{"centre_id": "c1", "centre_name": "A", "region": "030", "patients_treated": 1}],
    }
    assert suppress_small_counts(metrics, below=3) == {
        "prescriptions_submitted": 12,
        "patients_treated": "<3",
        "deaths_day28": 0,
        "stops_by_reason": {"death": "<3", "other": 3},
        "by_centre": [{"centre_id": "c1", "centre_name": "A", "region": "030", "patients_treated": "<3"}],
    }
    assert suppress_small_counts(metrics, below=0) == metrics
