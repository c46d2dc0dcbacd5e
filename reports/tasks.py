"""The Celery tasks of the reports: thin wrappers (decorators, retry policy) around ``reports.runs`` and
``reports.services``. This module only declares tasks: nothing in the app imports it (``reports.messages`` sends
``generate_report`` by its name; ``ReportsConfig.ready`` imports this module so the names are registered).

Tasks take ids, never model instances. Their registered names (``reports.tasks.<function>``) are what beat's
schedules, the stored periodic tasks and ``reports.messages`` refer to: never rename them.

``generate_report`` retries transient database errors (OperationalError, InterfaceError) with exponential
backoff; the retry takes the run over from the attempt that gave up. Any other error marks the run failed,
with the text. It is ``acks_late`` with ``reject_on_worker_lost``: a worker lost mid-run gets its message back.

``runs.dispatch`` sends a new run's message. The broker being down does not fail the request that asked for the
run: the run stays queued, not sent, and the sweep (``requeue_stale_report_runs``, beat every
``REPORTS_SWEEP_SECONDS``; ``manage.py sweep_report_runs``; ``runs.sweep``) sends it once the broker is back.
"""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError
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
    return runs.sweep()
