"""L.648 spending in the monitoring report (issue 20): the syringes the cohort's courses were given, less those
returned after a stop, at AIFA's price per syringe on the day of each (``prescriptions.stock.selectors``).

The run keeps it under ``metrics["spending"]`` (``reports.runs``): ``{"total": {...}, "by_centre": {centre id:
{...}}}``, each ``{"syringes_dispensed", "syringes_returned", "net_syringes", "amount_eur", "unpriced_syringes"}``.
It is the Region's own figure: it is shown to the Region's officers and in its files, and left out of whatever
leaves the region (``reports.selectors.report_metrics_published``), where a centre's amount divided by the price
would give back a syringe count the disclosure control hides.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from ..kinds import SPENDING, ReportContext

COLUMNS = ("syringes_dispensed", "syringes_returned", "net_syringes", "amount_eur", "unpriced_syringes")


@dataclass(frozen=True)
class SpendingRow:
    centre_id: str  # "" for the report's total
    centre_name: str
    syringes_dispensed: int
    syringes_returned: int
    net_syringes: int
    amount_eur: Decimal
    unpriced_syringes: int


def column_labels() -> list[str]:
    return [
        _("Syringes dispensed"),
        _("Syringes returned"),
        _("Net syringes"),
        _("Spending (EUR)"),
        _("Syringes without a price"),
    ]


def _amount(value) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError):
        return Decimal("0.00")


def _row(centre_id: str, name: str, figures: Mapping) -> SpendingRow:
    return SpendingRow(
        centre_id,
        name,
        int(figures.get("syringes_dispensed") or 0),
        int(figures.get("syringes_returned") or 0),
        int(figures.get("net_syringes") or 0),
        _amount(figures.get("amount_eur")),
        int(figures.get("unpriced_syringes") or 0),
    )


def spending_rows(context: ReportContext) -> list[SpendingRow]:
    """The total first, then each centre with spending, by name; empty when the report carries no spending."""
    spending = context.metrics.get(SPENDING)
    if not isinstance(spending, Mapping):
        return []
    names = {
        str(entry.get("centre_id")): entry.get("centre_name", "") for entry in context.metrics.get("by_centre") or []
    }
    by_centre = spending.get("by_centre") or {}
    centres = sorted(
        (
            _row(str(centre_id), names.get(str(centre_id), str(centre_id)), figures)
            for centre_id, figures in by_centre.items()
        ),
        key=lambda row: row.centre_name,
    )
    return [_row("", _("Total"), spending.get("total") or {}), *centres]


def amount_display(amount: Decimal) -> str:
    """12.345,60 € in Italian, €12,345.60 in English: the reader's grouping and decimal mark."""
    return _("%(amount)s €") % {"amount": number_format(amount, decimal_pos=2, force_grouping=True)}


def note() -> str:
    return _(
        "Syringes dispensed to the period's prescriptions, less those returned after a stop, at AIFA's price per "
        "syringe on the day of each movement (syringes given on a day without a recorded price are counted apart)."
    )
