"""Funnel plots (issue 19): exact binomial control limits (Spiegelhalter 2005), centres outside flagged, drawn in
the page, the PDF and the XLSX; a hidden count keeps its centre out of the national plot."""

import io
import math

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from scipy.stats import binom

from reports import charts, funnel
from reports.disclosure import SUPPRESSED
from reports.renderers import render_monitoring

from .test_pages import browser  # noqa: F401, F811  (a signed-in page client)
from .test_renderers import context, english  # noqa: F401  (English labels)


def _by_hand(n, theta, p):
    """Spiegelhalter (2005), appendix A.1.1, written out step by step."""
    r = 0
    while binom.cdf(r, n, theta) < p:
        r += 1
    alpha = (binom.cdf(r, n, theta) - p) / (binom.cdf(r, n, theta) - (binom.cdf(r - 1, n, theta) if r else 0))
    return (r - alpha) / n


@pytest.mark.parametrize(
    ("n", "theta", "coverage", "expected"),
    [
        # n = 100, θ = 0.5: r(0.975) = 60, P(R ≤ 60) = 0.98240, P(R ≤ 59) = 0.97156, so the upper 95 % limit is
        # (60 − (0.98240 − 0.975) / (0.98240 − 0.97156)) / 100 = 0.5932; the normal approximation gives 0.598.
        (100, 0.5, 0.95, (0.3968, 0.5932)),
        (100, 0.5, 0.998, (0.3412, 0.6488)),
        # Large n: the exact limits meet θ ± z √(θ(1−θ)/n) (0.0814–0.1186 and 0.0707–0.1293).
        (1000, 0.1, 0.95, (0.0813, 0.1185)),
        (1000, 0.1, 0.998, (0.0713, 0.1299)),
        # SAVE-MORE's placebo mortality over 50 outcomes: no lower limit above 0.
        (50, 0.069, 0.95, (0.0, 0.1373)),
    ],
)
def test_exact_binomial_limits_match_the_published_method(n, theta, coverage, expected):
    low, high = funnel.control_limits(n, theta, coverage)
    assert (round(low, 4), round(high, 4)) == expected
    tail = (1 - coverage) / 2
    assert high == pytest.approx(_by_hand(n, theta, 1 - tail)) and low == pytest.approx(
        max(_by_hand(n, theta, tail), 0)
    )


def _one_by_one(n, theta, p):
    """The limit as computed before the curve asked scipy for all its sizes at once: one size, three calls."""
    r = float(binom.ppf(p, n, theta))
    at_r = float(binom.cdf(r, n, theta))
    below_r = float(binom.cdf(r - 1, n, theta)) if r > 0 else 0.0
    alpha = (at_r - p) / (at_r - below_r) if at_r > below_r else 0.0
    return min(max((r - alpha) / n, 0.0), 1.0)


@pytest.mark.parametrize("theta", [0.0, 0.001, 0.032, 0.069, 17 / 240, 0.5, 0.93, 1.0])
def test_the_curve_gives_each_size_the_limits_computed_one_by_one(theta):
    """The funnel's curve computes every size's limits in one call of the distribution: exactly the figures of one
    size at a time (float for float), at both coverages, from one case to a large centre."""
    chart = funnel.Funnel(
        measure=funnel.MEASURES[0],
        target=theta,
        events=0,
        cases=1,
        points=[funnel.Point("c", "C", "030", 1, 2400, {})],
    )
    curve = chart.curve()
    assert [n for n, _limits in curve][:3] == [1, 41, 81] and curve[-1][0] == 2400
    for n, limits in curve:
        for coverage in funnel.COVERAGES:
            tail = (1 - coverage) / 2
            if 0 < theta < 1:
                expected = (_one_by_one(n, theta, tail), _one_by_one(n, theta, 1 - tail))
            else:
                expected = (float(theta >= 1), float(theta >= 1))
            assert limits[coverage] == expected, (n, coverage)
    assert funnel.binomial_limits([40, 1, 400], 0.069, 0.975) == [
        funnel.binomial_limit(40, 0.069, 0.975),
        funnel.binomial_limit(1, 0.069, 0.975),
        funnel.binomial_limit(400, 0.069, 0.975),
    ]
    with pytest.raises(ValueError):
        funnel.binomial_limits([3, 0], 0.069, 0.975)


def test_limits_close_in_as_centres_grow_and_approach_the_normal_ones():
    widths = [funnel.control_limits(n, 0.069, 0.95) for n in (20, 50, 100, 400, 1600, 6400)]
    spans = [high - low for low, high in widths]
    assert spans == sorted(spans, reverse=True)
    low, high = funnel.control_limits(6400, 0.069, 0.998)
    half = 3.0902 * math.sqrt(0.069 * 0.931 / 6400)
    assert low == pytest.approx(0.069 - half, abs=5e-4) and high == pytest.approx(0.069 + half, abs=5e-4)


def _centre(centre_id, deaths, outcomes, failure=0):
    return {
        "centre_id": centre_id,
        "centre_name": f"Centre {centre_id}",
        "region": "030",
        "deaths_day28": deaths,
        "respiratory_failure_day28": failure,
        "outcomes_day28": {"2": outcomes - deaths, "10": deaths},
    }


def _metrics(*centres):
    deaths = sum(c["deaths_day28"] for c in centres)
    outcomes = sum(sum(c["outcomes_day28"].values()) for c in centres)
    return {
        "deaths_day28": deaths,
        "respiratory_failure_day28": sum(c["respiratory_failure_day28"] for c in centres),
        "outcomes_day28": {"2": outcomes - deaths, "10": deaths},
        "by_centre": list(centres),
    }


def test_a_centre_far_above_the_regions_mortality_is_flagged_and_the_others_are_not():
    metrics = _metrics(_centre("a", 2, 100), _centre("b", 3, 100), _centre("c", 12, 40), _centre("d", 1, 60))
    chart = funnel.funnel(metrics, funnel.MEASURES[0])

    assert chart.target == pytest.approx(18 / 300)
    flags = {point.centre_id: (point.flag, point.direction) for point in chart.points}
    assert flags["c"] == (funnel.ALARM, funnel.HIGH)  # 30 % where the region has 6 %
    assert flags["a"] == ("", "") and flags["d"] == ("", "")
    assert [label for label, _v in chart.measure.references] == [
        "SAVE-MORE, anakinra (3.2%)",
        "SAVE-MORE, placebo (6.9%)",
    ]


def test_a_hidden_count_leaves_its_centre_out_and_a_hidden_total_draws_no_funnel():
    metrics = _metrics(_centre("a", 2, 100), _centre("b", 3, 100))
    metrics["by_centre"][1]["deaths_day28"] = SUPPRESSED
    chart = funnel.funnel(metrics, funnel.MEASURES[0])
    assert [point.centre_id for point in chart.points] == ["a"] and chart.hidden == 1
    assert funnel.funnel({**metrics, "deaths_day28": SUPPRESSED}, funnel.MEASURES[0]) is None


def test_the_funnel_is_drawn_in_the_pdf_the_xlsx_and_as_svg():
    metrics = _metrics(_centre("a", 2, 100), _centre("b", 3, 100), _centre("c", 12, 40))
    ctx = context(metrics)
    svg = charts.funnel_svg(funnel.funnel(metrics, funnel.MEASURES[0]))
    assert svg.startswith("<svg ") and "SAVE-MORE" in svg

    out = io.BytesIO()
    render_monitoring(ctx, "pdf", out)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(out.getvalue())).pages)
    assert "Funnel plot: Day-28 mortality" in text and "above the 99.8% limit" in text

    out = io.BytesIO()
    render_monitoring(ctx, "xlsx", out)
    sheet = load_workbook(io.BytesIO(out.getvalue()))["Funnel plots"]
    header, *rows = [row for row in sheet.iter_rows(values_only=True) if row and row[0]]
    table = [dict(zip(header, row, strict=False)) for row in rows if isinstance(row[4], int)]
    c = next(row for row in table if row["Centre ID"] == "c" and row["Outcome"] == "Day-28 mortality")
    assert c["Proportion"] == pytest.approx(0.3) and c["Flag"] == "above the 99.8% limit"
    low, high = funnel.control_limits(40, 17 / 240, 0.95)
    assert c["95% lower limit"] == pytest.approx(low) and c["95% upper limit"] == pytest.approx(high)


def test_the_run_page_shows_the_funnel_and_names_the_centre_outside(browser):  # noqa: F811
    from django.utils import timezone

    from reports.models import ReportStatus

    from .test_pages import _run, html, squash

    metrics = _metrics(_centre("a", 2, 100), _centre("b", 3, 100), _centre("c", 12, 40))
    run = _run(status=ReportStatus.DONE, progress=100, metrics=metrics, data_as_of=timezone.now())

    page = html(browser("officer.lombardia").get(f"/reports/{run.pk}/"))

    assert 'data-section="funnels"' in page and 'aria-label="Funnel plot: Day-28 mortality"' in page
    text = squash(page)
    assert "Centre c: 30.0%, above the 99.8% limit" in text
    assert "Reference: SAVE-MORE, anakinra (3.2%); SAVE-MORE, placebo (6.9%)." in text


def test_a_whole_country_run_shows_its_regions_table_in_the_page_and_the_pdf(browser, settings):  # noqa: F811
    from django.utils import timezone

    from reports.models import ReportStatus
    from reports.runs import report_context

    from .disclosure_support import synthetic_country
    from .test_pages import _run, html, squash

    settings.REPORTS_SUPPRESS_BELOW = 3
    country, _regions = synthetic_country(4, regions=2, centres=4)
    run = _run(region_id=None, status=ReportStatus.DONE, progress=100, metrics=country, data_as_of=timezone.now())

    text = squash(html(browser("aifa").get(f"/reports/{run.pk}/")))
    assert "By region" in text and "010 010" in text  # the synthetic regions are named by their code

    out = io.BytesIO()
    render_monitoring(report_context(run), "pdf", out)
    pdf = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(out.getvalue())).pages)
    assert "By region" in pdf


def _drawn(figure):
    figure.canvas.draw()
    return figure.axes[0]


@pytest.mark.parametrize("measure", funnel.MEASURES, ids=lambda measure: measure.key)
def test_a_funnel_with_nothing_observed_has_a_plain_axis_and_italian_numbers(measure):
    # The audit: with no case anywhere the limits are 0 give or take 1e-19, and matplotlib wrote "1e−19" over a
    # 0–6 axis; the legend and the ticks read "0.0%" and "2.5" on an Italian page.
    from django.utils import translation

    metrics = _metrics(_centre("a", 0, 12), _centre("b", 0, 9))
    chart = funnel.funnel(metrics, measure)
    with translation.override("it"), charts._rc_context(charts.RC):
        axes = _drawn(charts._funnel_figure(chart))
        offset = axes.yaxis.get_offset_text().get_text()
        legend = [text.get_text() for text in axes.get_legend().get_texts()]
        x_ticks = [label.get_text() for label in axes.get_xticklabels() if label.get_text()]
        y_top = axes.get_ylim()[1]
    assert offset == ""
    assert y_top >= 1  # at least one per cent of room, not a hair above zero
    assert any(text.endswith("0,0%") for text in legend), legend
    assert x_ticks and all("." not in tick for tick in x_ticks), x_ticks  # whole outcomes, Italian digits


def test_the_weeks_are_named_in_the_readers_language():
    from django.utils import translation

    with translation.override("it"):
        assert charts._week_label("2026-W46") == "S46"
    with translation.override("en"):
        assert charts._week_label("2026-W46") == "W46"
