"""make bench-admin: the audit trail's admin list at millions of events, on PostgreSQL.

    ADMIN_BENCH_EVENTS=12000000 DATABASE_URL=postgres://postgres@127.0.0.1:5432/reg_audit12m \
        .venv/bin/python bench/admin_bench.py

The database is migrated, then its audit trail is topped up to ``ADMIN_BENCH_EVENTS`` events (12 million by
default) straight in SQL (``INSERT … SELECT generate_series``: the trail's triggers allow INSERT; the hashes are
unique but not a valid chain, which a timing does not need). It then times the administrator's changelist of
audit events through Django's test client (the whole request: filters, count, page): the first page, a filter
by action, a filter by object type, a search by object id and a search by username; and counts the queries of
each. It prints one table and writes ``bench/admin_results.json``. Use a scratch database: the events stay.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/reg_audit12m"
RESULTS = ROOT / "bench" / "admin_results.json"
CHANGELIST = "/admin/registry/auditevent/"
TARGET_MS = 300
CHUNK = 1_000_000

# One event in twenty is about a patient, a user or a report; the rest follow a prescription's course.
TOP_UP_SQL = """
INSERT INTO registry_auditevent
    (occurred_at, actor_username, action, object_type, object_id, sequence, changes, previous_hash, entry_hash)
SELECT
    timestamptz '2023-01-01' + i * interval '7 seconds',
    'bench.user' || (i %% 700),
    CASE WHEN i %% 20 = 0
        THEN (ARRAY['patient.create', 'patient.identity_record', 'auth.login_failure', 'report.request',
                    'report.file_download'])[1 + (i / 20) %% 5]
        ELSE (ARRAY['prescription.submit', 'prescription.dispense', 'prescription.administer',
                    'prescription.administer', 'prescription.administer', 'prescription.lab_result',
                    'prescription.outcome', 'prescription.stop'])[1 + i %% 8]
    END,
    CASE WHEN i %% 20 = 0
        THEN (ARRAY['registry.patient', 'registry.patient', 'auth.user', 'reports.reportrun',
                    'reports.reportrun'])[1 + (i / 20) %% 5]
        ELSE 'prescriptions.prescription'
    END,
    'bench-' || (i / 8),
    i %% 8,
    '{"status": "dispensed"}'::jsonb,
    md5((i - 1)::text) || md5('bench' || (i - 1)::text),
    md5(i::text) || md5('bench' || i::text)
FROM generate_series(%s, %s) AS i
"""


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def top_up(events: int) -> float:
    """Insert events numbered after the bench's own until the trail holds ``events``; the seconds it took."""
    from django.db import connection, transaction

    from registry.models import AuditEvent

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM registry_auditevent WHERE object_id LIKE 'bench-%%'")
        have_bench = cursor.fetchone()[0]
    have = AuditEvent.objects.count()
    while have < events:
        size = min(CHUNK, events - have)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(TOP_UP_SQL, [have_bench + 1, have_bench + size])
        have, have_bench = have + size, have_bench + size
        print(f"{have} events", file=sys.stderr)
    if time.perf_counter() - started > 1 and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE registry_auditevent")
    return time.perf_counter() - started


def admin_user():
    from django.contrib.auth import get_user_model

    User = get_user_model()
    user, _ = User.objects.get_or_create(
        username="bench.admin", defaults={"is_staff": True, "is_superuser": True, "email": "bench@example.org"}
    )
    return user


def measure(client, params: dict, repeat: int) -> tuple[float, int]:
    """Median milliseconds of ``repeat`` requests after one warm-up, and the queries of one."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    def get():
        response = client.get(CHANGELIST, params)
        assert response.status_code == 200, response.status_code

    reset_queries()  # each request empties the log: count what the context captured before the next one
    with CaptureQueriesContext(connection) as captured:
        get()
    queries = len(captured)
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        get()
        runs.append(time.perf_counter() - started)
    return round(statistics.median(runs) * 1000, 1), queries


def run(events: int, repeat: int) -> dict:
    from django.test import Client

    from registry.models import AuditEvent

    row = {"top_up_s": round(top_up(events), 1)}
    last = AuditEvent.objects.order_by("-id").values("object_id", "actor_username").first()
    client = Client()
    client.force_login(admin_user())
    cases = {
        "first_page": {},
        "filter_action": {"action__exact": "prescription.stop"},
        "filter_rare_action": {"action__exact": "auth.lockout"},
        "filter_object_type": {"object_type__exact": "registry.patient"},
        "search_object_id": {"q": last["object_id"]},
        "search_username": {"q": last["actor_username"]},
    }
    for label, params in cases.items():
        row[f"admin_audit_{label}_ms"], row[f"admin_audit_{label}_queries"] = measure(client, params, repeat)
    return row


def main() -> None:
    events = int(os.environ.get("ADMIN_BENCH_EVENTS", "12000000"))
    repeat = int(os.environ.get("ADMIN_BENCH_REPEAT", "5"))
    setup_django()
    from registry.models import AuditEvent

    row = run(events, repeat)
    row["events"] = AuditEvent.objects.count()
    width = max(len(k) for k in row) + 2
    for key, value in row.items():
        target = f"< {TARGET_MS}" if key.endswith("_ms") else ""
        print(f"{key.ljust(width)}{str(value).rjust(12)}   {target}")
    RESULTS.write_text(json.dumps(row, indent=2) + "\n")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
