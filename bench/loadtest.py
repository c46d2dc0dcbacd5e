"""make loadtest: the production shape under concurrent clinical work, then the database's invariants.

Starts, on this machine: a fresh PostgreSQL database (``reg_loadtest_<pid>``), gunicorn serving the registry with
DEBUG off on a free port, and one Celery worker (Redis: broker db 9, cache db 10). Migrates, seeds the demo, takes
an API token per demo user, then runs ``LOADTEST_CLIENTS`` (50) concurrent clients for ``LOADTEST_SECONDS`` (60):
prescribers submitting new patients, pharmacists dispensing, nurses (and the Roma prescriber) recording doses,
and Lombardia's officer asking for a monthly report every 10 s and waiting for the worker to make it.
A second dose on the same Rome day is a 409 ``DOSE_ALREADY_GIVEN_TODAY``: counted as expected, not as an error.

Prints one table, checks the invariants in the database and runs ``manage.py verify_audit``, then stops
everything and drops the database. Exit 1 on any 5xx, connection error, unexpected answer, broken invariant or
broken audit trail, or a report the worker did not finish.

Environment: LOADTEST_CLIENTS, LOADTEST_SECONDS, LOADTEST_WORKERS (gunicorn workers, 3),
LOADTEST_PG (postgres://postgres@127.0.0.1:5432), LOADTEST_REDIS (redis://127.0.0.1:6379).
"""

import base64
import collections
import itertools
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import requests
from stdnum.it.codicefiscale import calc_check_digit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
BIN = ROOT / ".venv" / "bin"
ROME = ZoneInfo("Europe/Rome")
DEMO_PASSWORD = "demo-password-648"  # noqa: S105 - the published demo password
MONTHS = "ABCDEHLMPRST"  # the fiscal code's letter for each month (tests/prescriptions/factories.py)

CLIENTS = int(os.environ.get("LOADTEST_CLIENTS", "50"))
SECONDS = float(os.environ.get("LOADTEST_SECONDS", "60"))
WORKERS = int(os.environ.get("LOADTEST_WORKERS", "3"))
PG = os.environ.get("LOADTEST_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
REDIS = os.environ.get("LOADTEST_REDIS", "redis://127.0.0.1:6379").rstrip("/")

USERS = (
    "prescriber.milano",
    "prescriber.roma",
    "pharmacist.milano",
    "pharmacist.roma",
    "nurse.milano",
    "officer.lombardia",
)
REPORT_EVERY_SECONDS = 10.0  # the regional officer's monthly report, made by the Celery worker
# The 409 codes a realistic client meets and handles: they are the registry saying no, correctly.
EXPECTED_409 = {"DOSE_ALREADY_GIVEN_TODAY", "COURSE_COMPLETE", "NO_SYRINGE_LEFT", "OVER_QUANTITY", "WRONG_STATUS"}


# --- Bodies (the logic of tests/prescriptions/factories.py) ------------------------------------------------------

_serial = itertools.count(random.randrange(26**5))
_serial_lock = threading.Lock()


def fiscal_code(birth_date: date, sex: str) -> str:
    """A valid codice fiscale for that birth date and sex, a new one at every call."""
    with _serial_lock:
        n = next(_serial)
    letters = ""
    for _ in range(6):
        n, r = divmod(n, 26)
        letters += chr(ord("A") + r)
    day = birth_date.day + (40 if sex == "F" else 0)
    body = f"{letters[::-1]}{birth_date.year % 100:02d}{MONTHS[birth_date.month - 1]}{day:02d}F205"
    return body + calc_check_digit(body)


def eligible_assessment() -> dict:
    return {
        "hospitalised": True,
        "sars_cov_2_confirmed": True,
        "pneumonia": "severe",
        "pao2_mmhg": 80,
        "fio2": 0.40,
        "respiratory_support": "low_flow_oxygen",
        "supar_ng_ml": 7.2,
        "anc_10e9_l": 3.1,
        "creatinine_clearance_ml_min": 80,
        "alt_x_uln": 0.8,
        "ast_x_uln": 1.1,
        "known_hypersensitivity": False,
    }


def submission_body(rng: random.Random) -> dict:
    birth = date(rng.randint(1935, 2000), rng.randint(1, 12), rng.randint(1, 28))
    sex = rng.choice("MF")
    assessment = eligible_assessment()
    if rng.random() < 0.1:  # one request in ten is refused by the engine (suPAR below 6)
        assessment["supar_ng_ml"] = 4.8
    return {
        "patient": {"fiscal_code": fiscal_code(birth, sex), "birth_date": birth.isoformat(), "sex": sex},
        "assessment": assessment,
        "informed_consent": True,
    }


# --- Processes ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(sql: str, database: str = "postgres") -> None:
    with psycopg.connect(f"{PG}/{database}", autocommit=True) as conn:
        conn.execute(sql)


def manage(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=check, capture_output=True, text=True
    )


def wait_until_up(base: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/api/v1/me/", timeout=2).status_code == 401:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer in time")


# --- The clients ------------------------------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = collections.defaultdict(list)  # endpoint → seconds
        self.statuses = collections.defaultdict(collections.Counter)  # endpoint → status → count
        self.expected_409 = collections.Counter()  # code → count
        self.unexpected = collections.Counter()  # "endpoint status" → count
        self.samples = []  # a few unexpected answers, to read

    def record(self, endpoint: str, status: int | str, seconds: float, body=None, ok=True):
        with self.lock:
            self.latencies[endpoint].append(seconds)
            self.statuses[endpoint][status] += 1
            if status == 409 and isinstance(body, dict) and body.get("code") in EXPECTED_409:
                self.expected_409[body["code"]] += 1
            elif not ok:
                self.unexpected[f"{endpoint} {status}"] += 1
                if len(self.samples) < 10:
                    self.samples.append(f"{endpoint} {status}: {str(body)[:300]}")


class Work:
    """What the clients share: the prescriptions waiting for syringes and those being given, per centre."""

    def __init__(self):
        self.lock = threading.Lock()
        self.to_dispense = {"milano": collections.deque(), "roma": collections.deque()}
        self.in_course = {"milano": [], "roma": []}

    def push_dispense(self, city, pid):
        with self.lock:
            self.to_dispense[city].append(pid)

    def pop_dispense(self, city):
        with self.lock:
            return self.to_dispense[city].popleft() if self.to_dispense[city] else None

    def add_course(self, city, pid):
        with self.lock:
            self.in_course[city].append(pid)

    def pick_course(self, city, rng):
        with self.lock:
            courses = self.in_course[city]
            return rng.choice(courses[-200:]) if courses else None


def call(session, stats, endpoint, method, url, expected, **kwargs):
    started = time.perf_counter()
    try:
        response = session.request(method, url, timeout=60, **kwargs)
    except requests.RequestException as error:
        stats.record(endpoint, "conn", time.perf_counter() - started, repr(error), ok=False)
        return None, None
    elapsed = time.perf_counter() - started
    try:
        body = response.json()
    except ValueError:
        body = response.text[:300]
    code = body.get("code") if isinstance(body, dict) else None
    ok = response.status_code in expected or (response.status_code == 409 and code in EXPECTED_409)
    stats.record(endpoint, response.status_code, elapsed, body, ok=ok)
    return response.status_code, body


def client(index, base, tokens, stats, work, stop_at):
    rng = random.Random(index)
    city = "milano" if index % 2 == 0 else "roma"
    role = ("prescriber", "pharmacist", "nurse", "prescriber", "nurse")[index % 5]
    username = {
        "prescriber": f"prescriber.{city}",
        "pharmacist": f"pharmacist.{city}",
        # Roma has no demo nurse: its prescriber records the doses (allowed to a prescriber of the centre).
        "nurse": "nurse.milano" if city == "milano" else "prescriber.roma",
    }[role]
    session = requests.Session()
    session.headers.update({"Authorization": f"Token {tokens[username]}", "Accept-Language": "en"})
    api = f"{base}/api/v1"
    while time.monotonic() < stop_at:
        if role == "prescriber":
            if rng.random() < 0.8:
                status, body = call(
                    session,
                    stats,
                    "POST prescriptions",
                    "POST",
                    f"{api}/prescriptions/",
                    {201},
                    json=submission_body(rng),
                )
                if status == 201 and body["status"] == "awaiting_dispensing":
                    work.push_dispense(city, body["id"])
            else:
                call(session, stats, "GET prescriptions", "GET", f"{api}/prescriptions/", {200})
        elif role == "pharmacist":
            pid = work.pop_dispense(city)
            if pid is None:
                call(session, stats, "GET dispensing-queue", "GET", f"{api}/dispensing-queue/", {200})
                time.sleep(0.2)
                continue
            split = rng.random() < 0.3  # some courses are dispensed in two halves
            for syringes in (5, 5) if split else (10,):
                status, _ = call(
                    session,
                    stats,
                    "POST dispensations",
                    "POST",
                    f"{api}/prescriptions/{pid}/dispensations/",
                    {201},
                    json={"syringes": syringes, "lot_number": f"LT-{index}", "expiry_date": "2030-12-31"},
                )
            if status == 201:
                work.add_course(city, pid)
            if rng.random() < 0.1:  # now and then one syringe too many: 409 OVER_QUANTITY
                call(
                    session,
                    stats,
                    "POST dispensations",
                    "POST",
                    f"{api}/prescriptions/{pid}/dispensations/",
                    set(),
                    json={"syringes": 1, "lot_number": f"LT-{index}", "expiry_date": "2030-12-31"},
                )
        else:
            pid = work.pick_course(city, rng)
            if pid is None:
                time.sleep(0.2)
                continue
            if rng.random() < 0.3:
                call(session, stats, "GET prescription", "GET", f"{api}/prescriptions/{pid}/", {200})
                continue
            # The first dose of the day is a 201; the others (other clients, the same course) a 409.
            now = datetime.now(ROME).isoformat()
            call(
                session,
                stats,
                "POST administrations",
                "POST",
                f"{api}/prescriptions/{pid}/administrations/",
                {201},
                json={"administered_at": now, "dose_mg": 100, "route": "SC"},
            )


def officer(base, tokens, stats, stop_at, reports):
    """Lombardia's officer asks for the last month's monitoring report now and then and waits for the worker."""
    session = requests.Session()
    session.headers.update({"Authorization": f"Token {tokens['officer.lombardia']}", "Accept-Language": "en"})
    api = f"{base}/api/v1"
    while time.monotonic() < stop_at:
        today = datetime.now(ROME).date()
        asked = time.monotonic()
        status, body = call(
            session,
            stats,
            "POST reports",
            "POST",
            f"{api}/reports/",
            {202},
            json={
                "region": "030",
                "period_start": (today - timedelta(days=30)).isoformat(),
                "period_end": today.isoformat(),
            },
        )
        if status != 202:
            time.sleep(REPORT_EVERY_SECONDS)
            continue
        outcome = "not finished in 120 s"
        while time.monotonic() < asked + 120:
            status, run = call(session, stats, "GET report", "GET", f"{api}/reports/{body['id']}/", {200})
            if status == 200 and run["status"] in ("done", "failed"):
                outcome = run["status"]
                break
            time.sleep(1)
        reports.append((outcome, time.monotonic() - asked))
        time.sleep(max(0.0, asked + REPORT_EVERY_SECONDS - time.monotonic()))


# --- Invariants ------------------------------------------------------------------------------------------------

INVARIANTS = {
    "syringes within the course's maximum": """
        SELECT count(*) FROM prescriptions_prescription
        WHERE syringes_dispensed > CASE WHEN dose_interval_hours = 48 THEN 5 ELSE 10 END""",
    "syringes = the dispensations' sum": """
        SELECT count(*) FROM prescriptions_prescription p
        WHERE p.syringes_dispensed <> (SELECT coalesce(sum(d.syringes), 0) FROM prescriptions_dispensation d
                                       WHERE d.prescription_id = p.id AND d.entered_in_error_at IS NULL)""",
    "doses within the syringes": """
        SELECT count(*) FROM prescriptions_prescription WHERE doses_administered > syringes_dispensed""",
    "doses = the administrations recorded": """
        SELECT count(*) FROM prescriptions_prescription p
        WHERE p.doses_administered <> (SELECT count(*) FROM prescriptions_administration a
                                       WHERE a.prescription_id = p.id AND a.entered_in_error_at IS NULL)""",
    "one active course per patient": """
        SELECT count(*) FROM (SELECT patient_id FROM prescriptions_prescription
                              WHERE status IN ('awaiting_dispensing', 'dispensed', 'in_course')
                              GROUP BY patient_id HAVING count(*) > 1) twice""",
    "no dose twice a Rome day": """
        SELECT count(*) FROM (SELECT prescription_id FROM prescriptions_administration
                              WHERE entered_in_error_at IS NULL
                              GROUP BY prescription_id, (administered_at AT TIME ZONE 'Europe/Rome')::date
                              HAVING count(*) > 1) twice""",
}


def check_invariants(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        return {name: conn.execute(sql).fetchone()[0] for name, sql in INVARIANTS.items()}


def database_counts(database_url: str) -> dict[str, int]:
    tables = {
        "prescriptions": "prescriptions_prescription",
        "dispensations": "prescriptions_dispensation",
        "doses": "prescriptions_administration",
        "audit events": "registry_auditevent",
    }
    with psycopg.connect(database_url) as conn:
        return {name: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for name, table in tables.items()}  # noqa: S608


# --- Report ------------------------------------------------------------------------------------------------------


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else 0.0


def print_table(stats: Stats, elapsed: float) -> None:
    rows = []
    for endpoint in sorted(stats.latencies):
        lat = stats.latencies[endpoint]
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(stats.statuses[endpoint].items(), key=lambda kv: str(kv[0])))
        rows.append((endpoint, len(lat), percentile(lat, 0.5) * 1000, percentile(lat, 0.95) * 1000, statuses))
    every = [x for values in stats.latencies.values() for x in values]
    total = len(every)
    print()
    print(f"{'endpoint':<24} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8}  statuses")
    for endpoint, count, p50, p95, statuses in rows:
        print(f"{endpoint:<24} {count:>9} {p50:>8.0f} {p95:>8.0f}  {statuses}")
    print(
        f"{'all':<24} {total:>9} {percentile(every, 0.5) * 1000:>8.0f} {percentile(every, 0.95) * 1000:>8.0f}"
        f"  {total / elapsed:.1f} req/s over {elapsed:.0f} s, {CLIENTS} clients"
    )
    expected = ", ".join(f"{code} {n}" for code, n in sorted(stats.expected_409.items())) or "none"
    unexpected = ", ".join(f"{key} ×{n}" for key, n in sorted(stats.unexpected.items())) or "none"
    print(f"expected 409s: {expected}")
    print(f"unexpected errors (5xx, connection errors, other answers): {unexpected}")
    for sample in stats.samples:
        print(f"  {sample}")


# --- Main ------------------------------------------------------------------------------------------------------


def main() -> int:
    database = f"reg_loadtest_{os.getpid()}"
    database_url = f"{PG}/{database}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    anchors = tempfile.mkdtemp(prefix="loadtest-anchors-")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "registry.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "PSEUDONYM_KEY": secrets.token_urlsafe(32),
        "AUDIT_HMAC_KEY": secrets.token_urlsafe(32),
        "PATIENT_DATA_KEYS": base64.b64encode(secrets.token_bytes(32)).decode(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback: no TLS proxy in front here
        "OTP_REQUIRED": "false",  # the demo users have no second factor
        "LOGIN_THROTTLE_RATE": "1000/min",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": f"{REDIS}/9",
        "CACHE_URL": f"{REDIS}/10",
        "AUDIT_ANCHOR_DIR": anchors,
        "MEDIA_ROOT": tempfile.mkdtemp(prefix="loadtest-media-"),
        "LOG_LEVEL": "WARNING",
    }
    processes: list[subprocess.Popen] = []
    failures: list[str] = []
    psql(f'CREATE DATABASE "{database}"')
    print(f"database {database}, gunicorn on {base} ({WORKERS} workers), {CLIENTS} clients for {SECONDS:.0f} s")
    try:
        manage(env, "migrate", "--no-input")
        manage(env, "seed_demo", "--force")
        logs = Path(tempfile.mkdtemp(prefix="loadtest-logs-"))
        print(f"logs in {logs}")
        gunicorn_log = (logs / "gunicorn.out").open("w")
        celery_log = (logs / "celery.out").open("w")
        processes.append(
            subprocess.Popen(  # noqa: S603
                [
                    str(BIN / "gunicorn"),
                    "registry.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(WORKERS),
                    "--timeout",
                    "120",
                    "--error-logfile",
                    str(logs / "gunicorn.log"),
                ],
                cwd=ROOT,
                env=env,
                start_new_session=True,
                stdout=gunicorn_log,
                stderr=subprocess.STDOUT,
            )
        )
        processes.append(
            subprocess.Popen(  # noqa: S603
                [
                    str(BIN / "celery"),
                    "-A",
                    "registry",
                    "worker",
                    "--loglevel=WARNING",
                    "--concurrency=1",
                    "--logfile",
                    str(logs / "celery.log"),
                ],
                cwd=ROOT,
                env=env,
                start_new_session=True,
                stdout=celery_log,
                stderr=subprocess.STDOUT,
            )
        )
        wait_until_up(base, time.monotonic() + 60)

        tokens = {}
        for username in USERS:
            answer = requests.post(
                f"{base}/api/v1/auth/token/", json={"username": username, "password": DEMO_PASSWORD}, timeout=30
            )
            answer.raise_for_status()
            tokens[username] = answer.json()["token"]

        stats, work = Stats(), Work()
        started = time.monotonic()
        stop_at = started + SECONDS
        threads = [
            threading.Thread(target=client, args=(i, base, tokens, stats, work, stop_at), daemon=True)
            for i in range(CLIENTS)
        ]
        reports: list[tuple[str, float]] = []
        threads.append(threading.Thread(target=officer, args=(base, tokens, stats, stop_at, reports), daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        print_table(stats, elapsed)
        done = [seconds for outcome, seconds in reports if outcome == "done"]
        print(
            f"monitoring reports (Celery worker): {len(done)} of {len(reports)} done"
            + (f", {min(done):.1f}–{max(done):.1f} s from request to done" if done else "")
        )
        if len(done) != len(reports):
            failures.append(f"{len(reports) - len(done)} reports not done: {[r for r in reports if r[0] != 'done']}")
        if stats.unexpected:
            failures.append(f"{sum(stats.unexpected.values())} unexpected answers or connection errors")

        counts = database_counts(database_url)
        print("in the database: " + ", ".join(f"{name} {n}" for name, n in counts.items()))
        for name, broken in check_invariants(database_url).items():
            print(f"invariant {name}: {'ok' if not broken else f'BROKEN ({broken} rows)'}")
            if broken:
                failures.append(f"invariant broken: {name}")
        manage(env, "audit_anchor")
        verified = manage(env, "verify_audit", check=False)
        print(f"verify_audit: {(verified.stdout + verified.stderr).strip().splitlines()[-1]}")
        if verified.returncode:
            failures.append("verify_audit failed")
    except subprocess.CalledProcessError as error:
        failures.append(f"{' '.join(error.cmd[1:3])} failed: {error.stderr[-2000:]}")
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    print("OK: no 5xx, no connection error, every invariant holds, the audit trail verifies.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
