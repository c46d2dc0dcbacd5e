"""The audit events of the reports, built in one place."""

from datetime import date

from registry.audit import audit_record
from registry.audit_actions import AuditAction
from registry.models import Region

from .models import ReportRun


def report_requested(*, actor, run: ReportRun, region: Region | None) -> None:
    """Record that ``actor`` (None: the schedule) asked for ``run``: kind, region, period and whether scheduled."""
    audit_record(actor=actor, action=AuditAction.REPORT_REQUEST, obj=run, changes=report_request_changes(run, region))


def report_request_changes(run: ReportRun, region: Region | None) -> dict[str, str | date | bool | None]:
    return {
        "kind": run.kind,
        "region": region.pk if region else None,
        "period_start": run.period_start,
        "period_end": run.period_end,
        "scheduled": run.scheduled,
    }
