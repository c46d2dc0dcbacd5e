"""Forty pharmacists' systems dispensing from one lot at once on real PostgreSQL: the lot never goes below zero,
each syringe leaves once, every refusal is a 409 INSUFFICIENT_STOCK (issue 20)."""

from collections import Counter

import pytest

from prescriptions.models import Dispensation, Lot, MovementKind, StockMovement
from registry.audit import verify_chains

from . import factories as f
from .stock_support import keep_stock, receive
from .test_concurrency import answered, client, codes, in_parallel, people  # noqa: F401 - the fixture

pytestmark = pytest.mark.services

THREADS = 40
ON_HAND = 25


def test_forty_parallel_dispensings_never_take_a_lot_below_zero(people):  # noqa: F811 - the fixture
    keep_stock(people)
    pharmacist = people["pharmacist.milano"]
    lot = receive(pharmacist, syringes=ON_HAND).lot
    prescriptions = [
        f.prescription_at(people, "awaiting_dispensing", code=f.fiscal_code(serial=i)) for i in range(THREADS)
    ]
    body = {"syringes": 1, "lot": str(lot.pk)}

    def dispense(i):
        url = f"/api/v1/prescriptions/{prescriptions[i].pk}/dispensations/"
        return answered(client(pharmacist).post(url, body, format="json"))

    results = in_parallel(THREADS, dispense)

    assert codes(results) == Counter({(201, None): ON_HAND, (409, "INSUFFICIENT_STOCK"): THREADS - ON_HAND})
    lot.refresh_from_db()
    assert lot.on_hand == 0
    taken = StockMovement.objects.filter(lot=lot, kind=MovementKind.DISPENSING)
    assert taken.count() == Dispensation.objects.count() == ON_HAND
    assert sorted(taken.values_list("on_hand_after", flat=True)) == list(range(ON_HAND))
    assert Lot.objects.filter(on_hand__lt=0).count() == 0
    assert list(verify_chains()) == []


PRICE_THREADS = 8


def test_parallel_prices_never_overlap(people):  # noqa: F811 - the fixture
    """Eight of AIFA's systems each set an open-ended price from a different day at once: every period overlaps the
    others, so exactly one is recorded and the others are 400 on ``valid_from`` (the check and the insert held
    under one lock: with no row yet to lock, ``select_for_update`` alone let them all in)."""
    from prescriptions.models import SyringePrice

    aifa = people["aifa"]

    def price(i):
        body = {"valid_from": f"2026-01-{i + 1:02d}", "price_eur": f"{150 + i}.00"}
        return answered(client(aifa).post("/api/v1/stock/prices/", body, format="json"))

    results = in_parallel(PRICE_THREADS, price)

    assert Counter(status for status, _body in results) == Counter({201: 1, 400: PRICE_THREADS - 1})
    assert all("valid_from" in body for status, body in results if status == 400)
    assert SyringePrice.objects.count() == 1
