"""Days of cover and the suggested transfers: plain arithmetic on plain data (no ORM, no clock).

Days of cover of a pharmacy = the syringes it can still give to new courses, divided by the syringes new courses
took a day lately:

- available = on hand − the syringes the courses already waiting or running still need from it (each course's
  doses less the syringes already dispensed to it: the running courses' remaining doses);
- daily use = the doses of the courses prescribed at its centres in the last ``RECENT_DAYS`` days, spread over them.

None: no recent new course and more on hand than owed, so no expected use (unbounded cover); also a pharmacy with
no stock, nothing owed and no recent course (no demand: not short). 0: what is on hand is already owed.
"""

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

RECENT_DAYS = 14


@dataclass(frozen=True)
class LotHolding:
    lot_id: object
    lot_number: str
    expiry_date: date
    on_hand: int


@dataclass(frozen=True)
class PharmacyDemand:
    pharmacy_id: object
    on_hand: int
    committed: int  # syringes still owed to the courses waiting or running
    recent_doses: int  # the doses of the courses prescribed in the last RECENT_DAYS days
    threshold_days: int
    lots: tuple[LotHolding, ...] = field(default=())
    incoming: int = 0  # syringes of transfers to it under way (requested, approved or shipped)
    outgoing: int = 0  # syringes of transfers from it requested or approved, not yet shipped (still on hand)


def daily_use(recent_doses: int, days: int = RECENT_DAYS) -> Decimal:
    return Decimal(max(recent_doses, 0)) / Decimal(days)


def days_of_cover(*, on_hand: int, committed: int, recent_doses: int, days: int = RECENT_DAYS) -> Decimal | None:
    """The days the stock lasts at the recent rate, one decimal (module docstring); None: no expected use."""
    available = on_hand - committed
    rate = daily_use(recent_doses, days)
    if available <= 0 and (committed > 0 or rate > 0):
        return Decimal(0)
    if rate == 0:
        return None
    return (Decimal(available) / rate).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def is_short(demand: PharmacyDemand) -> bool:
    cover = days_of_cover(on_hand=demand.on_hand, committed=demand.committed, recent_doses=demand.recent_doses)
    return cover is not None and cover < demand.threshold_days


@dataclass(frozen=True)
class SuggestedTransfer:
    from_pharmacy_id: object
    to_pharmacy_id: object
    lot_id: object
    lot_number: str
    expiry_date: date
    syringes: int


def _target(demand: PharmacyDemand, target_days: int) -> int:
    """The syringes the pharmacy should hold to cover its debts and ``target_days`` of recent use."""
    return demand.committed + math.ceil(daily_use(demand.recent_doses) * target_days)


def expiring_unused(demand: PharmacyDemand, *, today: date) -> dict:
    """``{lot_id: syringes}`` the pharmacy would have to write off: dispensing first expiry first, the syringes owed
    first and then the recent daily use, what of each lot is still there the day after it expires."""
    rate = daily_use(demand.recent_doses)
    before = 0  # the syringes of the sooner lots, used before this one
    unused = {}
    for lot in sorted(demand.lots, key=lambda lot: (lot.expiry_date, lot.lot_number)):
        if lot.on_hand <= 0 or lot.expiry_date < today:
            continue
        used_by_expiry = max(demand.committed, 0) + rate * ((lot.expiry_date - today).days + 1)
        from_this = min(max(math.floor(used_by_expiry) - before, 0), lot.on_hand)
        if lot.on_hand > from_this:
            unused[lot.lot_id] = lot.on_hand - from_this
        before += lot.on_hand
    return unused


def suggest_transfers(demands: list[PharmacyDemand], *, today: date) -> list[SuggestedTransfer]:
    """Move syringes to where cover is short (below the threshold), up to twice the threshold there, less what
    transfers under way already bring; from where they are in surplus (above twice the threshold of cover, less what
    is already promised to others) or would expire before the pharmacy could use them (:func:`expiring_unused`).
    The sender's soonest-expiring lots first (they are the ones that would otherwise be written off), never a lot
    that has expired; a sender spared only its expiring syringes gives only those. Shortest cover served first."""
    needs: dict = {}
    for demand in demands:
        if is_short(demand):
            need = _target(demand, 2 * demand.threshold_days) - demand.on_hand - demand.incoming
            if need > 0:
                needs[demand.pharmacy_id] = need
    surplus: dict = {}
    left: dict = {}
    for demand in demands:
        if demand.pharmacy_id in needs or is_short(demand):
            continue
        spare = demand.on_hand - _target(demand, 2 * demand.threshold_days) - demand.outgoing
        expiring = expiring_unused(demand, today=today)
        wasted = sum(expiring.values()) - demand.outgoing
        if wasted > max(spare, 0):
            surplus[demand.pharmacy_id] = wasted
            left.update(expiring)
        elif spare > 0:
            surplus[demand.pharmacy_id] = spare
            left.update({lot.lot_id: lot.on_hand for lot in demand.lots})
    by_id = {demand.pharmacy_id: demand for demand in demands}

    def cover_key(pharmacy_id):
        d = by_id[pharmacy_id]
        return days_of_cover(on_hand=d.on_hand, committed=d.committed, recent_doses=d.recent_doses), str(pharmacy_id)

    donor_lots = sorted(
        (
            (lot.expiry_date, str(demand.pharmacy_id), lot, demand.pharmacy_id)
            for demand in demands
            if demand.pharmacy_id in surplus
            for lot in demand.lots
            if lot.on_hand > 0 and lot.expiry_date >= today and left.get(lot.lot_id, 0) > 0
        ),
        key=lambda item: (item[0], item[1], item[2].lot_number),
    )
    suggestions: list[SuggestedTransfer] = []
    for receiver in sorted(needs, key=cover_key):
        need = needs[receiver]
        for _expiry, _key, lot, donor in donor_lots:
            if need <= 0:
                break
            syringes = min(need, surplus[donor], left[lot.lot_id])
            if syringes <= 0:
                continue
            suggestions.append(
                SuggestedTransfer(donor, receiver, lot.lot_id, lot.lot_number, lot.expiry_date, syringes)
            )
            need -= syringes
            surplus[donor] -= syringes
            left[lot.lot_id] -= syringes
    return suggestions
