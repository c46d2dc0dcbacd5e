"""Sending ``generate_report`` messages, by the task's registered name through the Celery app.

``reports.tasks`` only declares the tasks; the writes that queue work (``reports.runs``, and through it
``reports.services``) never import it. They reach the task by its name, ``reports.tasks.generate_report``, the
name beat's schedules and the stored messages already use (``ReportsConfig.ready`` imports ``reports.tasks`` so
the name is registered in every process, the web's included, and eager runs in-process work).

This module imports nothing of the app: it is the bottom of ``reports``' own stack. Which runs to send, and what
to do when the broker cannot be reached, is decided in ``reports.runs``.

With tasks in-process (no broker, ``CELERY_TASK_ALWAYS_EAGER``) and ``REPORTS_IN_PROCESS_THREAD`` on, a run is
generated in a thread after the request's response, so the page shows its progress instead of waiting.
"""

import threading

from celery import current_app, group
from django.conf import settings
from django.db import connection

GENERATE_REPORT = "reports.tasks.generate_report"

# Sending a message with the broker down: a short retry, so the request that asked answers in about a second.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def _generate(run_id: str):
    return current_app.signature(GENERATE_REPORT, args=[run_id], immutable=True)


def in_process() -> bool:
    """Whether tasks run in this process (no broker)."""
    return bool(current_app.conf.task_always_eager)


def _generate_in_thread(run_id: str) -> None:
    def work():
        try:
            _generate(run_id).apply()
        finally:
            connection.close()

    threading.Thread(target=work, name=f"report-{run_id}", daemon=True).start()


def send(run_id: str) -> None:
    """Send one run's message, retrying the broker briefly; the broker's error propagates when it stays down."""
    if in_process() and getattr(settings, "REPORTS_IN_PROCESS_THREAD", False):
        _generate_in_thread(run_id)
    else:
        _generate(run_id).apply_async(retry=True, retry_policy=PUBLISH_RETRY_POLICY)


def resend(run_id: str) -> None:
    """Send a run's message again (the sweep): straight to the broker, or run here and now in-process."""
    _generate(run_id).apply_async(retry=True, retry_policy=PUBLISH_RETRY_POLICY)


def send_all(run_ids: list[str]) -> None:
    """Send each run's message: one message, or a group of them."""
    if len(run_ids) == 1:
        _generate(run_ids[0]).delay()
    elif run_ids:
        group(_generate(run_id) for run_id in run_ids).apply_async()
