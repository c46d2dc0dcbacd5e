"""Report runs in the admin: read only (runs are asked for through the API or the pages, and kept).

The schedules (monthly and quarterly runs) are django-celery-beat's periodic tasks, shown by its own admin.
Files are not linked here: they are served only by the scoped API view.
"""

from django.contrib import admin

from .models import ReportFile, ReportRun


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
