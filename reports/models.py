"""Report runs and the files they produce.

A run is one request for a report: who asked, for which region (none: the whole country) and which
period, and where its generation stands. Runs are kept: asking again makes a new run, so a report
once sent can always be found as it was. Scheduled runs (monthly monitoring, quarterly per-patient)
exist once per kind, region and period; the database guarantees it.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .kinds import MONITORING, QUARTERLY_PATIENTS


class ReportKind(models.TextChoices):
    MONITORING = MONITORING, _("monitoring report")
    QUARTERLY_PATIENTS = QUARTERLY_PATIENTS, _("quarterly per-patient report (L.648)")


class ReportStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class ReportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"
    PDF = "pdf", "PDF"


class ReportRun(models.Model):
    """One generation of a report; its status and progress change only in ``reports.runs``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=24, choices=ReportKind.choices, default=ReportKind.MONITORING)
    region = models.ForeignKey(
        "registry.Region",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="report_runs",
        verbose_name=_("region"),
        help_text=_("Empty: the whole country."),
    )
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to (included)"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="report_runs",
        verbose_name=_("requested by"),
    )
    scheduled = models.BooleanField(_("scheduled"), default=False)
    # The language its files are written in: the request's (a scheduled run's: the registry's, Italian).
    language = models.CharField(_("language of the files"), max_length=8, choices=settings.LANGUAGES, default="it")
    # A national run fans out one child run per region (each a full regional report).
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children", verbose_name=_("part of")
    )

    status = models.CharField(_("status"), max_length=12, choices=ReportStatus.choices, default=ReportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    error = models.TextField(_("error"), blank=True)
    data_as_of = models.DateTimeField(_("data as of"), null=True, blank=True)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)

    # Which delivery of the task holds the run ("<task id>:<retries>"), and when it last showed life:
    # a redelivered task leaves a run alone while its holder is alive (see reports.runs).
    claimed_by = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When the run's task was last handed to the broker (None: never, e.g. the broker was down when asked).
    # Set by a conditional UPDATE before sending, so a run is sent by one request or sweep at a time.
    dispatched_at = models.DateTimeField(_("sent to the workers at"), null=True, blank=True)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("report run")
        verbose_name_plural = _("report runs")
        constraints = [
            # One scheduled run per kind, region and period. Two constraints rather than
            # nulls_distinct=False, which SQLite ignores: the whole country (region NULL) has its own.
            models.UniqueConstraint(
                fields=["kind", "region", "period_start", "period_end"],
                condition=Q(scheduled=True, region__isnull=False),
                name="one_scheduled_run_per_region_period",
            ),
            models.UniqueConstraint(
                fields=["kind", "period_start", "period_end"],
                condition=Q(scheduled=True, region__isnull=True),
                name="one_scheduled_country_run_per_period",
            ),
            # A national run has one child per region, whatever redelivery happens.
            models.UniqueConstraint(
                fields=["parent", "region"], condition=Q(parent__isnull=False), name="one_child_run_per_region"
            ),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")), name="report_period_ordered"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="report_progress_percent"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in ReportStatus]), name="report_status_known"),
            models.CheckConstraint(condition=Q(kind__in=[k.value for k in ReportKind]), name="report_kind_known"),
            # The per-patient report is always a region's (L.648: the centre reports to its Region and AIFA).
            models.CheckConstraint(
                condition=~Q(kind=QUARTERLY_PATIENTS) | Q(region__isnull=False),
                name="quarterly_report_has_region",
            ),
        ]
        indexes = [
            models.Index(fields=["region", "-created_at"], name="report_run_region_created"),
            models.Index(fields=["status", "heartbeat_at"], name="report_run_status_heartbeat"),
        ]

    def __str__(self):
        where = self.region_id or "IT"
        return f"{self.get_kind_display()} {where} {self.period_start}–{self.period_end} ({self.get_status_display()})"

    @property
    def is_national(self) -> bool:
        return self.region_id is None


def report_file_path(instance: "ReportFile", filename: str) -> str:
    """Files live under ``reports/<run id>/`` in the default storage (never served by a public URL)."""
    return f"reports/{instance.run_id}/{filename}"


class ReportAudience(models.TextChoices):
    """Who a run's file set is for (see ``reports.permissions.file_audience``).

    A regional run keeps two sets: the region's own, and the national role's, in which small counts are
    suppressed (monitoring) and patients appear by a national pseudonym and an age band only (quarterly).
    A whole-country run has the national set only.
    """

    REGION = "region", _("the region")
    NATIONAL = "national", _("national monitoring (AIFA)")


class ReportFile(models.Model):
    """One rendering of a run (CSV, XLSX or PDF) for one audience, with its SHA-256 so a copy can be checked."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run = models.ForeignKey(ReportRun, on_delete=models.CASCADE, related_name="files")
    format = models.CharField(_("format"), max_length=8, choices=ReportFormat.choices)
    audience = models.CharField(_("for"), max_length=8, choices=ReportAudience.choices, default=ReportAudience.REGION)
    file = models.FileField(_("file"), upload_to=report_file_path, max_length=300)
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["format"]
        verbose_name = _("report file")
        verbose_name_plural = _("report files")
        constraints = [
            models.UniqueConstraint(fields=["run", "audience", "format"], name="one_file_per_audience_format")
        ]

    def __str__(self):
        return f"{self.run_id} {self.audience} {self.format}"


class SubmissionStatus(models.TextChoices):
    OPEN = "open", _("open")
    APPROVED = "approved", _("approved")
    ACCEPTED = "accepted", _("accepted by AIFA")
    RETURNED = "returned", _("returned by AIFA")


class QuarterlySubmission(models.Model):
    """A region's data of one calendar quarter, on their way to AIFA (L.648/96: the Region reports every quarter).

    Open while the officer completes it; approved (signed: ``SubmissionSignature``) it locks the quarter
    (``registry.PeriodLock``); AIFA accepts it or returns it with a comment; reopened, it is open again and its next
    approval is the next version. Written only by ``reports.submissions``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    region = models.ForeignKey(
        "registry.Region", on_delete=models.PROTECT, related_name="quarterly_submissions", verbose_name=_("region")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    status = models.CharField(
        _("status"), max_length=12, choices=SubmissionStatus.choices, default=SubmissionStatus.OPEN
    )
    version = models.PositiveIntegerField(_("version"), default=0, help_text=_("How many times it was approved."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by")
    )
    created_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed by AIFA at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    review_comment = models.TextField(_("AIFA's comment"), blank=True)
    reopened_at = models.DateTimeField(_("reopened at"), null=True, blank=True)
    reopen_reason = models.TextField(_("reason for reopening"), blank=True)

    class Meta:
        ordering = ["-year", "-quarter", "region"]
        verbose_name = _("quarterly submission")
        verbose_name_plural = _("quarterly submissions")
        constraints = [
            models.UniqueConstraint(fields=["region", "year", "quarter"], name="one_submission_per_region_quarter"),
            models.CheckConstraint(condition=Q(quarter__gte=1, quarter__lte=4), name="submission_quarter_1_to_4"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in SubmissionStatus]), name="submission_status_known"
            ),
            # Approved, accepted or returned: signed at least once.
            models.CheckConstraint(
                condition=Q(status=SubmissionStatus.OPEN) | Q(version__gte=1, approved_at__isnull=False),
                name="submission_signed_unless_open",
            ),
        ]

    def __str__(self):
        return f"{self.region_id} {self.year} Q{self.quarter} v{self.version} ({self.get_status_display()})"


class SubmissionSignature(models.Model):
    """One approval of a submission: an electronic signature (docs/signature.md) over a manifest of the signed files
    and figures. Never changed: a later approval is a new signature, with a new version and a new set of files."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    submission = models.ForeignKey(QuarterlySubmission, on_delete=models.PROTECT, related_name="signatures")
    version = models.PositiveIntegerField(_("version"))
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("signed by")
    )
    signed_at = models.DateTimeField(_("signed at"))
    meaning = models.CharField(_("meaning"), max_length=40)
    statement = models.TextField(_("statement accepted"))
    second_factor = models.BooleanField(_("with a second factor"))
    # The quarterly per-patient report generated for this signature: its files are the signed set.
    run = models.ForeignKey(ReportRun, on_delete=models.PROTECT, related_name="+", verbose_name=_("signed report"))
    figures = models.JSONField(_("figures"))
    manifest = models.JSONField(_("manifest"))
    manifest_sha256 = models.CharField(_("manifest SHA-256"), max_length=64)

    class Meta:
        ordering = ["submission", "version"]
        verbose_name = _("submission signature")
        verbose_name_plural = _("submission signatures")
        constraints = [
            models.UniqueConstraint(fields=["submission", "version"], name="one_signature_per_version"),
        ]

    def __str__(self):
        return f"{self.submission} v{self.version} {self.manifest_sha256[:12]}"
