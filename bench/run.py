"""make bench: the registry's speed at N = 10k, 100k, 1M prescriptions, on PostgreSQL.

    BENCH_SIZES=10000,100000 DATABASE_URL=postgres://postgres@127.0.0.1:5432/reg_bench .venv/bin/python bench/run.py

For each N (ascending) the database is topped up to N prescriptions with ``seed_synthetic`` (a database holding
more than N is refused: use a fresh one), then it measures:

- the monthly monitoring metrics of the largest region and of the whole country (``reports.metrics``) against
  the same figures written by hand in SQL (``bench/hand_sql.py``): the ratio to the fastest statement we can
  write (``best``, the target) and to the ORM's former plan written by hand (``orm_plan``); the figures of both
  are checked equal to the metrics' first;
- the peak Python memory (tracemalloc) of generating a report end to end, three formats each: the quarterly
  per-patient report and the monthly monitoring report of the largest region (``BENCH_NATIONAL_REPORT=1``: the
  national one instead, 21 regional parts);
- the quarterly per-patient PDF and XLSX of the largest region alone, from rows read beforehand (their ratio);
- the eligibility check API against a trivial endpoint (``/api/v1/me/``): the ratio of their medians;
- submissions through the API from 20 concurrent clients (threads): throughput, p50 and p95;
- on gunicorn (``BENCH_GUNICORN_WORKERS``, 3), submissions from 10 concurrent clients against ``GET /api/v1/me/``
  from 10 clients in the same run: the ratio of their throughputs (``BENCH_RATIO_SECONDS`` each, 15; with
  ``BENCH_RATIO_ROUNDS=n``, n shorter windows of each taking turns, their mean throughputs, steadier on a busy
  machine; the application served from ``BENCH_APP_ROOT``, this checkout by default, to compare another version),
  and, on Linux, the CPU milliseconds each request cost gunicorn, this machine's PostgreSQL and the client;
- the prescription list (API and page) of a regional officer and of an administrator: page 1, a deep page
  reached by its cursor (any depth costs the same), a deep ``?page=N`` (OFFSET on the API; on the page, a redirect
  to that page's cursor) and a one-month date filter.

It prints one table and writes ``bench/results.json``. ``BENCH_QUICK=1`` (make bench-smoke) repeats less;
``BENCH_OUT`` writes elsewhere; ``BENCH_ONLY=submissions_vs_me`` (a comma-separated list of metrics, lists,
eligibility, report_memory, quarterly_files, submissions, submissions_vs_me) measures only those. The gunicorn
ratio alone on a small database of its own (a few hundred submissions are added to it by each run; a database
more than 1000 over N is refused, so name N as its current count when it has grown):

    BENCH_ONLY=submissions_vs_me BENCH_SIZES=1000 BENCH_RATIO_ROUNDS=5 \\
        DATABASE_URL=postgres://postgres@127.0.0.1:5432/reg_submit_bench .venv/bin/python bench/run.py
"""

import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/reg_bench"
RESULTS = ROOT / "bench" / "results.json"
LARGEST_REGION = "030"  # Lombardia
TARGETS = {
    "metrics_region_vs_best_ratio": ("≤", 1.3),
    "metrics_national_vs_best_ratio": ("≤", 1.3),
    "list_officer_page1_ms": ("<", 100),
    "list_officer_deep_cursor_ms": ("<", 100),
    "list_admin_page1_ms": ("<", 100),
    "list_admin_deep_cursor_ms": ("<", 100),
    "list_page_officer_page1_ms": ("<", 100),
    "list_page_officer_deep_cursor_ms": ("<", 100),
    "list_page_officer_deep_page_ms": ("<", 200),
    "list_officer_month_filter_ms": ("<", 100),
    "gunicorn_submissions_vs_me_ratio": ("≥", 0.5),
}
MEASURES = ("metrics", "lists", "eligibility", "report_memory", "quarterly_files", "submissions", "submissions_vs_me")
# What a Config measures unless told: all but the one served by gunicorn, which needs the data committed in the
# database gunicorn connects to (bench/run.py's own runs, not a test's transaction). main() runs them all.
IN_PROCESS_MEASURES = tuple(m for m in MEASURES if m != "submissions_vs_me")


@dataclass
class Config:
    sizes: list[int]
    repeat: int = 5
    clients: int = 20
    submissions_per_client: int = 10
    eligibility_requests: int = 50
    months: int = 24
    # The national report is 21 regional parts of three files each, generated one after the other: its peak is a
    # regional part's, and under tracemalloc it takes many minutes. BENCH_NATIONAL_REPORT=1 measures it anyway.
    national_report: bool = False
    out: Path | None = RESULTS
    results: dict = field(default_factory=dict)
    only: tuple[str, ...] = IN_PROCESS_MEASURES
    ratio_clients: int = 10
    ratio_seconds: float = 15.0
    ratio_rounds: int = 1
    gunicorn_workers: int = 3
    app_root: Path = ROOT


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")  # throwaway keys, tasks in-process
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def timed(fn, repeat: int) -> float:
    """Median seconds of ``repeat`` runs after one warm-up."""
    fn()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


# --- Data ----------------------------------------------------------------------------------------------------


# A few hundred over N are the benchmark's own submissions at a smaller size: not a reason to refuse.
OWN_SUBMISSIONS_MARGIN = 1000


def top_up(n: int, months: int) -> float:
    """Seed up to ``n`` prescriptions; the seconds it took (0 when already there)."""
    from django.core.management import call_command
    from django.db import connection

    from prescriptions.models import Prescription

    have = Prescription.objects.count()
    if have > n + OWN_SUBMISSIONS_MARGIN:
        raise SystemExit(f"The bench database holds {have} prescriptions, more than {n}: use a fresh database.")
    started = time.perf_counter()
    if have < n:
        call_command("seed_synthetic", prescriptions=n - have, months=months, force=True, stdout=sys.stderr)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def actors():
    from django.contrib.auth import get_user_model

    from registry.models import Role, StaffProfile

    User = get_user_model()
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    officer = StaffProfile.objects.filter(role=Role.REGIONAL_OFFICER, region_id=LARGEST_REGION).first().user
    prescribers = [
        p.user
        for p in StaffProfile.objects.filter(role=Role.PRESCRIBER, user__username__startswith="syn.").order_by("pk")
    ]
    return admin, officer, prescribers


# --- Metrics -------------------------------------------------------------------------------------------------


def bench_metrics(config: Config, row: dict) -> None:
    from django.db import connection

    from bench import hand_sql
    from registry.calendar import rome_today
    from reports.metrics import monitoring_metrics
    from reports.periods import previous_month

    today = rome_today()
    start, end = previous_month(today)
    for label, region in (("region", LARGEST_REGION), ("national", None)):
        period = {"region_code": region, "period_start": start, "period_end": end, "today": today}
        ours = timed(lambda p=period: monitoring_metrics(**p), config.repeat)
        row[f"metrics_{label}_ms"] = _ms(ours)
        if connection.vendor != "postgresql":
            continue
        metrics = monitoring_metrics(**period)
        for name, yardstick in hand_sql.YARDSTICKS.items():
            wrong = hand_sql.differences(metrics, yardstick(**period))
            if wrong:  # a ratio to other figures would mean nothing
                raise SystemExit(f"bench/hand_sql.py {name} differs from reports.metrics ({label}): {wrong[:5]}")
            hand = timed(lambda p=period, y=yardstick: y(**p), config.repeat)
            row[f"metrics_{label}_{name}_sql_ms"] = _ms(hand)
            row[f"metrics_{label}_vs_{name}_ratio"] = round(ours / hand, 2) if hand else None


def bench_report_memory(config: Config, row: dict, admin) -> None:
    from registry.calendar import rome_today
    from reports.kinds import MONITORING, QUARTERLY_PATIENTS
    from reports.models import ReportRun
    from reports.periods import previous_month, quarter_of
    from reports.services import report_request

    today = rome_today()
    quarter = quarter_of(quarter_of(today)[0] - timedelta(days=1))
    month = previous_month(today)
    reports = [("report_quarterly_region", QUARTERLY_PATIENTS, LARGEST_REGION, quarter)]
    if config.national_report:
        reports.append(("report_monthly_national", MONITORING, None, month))
    else:
        reports.append(("report_monthly_region", MONITORING, LARGEST_REGION, month))
    for label, kind, region, (start, end) in reports:
        tracemalloc.start()
        started = time.perf_counter()
        run = report_request(user=admin, kind=kind, region_code=region, period_start=start, period_end=end)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        run = ReportRun.objects.get(pk=run.pk)
        row[f"{label}_status"] = run.status
        row[f"{label}_s"] = round(elapsed, 2)
        row[f"{label}_peak_mib"] = round(peak / 2**20, 1)


def bench_quarterly_files(config: Config, row: dict) -> None:
    """The quarterly per-patient files of the largest region alone, their rows read once beforehand: the PDF
    against the XLSX of the same rows (the PDF was 78 % of the report's time; issue 17)."""
    import io

    from django.utils import timezone, translation

    from registry.calendar import rome_today
    from reports.kinds import QUARTERLY_PATIENTS, ReportContext
    from reports.periods import quarter_of
    from reports.quarterly import quarterly_rows
    from reports.renderers import render_quarterly

    start, end = quarter_of(quarter_of(rome_today())[0] - timedelta(days=1))
    rows = list(quarterly_rows(region_code=LARGEST_REGION, period_start=start, period_end=end))
    context = ReportContext(
        run_id="bench",
        kind=QUARTERLY_PATIENTS,
        title="Rapporto trimestrale — Lombardia",
        region_code=LARGEST_REGION,
        region_name="Lombardia",
        period_start=start,
        period_end=end,
        data_as_of=timezone.now(),
    )
    row["quarterly_rows"] = len(rows)
    with translation.override("it"):
        for fmt in ("pdf", "xlsx"):
            seconds = timed(lambda f=fmt: render_quarterly(context, iter(rows), f, io.BytesIO()), config.repeat)
            row[f"quarterly_{fmt}_ms"] = _ms(seconds)
    row["quarterly_pdf_to_xlsx"] = round(row["quarterly_pdf_ms"] / row["quarterly_xlsx_ms"], 2)


# --- API -----------------------------------------------------------------------------------------------------


def _client(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user=user)
    return client


def bench_eligibility(config: Config, row: dict, prescriber) -> None:
    from registry.calendar import rome_today

    client = _client(prescriber)
    body = {
        **_assessment(),
        "patient": {"birth_date": "1960-05-01", "sex": "M", "weight_kg": 80},
        "assessed_at": f"{rome_today() - timedelta(days=1)}T10:00:00+01:00",
    }

    def check():
        response = client.post("/api/v1/eligibility-checks/", body, format="json")
        assert response.status_code == 200, response.content

    def trivial():
        assert client.get("/api/v1/me/").status_code == 200

    n = config.eligibility_requests
    eligibility = timed(lambda: [check() for _ in range(n)], 3) / n
    me = timed(lambda: [trivial() for _ in range(n)], 3) / n
    row["eligibility_api_ms"] = _ms(eligibility)
    row["trivial_api_ms"] = _ms(me)
    row["eligibility_vs_trivial_ratio"] = round(eligibility / me, 2)


def _assessment() -> dict:
    from prescriptions.management.commands.seed_synthetic import BASE_ASSESSMENT

    return dict(BASE_ASSESSMENT)


_serial_lock = threading.Lock()
_serial = [0]


def _next_code():
    from datetime import date

    from prescriptions.management.commands.seed_synthetic import syn_fiscal_code

    with _serial_lock:
        _serial[0] += 1
        serial = 20_000_000 + int(time.time()) % 1_000_000 * 1000 + _serial[0]
    birth = date(1960, 5, 1)
    return syn_fiscal_code(serial, birth, "M"), birth


def bench_submissions(config: Config, row: dict, prescribers) -> None:
    from django.db import connection

    clients = min(config.clients, len(prescribers))

    def work(prescriber, close=True):
        client = _client(prescriber)
        latencies = []
        try:
            for _ in range(config.submissions_per_client):
                code, birth = _next_code()
                body = {
                    "patient": {"fiscal_code": code, "birth_date": birth.isoformat(), "sex": "M", "weight_kg": 80},
                    "assessment": _assessment(),
                    "informed_consent": True,
                }
                started = time.perf_counter()
                response = client.post("/api/v1/prescriptions/", body, format="json")
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 201, response.content
        finally:
            if close:
                connection.close()
        return latencies

    started = time.perf_counter()
    if connection.vendor == "sqlite":
        # SQLite (the tests' database) locks whole tables: the clients take turns.
        latencies = sorted(x for prescriber in prescribers[:clients] for x in work(prescriber, close=False))
    else:
        with ThreadPoolExecutor(max_workers=clients) as pool:
            latencies = sorted(x for batch in pool.map(work, prescribers[:clients]) for x in batch)
    wall = time.perf_counter() - started
    row["submission_clients"] = clients
    row["submissions_per_s"] = round(len(latencies) / wall, 1)
    row["submission_p50_ms"] = _ms(latencies[len(latencies) // 2])
    row["submission_p95_ms"] = _ms(latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))])


# --- Submissions against /me/ on gunicorn ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gunicorn(config: Config, port: int) -> subprocess.Popen:
    """gunicorn serving the registry (DEBUG off) on this database, with this process's settings and keys."""
    env = {**os.environ, "DJANGO_DEBUG": "false", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(config.app_root)}
    return subprocess.Popen(  # noqa: S603
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "registry.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(config.gunicorn_workers),
            "--timeout",
            "120",
        ],
        cwd=config.app_root,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _throughput(clients: int, seconds: float, request) -> float:
    """Answers per second of ``clients`` threads each calling ``request(session, index)`` for ``seconds``."""
    import requests

    done = [0] * clients
    errors: list[BaseException] = []
    stop_at = time.monotonic() + seconds

    def loop(index):
        try:
            with requests.Session() as session:
                while time.monotonic() < stop_at:
                    request(session, index)
                    done[index] += 1
        except BaseException as error:  # noqa: BLE001 - raised again below, in the caller's thread
            errors.append(error)

    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} clients failed, the first with: {errors[0]!r}")
    return sum(done) / (time.monotonic() - started)


def _proc_cpu(pid: int) -> tuple[int, str, float] | None:
    """(parent pid, command name, CPU seconds so far) of a process, from Linux's /proc; None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[1]), name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_side(server_pid: int) -> dict[str, float] | None:
    """CPU seconds used so far by each side of the gunicorn measure: ``server`` (gunicorn's master and workers),
    ``database`` (this machine's PostgreSQL processes; none when the database is elsewhere) and ``client`` (this
    process, its client threads). None where there is no /proc to read (not Linux)."""
    if not Path("/proc/self/stat").exists():
        return None
    processes = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _proc_cpu(int(entry.name))) is not None:
            processes[int(entry.name)] = info
    children: dict[int, list[int]] = {}
    for pid, (parent, _name, _cpu) in processes.items():
        children.setdefault(parent, []).append(pid)
    server, stack = set(), [server_pid]
    while stack:
        pid = stack.pop()
        if pid in processes and pid not in server:
            server.add(pid)
            stack.extend(children.get(pid, ()))
    own = os.times()
    return {
        "server": sum(processes[pid][2] for pid in server),
        "database": sum(cpu for _parent, name, cpu in processes.values() if name.startswith("postgres")),
        "client": own.user + own.system,
    }


def _cpu_per_request(before: dict | None, after: dict | None, requests_done: float) -> dict[str, float]:
    """Milliseconds of CPU per request on each side between two ``cpu_by_side`` readings (empty without /proc)."""
    if before is None or after is None or not requests_done:
        return {}
    return {side: (after[side] - before[side]) * 1000 / requests_done for side in before}


def bench_submissions_vs_me(config: Config, row: dict, prescribers) -> None:
    """Submissions (each a new patient) at ``ratio_clients`` concurrent clients on gunicorn, against ``/me/`` at as
    many clients in the same run: both throughputs and their ratio (issue 17: at least 0.5)."""
    import requests

    from registry.auth.tokens import token_issue

    clients = min(config.ratio_clients, len(prescribers))
    tokens = [token_issue(user=prescriber) for prescriber in prescribers[:clients]]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _gunicorn(config, port)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/api/v1/me/", timeout=2).status_code == 401:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.3)

        def me(session, index):
            response = session.get(f"{base}/api/v1/me/", headers={"Authorization": f"Token {tokens[index]}"})
            assert response.status_code == 200, response.text[:500]

        def submit(session, index):
            code, birth = _next_code()
            body = {
                "patient": {"fiscal_code": code, "birth_date": birth.isoformat(), "sex": "M", "weight_kg": 80},
                "assessment": _assessment(),
                "informed_consent": True,
            }
            response = session.post(
                f"{base}/api/v1/prescriptions/", json=body, headers={"Authorization": f"Token {tokens[index]}"}
            )
            assert response.status_code == 201, response.text[:500]

        _throughput(clients, 2, me)  # every worker warm
        _throughput(clients, 2, submit)
        # One window of each (ratio_rounds 1), or several taking turns (each ratio_seconds / rounds long): on a
        # machine busy with other work, a change of load between the two windows tilts one round's ratio.
        seconds = config.ratio_seconds / config.ratio_rounds
        me_rates, submit_rates = [], []
        cpu = {"me": [], "submission": []}  # per round: CPU ms per request on each side
        for _ in range(config.ratio_rounds):
            for name, request, rates in (("me", me, me_rates), ("submission", submit, submit_rates)):
                before, started = cpu_by_side(server.pid), time.monotonic()
                rates.append(_throughput(clients, seconds, request))
                done = rates[-1] * (time.monotonic() - started)
                cpu[name].append(_cpu_per_request(before, cpu_by_side(server.pid), done))
        me_rate, submit_rate = statistics.mean(me_rates), statistics.mean(submit_rates)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    row["gunicorn_clients"] = clients
    row["gunicorn_me_per_s"] = round(me_rate, 1)
    row["gunicorn_submissions_per_s"] = round(submit_rate, 1)
    row["gunicorn_submissions_vs_me_ratio"] = round(submit_rate / me_rate, 2)
    # Where each request's CPU goes (Linux): with the machine's cores busy, the throughput ratio is about the inverse
    # of the ratio of these totals, so they say which side a submission would have to shed to approach /me/.
    for name, rounds in cpu.items():
        for side in ("server", "database", "client"):
            values = [r[side] for r in rounds if side in r]
            if values:
                row[f"gunicorn_{name}_cpu_{side}_ms"] = round(statistics.mean(values), 2)


# --- Lists ---------------------------------------------------------------------------------------------------


def _deep_cursor(user, depth: int) -> tuple[str, int]:
    """The cursor of the page ``depth`` rows into the user's list, as a next link would carry it."""
    from prescriptions import pagination, selectors

    rows = selectors.prescription_list(user=user)
    total = rows.count()
    depth = max(0, min(depth, total - 1))
    row = rows[depth]
    return pagination._encode(row, "next", depth // 50 + 2), depth


def bench_lists(config: Config, row: dict, officer, admin) -> None:
    from django.test import Client
    from django.urls import reverse

    from prescriptions.web import views
    from registry.calendar import rome_today

    month_to = rome_today().replace(day=1) - timedelta(days=1)
    month_from = month_to.replace(day=1)
    for label, user in (("officer", officer), ("admin", admin)):
        api = _client(user)
        cursor, depth = _deep_cursor(user, 100_000)
        page_n = depth // 50 + 1

        def get(url, params=None, api=api):
            response = api.get(url, params or {})
            assert response.status_code == 200, response.content

        row[f"list_{label}_page1_ms"] = _ms(timed(lambda: get("/api/v1/prescriptions/"), config.repeat))
        row[f"list_{label}_deep_cursor_ms"] = _ms(
            timed(lambda c=cursor: get("/api/v1/prescriptions/", {"cursor": c}), config.repeat)
        )
        row[f"list_{label}_deep_offset_ms"] = _ms(
            timed(lambda n=page_n: get("/api/v1/prescriptions/", {"page": n}), config.repeat)
        )
        row[f"list_{label}_deep_rows"] = depth
        row[f"list_{label}_month_filter_ms"] = _ms(
            timed(
                lambda: get(
                    "/api/v1/prescriptions/",
                    {"submitted_from": month_from.isoformat(), "submitted_to": month_to.isoformat()},
                ),
                config.repeat,
            )
        )
    page = Client()
    page.force_login(officer)
    url = reverse("prescriptions:list")
    cursor, depth = _deep_cursor(officer, 100_000)

    def html(params=None):
        assert page.get(url, params or {}, follow=True).status_code == 200

    row["list_page_officer_page1_ms"] = _ms(timed(html, config.repeat))
    row["list_page_officer_deep_cursor_ms"] = _ms(timed(lambda: html({"cursor": cursor}), config.repeat))
    # A deep ?page=N on the page: redirected to its cursor (the key before it read from the index), then served.
    row["list_page_officer_deep_page_ms"] = _ms(
        timed(lambda: html({"page": depth // views.PAGE_SIZE + 1}), config.repeat)
    )


# --- The run -------------------------------------------------------------------------------------------------


def run(config: Config) -> dict:
    from django.db import connection

    from prescriptions.models import Prescription

    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "database": connection.vendor,
    }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            machine["postgresql"] = cursor.fetchone()[0]
    results = {"machine": machine, "sizes": {}}
    for n in sorted(config.sizes):
        row = {"seed_s": round(top_up(n, config.months), 1), "prescriptions": Prescription.objects.count()}
        admin, officer, prescribers = actors()
        if "metrics" in config.only:
            bench_metrics(config, row)
        if "lists" in config.only:
            bench_lists(config, row, officer, admin)
        if "eligibility" in config.only:
            bench_eligibility(config, row, prescribers[0])
        if "report_memory" in config.only:
            bench_report_memory(config, row, admin)
        if "quarterly_files" in config.only:
            bench_quarterly_files(config, row)
        if "submissions" in config.only:
            bench_submissions(config, row, prescribers)
        if "submissions_vs_me" in config.only:
            bench_submissions_vs_me(config, row, prescribers)
        results["sizes"][str(n)] = row
        print(f"N={n} done", file=sys.stderr)
        if config.out:  # after each size: a long run stopped midway keeps what it measured
            config.out.write_text(json.dumps(results, indent=2) + "\n")
    return results


def table(results: dict) -> str:
    sizes = list(results["sizes"])
    keys = list(dict.fromkeys(k for row in results["sizes"].values() for k in row))
    width = max(len(k) for k in keys) + 2
    lines = [
        "measure".ljust(width) + "".join(f"N={n}".rjust(14) for n in sizes) + "   target",
        "-" * (width + 14 * len(sizes) + 12),
    ]
    for key in keys:
        cells = "".join(str(results["sizes"][n].get(key, "")).rjust(14) for n in sizes)
        target = " ".join(str(t) for t in TARGETS[key]) if key in TARGETS else ""
        lines.append(key.ljust(width) + cells + f"   {target}")
    return "\n".join(lines)


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000,1000000").split(",") if s.strip()]
    quick = os.environ.get("BENCH_QUICK") == "1"
    config = Config(sizes=sizes, national_report=os.environ.get("BENCH_NATIONAL_REPORT") == "1", only=MEASURES)
    if quick:
        config.repeat, config.submissions_per_client, config.eligibility_requests = 3, 3, 20
        config.ratio_seconds = 5.0
    if only := os.environ.get("BENCH_ONLY"):
        config.only = tuple(name.strip() for name in only.split(",") if name.strip())
        unknown = set(config.only) - set(MEASURES)
        if unknown:
            raise SystemExit(f"BENCH_ONLY: unknown {sorted(unknown)}; known: {', '.join(MEASURES)}")
    config.ratio_seconds = float(os.environ.get("BENCH_RATIO_SECONDS", config.ratio_seconds))
    config.ratio_rounds = max(1, int(os.environ.get("BENCH_RATIO_ROUNDS", config.ratio_rounds)))
    config.gunicorn_workers = int(os.environ.get("BENCH_GUNICORN_WORKERS", config.gunicorn_workers))
    config.app_root = Path(os.environ.get("BENCH_APP_ROOT", str(ROOT))).resolve()
    if out := os.environ.get("BENCH_OUT"):
        config.out = Path(out)
    setup_django()
    results = run(config)
    print(table(results))
    print(f"\nwritten to {config.out}")


if __name__ == "__main__":
    main()
