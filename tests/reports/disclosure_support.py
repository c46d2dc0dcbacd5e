"""The attacker of the disclosure-control tests, and synthetic reports with many small centres.

The attacker is written from what a reader has: the published figures (``reports.disclosure.SUPPRESSED`` where a
count is hidden) and the relations ``docs/disclosure.md`` says they obey. It does not reuse the protection's
model: it rebuilds the linear program from the published dict alone and asks HiGHS (``scipy.optimize.linprog``)
for the lowest and highest value of each hidden cell.
"""

import random
from collections import Counter, defaultdict
from datetime import date, timedelta

from scipy.optimize import linprog

from reports import metric_definitions as definitions
from reports.disclosure import SUPPRESSED

STATUSES = ("rejected", "completed", "stopped", "cancelled", "in_progress")
STOP_REASONS = ("adverse_event", "clinical_worsening", "discharge", "death", "patient_refusal", "other")
CRITERIA = ("SUPAR_AT_LEAST_6", "PAO2_FIO2_ABOVE_150", "NO_CPAP_OR_VENTILATION", "AGE_ADULT")
AE_CATEGORIES = ("neutropenia", "serious_infection", "hepatic", "injection_site_reaction", "hypersensitivity", "other")


# --- The attacker ---------------------------------------------------------------------------------------------


class Attacker:
    """Linear program over the hidden cells of a published report; ``intervals()`` → {cell: (low, high)}."""

    def __init__(self):
        self.known: dict = {}
        self.hidden: list = []
        self.equalities: list[dict] = []
        self.inequalities: list[dict] = []  # Σ ≤ 0

    def read(self, row, key, code, value):
        cell = (row, key, code)
        if value == SUPPRESSED:
            self.hidden.append(cell)
        else:
            self.known[cell] = value
        return cell

    def _cells(self, terms):
        return [(cell, c) for cell, c in terms if cell in self.known or cell in self.hidden]

    def equal(self, terms):
        self.equalities.append(self._cells(terms))

    def at_most(self, terms):
        self.inequalities.append(self._cells(terms))

    def intervals(self) -> dict:
        index = {cell: i for i, cell in enumerate(self.hidden)}
        n = len(self.hidden)

        def rows(relations):
            matrix, rhs = [], []
            for terms in relations:
                row = [0.0] * n
                constant = 0.0
                for cell, c in terms:
                    if cell in index:
                        row[index[cell]] += c
                    else:
                        constant += c * self.known[cell]
                if any(row):
                    matrix.append(row)
                    rhs.append(-constant)
            return (matrix or None), (rhs or None)

        a_eq, b_eq = rows(self.equalities)
        a_ub, b_ub = rows(self.inequalities)
        # Far above any count, so that HiGHS's presolve never takes an unbounded program for an infeasible one.
        ceiling = 10.0 * max(self.known.values(), default=0) + 1000.0
        bounds = [(1, ceiling)] * n
        found = {}
        for cell, i in index.items():
            cost = [0.0] * n
            cost[i] = 1.0
            low = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            cost[i] = -1.0
            high = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            assert low.status == 0 and high.status == 0, (cell, low.message, high.message)
            found[cell] = (low.fun, -high.fun)
        return found


def _codes(entries, key):
    codes = []
    for entry in entries:
        for code in entry.get(key) or {}:
            if str(code) not in codes:
                codes.append(str(code))
    return codes


def _read_row(attacker, row, entry, columns):
    for key, code in columns:
        value = entry.get(key)
        if code:
            value = (value or {}).get(code, 0) if isinstance(value, dict) else None
        if value is not None:
            attacker.read(row, key, code, value)


def _row_identities(attacker, row, entry):
    def c(key, code=""):
        return (row, key, code)

    codes = {key: [str(k) for k in (entry.get(key) or {})] for key in definitions.BREAKDOWN_KEYS}
    attacker.equal(
        [(c("prescriptions_submitted"), 1), (c("prescriptions_eligible"), -1), (c("prescriptions_rejected"), -1)]
    )
    attacker.equal(
        [(c("prescriptions_submitted"), 1), (c("prescriptions_rejected"), -1)]
        + [(c(k), -1) for k in ("courses_completed", "courses_stopped", "courses_cancelled", "courses_in_progress")]
    )
    attacker.equal([(c("courses_stopped"), -1)] + [(c("stops_by_reason", k), 1) for k in codes["stops_by_reason"]])
    attacker.equal([(c("outcomes_day28", "10"), 1), (c("deaths_day28"), -1)])
    attacker.at_most([(c("deaths_day28"), 1), (c("deaths"), -1)])
    attacker.at_most(
        [(c("serious_adverse_events"), 1)]
        + [(c("adverse_events_by_category", k), -1) for k in codes["adverse_events_by_category"]]
    )
    for k in codes["rejections_by_criterion"]:
        attacker.at_most([(c("rejections_by_criterion", k), 1), (c("prescriptions_rejected"), -1)])
    attacker.at_most(
        [(c("prescriptions_rejected"), 1)]
        + [(c("rejections_by_criterion", k), -1) for k in codes["rejections_by_criterion"]]
    )
    # The outcome counts (docs/disclosure.md): a course has at most one day-28 outcome, and outcomes are recorded
    # on eligible courses only (after a dose).
    day28 = [c("outcomes_day28", str(score)) for score in range(11)]
    attacker.at_most([(c("respiratory_failure_day28"), 1)] + [(cell, -1) for cell in day28])
    for key in ("deaths", "icu_admissions", "respiratory_failure_day14", "respiratory_failure_day28"):
        attacker.at_most([(c(key), 1), (c("prescriptions_eligible"), -1)])
    attacker.at_most([(cell, 1) for cell in day28] + [(c("prescriptions_eligible"), -1)])
    if codes["requests_by_week"]:
        attacker.equal(
            [(c("prescriptions_submitted"), -1)] + [(c("requests_by_week", w), 1) for w in codes["requests_by_week"]]
        )


def _columns(entries):
    columns = []
    for definition in definitions.PER_CENTRE:
        if not any(definition.key in entry for entry in entries):
            continue
        if definition.breakdown:
            codes = list(definition.fixed_codes()) + [
                k for k in _codes(entries, definition.key) if k not in definition.fixed_codes()
            ]
            columns += [(definition.key, code) for code in codes]
        else:
            columns.append((definition.key, ""))
    return columns


def _sum_up(attacker, parent, children, columns):
    for key, code in columns:
        if key == "patients_treated":
            attacker.at_most([((parent, key, code), 1)] + [((child, key, code), -1) for child in children])
            for child in children:
                attacker.at_most([((child, key, code), 1), ((parent, key, code), -1)])
        elif definitions.BY_KEY[key].additive:
            attacker.equal([((parent, key, code), -1)] + [((child, key, code), 1) for child in children])


def attack(*reports) -> dict:
    """Every published report given (a region's; a country's with its by_region; several together), read as one:
    the interval of every hidden cell."""
    attacker = Attacker()
    for number, metrics in enumerate(reports):
        _attack_report(attacker, metrics, f"report{number}")
    return attacker.intervals()


def _attack_report(attacker, metrics, name):
    centres = metrics.get("by_centre") or []
    by_region = metrics.get("by_region") or []
    # Centres and regions are the same cells in every report that prints them: a region's report's total is the
    # region's row of the country's report.
    regions = {centre["region"] for centre in centres}
    if by_region:
        top = ("country",)
    elif len(regions) == 1:
        top = ("region", regions.pop())
    else:
        top = (name, "total")
    columns = _columns([metrics, *centres, *by_region])
    _read_row(attacker, top, metrics, columns)
    for week, value in (metrics.get("requests_by_week") or {}).items():
        attacker.read(top, "requests_by_week", week, value)
    _row_identities(attacker, top, metrics)
    groups = {top: centres}
    if by_region:
        groups = {}
        for entry in by_region:
            row = ("region", entry["region"])
            _read_row(attacker, row, entry, columns)
            for week, value in (entry.get("requests_by_week") or {}).items():
                attacker.read(row, "requests_by_week", week, value)
            _row_identities(attacker, row, entry)
            groups[row] = [centre for centre in centres if centre["region"] == entry["region"]]
        _sum_up(attacker, top, list(groups), columns)
        for week in metrics.get("requests_by_week") or {}:
            attacker.equal(
                [((top, "requests_by_week", week), -1)] + [((row, "requests_by_week", week), 1) for row in groups]
            )
    for parent, members in groups.items():
        rows = []
        for centre in members:
            row = ("centre", centre["centre_id"])
            rows.append(row)
            _read_row(attacker, row, centre, columns)
            _row_identities(attacker, row, centre)
        _sum_up(attacker, parent, rows, columns)


def too_narrow(intervals: dict, below: int) -> dict:
    return {cell: (lo, hi) for cell, (lo, hi) in intervals.items() if hi - lo < below - 1e-6}


# --- Synthetic reports ----------------------------------------------------------------------------------------


def _outcomes(rng, p):
    """Day-14 and day-28 flags of a treated course: severe respiratory failure by that day, ICU admission, from
    ``rng`` (not the prescriptions' own generator, so the rest of a seed's data stays as it was)."""
    if not p.get("treated"):
        return
    if rng.random() < 0.6:
        p["rf14"] = rng.random() < 0.35
        p["icu14"] = rng.random() < 0.2
        p["dead14"] = rng.random() < 0.05
    if "who28" in p:
        p["rf28"] = p["who28"] >= 6 or rng.random() < 0.3
        p["icu28"] = rng.random() < 0.25


def _prescription(rng, week_days):
    status = rng.choice(STATUSES)
    p = {"status": status, "day": rng.choice(week_days), "ae": Counter(), "serious": 0}
    if status == "rejected":
        p["criteria"] = set(rng.sample(CRITERIA, rng.randint(1, 2)))
        return p
    p["treated"] = status in ("completed", "stopped") or (status == "in_progress" and rng.random() < 0.5)
    if status == "stopped":
        p["reason"] = rng.choice(STOP_REASONS)
    if p["treated"]:
        p["doses"] = rng.randint(1, 10)
        if rng.random() < 0.3:
            category = rng.choice(AE_CATEGORIES)
            p["ae"][category] += 1
            p["serious"] = int(rng.random() < 0.4)
        if status == "completed" or rng.random() < 0.5:
            p["who28"] = rng.choice([3, 4, 5, 10] if rng.random() < 0.3 else [0, 1, 2])
    return p


def _entry(prescriptions, patients):
    entry = definitions.empty_counts()
    entry["prescriptions_submitted"] = len(prescriptions)
    for p in prescriptions:
        status = p["status"]
        if status == "rejected":
            entry["prescriptions_rejected"] += 1
            for code in p["criteria"]:
                entry["rejections_by_criterion"][code] = entry["rejections_by_criterion"].get(code, 0) + 1
            continue
        entry["prescriptions_eligible"] += 1
        entry[f"courses_{status}"] += 1
        if status == "stopped":
            entry["stops_by_reason"][p["reason"]] += 1
        entry["doses_administered"] += p.get("doses", 0)
        entry["syringes_dispensed"] += p.get("doses", 0)
        for category, count in p["ae"].items():
            entry["adverse_events_by_category"][category] += count
        entry["serious_adverse_events"] += p["serious"]
        if "who28" in p:
            score = str(p["who28"])
            entry["outcomes_day28"][score] = entry["outcomes_day28"].get(score, 0) + 1
            if p["who28"] == 10:
                entry["deaths_day28"] += 1
        # Courses counted once each, as reports.metrics does.
        entry["deaths"] += int(p.get("who28") == 10 or p.get("dead14", False))
        entry["icu_admissions"] += int(p.get("icu14", False) or p.get("icu28", False))
        entry["respiratory_failure_day14"] += int(p.get("rf14", False))
        entry["respiratory_failure_day28"] += int(p.get("rf28", False))
    entry["patients_treated"] = len({p["patient"] for p in prescriptions if p.get("treated")})
    entry["rejections_by_criterion"] = definitions.BY_KEY["rejections_by_criterion"].in_order(
        entry["rejections_by_criterion"]
    )
    return entry


def _weeks(prescriptions, days):
    weeks = {definitions.iso_week(day): 0 for day in days}
    for p in prescriptions:
        weeks[definitions.iso_week(p["day"])] += 1
    return dict(sorted(weeks.items()))


def synthetic_country(seed: int, *, regions: int = 3, centres: int = 6, most: int = 5) -> tuple[dict, dict]:
    """A whole-country report (with ``by_region``) and each region's own report, from random prescriptions:
    many centres with 0 to ``most`` requests each, a few patients treated at two centres; treated courses with
    day-14 and day-28 outcomes (deaths, ICU admissions, severe respiratory failure counted per course)."""
    rng = random.Random(seed)
    outcomes_rng = random.Random(f"outcomes-{seed}")
    start = date(2025, 1, 1)
    days = [start + timedelta(days=offset) for offset in range(31)]
    by_centre, per_region = [], defaultdict(list)
    patient = 0
    for r in range(regions):
        code = f"{(r + 1) * 10:03d}"
        for c in range(centres):
            centre_id = f"{code}-c{c:02d}"
            prescriptions = [_prescription(rng, days) for _ in range(rng.randint(0, most))]
            for p in prescriptions:
                _outcomes(outcomes_rng, p)
            for p in prescriptions:
                patient += 1
                p["patient"] = patient
                if rng.random() < 0.1 and per_region[code]:  # the same patient treated at another centre
                    p["patient"] = rng.choice(per_region[code])["patient"]
            if not prescriptions:
                continue
            per_region[code] += prescriptions
            by_centre.append(
                {
                    "centre_id": centre_id,
                    "centre_name": f"Centre {centre_id}",
                    "region": code,
                    **_entry(prescriptions, None),
                }
            )
    region_reports = {}
    by_region = []
    for code, prescriptions in per_region.items():
        total = _entry(prescriptions, None)
        weeks = _weeks(prescriptions, days)
        by_region.append({"region": code, **total, "requests_by_week": weeks})
        region_reports[code] = {
            **total,
            "requests_by_week": weeks,
            "by_centre": [entry for entry in by_centre if entry["region"] == code],
        }
    everything = [p for ps in per_region.values() for p in ps]
    country = {**_entry(everything, None), "requests_by_week": _weeks(everything, days), "by_centre": by_centre}
    country["by_region"] = by_region
    return country, region_reports
