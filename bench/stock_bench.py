"""The stock pages at N prescriptions with a year of stock movements, on PostgreSQL (issue 20).

    STOCK_BENCH_PRESCRIPTIONS=1000000 DATABASE_URL=postgres://postgres@127.0.0.1:5432/reg_stock_bench \
        .venv/bin/python bench/stock_bench.py

The database is migrated and topped up to N prescriptions with ``seed_synthetic`` (as ``bench/run.py`` does; a
database already holding them is reused). Every pharmacy of the largest Region (030) then keeps its stock in the
registry, and gets a year of stock straight in SQL: a delivery every two weeks (one lot each), three dispensings
and, weekly, a return and a write-off a day. It times, through Django's test client (the whole request: the
session, the queries, the template), the regional stock page of the Region's officer and the stock page of its
busiest pharmacy's pharmacist, and counts their queries. Target: under 100 ms each. It prints one table and
writes ``bench/stock_results.json``. Use a scratch database: the stock rows stay (a second run reuses them).
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

# One pharmacy's year: lots delivered every 14 days (numbered by the day), 3 dispensings a day from the lot
# delivered last, a return and a write-off every week. Balances are the bench's, not a replay of the movements.
LOTS_SQL = """
INSERT INTO prescriptions_lot (id, pharmacy_id, lot_number, expiry_date, on_hand, created_at)
SELECT md5(%(pharmacy)s || '-' || d)::uuid, %(pharmacy)s::uuid, 'BENCH-' || d,
       current_date + (d * 2) - 300, CASE WHEN d > 300 THEN 40 ELSE 0 END, now() - (365 - d) * interval '1 day'
FROM generate_series(0, 364, 14) AS d
"""
MOVEMENTS_SQL = """
INSERT INTO prescriptions_stockmovement
    (lot_id, kind, syringes, on_hand_after, reason, write_off_reason, supplier_document, unit_price,
     recorded_by_id, recorded_at)
SELECT md5(%(pharmacy)s || '-' || (d - d %% 14))::uuid,
       CASE WHEN k = 0 AND d %% 14 = 0 THEN 'receipt'
            WHEN k = 3 THEN 'return' WHEN k = 4 THEN 'write_off' ELSE 'dispensing' END,
       CASE WHEN k = 0 AND d %% 14 = 0 THEN 40 WHEN k = 3 THEN 1 ELSE -1 END,
       20, '', CASE WHEN k = 4 THEN 'damaged' ELSE '' END, '', NULL,
       %(user)s, now() - (365 - d) * interval '1 day' + k * interval '1 hour'
FROM generate_series(0, 364) AS d, generate_series(0, 4) AS k
WHERE k < 3 OR d %% 7 = 0
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


def stock_year() -> int:
    """A year of stock for every pharmacy of the Region (once); the movements the database then holds."""
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
                cursor.execute(LOTS_SQL, {"pharmacy": str(pharmacy.pk)})
                cursor.execute(MOVEMENTS_SQL, {"pharmacy": str(pharmacy.pk), "user": user.pk})
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
    seeded = top_up(n)
    movements = stock_year()
    officer = StaffProfile.objects.filter(role="regional_officer", region_id=REGION).select_related("user").first()
    busiest = (
        Pharmacy.objects.filter(region_id=REGION).annotate(n=Count("centres__prescriptions")).order_by("-n").first()
    )
    pharmacist = StaffProfile.objects.filter(role="pharmacist", pharmacy=busiest).select_related("user").first()
    results = {
        "prescriptions": Prescription.objects.count(),
        "stock_movements": movements,
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
