"""L.648 spending: syringes dispensed, net of the unused ones returned, times the price per syringe AIFA set for
the day (no ORM: the selector brings the lines and the price periods).

A return is priced on its own day. A day no price covers is counted in ``unpriced_syringes``, never guessed.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class PricePeriod:
    valid_from: date
    valid_to: date | None  # included; None: open
    price_eur: Decimal

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class SpendingLine:
    """Syringes of one key (a centre, say) on one day: dispensed positive, returned negative."""

    key: object
    day: date
    syringes: int


@dataclass
class Spending:
    syringes_dispensed: int = 0
    syringes_returned: int = 0
    amount_eur: Decimal = Decimal("0.00")
    unpriced_syringes: int = 0

    @property
    def net_syringes(self) -> int:
        return self.syringes_dispensed - self.syringes_returned

    def as_dict(self) -> dict:
        return {
            "syringes_dispensed": self.syringes_dispensed,
            "syringes_returned": self.syringes_returned,
            "net_syringes": self.net_syringes,
            "amount_eur": str(self.amount_eur.quantize(Decimal("0.01"))),
            "unpriced_syringes": self.unpriced_syringes,
        }


def price_on(day: date, prices: Iterable[PricePeriod]) -> Decimal | None:
    for period in prices:
        if period.covers(day):
            return period.price_eur
    return None


def spending_by(lines: Iterable[SpendingLine], prices: list[PricePeriod]) -> dict[object, Spending]:
    """Each key's spending; keys with no line are absent."""
    totals: dict[object, Spending] = {}
    for line in lines:
        total = totals.setdefault(line.key, Spending())
        if line.syringes >= 0:
            total.syringes_dispensed += line.syringes
        else:
            total.syringes_returned -= line.syringes
        price = price_on(line.day, prices)
        if price is None:
            total.unpriced_syringes += line.syringes
        else:
            total.amount_eur += price * line.syringes
    return totals


def total_of(spendings: Iterable[Spending]) -> Spending:
    total = Spending()
    for spending in spendings:
        total.syringes_dispensed += spending.syringes_dispensed
        total.syringes_returned += spending.syringes_returned
        total.amount_eur += spending.amount_eur
        total.unpriced_syringes += spending.unpriced_syringes
    return total
