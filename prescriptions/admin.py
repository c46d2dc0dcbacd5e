from django.contrib import admin

from registry.permissions import actor_for

from . import services
from .models import TocilizumabShortage


@admin.register(TocilizumabShortage)
class TocilizumabShortageAdmin(admin.ModelAdmin):
    """The national role records the tocilizumab shortage periods (audited, never deleted)."""

    list_display = ["starts_on", "ends_on", "aifa_reference"]

    def has_delete_permission(self, request, obj=None):
        return False

    def has_module_permission(self, request):
        actor = actor_for(request.user)
        return actor.sees_every_region

    def save_model(self, request, obj, form, change):
        fields = {"starts_on": obj.starts_on, "ends_on": obj.ends_on, "aifa_reference": obj.aifa_reference}
        if change:
            saved = services.shortage_update(actor=request.user, shortage=obj, **fields)
        else:
            saved = services.shortage_record(actor=request.user, **fields)
        obj.pk = saved.pk
