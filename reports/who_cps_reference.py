"""The report's day-28 WHO-CPS distribution beside SAVE-MORE's (issue 19), in the bands the trial published.

SAVE-MORE (Kyriazopoulou et al., Nat Med 2021; 594 patients assessed, 405 on anakinra and 189 on placebo), as
AIFA's listing dossier for L.648 reports it: at day 28, 50.4 % (204/405) on anakinra and 26.5 % (50/189) on
placebo had fully recovered with no viral RNA (WHO-CPS 0), and 3.2 % and 6.9 % had died (WHO-CPS 10). Those two
ends are what the sources give for every arm; the scores between (1–9: still ill, in or out of hospital) are the
rest. The report's own distribution (``outcomes_day28``) is put in the same three bands.

Pure: reads the figures as published. Where the disclosure control hid one of the day-28 counts
(``reports.disclosure``), the report's shares are not computed (a share of known counts would give a hidden one
back): the band reads None.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .disclosure import SUPPRESSED


@dataclass(frozen=True)
class Band:
    key: str
    label: Promise
    scores: tuple[int, ...]
    anakinra: float  # SAVE-MORE's share on anakinra
    placebo: float  # on placebo


BANDS: tuple[Band, ...] = (
    Band("recovered", gettext_lazy("Fully recovered (WHO-CPS 0)"), (0,), 204 / 405, 50 / 189),
    Band(
        "ill",
        gettext_lazy("Still ill (WHO-CPS 1–9)"),
        tuple(range(1, 10)),
        1 - 204 / 405 - 0.032,
        1 - 50 / 189 - 0.069,
    ),
    Band("died", gettext_lazy("Died (WHO-CPS 10)"), (10,), 0.032, 0.069),
)
SOURCE = gettext_lazy(
    "SAVE-MORE (Kyriazopoulou et al., Nat Med 2021; 405 patients on anakinra, 189 on placebo): recovered and died "
    "at day 28 as published; still ill, the rest."
)


@dataclass(frozen=True)
class Row:
    band: Band
    observed: float | None  # the report's share, None where it cannot be shown
    count: int | None


def rows(metrics: Mapping) -> list[Row]:
    """The three bands with the report's shares; empty when the report has no day-28 outcome."""
    distribution = metrics.get("outcomes_day28")
    if not isinstance(distribution, Mapping):
        return []
    values = {str(score): value for score, value in distribution.items()}
    hidden = any(value == SUPPRESSED for value in values.values())
    counts = {score: value for score, value in values.items() if isinstance(value, int) and not isinstance(value, bool)}
    total = sum(counts.values())
    if total == 0 and not hidden:
        return []
    result = []
    for band in BANDS:
        count = None if hidden else sum(counts.get(str(score), 0) for score in band.scores)
        result.append(Row(band, None if count is None else count / total, count))
    return result


def header() -> list[str]:
    return [_("WHO-CPS at day 28"), _("This report"), _("SAVE-MORE, anakinra"), _("SAVE-MORE, placebo")]


def display_rows(metrics: Mapping, percent) -> list[tuple[str, str, str, str]]:
    """The bands as printed, ``percent`` writing a share the reader's way; "—" where the report's share is not
    shown (a hidden count)."""
    return [
        (
            str(row.band.label),
            "—" if row.observed is None else percent(row.observed),
            percent(row.band.anakinra),
            percent(row.band.placebo),
        )
        for row in rows(metrics)
    ]
