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


def report_finished(*, run: ReportRun, files: list[dict]) -> None:
    """Record that ``run`` was generated (by a worker: no actor), with the SHA-256 of every file it kept."""
    audit_record(actor=None, action=AuditAction.REPORT_FINISH, obj=run, changes={"files": files})


def report_failed(*, run: ReportRun, error: str) -> None:
    audit_record(actor=None, action=AuditAction.REPORT_FAIL, obj=run, changes={"error": error[:500]})


def report_file_downloaded(*, actor, run: ReportRun, fmt: str, audience: str, sha256: str) -> None:
    """Record that ``actor`` downloaded one of ``run``'s files (every per-patient file is audited)."""
    audit_record(
        actor=actor,
        action=AuditAction.REPORT_FILE_DOWNLOAD,
        obj=run,
        changes={"kind": run.kind, "format": fmt, "audience": audience, "sha256": sha256},
    )
