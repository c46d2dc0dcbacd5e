"""bench/run.py's CPU accounting of the gunicorn measure: who spent the CPU of a request."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import run as bench

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")

BURN = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\ntime.sleep(5)"


def test_a_server_and_its_children_are_counted_as_the_server_and_this_process_as_the_client():
    # A "server" whose child burns 0.4 s of CPU, then waits: the child's CPU is the server's, not the client's.
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {BURN!r}])"]
    )
    try:
        before = bench.cpu_by_side(server.pid)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            after = bench.cpu_by_side(server.pid)
            if after["server"] - before["server"] >= 0.35:
                break
            time.sleep(0.05)
        end = time.process_time() + 0.2
        while time.process_time() < end:
            pass
        after = bench.cpu_by_side(server.pid)
    finally:
        server.kill()
        server.wait()
    assert after["server"] - before["server"] >= 0.35
    assert after["client"] - before["client"] >= 0.15
    per_request = bench._cpu_per_request(before, after, requests_done=10)
    assert per_request["server"] == pytest.approx((after["server"] - before["server"]) * 100)
    assert set(per_request) == {"server", "database", "client"}


def test_no_reading_no_figures():
    assert bench._cpu_per_request(None, {"server": 1.0}, requests_done=3) == {}
    assert bench._cpu_per_request({"server": 1.0}, {"server": 2.0}, requests_done=0) == {}


def test_a_process_that_is_gone_reads_as_none():
    process = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    process.wait()
    assert bench._proc_cpu(process.pid) is None
