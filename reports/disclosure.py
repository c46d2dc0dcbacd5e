"""Disclosure control of the monitoring figures that leave the region: primary and complementary cell suppression.

Where a report leaves the region (a whole-country run, or a region's run read by the national role), a count from
1 to ``below`` − 1 would point at one or two patients: it is **primary**-suppressed. Hiding it alone is not enough:
the report also prints totals, the per-centre table, the breakdowns and the identities between figures (requests =
eligible + refused, …), and a hidden count could be worked out from them by subtraction. So more cells are hidden
(**complementary** suppression) until no hidden cell can be recovered, or narrowed to an interval narrower than
``below``, by anyone who reads every number of the report and knows how its tables add up.

The method (see ``docs/disclosure.md``) is the linear-programming heuristic for cell suppression in tables with
linear constraints of Fischetti and Salazar-González ("Models and algorithms for optimizing cell suppression in
tabular data with linear constraints", JASA 95, 2000; the network-flow form is Kelly, Golden and Assad, 1992), the
same family of models τ-ARGUS solves:

1. the report is a set of cells (``Model.values``) and the linear relations a reader knows hold between them
   (``Model.relations``: totals are sums of their rows, and the identities of ``row_relations``);
2. the **attacker's** view of a hidden cell is the interval of values it can take in a solution of those relations
   where every published cell keeps its value and every hidden cell is at least 1 (zeros are never hidden, so a
   reader knows a hidden cell is not 0): two linear programs (``interval``), solved by HiGHS;
3. each hidden cell whose interval is narrower than ``below`` is protected by one more linear program
   (``_cover``): the cheapest deviation from the true table that satisfies every relation and moves the cell up
   by ``below``, cells already hidden costing (almost) nothing and the others their weight; every cell the
   deviation moves is hidden. Hiding more only widens the intervals, so each cell is settled once.

A whole-country report is protected region by region first, each region exactly as its own report is (so that
reading a region's report beside the country's tells nothing more), then its country-level cells are hidden as
needed: those are the only cells the country's report adds.

Pure: no ORM, no clock. ``published_metrics`` is what the API, the run page and the files show.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

# scipy is imported where the programs are built and solved, not with the module: it costs most of a second at
# every process's start (web, worker), and only a report that leaves the region solves anything.
from . import metric_definitions as definitions

# What a hidden count shows, whichever rule hid it (one mark for both: a "<3" would tell a reader the value).
SUPPRESSED = "x"
TOTAL = ("total",)
WEEKS = "requests_by_week"
PATIENTS_TREATED = "patients_treated"
_TOLERANCE = 1e-7
# Courses with an outcome of a kind (``reports.metrics._COURSES_WITH``): each at most the eligible requests.
OUTCOME_COURSE_COUNTS = ("deaths", "icu_admissions", "respiratory_failure_day14", "respiratory_failure_day28")

Cell = tuple  # (row, key, code): row a tuple ("total",), ("centre", id) or ("region", code); code "" or a code


def region_row(code: str) -> tuple:
    return ("region", str(code))


def centre_row(centre_id: str) -> tuple:
    return ("centre", str(centre_id))


@dataclass(frozen=True)
class Relation:
    """Σ coefficient × cell = 0 (``equality``) or ≤ 0."""

    coefficients: tuple[tuple[Cell, float], ...]
    equality: bool = True

    def holds(self, values: Mapping[Cell, int]) -> bool:
        total = sum(coefficient * values[cell] for cell, coefficient in self.coefficients)
        return abs(total) <= _TOLERANCE if self.equality else total <= _TOLERANCE


@dataclass
class Model:
    """The cells of one report (or of several published together) and the relations a reader knows."""

    values: dict[Cell, int] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)

    def relate(self, coefficients: Iterable[tuple[Cell, float]], *, equality: bool = True) -> None:
        """Add a relation, if it holds on the true figures (one that does not, a reader cannot rely on either)."""
        merged: dict[Cell, float] = {}
        for cell, coefficient in coefficients:
            if cell in self.values:
                merged[cell] = merged.get(cell, 0) + coefficient
        relation = Relation(tuple((cell, c) for cell, c in merged.items() if c), equality)
        if len(relation.coefficients) > 1 and relation.holds(self.values):
            self.relations.append(relation)

    def merge(self, other: "Model") -> None:
        self.values.update(other.values)
        self.relations.extend(other.relations)


# --- The cells and relations of a monitoring report -------------------------------------------------------------


def _columns(entries: Iterable[Mapping]) -> list[tuple[str, str]]:
    """(key, code) of every count column any of ``entries`` has: single counts with code "", breakdowns a code."""
    entries = list(entries)
    columns = []
    for definition in definitions.PER_CENTRE:
        key = definition.key
        present = [entry[key] for entry in entries if key in entry]
        if not present:
            continue
        if definition.breakdown:
            codes = dict.fromkeys(definition.fixed_codes())
            for value in present:
                if isinstance(value, Mapping):
                    codes.update(dict.fromkeys(str(code) for code in value))
            columns += [(key, code) for code in definition.in_order(dict.fromkeys(codes, 0))]
        else:
            columns.append((key, ""))
    return columns


def _value(entry: Mapping, key: str, code: str) -> int | None:
    value = entry.get(key)
    if code:
        if not isinstance(value, Mapping):
            return None
        value = {str(other): count for other, count in value.items()}.get(code, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _add_row(model: Model, row: tuple, entry: Mapping, columns: list[tuple[str, str]]) -> None:
    for key, code in columns:
        value = _value(entry, key, code)
        if value is not None:
            model.values[(row, key, code)] = value
    row_relations(model, row, entry)


def row_relations(model: Model, row: tuple, entry: Mapping) -> None:
    """The identities between the figures of one row (a centre, a region, the report), as documented in
    ``docs/disclosure.md``: those that hold on the row's true figures."""

    def cell(key: str, code: str = "") -> Cell:
        return (row, key, code)

    def codes(key: str) -> list[str]:
        value = entry.get(key)
        return [str(code) for code in value] if isinstance(value, Mapping) else []

    submitted, eligible, rejected = (
        cell("prescriptions_submitted"),
        cell("prescriptions_eligible"),
        cell("prescriptions_rejected"),
    )
    model.relate([(submitted, 1), (eligible, -1), (rejected, -1)])
    model.relate(
        [(submitted, 1), (rejected, -1)]
        + [
            (cell(key), -1)
            for key in ("courses_completed", "courses_stopped", "courses_cancelled", "courses_in_progress")
        ]
    )
    model.relate(
        [(cell("courses_stopped"), -1)] + [(cell("stops_by_reason", code), 1) for code in codes("stops_by_reason")]
    )
    model.relate([(cell("outcomes_day28", str(definitions.WHO_CPS_DEAD)), 1), (cell("deaths_day28"), -1)])
    model.relate([(cell("deaths_day28"), 1), (cell("deaths"), -1)], equality=False)
    # A course has one day-28 outcome at most (``one_outcome_per_day``), and outcomes are recorded on eligible
    # courses only, after a dose: each outcome count is at most its denominator, which a reader can use.
    day28 = [cell("outcomes_day28", str(score)) for score in range(definitions.WHO_CPS_DEAD + 1)]
    model.relate([(cell("respiratory_failure_day28"), 1)] + [(each, -1) for each in day28], equality=False)
    for key in OUTCOME_COURSE_COUNTS:
        model.relate([(cell(key), 1), (eligible, -1)], equality=False)
    model.relate([(each, 1) for each in day28] + [(eligible, -1)], equality=False)
    model.relate(
        [(cell("serious_adverse_events"), 1)]
        + [(cell("adverse_events_by_category", code), -1) for code in codes("adverse_events_by_category")],
        equality=False,
    )
    criteria = codes("rejections_by_criterion")
    for code in criteria:
        model.relate([(cell("rejections_by_criterion", code), 1), (rejected, -1)], equality=False)
    model.relate([(rejected, 1)] + [(cell("rejections_by_criterion", code), -1) for code in criteria], equality=False)
    weeks = codes(WEEKS)
    if weeks:
        model.relate([(submitted, -1)] + [(cell(WEEKS, week), 1) for week in weeks])


def _hierarchy(model: Model, parent: tuple, children: list[tuple], columns: list[tuple[str, str]]) -> None:
    """A parent row is the sum of its children, column by column; patients treated (distinct people) lie between
    the largest child and the children's sum."""
    for key, code in columns:
        if key == PATIENTS_TREATED:
            model.relate([((parent, key, code), 1)] + [((child, key, code), -1) for child in children], equality=False)
            for child in children:
                model.relate([((child, key, code), 1), ((parent, key, code), -1)], equality=False)
        elif definitions.BY_KEY[key].additive:
            model.relate([((parent, key, code), -1)] + [((child, key, code), 1) for child in children])


def _weeks(entry: Mapping) -> dict:
    weeks = entry.get(WEEKS)
    return dict(weeks) if isinstance(weeks, Mapping) else {}


def region_model(total: Mapping, centres: list[Mapping], *, total_row: tuple = TOTAL) -> Model:
    """One region's report: its total row (with its requests per week) and its centres' rows."""
    model = Model()
    columns = _columns([total, *centres])
    for week, count in _weeks(total).items():
        model.values[(total_row, WEEKS, str(week))] = count
    _add_row(model, total_row, total, columns)
    rows = []
    for entry in centres:
        row = centre_row(entry.get("centre_id"))
        rows.append(row)
        _add_row(model, row, entry, columns)
    _hierarchy(model, total_row, rows, columns)
    return model


def _region_of(entry: Mapping) -> str:
    region = entry.get("region")
    if isinstance(region, Mapping):
        region = region.get("code")
    return "" if region is None else str(region)


def country_models(metrics: Mapping) -> tuple[dict[str, Model], Model]:
    """A whole-country report with its ``by_region`` table: each region's own model, and the country's (every
    region's, its country row, and how the country adds up from the regions)."""
    by_region = {str(entry["region"]): entry for entry in metrics.get("by_region") or []}
    centres = [entry for entry in metrics.get(definitions.BY_CENTRE) or [] if isinstance(entry, Mapping)]
    regions = {
        code: region_model(entry, [c for c in centres if _region_of(c) == code], total_row=region_row(code))
        for code, entry in by_region.items()
    }
    country = Model()
    for model in regions.values():
        country.merge(model)
    columns = _columns([metrics, *by_region.values()])
    for week, count in _weeks(metrics).items():
        country.values[(TOTAL, WEEKS, str(week))] = count
    _add_row(country, TOTAL, metrics, columns)
    _hierarchy(country, TOTAL, [region_row(code) for code in by_region], columns)
    for week in _weeks(metrics):
        country.relate(
            [((TOTAL, WEEKS, str(week)), -1)] + [((region_row(code), WEEKS, str(week)), 1) for code in by_region]
        )
    return regions, country


# --- The attacker and the protection ------------------------------------------------------------------------------


class _Program:
    """The relations as sparse matrices over every cell (one column each), built once: which cells are hidden,
    fixed or free is then only a matter of bounds, so a program serves every linear program of a protection."""

    def __init__(self, model: Model):
        self.cells = sorted(model.values)
        self.index = {cell: position for position, cell in enumerate(self.cells)}
        self.values = np.array([model.values[cell] for cell in self.cells], dtype=float)
        self.ceiling = 10.0 * max(self.values, default=0) + 1000.0
        from scipy.sparse import coo_array, hstack

        rows = {True: ([], [], []), False: ([], [], [])}  # (row, column, coefficient)
        counts = {True: 0, False: 0}
        for relation in model.relations:
            r, col, coef = rows[relation.equality]
            for cell, coefficient in relation.coefficients:
                r.append(counts[relation.equality])
                col.append(self.index[cell])
                coef.append(coefficient)
            counts[relation.equality] += 1
        n = len(self.cells)
        self.eq = coo_array((rows[True][2], rows[True][:2]), shape=(counts[True], n)).tocsr() if counts[True] else None
        self.ub = (
            coo_array((rows[False][2], rows[False][:2]), shape=(counts[False], n)).tocsr() if counts[False] else None
        )
        # The deviation from the true figures (up − down) keeps every relation: equalities exactly, inequalities
        # within their slack.
        self.eq_both = hstack([self.eq, -self.eq]).tocsr() if self.eq is not None else None
        self.ub_both = hstack([self.ub, -self.ub]).tocsr() if self.ub is not None else None
        self.ub_slack = -(self.ub @ self.values) if self.ub is not None else None

    def attacker_bounds(self, hidden: set[Cell]) -> list[tuple[float, float]]:
        """A hidden cell anywhere from 1 (zeros are never hidden) up; a published one at its value.
        (An upper bound far above any count: HiGHS's presolve may call an unbounded program infeasible.)"""
        return [
            (1.0, self.ceiling) if cell in hidden else (value, value)
            for cell, value in zip(self.cells, self.values, strict=True)
        ]

    def extreme(self, cell: Cell, hidden: set[Cell], *, highest: bool) -> float | None:
        point = self.extreme_point(cell, hidden, highest=highest)
        if point is None:
            return None
        return float(point[self.index[cell]])

    def extreme_point(self, cell: Cell | Iterable[Cell], hidden: set[Cell], *, highest: bool):
        """A solution of the attacker's program taking ``cell`` (or the sum of several) to its highest (lowest)
        value, or None."""
        from scipy.optimize import linprog

        cost = np.zeros(len(self.cells))
        for each in [cell] if isinstance(cell, tuple) else cell:
            cost[self.index[each]] = -1.0 if highest else 1.0
        result = linprog(
            cost,
            A_ub=self.ub,
            b_ub=None if self.ub is None else np.zeros(self.ub.shape[0]),
            A_eq=self.eq,
            b_eq=None if self.eq is None else np.zeros(self.eq.shape[0]),
            bounds=self.attacker_bounds(hidden),
            method="highs",
        )
        if result.status != 0:
            return None
        return result.x


def intervals(model: Model, hidden: Iterable[Cell], cells: Iterable[Cell] | None = None) -> dict[Cell, tuple]:
    """The attacker: for each hidden cell (or each of ``cells``), the lowest and highest value it can take given
    every published cell of ``model`` and its relations, hidden cells at least 1."""
    hidden = set(hidden)
    program = _Program(model)
    return {
        cell: (program.extreme(cell, hidden, highest=False), program.extreme(cell, hidden, highest=True))
        for cell in sorted(hidden if cells is None else cells)
    }


def _weight(value: float) -> float:
    """The cost of hiding a cell, a unit of deviation: more for larger cells (totals stay published if they can)."""
    return 1.0 + math.log1p(value)


def _cover(program: _Program, cell: Cell, hidden: set[Cell], candidates: set[Cell], width: int) -> set[Cell]:
    """The cells to hide so that ``cell`` can move up by ``width``: the cheapest deviation satisfying every
    relation, the hidden cells free, the published ``candidates`` at their weight, every other cell fixed."""
    from scipy.optimize import linprog

    n = len(program.cells)
    cost = np.zeros(2 * n)
    up = [(0.0, 0.0)] * n
    down = [(0.0, 0.0)] * n
    for position, (each, value) in enumerate(zip(program.cells, program.values, strict=True)):
        if each in hidden or each in candidates:
            cost[position] = cost[n + position] = 0.001 if each in hidden else _weight(value)
            up[position] = (0.0, program.ceiling)
            down[position] = (0.0, max(value - 1.0, 0.0))
    target = program.index[cell]
    up[target], down[target] = (float(width), float(width)), (0.0, 0.0)
    result = linprog(
        cost,
        A_ub=program.ub_both,
        b_ub=program.ub_slack,
        A_eq=program.eq_both,
        b_eq=None if program.eq is None else np.zeros(program.eq.shape[0]),
        bounds=up + down,
        method="highs",
    )
    if result.status != 0:
        return set(candidates) - hidden, None
    moved = result.x[:n] + result.x[n:]
    more = {c for c, amount in zip(program.cells, moved, strict=True) if amount > 1e-6 and c not in hidden}
    return more, program.values + result.x[:n] - result.x[n:]


def protect(
    model: Model, below: int, *, candidates: Iterable[Cell] | None = None, hidden: Iterable[Cell] = ()
) -> set[Cell]:
    """The cells to hide: the primary ones (from 1 to ``below`` − 1) among ``candidates`` (default: every cell),
    ``hidden`` (already hidden elsewhere), and the complementary ones, taken from ``candidates``, until every
    hidden cell's interval (``intervals``) is at least ``below`` wide."""
    if below <= 1:
        return set(hidden)
    allowed = set(model.values) if candidates is None else set(candidates) & set(model.values)
    allowed = {cell for cell in allowed if model.values[cell] > 0}  # zeros name nobody: never hidden
    hidden = set(hidden) | {cell for cell in allowed if model.values[cell] < below}
    if not hidden:
        return hidden
    program = _Program(model)
    # The highest value each cell takes in the attacker's solutions found so far: hiding more keeps every one of
    # them a solution, so a cell one of them takes to its value + ``below`` is settled without a program of its own.
    reached = program.values.copy()
    goal = program.values + below - 1e-6

    def raise_all() -> None:
        """One program pushing every hidden cell not yet settled up at once: most are settled by its solution."""
        unsettled = [cell for cell in hidden if reached[program.index[cell]] < goal[program.index[cell]]]
        if unsettled:
            point = program.extreme_point(unsettled, hidden, highest=True)
            if point is not None:
                np.maximum(reached, point, out=reached)

    raise_all()
    pending = sorted(hidden)
    while pending:
        cell = pending.pop(0)
        position = program.index[cell]
        if reached[position] >= goal[position]:
            continue
        point = program.extreme_point(cell, hidden, highest=True)
        if point is None:
            continue
        np.maximum(reached, point, out=reached)
        if reached[position] >= goal[position]:
            continue
        more, point = _cover(program, cell, hidden, allowed - hidden, below)
        if not more:
            continue  # nothing left to hide: as protected as the published zeros allow
        hidden |= more
        if point is not None:
            np.maximum(reached, point, out=reached)
        raise_all()
        pending.extend(sorted(more))
        pending.append(cell)  # check it again with its cover
    return hidden


# --- What leaves the region ---------------------------------------------------------------------------------------


def suppressed_cells(metrics: Mapping, below: int) -> set[Cell]:
    """Every cell of ``metrics`` to hide where the report leaves the region."""
    if below <= 1 or not metrics:
        return set()
    centres = [entry for entry in metrics.get(definitions.BY_CENTRE) or [] if isinstance(entry, Mapping)]
    if metrics.get("by_region"):
        regions, country = country_models(metrics)
        hidden: set[Cell] = set()
        for model in regions.values():
            hidden |= protect(model, below)
        country_cells = {cell for cell in country.values if cell[0] == TOTAL}
        return protect(country, below, candidates=country_cells, hidden=hidden)
    return protect(region_model(metrics, centres), below)


def published_metrics(metrics: Mapping, below: int) -> dict:
    """``metrics`` with every hidden count (``suppressed_cells``) shown as ``SUPPRESSED``."""
    if below <= 1 or not metrics:
        return dict(metrics or {})
    return apply(metrics, suppressed_cells(metrics, below))


def apply(metrics: Mapping, hidden: set[Cell]) -> dict:
    rows: dict[tuple, set[tuple[str, str]]] = {}
    for row, key, code in hidden:
        rows.setdefault(row, set()).add((key, code))
    published = _hide(metrics, rows.get(TOTAL, set()))
    for list_key, make_row, id_key in (
        (definitions.BY_CENTRE, centre_row, "centre_id"),
        ("by_region", region_row, "region"),
    ):
        if isinstance(metrics.get(list_key), list):
            published[list_key] = [
                _hide(entry, rows.get(make_row(entry.get(id_key)), set())) if isinstance(entry, Mapping) else entry
                for entry in metrics[list_key]
            ]
    return published


def _hide(entry: Mapping, cells: set[tuple[str, str]]) -> dict:
    copy = {key: dict(value) if isinstance(value, Mapping) else value for key, value in entry.items()}
    for key, code in cells:
        if code:
            if isinstance(copy.get(key), dict):
                original = {str(c): c for c in copy[key]}
                copy[key][original.get(code, code)] = SUPPRESSED
        elif key in copy:
            copy[key] = SUPPRESSED
    return copy
