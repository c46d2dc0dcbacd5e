"""Writes of the reports: asking for a run, and the scheduled runs.

Who may ask is decided in ``reports.permissions`` (a regional officer for their own region; the national role
and administrators for any region or the whole country). The run is created and audited in one transaction, and its
task is queued only once that transaction commits. A broker that cannot be reached then does not undo the request:
the run stays queued, ``run.dispatch_delayed`` is set, and the sweep sends it later (``reports.runs.dispatch``).
"""

from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from registry.access_log import access_log_record
from registry.errors import InvalidInput, NotFound
from registry.models import AccessKind, Region
from registry.permissions import actor_for

from . import events, runs, selectors
from .kinds import MONITORING, QUARTERLY_PATIENTS
from .models import ReportFile, ReportKind, ReportRun
from .periods import MAX_PERIOD_DAYS, is_calendar_month_or_quarter, is_calendar_quarter, period_days
from .permissions import ensure_may_request, whole_periods_only


def _check_period(*, kind: str, region_code: str | None, period_start: date, period_end: date) -> None:
    if kind not in ReportKind.values:
        raise InvalidInput({"kind": _("Unknown kind of report.")})
    if period_end < period_start:
        raise InvalidInput({"period_end": _("The end of the period cannot come before its start.")})
    if period_days(period_start, period_end) > MAX_PERIOD_DAYS:
        raise InvalidInput({"period_end": _("A report covers at most two years.")})
    if kind == QUARTERLY_PATIENTS:
        if region_code is None:
            raise InvalidInput({"region": _("The quarterly per-patient report is made for one region.")})
        if not is_calendar_quarter(period_start, period_end):
            raise InvalidInput(
                {"period_start": _("The quarterly report covers exactly one calendar quarter (e.g. 1 Jan–31 Mar).")}
            )


def _check_leaves_region(*, user, period_start: date, period_end: date) -> None:
    """The national role's reports leave the regions: whole calendar months or quarters only (API.md), so that two
    overlapping periods cannot be subtracted to reach the figures of a few days. The same rule
    (``permissions.whole_periods_only``, ``is_calendar_month_or_quarter``) hides from it the runs others asked for
    other periods."""
    if user is None or not user.is_authenticated or not whole_periods_only(actor_for(user)):
        return
    if not is_calendar_month_or_quarter(period_start, period_end):
        raise InvalidInput(
            {
                "period_start": _(
                    "A report for the national monitoring covers one whole calendar month or quarter "
                    "(e.g. 1–31 Jan, or 1 Jan–31 Mar)."
                )
            }
        )


def _region(region_code: str | None) -> Region | None:
    if region_code is None:
        return None
    region = Region.objects.filter(pk=region_code).first()
    if region is None:
        raise InvalidInput({"region": _("Unknown region code.")})
    return region


def report_request(
    *,
    user,
    kind: str = MONITORING,
    region_code: str | None,
    period_start: date,
    period_end: date,
    scheduled: bool = False,
) -> ReportRun:
    """Ask for a report: a new run (asking again makes another), generated in the background.

    Raises PermissionDenied (403) outside the caller's scope, InvalidInput (400) for a bad period or kind.
    A scheduled request for a kind, region and period that already has its scheduled run returns that run.
    """
    ensure_may_request(user, region_code=region_code)
    _check_period(kind=kind, region_code=region_code, period_start=period_start, period_end=period_end)
    _check_leaves_region(user=user, period_start=period_start, period_end=period_end)
    region = _region(region_code)
    if scheduled:
        existing = _scheduled_run(kind=kind, region_code=region_code, period_start=period_start, period_end=period_end)
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            return _run_create(
                actor=user,
                kind=kind,
                region=region,
                period_start=period_start,
                period_end=period_end,
                scheduled=scheduled,
            )
    except IntegrityError:
        # Another request made the scheduled run between our look and our insert.
        existing = _scheduled_run(kind=kind, region_code=region_code, period_start=period_start, period_end=period_end)
        if scheduled and existing is not None:
            return existing
        raise


def _scheduled_run(*, kind: str, region_code: str | None, period_start: date, period_end: date) -> ReportRun | None:
    return ReportRun.objects.filter(
        kind=kind,
        region_id=region_code,  # None matches the country's run (region IS NULL)
        period_start=period_start,
        period_end=period_end,
        scheduled=True,
    ).first()


def _file_language() -> str:
    """The files' language: the one the request is read in (a scheduled run: the registry's, Italian)."""
    try:
        return translation.get_supported_language_variant(translation.get_language() or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def _run_create(
    *, actor, kind: str, region: Region | None, period_start: date, period_end: date, scheduled: bool
) -> ReportRun:
    """Create the run, audit it and queue its generation after commit. Call inside a transaction."""
    run = ReportRun.objects.create(
        kind=kind,
        region=region,
        period_start=period_start,
        period_end=period_end,
        requested_by=actor if actor is not None and actor.is_authenticated else None,
        scheduled=scheduled,
        language=_file_language(),
    )
    events.report_requested(actor=actor, run=run, region=region)
    run.dispatch_delayed = False

    def send():
        run.dispatch_delayed = not runs.dispatch(str(run.pk))

    transaction.on_commit(send)
    return run


def scheduled_runs_create(*, kind: str, period_start: date, period_end: date) -> list[ReportRun]:
    """One scheduled run per region for this kind and period, unless it already exists; returns those created.

    Idempotent: beat firing twice, or a manual run after the schedule, makes nothing twice (the database's
    conditional unique constraint backs up the look-up against a race).
    """
    created = []
    for region in Region.objects.order_by("code"):
        _check_period(kind=kind, region_code=region.pk, period_start=period_start, period_end=period_end)
        if _scheduled_run(kind=kind, region_code=region.pk, period_start=period_start, period_end=period_end):
            continue
        try:
            with transaction.atomic():
                created.append(
                    _run_create(
                        actor=None,
                        kind=kind,
                        region=region,
                        period_start=period_start,
                        period_end=period_end,
                        scheduled=True,
                    )
                )
        except IntegrityError:
            continue  # made meanwhile by another beat or worker
    return created


def report_file_download(*, user, run_id, fmt: str) -> ReportFile:
    """The file ``user`` may download (``NotFound`` otherwise), with the download recorded: in the read-access log
    and in the run's audit chain (who, which form, the file's SHA-256), the run's row locked for the chain."""
    with transaction.atomic():
        report_file = selectors.report_file_get(user=user, run_id=run_id, fmt=fmt)
        if report_file is None:
            raise NotFound()
        access_log_record(user=user, obj=report_file, kind=AccessKind.REPORT_FILE)
        run = ReportRun.objects.select_for_update().get(pk=report_file.run_id)
        events.report_file_downloaded(
            actor=user, run=run, fmt=report_file.format, audience=report_file.audience, sha256=report_file.sha256
        )
    return report_file
