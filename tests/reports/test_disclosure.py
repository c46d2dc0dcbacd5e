"""Disclosure control (issue 19): an attacker who reads every published number of a report and knows how its
tables add up (``disclosure_support.attack``, a linear program solved by HiGHS) cannot narrow any hidden count to
an interval narrower than the suppression threshold, on synthetic data with many small centres and on the demo."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.disclosure import SUPPRESSED, published_metrics
from reports.metrics import suppress_small_counts

from .disclosure_support import attack, synthetic_country, too_narrow

BELOW = 3


def _hidden(metrics) -> int:
    count = 0
    for value in (metrics, *(metrics.get("by_centre") or []), *(metrics.get("by_region") or [])):
        for item in value.values():
            if item == SUPPRESSED:
                count += 1
            elif isinstance(item, dict):
                count += sum(v == SUPPRESSED for v in item.values())
    return count


def test_primary_suppression_alone_lets_the_attacker_work_out_hidden_counts():
    """The flaw of issue 19: with small counts hidden and nothing else, subtraction recovers them."""
    _country, regions = synthetic_country(7, regions=1, centres=8)
    (region,) = regions.values()
    primary_only = suppress_small_counts(region, below=BELOW)
    # The old "<3" mark becomes the one mark for a hidden count: the attacker then knows only that it is ≥ 1.
    marked = _remark(primary_only)
    assert too_narrow(attack(marked), BELOW), "primary suppression alone should be breakable"


def _remark(value):
    if isinstance(value, str) and value.startswith("<"):
        return SUPPRESSED
    if isinstance(value, dict):
        return {key: _remark(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_remark(item) for item in value]
    return value


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_no_hidden_count_of_a_region_report_can_be_narrowed(seed):
    _country, regions = synthetic_country(seed, regions=2, centres=7)
    for region in regions.values():
        published = published_metrics(region, BELOW)
        intervals = attack(published)
        assert intervals, "small centres always have small counts to hide"
        assert too_narrow(intervals, BELOW) == {}


@pytest.mark.parametrize("seed", [10, 11])
def test_the_country_report_read_beside_every_region_report_narrows_nothing(seed):
    country, regions = synthetic_country(seed, regions=3, centres=5)
    published = [published_metrics(country, BELOW), *(published_metrics(r, BELOW) for r in regions.values())]
    intervals = attack(*published)
    assert _hidden(published[0]) > 0
    assert too_narrow(intervals, BELOW) == {}


def test_a_region_is_hidden_the_same_way_in_its_own_report_and_in_the_country_report():
    country, regions = synthetic_country(5, regions=2, centres=5)
    national = published_metrics(country, BELOW)
    for code, region in regions.items():
        own = published_metrics(region, BELOW)
        in_country = [c for c in national["by_centre"] if c["region"] == code]
        assert in_country == own["by_centre"]
        (row,) = [r for r in national["by_region"] if r["region"] == code]
        assert {k: v for k, v in row.items() if k != "region"} == {k: v for k, v in own.items() if k != "by_centre"}


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 10_000), centres=st.integers(2, 9), most=st.integers(1, 6), below=st.integers(2, 5))
def test_any_small_region_resists_the_attacker(seed, centres, most, below):
    _country, regions = synthetic_country(seed, regions=1, centres=centres, most=most)
    for region in regions.values():
        assert too_narrow(attack(published_metrics(region, below)), below) == {}


def test_zeros_and_large_counts_are_published_and_nothing_is_hidden_without_a_threshold():
    _country, regions = synthetic_country(3, regions=1, centres=4)
    (region,) = regions.values()
    assert published_metrics(region, 0) == region
    published = published_metrics(region, BELOW)
    for entry, original in zip(published["by_centre"], region["by_centre"], strict=True):
        for key, value in original.items():
            if value == 0:
                assert entry[key] == 0


def test_the_demo_history_read_whole_country_and_by_region_resists_the_attacker(demo):
    from datetime import timedelta

    from django.utils import timezone

    from reports.metrics import monitoring_metrics
    from tests.demo_snapshot import history_build

    assert history_build() > 0
    today = timezone.localdate()
    period = {"period_start": today - timedelta(days=60), "period_end": today, "today": today}
    country = monitoring_metrics(region_code=None, **period)
    regions = [monitoring_metrics(region_code=code, **period) for code in ("030", "120")]
    assert [row["region"] for row in country["by_region"]] == ["030", "120"]
    for row, own in zip(country["by_region"], regions, strict=True):  # each region as its own report counts it
        assert {key: row[key] for key in own if key != "by_centre"} == {
            k: v for k, v in own.items() if k != "by_centre"
        }

    published = [published_metrics(country, BELOW), *(published_metrics(region, BELOW) for region in regions)]

    assert _hidden(published[0]) > 0
    assert too_narrow(attack(*published), BELOW) == {}


def _centre(centre_id: str, **counts) -> dict:
    from reports import metric_definitions as definitions

    return {"centre_id": centre_id, "centre_name": centre_id, "region": "030", **definitions.empty_counts(), **counts}


def test_an_outcome_count_bounded_by_the_day28_outcomes_cannot_be_narrowed():
    """A course has one day-28 outcome at most: severe respiratory failure by day 28 is at most the centre's day-28
    outcomes. With 3 of them published (all at WHO-CPS 0) and respiratory failure 1 hidden, that relation alone
    gave the reader [1, 3]; every outcome count is at most the eligible requests too (outcomes follow a dose)."""
    common = {
        "prescriptions_submitted": 10, "prescriptions_eligible": 10, "courses_completed": 10, "patients_treated": 10,
    }  # fmt: skip
    milano = _centre("a", **common, outcomes_day28={"0": 3}, respiratory_failure_day28=1, icu_admissions=1)
    bergamo = _centre("b", **common, outcomes_day28={"0": 4}, respiratory_failure_day28=1, icu_admissions=4)
    total = {key: milano[key] + bergamo[key] for key, value in milano.items() if isinstance(value, int)}
    region = {**milano, **total, "outcomes_day28": {"0": 7}, "by_centre": [milano, bergamo]}
    for key in ("centre_id", "centre_name", "region"):
        region.pop(key)

    published = published_metrics(region, BELOW)

    assert published["by_centre"][0]["respiratory_failure_day28"] == SUPPRESSED
    assert published["by_centre"][0]["outcomes_day28"]["0"] in (3, SUPPRESSED)
    assert too_narrow(attack(published), BELOW) == {}


def test_outcome_counts_of_a_synthetic_region_cannot_be_narrowed_through_their_denominators():
    """Seed 7 publishes a centre's eligible requests (3) beside a hidden day-28 count and a hidden day-14
    respiratory failure: without the outcome relations in the protection the reader narrowed both to [1, 3]."""
    _country, regions = synthetic_country(7, regions=2, centres=7, most=4)
    for region in regions.values():
        assert too_narrow(attack(published_metrics(region, BELOW)), BELOW) == {}
