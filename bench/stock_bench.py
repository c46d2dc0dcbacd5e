"""The stock pages at N prescriptions with a year of stock movements, on PostgreSQL (issue 20).

    STOCK_BENCH_PRESCRIPTIONS=1000000 DATABASE_URL=postgres://postgres@127.0.0.1:5432/reg_stock_bench \
        .venv/bin/python bench/stock_bench.py

The database is migrated and topped up to N prescriptions with ``seed_synthetic`` (as ``bench/run.py`` does; a
database already holding them is reused). Every pharmacy of the largest Region (030) then keeps its stock in the
registry, and gets a year of stock straight in SQL, in proportion to what its centres dispensed in the last year:
a dispensing movement for each live dispensation (``STOCK_BENCH_MOVEMENTS_PER_DISPENSATION``, default 1), a
delivery every two weeks (one lot each), a return for every 20 dispensings and a write-off for every 50 — about
100 000 movements for Lombardia at a million prescriptions. It times, through Django's test client (the whole
request: the session, the queries, the template), the regional stock page of the Region's officer and the stock
page of its busiest pharmacy's pharmacist, and counts their queries. Target: under 100 ms each. It prints one table and
writes ``bench/stock_results.json``. Use a scratch database: the stock rows stay (a second run reuses them, so
a database seeded by an older version of this bench keeps its older, smaller year).
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/reg_stock_bench"
RESULTS = ROOT / "bench" / "stock_results.json"
REGION = "030"
TARGET_MS = 100
REPEAT = 15

# One pharmacy's year, in proportion to what it dispensed: one dispensing movement for each live dispensation its
# centres recorded in the last 365 days (times STOCK_BENCH_MOVEMENTS_PER_DISPENSATION, default 1), spread evenly
# over the year; a delivery every 14 days (one lot each, numbered by its day), a return for every 20 dispensings
# and a write-off for every 50. At a million prescriptions that is about 100 000 movements for Lombardia.
# Balances are the bench's, not a replay of the movements.
LOTS_SQL = """
INSERT INTO prescriptions_lot (id, pharmacy_id, lot_number, expiry_date, on_hand, created_at)
SELECT md5(%(pharmacy)s || '-' || d)::uuid, %(pharmacy)s::uuid, 'BENCH-' || d,
       current_date + (d * 2) - 300, CASE WHEN d > 300 THEN 40 ELSE 0 END, now() - (365 - d) * interval '1 day'
FROM generate_series(0, 364, 14) AS d
"""
RECEIPTS_SQL = """
INSERT INTO prescriptions_stockmovement
    (lot_id, pharmacy_id, kind, syringes, on_hand_after, reason, write_off_reason, supplier_document, unit_price,
     recorded_by_id, recorded_at)
SELECT md5(%(pharmacy)s || '-' || d)::uuid, %(pharmacy)s::uuid, 'receipt', greatest(%(per_lot)s, 1),
       greatest(%(per_lot)s, 1), '', '', 'DDT BENCH-' || d, 152, %(user)s, now() - (365 - d) * interval '1 day'
FROM generate_series(0, 364, 14) AS d
"""
# ``every`` movements out of the year's ``n`` dispensings, each on its day of the year (d = i·365/n) from the lot
# delivered last.
SPREAD_SQL = """
INSERT INTO prescriptions_stockmovement
    (lot_id, pharmacy_id, kind, syringes, on_hand_after, reason, write_off_reason, supplier_document, unit_price,
     recorded_by_id, recorded_at)
SELECT md5(%(pharmacy)s || '-' || (d - d %% 14))::uuid, %(pharmacy)s::uuid, %(kind)s, %(syringes)s, 20,
       CASE WHEN %(kind)s = 'dispensing' THEN '' ELSE 'bench' END,
       CASE WHEN %(kind)s = 'write_off' THEN 'damaged' ELSE '' END, '', NULL,
       %(user)s, now() - (365 - d) * interval '1 day' + (i %% 10) * interval '1 hour'
FROM (SELECT i, (i * 365 / %(n)s)::int AS d FROM generate_series(0, %(n)s - 1, %(every)s) AS i) AS spread
"""
# Live dispensations of the pharmacy's centres in the last year.
DISPENSED_SQL = """
SELECT count(*) FROM prescriptions_dispensation d
JOIN prescriptions_prescription p ON p.id = d.prescription_id
JOIN registry_centre c ON c.id = p.centre_id
WHERE c.pharmacy_id = %(pharmacy)s::uuid AND d.entered_in_error_at IS NULL
  AND d.recorded_at >= now() - interval '365 days'
"""


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def top_up(n: int) -> float:
    from django.core.management import call_command
    from django.db import connection

    from prescriptions.models import Prescription

    started = time.perf_counter()
    have = Prescription.objects.count()
    if have < n:
        call_command("seed_synthetic", prescriptions=n - have, months=24, force=True, stdout=sys.stderr)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def stock_year(per_dispensation: float) -> int:
    """A year of stock for every pharmacy of the Region (once), its dispensing movements ``per_dispensation`` for
    each dispensation of the year; the movements the database then holds."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from prescriptions.models import PharmacyStockSetting, StockMovement
    from registry.models import Pharmacy

    pharmacies = list(Pharmacy.objects.filter(region_id=REGION))
    user = get_user_model().objects.filter(staff__pharmacy__region_id=REGION).first()
    with transaction.atomic():
        for pharmacy in pharmacies:
            PharmacyStockSetting.objects.update_or_create(pharmacy=pharmacy, defaults={"keeps_stock": True})
            if pharmacy.lots.exists():
                continue
            with connection.cursor() as cursor:
                params = {"pharmacy": str(pharmacy.pk), "user": user.pk}
                cursor.execute(DISPENSED_SQL, params)
                n = round(cursor.fetchone()[0] * per_dispensation)
                cursor.execute(LOTS_SQL, params)
                cursor.execute(RECEIPTS_SQL, {**params, "per_lot": -(-n * 14 // 365)})
                if n == 0:
                    continue
                for kind, syringes, every in (("dispensing", -1, 1), ("return", 1, 20), ("write_off", -1, 50)):
                    cursor.execute(SPREAD_SQL, {**params, "kind": kind, "syringes": syringes, "n": n, "every": every})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE prescriptions_lot")
        cursor.execute("ANALYZE prescriptions_stockmovement")
    return StockMovement.objects.count()


def measure(username: str, url: str) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(url)
    runs = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        client.get(url)
        runs.append(time.perf_counter() - started)
    return {
        "url": url,
        "user": username,
        "median_ms": round(statistics.median(runs) * 1000, 1),
        "p90_ms": round(sorted(runs)[int(len(runs) * 0.9) - 1] * 1000, 1),
        "queries": len(queries),
        "target_ms": TARGET_MS,
    }


def main():
    setup_django()
    from django.db.models import Count

    from prescriptions.models import Prescription
    from registry.models import Pharmacy, StaffProfile

    n = int(os.environ.get("STOCK_BENCH_PRESCRIPTIONS", "1000000"))
    per_dispensation = float(os.environ.get("STOCK_BENCH_MOVEMENTS_PER_DISPENSATION", "1"))
    seeded = top_up(n)
    movements = stock_year(per_dispensation)
    officer = StaffProfile.objects.filter(role="regional_officer", region_id=REGION).select_related("user").first()
    busiest = (
        Pharmacy.objects.filter(region_id=REGION).annotate(n=Count("centres__prescriptions")).order_by("-n").first()
    )
    pharmacist = StaffProfile.objects.filter(role="pharmacist", pharmacy=busiest).select_related("user").first()
    results = {
        "prescriptions": Prescription.objects.count(),
        "stock_movements": movements,
        "movements_per_dispensation": per_dispensation,
        "seed_seconds": round(seeded, 1),
        "pages": [
            measure(officer.user.username, "/prescriptions/stock/region/"),
            measure(pharmacist.user.username, "/prescriptions/stock/"),
        ],
    }
    print(f"{results['prescriptions']} prescriptions, {movements} stock movements")
    for row in results["pages"]:
        verdict = "ok" if row["median_ms"] < TARGET_MS else "OVER"
        print(
            f"{row['url']:<32} median {row['median_ms']:>7} ms  p90 {row['p90_ms']:>7} ms  "
            f"{row['queries']:>3} queries  {verdict}"
        )
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
