"""Where a submission's time goes (issue 17): N submissions against N ``GET /api/v1/me/``, in-process, profiled.

    createdb -h 127.0.0.1 -U postgres reg_submit
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/reg_submit DJANGO_SETTINGS_MODULE=tests.settings
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo --force
    .venv/bin/python bench/submission_profile.py

On a PostgreSQL database holding the demo (``seed_demo``), with DEBUG off (``tests.settings``: throwaway keys,
tasks in-process, as ``bench/run.py`` serves gunicorn), it sends ``PROFILE_N`` (100) submissions of new patients as
``prescriber.milano`` (``PROFILE_USER``) through DRF's APIClient with a real token (``Authorization: Token``, as
gunicorn's clients do: the authentication is part of both costs) and as many ``/me/`` calls, after a few warm-up
calls of each. It prints, for each, the mean wall time, the CPU time of this process (Python, not the database
server: the steadier figure on a busy machine) and how many SQL statements it ran and how long they took (round
trips included; BEGIN and COMMIT not counted); then their cost ratio (a submission over a ``/me/``: the inverse of
the throughput ratio ``bench/run.py`` measures on gunicorn, which adds the server's and the client's own cost to
both and runs 10 clients at once).

Then a second pass, under cProfile: the top ``PROFILE_TOP`` (30; 0: no profile) functions of the submissions by
cumulative time (``PROFILE_SORT=tottime``: by own time) and their own time summed by package (``django.db``,
``rest_framework``, ``psycopg``, the project's modules…); ``PROFILE_ME=1`` profiles ``/me/`` as well;
``PROFILE_DUMP=path`` writes the submissions' raw profile (``pstats``); ``PROFILE_QUERIES=1`` times each statement of
the submission (and its COMMIT, the wait for the WAL's flush) over N more submissions, then prints the SQL of one
submission and of one ``/me/``.

Each run adds 2 N + 6 patients and prescriptions to the database: fine for a measure, not for the demo's pages.
"""

import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    if "DATABASE_URL" not in os.environ:
        raise SystemExit("DATABASE_URL: a PostgreSQL database with the demo seeded (manage.py seed_demo)")
    import django

    django.setup()


def by_package(profiler, top: int = 15) -> list[tuple[str, float]]:
    """The profile's own (not cumulative) time summed by where the code lives: a package of the virtualenv
    (``django.db``, ``rest_framework``, ``psycopg``…), a module of this project, or the standard library."""
    stats = pstats.Stats(profiler).stats
    totals: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, own, _cum, _callers) in stats.items():
        if "site-packages/" in filename:
            parts = filename.split("site-packages/", 1)[1].split("/")
            package = ".".join(parts[:2]) if parts[0] == "django" else parts[0]
        elif filename.startswith(str(ROOT)):
            package = "project: " + "/".join(Path(filename).relative_to(ROOT).parts[:2])
        elif filename.startswith("~") or filename.startswith("<"):
            package = "builtins"
        else:
            package = "stdlib"
        totals[package] = totals.get(package, 0.0) + own
    return sorted(totals.items(), key=lambda item: -item[1])[:top]


def main() -> None:
    setup()
    from datetime import date

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from prescriptions.management.commands.seed_synthetic import BASE_ASSESSMENT, syn_fiscal_code
    from registry.auth.tokens import token_issue

    assert not settings.DEBUG, "DEBUG must be off"
    n = int(os.environ.get("PROFILE_N", "100"))
    top = int(os.environ.get("PROFILE_TOP", "30"))
    prescriber = get_user_model().objects.get(username=os.environ.get("PROFILE_USER", "prescriber.milano"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=prescriber)}")
    birth = date(1960, 5, 1)
    serial = [30_000_000 + int(time.time()) % 100_000 * 1000]

    def submit():
        serial[0] += 1
        body = {
            "patient": {
                "fiscal_code": syn_fiscal_code(serial[0], birth, "M"),
                "birth_date": birth.isoformat(),
                "sex": "M",
                "weight_kg": 80,
            },
            "assessment": dict(BASE_ASSESSMENT),
            "informed_consent": True,
        }
        response = client.post("/api/v1/prescriptions/", body, format="json")
        assert response.status_code == 201, response.content

    def me():
        response = client.get("/api/v1/me/")
        assert response.status_code == 200, response.content

    for _ in range(5):
        submit()
        me()

    def timed(fn):
        """Mean wall and CPU (this process's: Python, not the database server) seconds of a call."""
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            fn()
        return (time.perf_counter() - started) / n, (time.process_time() - cpu) / n

    class Clock:
        """The time spent in the database's statements (round trips included), and how many."""

        def __init__(self):
            self.seconds, self.count = 0.0, 0

        def __call__(self, execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                self.seconds += time.perf_counter() - started
                self.count += 1

    clocks = {}
    for label, fn in (("submission", submit), ("/me/", me)):
        clocks[label] = Clock()
        with connection.execute_wrapper(clocks[label]):
            clocks[label].total = timed(fn)
    (submission, submission_cpu), (trivial, trivial_cpu) = clocks["submission"].total, clocks["/me/"].total
    for label, clock in clocks.items():
        wall, cpu = clock.total
        print(
            f"{label}: {wall * 1000:.2f} ms (mean of {n}; {cpu * 1000:.2f} ms CPU in Python), {clock.count / n:g} "
            f"statements taking {clock.seconds / n * 1000:.2f} ms ({clock.seconds / n / wall:.0%})"
        )
    print(
        f"cost ratio submission / me: {submission / trivial:.2f} wall (throughput ratio ≈ {trivial / submission:.2f}), "
        f"{submission_cpu / trivial_cpu:.2f} CPU"
    )

    if os.environ.get("PROFILE_QUERIES") == "1":
        by_statement: dict[str, list[float]] = {}

        def statement_clock(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                key = " ".join(sql.split()[:4])[:70]
                by_statement.setdefault(key, []).append(time.perf_counter() - started)

        commit = connection._commit

        def timed_commit():  # COMMIT goes around execute_wrapper: its wait for the WAL's flush timed here
            started = time.perf_counter()
            try:
                return commit()
            finally:
                by_statement.setdefault("COMMIT", []).append(time.perf_counter() - started)

        connection._commit = timed_commit
        try:
            with connection.execute_wrapper(statement_clock):
                for _ in range(n):
                    submit()
        finally:
            del connection._commit
        print(f"\nthe submission's statements, mean ms over {n} (round trip included):")
        for key, times in by_statement.items():
            print(f"  {sum(times) / n * 1000:7.2f}  x{len(times) / n:g}  {key}")

        with CaptureQueriesContext(connection) as queries:
            submit()
        print(f"\n{len(queries)} queries in one submission:")
        for query in queries.captured_queries:
            print(f"  {query['sql'][:300]}")
        with CaptureQueriesContext(connection) as queries:
            me()
        print(f"\n{len(queries)} queries in one /me/:")
        for query in queries.captured_queries:
            print(f"  {query['sql'][:300]}")

    if top:
        sort = os.environ.get("PROFILE_SORT", "cumulative")
        for label, fn in (("submissions", submit), ("/me/", me)):
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(n):
                fn()
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
            print(f"\n--- {label}: top {top} by {sort} ---")
            print(out.getvalue())
            print(f"own time by package ({label}):")
            for package, seconds in by_package(profiler):
                print(f"  {package:<40} {seconds / n * 1000:7.2f} ms")
            if (dump := os.environ.get("PROFILE_DUMP")) and label == "submissions":
                profiler.dump_stats(dump)
            if os.environ.get("PROFILE_ME") != "1":
                break


if __name__ == "__main__":
    main()
