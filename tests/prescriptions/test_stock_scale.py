"""The stock reads at scale (issue 20): the shapes that keep the pharmacy's stock page fast with a year of
movements. Speed itself is measured by ``bench/stock_bench.py``, never by a timed test."""

import re

import pytest

from prescriptions.models import StockMovement
from prescriptions.stock import selectors

from .stock_support import keep_stock, receive


@pytest.fixture
def pharmacist(demo):
    keep_stock(demo)
    return demo["pharmacist.milano"]


def test_a_movement_names_its_lots_pharmacy(pharmacist):
    movement = receive(pharmacist)
    assert movement.pharmacy_id == movement.lot.pharmacy_id
    assert StockMovement.objects.filter(pharmacy_id=movement.lot.pharmacy_id).count() == 1


def test_the_pharmacys_recent_movements_are_read_from_an_index_not_the_whole_table(postgresql, pharmacist):
    """The pharmacy page's last movements: at 110 000 movements a join through the lots read the whole movement
    table and sorted it (30 ms). With sequential and bitmap scans and sorts switched off, the planner must still
    find the pharmacy's newest movements by walking one index on (pharmacy, recorded_at) backwards."""
    movement = receive(pharmacist)
    queryset = selectors.recent_movements_query(pharmacy_id=movement.lot.pharmacy_id)[:30]

    with postgresql.cursor() as cursor:
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort", "enable_incremental_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        plan = queryset.explain()

    assert not re.search(r"Seq Scan on prescriptions_stockmovement", plan), plan
    assert not re.search(r"^\s*(->\s*)?Sort", plan, re.M), plan
    assert re.search(r"Index Scan Backward using \w+ on prescriptions_stockmovement", plan), plan
    assert re.search(r"Index Cond: \(.*pharmacy_id = ", plan), plan
