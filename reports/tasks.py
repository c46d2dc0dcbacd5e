"""The Celery tasks of the reports: thin wrappers (decorators, retry policy) around ``reports.runs``.

Tasks take ids, never model instances. Their registered names (``reports.tasks.<function>``) are what beat's
schedules and the stored periodic tasks refer to: never rename them.

``generate_report`` retries transient database errors (OperationalError, InterfaceError) with exponential
backoff; the retry takes the run over from the attempt that gave up. Any other error marks the run failed,
with the text. It is ``acks_late`` with ``reject_on_worker_lost``: a worker lost mid-run gets its message back.

``dispatch`` sends a new run's message. The broker being down does not fail the request that asked for the
run: the run stays queued, not sent, and the sweep (``requeue_stale_report_runs``, beat every
``REPORTS_SWEEP_SECONDS``; ``manage.py sweep_report_runs``) sends it once the broker is back.

With tasks in-process (no broker, ``CELERY_TASK_ALWAYS_EAGER``) and ``REPORTS_IN_PROCESS_THREAD`` on, a run is
generated in a thread after the request's response, so the page shows its progress instead of waiting.
"""

import logging
import threading

from celery import group, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils.translation import gettext as _

from registry.calendar import rome_today

from . import runs
from .kinds import MONITORING, QUARTERLY_PATIENTS
from .periods import previous_month, previous_quarter
from .services import scheduled_runs_create

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError)
MAX_RETRIES = 5


def _backoff(retries: int) -> int:
    return min(5 * 2**retries, 300)


# Sending a message with the broker down: a short retry, so the request that asked answers in about a second.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def generate_report(self, run_id: str) -> str:
    """Generate a run's metrics and files; returns what it did ("done", "failed", "waiting", "skipped")."""
    token = f"{self.request.id}:{self.request.retries}"
    try:
        return runs.generate(run_id, token, heartbeat=not self.request.is_eager)
    except TRANSIENT_ERRORS as exc:
        if self.request.retries < self.max_retries:
            logger.warning("Report run %s: transient database error, retrying: %s", run_id, exc)
            if self.request.is_eager:
                # In-process (no broker): Celery cannot retry an eager task whose errors propagate, so the
                # retry runs here and now, as the same task with one more attempt.
                retry = generate_report.apply(args=[run_id], task_id=self.request.id, retries=self.request.retries + 1)
                return retry.result
            raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
        runs.fail_quietly(run_id, _("The database stayed unavailable: %(error)s") % {"error": exc}, token)
        return "failed"
    except Exception as exc:
        logger.exception("Report run %s failed", run_id)
        runs.fail_quietly(run_id, f"{type(exc).__name__}: {exc}", token)
        return "failed"


def enqueue_reports(run_ids: list[str]) -> None:
    """Queue ``generate_report`` for each run (one message, or a group of them)."""
    runs.mark_dispatched(run_ids)
    if len(run_ids) == 1:
        generate_report.delay(run_ids[0])
    elif run_ids:
        group(generate_report.si(run_id) for run_id in run_ids).apply_async()


def _in_process() -> bool:
    return bool(generate_report.app.conf.task_always_eager)


def _generate_in_thread(run_id: str) -> None:
    def work():
        try:
            generate_report.apply(args=[run_id])
        finally:
            connection.close()

    threading.Thread(target=work, name=f"report-{run_id}", daemon=True).start()


def _send(run_id: str) -> None:
    if _in_process() and getattr(settings, "REPORTS_IN_PROCESS_THREAD", False):
        _generate_in_thread(run_id)
    else:
        generate_report.apply_async(args=[run_id], retry=True, retry_policy=PUBLISH_RETRY_POLICY)


def dispatch(run_id: str) -> bool:
    """Send a new run's message, once. False when the broker is down: the run stays queued and unsent, and the
    sweep sends it when the broker is back."""
    stamp = runs.claim_dispatch(run_id)
    if stamp is None:
        return True  # already sent
    try:
        _send(run_id)
    except Exception as exc:  # the broker (kombu/redis) is unreachable: whatever it raises
        if _in_process():
            raise
        logger.warning("Report run %s: the broker is unreachable, the sweep will send it: %s", run_id, exc)
        runs.release_dispatch(run_id, stamp)
        return False
    return True


def sweep() -> int:
    """Send the runs the sweep claims (``runs.runs_to_send``); returns how many were sent."""
    sent = 0
    for run_id, stamp in runs.runs_to_send():
        try:
            generate_report.apply_async(args=[run_id], retry=True, retry_policy=PUBLISH_RETRY_POLICY)
        except Exception as exc:
            logger.warning("Report run %s: still cannot reach the broker: %s", run_id, exc)
            if stamp is not None:
                runs.release_dispatch(run_id, stamp)
            continue
        sent += 1
    return sent


# --- Schedules (beat) -------------------------------------------------------------------------


@shared_task(acks_late=True)
def schedule_monthly_reports() -> int:
    """On the 1st: each region's monitoring report of the month just ended (never twice)."""
    period_start, period_end = previous_month(rome_today())
    created = scheduled_runs_create(kind=MONITORING, period_start=period_start, period_end=period_end)
    return len(created)


@shared_task(acks_late=True)
def schedule_quarterly_reports() -> int:
    """On the 1st day after a quarter: each region's L.648 per-patient report of that quarter (never twice)."""
    period_start, period_end = previous_quarter(rome_today())
    created = scheduled_runs_create(kind=QUARTERLY_PATIENTS, period_start=period_start, period_end=period_end)
    return len(created)


@shared_task(acks_late=True)
def requeue_stale_report_runs() -> int:
    """The sweep: send the runs never sent (broker down), whose message was lost, or whose worker died."""
    return sweep()
