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
