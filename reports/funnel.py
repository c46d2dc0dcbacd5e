"""Funnel plots of the centres' outcomes: each centre's proportion against the report's, with exact binomial limits.

Spiegelhalter, "Funnel plots for comparing institutional performance", Statistics in Medicine 24 (2005) 1185–1202,
appendix A.1.1: for a target proportion θ and a centre of n patients, the control limit at probability p is

    r_p = the smallest r with P(R ≤ r) ≥ p, R ~ Binomial(n, θ);
    α   = (P(R ≤ r_p) − p) / (P(R ≤ r_p) − P(R ≤ r_p − 1));
    limit = (r_p − α) / n,

the interpolation making the limits a smooth funnel rather than steps. The 95 % limits are p = 0.025 and 0.975,
the 99.8 % ones p = 0.001 and 0.999 (about 2 and 3 standard deviations). A centre outside the 99.8 % limits is
flagged as an alarm, outside the 95 % ones as an alert.

Two outcomes are drawn: day-28 mortality (``deaths_day28``) and progression to severe respiratory failure by day
28 (``respiratory_failure_day28``), each over the centre's day-28 outcomes recorded (``outcomes_day28``). The
SAVE-MORE trial's day-28 mortality (Kyriazopoulou et al., Nat Med 2021: 3.2 % on anakinra, 6.9 % on placebo) is
drawn beside as a reference. Pure: reads the figures as published (a hidden count, ``reports.disclosure``, leaves
its centre out of the plot, counted in ``Funnel.hidden``).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from .disclosure import SUPPRESSED

COVERAGES = (0.95, 0.998)
ALERT, ALARM = "alert", "alarm"  # outside the 95 %, outside the 99.8 % limits
HIGH, LOW = "high", "low"


@dataclass(frozen=True)
class Measure:
    key: str  # the numerator's metric key
    label: Promise
    references: tuple[tuple[Promise, float], ...] = ()


MEASURES: tuple[Measure, ...] = (
    Measure(
        "deaths_day28",
        gettext_lazy("Day-28 mortality"),
        (
            (gettext_lazy("SAVE-MORE, anakinra (3.2%)"), 0.032),
            (gettext_lazy("SAVE-MORE, placebo (6.9%)"), 0.069),
        ),
    ),
    Measure("respiratory_failure_day28", gettext_lazy("Severe respiratory failure by day 28")),
)
DENOMINATOR = "outcomes_day28"


def binomial_limit(n: int, theta: float, probability: float) -> float:
    """The control limit of a proportion at ``probability`` for ``n`` cases around ``theta`` (Spiegelhalter 2005)."""
    return binomial_limits([n], theta, probability)[0]


def binomial_limits(sizes: Sequence[int], theta: float, probability: float) -> list[float]:
    """:func:`binomial_limit` for each of ``sizes`` at once: scipy's distribution is asked once for them all (a
    funnel's curve has about sixty sizes, each limit three calls of the distribution), the same figures as one by
    one."""
    import numpy as np
    from scipy.stats import binom  # imported on first use: scipy is slow to import at every process's start

    if any(n <= 0 for n in sizes):
        raise ValueError("a funnel limit needs at least one case")
    if theta <= 0:
        return [0.0] * len(sizes)
    if theta >= 1:
        return [1.0] * len(sizes)
    n = np.asarray(sizes, dtype=float)
    r = binom.ppf(probability, n, theta)
    at_r = binom.cdf(r, n, theta)
    below_r = np.where(r > 0, binom.cdf(r - 1, n, theta), 0.0)
    step = at_r - below_r
    alpha = np.divide(at_r - probability, step, out=np.zeros_like(step), where=at_r > below_r)
    return [min(max(float(limit), 0.0), 1.0) for limit in (r - alpha) / n]


def control_limits(n: int, theta: float, coverage: float) -> tuple[float, float]:
    """(lower, upper) limits holding ``coverage`` of a centre's proportion of ``n`` cases under ``theta``."""
    return control_limits_along([n], theta, coverage)[0]


def control_limits_along(sizes: Sequence[int], theta: float, coverage: float) -> list[tuple[float, float]]:
    """:func:`control_limits` for each of ``sizes``, computed together."""
    tail = (1 - coverage) / 2
    return list(zip(binomial_limits(sizes, theta, tail), binomial_limits(sizes, theta, 1 - tail), strict=True))


@dataclass(frozen=True)
class Point:
    centre_id: str
    centre_name: str
    region: str
    events: int
    cases: int
    limits: dict[float, tuple[float, float]]
    flag: str = ""  # "", ALERT or ALARM
    direction: str = ""  # HIGH or LOW when flagged

    @property
    def proportion(self) -> float:
        return self.events / self.cases


@dataclass(frozen=True)
class Funnel:
    measure: Measure
    target: float  # the report's proportion
    events: int
    cases: int
    points: list[Point] = field(default_factory=list)
    hidden: int = 0  # centres left out: a count of theirs is hidden where the report leaves the region

    def curve(self, steps: int = 60) -> list[tuple[int, dict[float, tuple[float, float]]]]:
        """The limits along n, from 1 to the largest centre (and at least 20), for drawing."""
        largest = max([point.cases for point in self.points] + [20])
        sizes = sorted({max(1, round(1 + (largest - 1) * i / steps)) for i in range(steps + 1)})
        limits = {coverage: control_limits_along(sizes, self.target, coverage) for coverage in COVERAGES}
        return [(n, {c: limits[c][i] for c in COVERAGES}) for i, n in enumerate(sizes)]


def _count(value) -> int | None:
    if value == SUPPRESSED or isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _cases(entry: Mapping) -> int | None:
    outcomes = entry.get(DENOMINATOR)
    if not isinstance(outcomes, Mapping):
        return None
    counts = [_count(value) for value in outcomes.values()]
    return None if None in counts else sum(counts)


def funnel(metrics: Mapping, measure: Measure) -> Funnel | None:
    """The funnel of ``measure`` over the centres of ``metrics`` (as published); None when the report's own
    proportion is hidden or has no case."""
    events, cases = _count(metrics.get(measure.key)), _cases(metrics)
    if events is None or not cases:
        return None
    target = events / cases
    points, hidden = [], 0
    for entry in metrics.get("by_centre") or []:
        if not isinstance(entry, Mapping):
            continue
        centre_events, centre_cases = _count(entry.get(measure.key)), _cases(entry)
        if centre_events is None or centre_cases is None:
            hidden += 1
            continue
        if not centre_cases:
            continue
        limits = {coverage: control_limits(centre_cases, target, coverage) for coverage in COVERAGES}
        proportion = centre_events / centre_cases
        flag = direction = ""
        for coverage, name in ((COVERAGES[1], ALARM), (COVERAGES[0], ALERT)):
            low, high = limits[coverage]
            if proportion > high or proportion < low:
                flag, direction = name, HIGH if proportion > high else LOW
                break
        points.append(
            Point(
                centre_id=str(entry.get("centre_id") or ""),
                centre_name=str(entry.get("centre_name") or ""),
                region=str(entry.get("region") or ""),
                events=centre_events,
                cases=centre_cases,
                limits=limits,
                flag=flag,
                direction=direction,
            )
        )
    return Funnel(measure=measure, target=target, events=events, cases=cases, points=points, hidden=hidden)


def funnels(metrics: Mapping) -> list[Funnel]:
    """Every measure's funnel the report can draw."""
    return [f for f in (funnel(metrics, measure) for measure in MEASURES) if f is not None]
