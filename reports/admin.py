"""Report runs in the admin: read only (runs are asked for through the API or the pages, and kept).

The schedules (monthly and quarterly runs) are django-celery-beat's periodic tasks, shown by its own admin.
Files are not linked here: they are served only by the scoped API view.
"""

from django.contrib import admin

from .models import QuarterlySubmission, ReportFile, ReportRun, SubmissionSignature


class ReportFileInline(admin.TabularInline):
    model = ReportFile
    fields = ["audience", "format", "size", "sha256", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReportRun)
class ReportRunAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "region",
        "period_start",
        "period_end",
        "scheduled",
        "status",
        "progress",
        "requested_by",
    ]
    list_filter = ["kind", "status", "scheduled", "region"]
    date_hierarchy = "created_at"
    list_select_related = ["region", "requested_by"]
    readonly_fields = [
        "id",
        "kind",
        "region",
        "period_start",
        "period_end",
        "requested_by",
        "scheduled",
        "parent",
        "status",
        "progress",
        "error",
        "data_as_of",
        "metrics",
        "claimed_by",
        "heartbeat_at",
        "dispatched_at",
        "created_at",
        "started_at",
        "finished_at",
    ]
    fields = readonly_fields
    inlines = [ReportFileInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SubmissionSignatureInline(admin.TabularInline):
    model = SubmissionSignature
    fields = ["version", "signer", "signed_at", "meaning", "second_factor", "run", "manifest_sha256"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(QuarterlySubmission)
class QuarterlySubmissionAdmin(admin.ModelAdmin):
    """Read only: a quarter is opened, signed, reopened and reviewed through ``reports.submissions`` (audited)."""

    list_display = ["year", "quarter", "region", "status", "version", "approved_at", "approved_by"]
    list_filter = ["status", "year", "quarter", "region"]
    list_select_related = ["region", "approved_by"]
    readonly_fields = [
        "id",
        "region",
        "year",
        "quarter",
        "status",
        "version",
        "created_by",
        "created_at",
        "approved_at",
        "approved_by",
        "reviewed_at",
        "reviewed_by",
        "review_comment",
        "reopened_at",
        "reopen_reason",
    ]
    fields = readonly_fields
    inlines = [SubmissionSignatureInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
