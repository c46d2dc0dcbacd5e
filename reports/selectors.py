"""Reads of report runs, scoped to what the user may see (decided in ``reports.permissions``)."""

from django.conf import settings
from django.core.cache import cache
from django.db.models import Prefetch, QuerySet

from registry.models import Region

from . import permissions
from .disclosure import published_metrics
from .kinds import MONITORING, SPENDING
from .metrics import suppress_small_counts
from .models import ReportAudience, ReportFile, ReportRun, ReportStatus

DEFAULT_SUPPRESS_BELOW = 3


def report_run_list(*, user, include_parts: bool = False) -> QuerySet[ReportRun]:
    """Runs the user may see, newest first; a national run's regional parts only when asked for."""
    runs = permissions.report_runs_visible_to(user).select_related("region", "requested_by")
    if not include_parts and not permissions.lists_national_parts(user):
        runs = runs.filter(parent__isnull=True)
    return runs.prefetch_related(_files()).order_by("-created_at")


def report_run_get(*, user, run_id) -> ReportRun | None:
    """The run with its files and parts, or None when it does not exist or lies outside the user's scope."""
    return (
        permissions.report_runs_visible_to(user)
        .select_related("region", "requested_by", "parent")
        .prefetch_related(
            _files(), Prefetch("children", queryset=ReportRun.objects.select_related("region").order_by("region_id"))
        )
        .filter(pk=run_id)
        .first()
    )


def report_run_state(*, user, run_id) -> ReportRun | None:
    """Just the run's status and dispatch time (the answer to a report request), within the user's scope."""
    return permissions.report_runs_visible_to(user).only("status", "dispatched_at").filter(pk=run_id).first()


def report_file_get(*, user, run_id, fmt: str) -> ReportFile | None:
    """A finished run's file in ``fmt``, in the form the user reads (``permissions.file_audience``), only for a
    user who may see the run."""
    run = permissions.report_runs_visible_to(user).filter(pk=run_id, status=ReportStatus.DONE).first()
    if run is None:
        return None
    audience = permissions.file_audience(user, run)
    return (
        ReportFile.objects.select_related("run", "run__region").filter(run=run, audience=audience, format=fmt).first()
    )


def report_files_for(*, user, run: ReportRun) -> list[ReportFile]:
    """The files of ``run`` in the form the user reads (prefetched ``files`` reused)."""
    audience = permissions.file_audience(user, run)
    return [report_file for report_file in run.files.all() if report_file.audience == audience]


def report_request_regions(*, user) -> tuple[QuerySet[Region], bool]:
    """The regions the user may ask a report for, and whether the whole country too (for forms)."""
    return permissions.report_request_regions(user)


def default_audience(run: ReportRun) -> str:
    """A whole-country run is national; a region's run is the region's (unless read by the national role)."""
    return ReportAudience.NATIONAL if run.region_id is None else ReportAudience.REGION


def suppress_below_for(run: ReportRun, audience: str | None = None) -> int:
    """Small-count suppression threshold of a run's form (0: none): whatever leaves the region is suppressed,
    a whole-country run and a region's run read by the national role alike."""
    if (audience or default_audience(run)) != ReportAudience.NATIONAL:
        return 0
    return getattr(settings, "REPORTS_SUPPRESS_BELOW", DEFAULT_SUPPRESS_BELOW)


def report_audience(*, user, run: ReportRun) -> str:
    """The form of ``run`` that ``user`` reads (figures and files alike)."""
    return permissions.file_audience(user, run)


def report_metrics_published(run: ReportRun, audience: str | None = None) -> dict:
    """The run's metrics as shown outside the database: where the form leaves the region, small counts hidden and
    the others a reader could work them out from (``reports.disclosure``), the same in the API, the page and the
    files. The protection is computed once per run's figures and suppression threshold, then cached."""
    below = suppress_below_for(run, audience)
    metrics = run.metrics or {}
    if (audience or default_audience(run)) == ReportAudience.NATIONAL and SPENDING in metrics:
        # The Region's spending stays in the region: a centre's amount over the price gives back its syringes.
        metrics = {key: value for key, value in metrics.items() if key != SPENDING}
    if below <= 1 or not metrics:
        return metrics
    if run.kind != MONITORING:  # the per-patient report's row count: its rows are in the file anyway
        return suppress_small_counts(metrics, below=below)
    stamp = run.data_as_of.isoformat() if run.data_as_of else ""
    key = f"reports:published:{run.pk}:{stamp}:{below}"
    published = cache.get(key)
    if published is None:
        published = published_metrics(metrics, below)
        cache.set(key, published, timeout=7 * 24 * 3600)
    return published


def _files() -> Prefetch:
    return Prefetch("files", queryset=ReportFile.objects.order_by("format"))
