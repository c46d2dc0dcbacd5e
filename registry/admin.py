"""The admin, scoped by region and writing through the services (so every change is audited).

Regional officers manage the centres, pharmacies, designations and prescriber
authorisations of their own region; administrators everything. Nothing here is
deleted: a designation or an authorisation ends by setting its last day.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import TokenProxy

from . import services
from .auth.lockout import AdminLoginForm
from .auth.models import ApiToken
from .auth.tokens import token_revoke
from .errors import InvalidInput
from .models import (
    AccessLog,
    AuditAnchor,
    AuditEvent,
    Centre,
    CentreDesignation,
    Pharmacy,
    PrescriberAuthorisation,
    Region,
    Role,
)
from .permissions import PermissionDenied, actor_for

User = get_user_model()


class RegionScopedForm(forms.ModelForm):
    """Checks a read-only field hides from Django's own validation, so they show next to the field."""

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        name = cleaned.get("name")
        region_id = cleaned["region"].pk if cleaned.get("region") else getattr(instance, "region_id", None)
        if name and region_id and hasattr(instance, "region_id"):
            duplicates = type(instance).objects.filter(region_id=region_id, name=name).exclude(pk=instance.pk)
            if duplicates.exists():
                self.add_error("name", _("This region already has one with this name."))
        valid_from = cleaned.get("valid_from") or getattr(instance, "valid_from", None)
        valid_to = cleaned.get("valid_to")
        if valid_from and valid_to and valid_to < valid_from:
            self.add_error("valid_to", _("The end of the period cannot come before its start."))
        return cleaned


class RegionScopedAdmin(admin.ModelAdmin):
    """Shows an officer only their region's rows, and saves through a service."""

    region_path = "region_id"
    form = RegionScopedForm

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        actor = actor_for(request.user)
        if actor.is_admin:
            return queryset
        if actor.role == Role.REGIONAL_OFFICER:
            return queryset.filter(**{self.region_path: actor.region_id})
        if actor.role == Role.NATIONAL:
            return queryset
        return queryset.none()

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        actor = actor_for(request.user)
        if actor.role == Role.REGIONAL_OFFICER:
            if db_field.name == "region":
                kwargs["queryset"] = Region.objects.filter(pk=actor.region_id)
            elif db_field.name in ("centre", "pharmacy"):
                kwargs["queryset"] = db_field.related_model.objects.filter(region_id=actor.region_id)
            elif db_field.name == "prescriber":
                kwargs["queryset"] = User.objects.filter(staff__role=Role.PRESCRIBER)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        try:
            saved = self.save_through_service(request, obj, form, change)
        except (InvalidInput, PermissionDenied) as exc:
            # The form validated and offered only the officer's region, so this is rare;
            # it still must not be a 500 nor a half-written change.
            raise DjangoPermissionDenied(str(exc)) from exc
        obj.pk = saved.pk

    def save_through_service(self, request, obj, form, change):
        raise NotImplementedError


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Pharmacy)
class PharmacyAdmin(RegionScopedAdmin):
    list_display = ["name", "region"]
    list_filter = ["region"]
    search_fields = ["name"]

    def get_readonly_fields(self, request, obj=None):
        return ["region"] if obj else []

    def save_through_service(self, request, obj, form, change):
        if change:
            return services.pharmacy_update(actor=request.user, pharmacy=obj, name=obj.name)
        return services.pharmacy_create(actor=request.user, region=obj.region, name=obj.name)


class DesignationInline(admin.TabularInline):
    model = CentreDesignation
    fields = ["valid_from", "valid_to", "act_reference", "designated_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Centre)
class CentreAdmin(RegionScopedAdmin):
    list_display = ["name", "region", "pharmacy"]
    list_filter = ["region"]
    search_fields = ["name"]
    inlines = [DesignationInline]

    def get_readonly_fields(self, request, obj=None):
        return ["region"] if obj else []

    def save_through_service(self, request, obj, form, change):
        if change:
            return services.centre_update(actor=request.user, centre=obj, name=obj.name, pharmacy=obj.pharmacy)
        return services.centre_create(actor=request.user, region=obj.region, name=obj.name, pharmacy=obj.pharmacy)


@admin.register(CentreDesignation)
class CentreDesignationAdmin(RegionScopedAdmin):
    region_path = "centre__region_id"
    list_display = ["centre", "valid_from", "valid_to", "act_reference", "designated_by"]
    list_filter = ["centre__region"]
    exclude = ["designated_by"]

    def get_readonly_fields(self, request, obj=None):
        # Once written, only the end of the period may change (designation_end).
        return ["centre", "valid_from", "act_reference"] if obj else []

    def save_through_service(self, request, obj, form, change):
        if change:
            return services.designation_end(actor=request.user, designation=obj, valid_to=obj.valid_to)
        return services.centre_designate(
            actor=request.user,
            centre=obj.centre,
            valid_from=obj.valid_from,
            valid_to=obj.valid_to,
            act_reference=obj.act_reference,
        )


class AuthorisationForm(RegionScopedForm):
    class Meta:
        model = PrescriberAuthorisation
        fields = ["prescriber", "centre", "valid_from", "valid_to"]


@admin.register(PrescriberAuthorisation)
class PrescriberAuthorisationAdmin(RegionScopedAdmin):
    region_path = "centre__region_id"
    form = AuthorisationForm
    list_display = ["prescriber", "centre", "valid_from", "valid_to", "granted_by"]
    list_filter = ["centre__region"]
    search_fields = ["prescriber__username", "centre__name"]

    def get_readonly_fields(self, request, obj=None):
        return ["prescriber", "centre", "valid_from"] if obj else []

    def save_through_service(self, request, obj, form, change):
        if change:
            return services.authorisation_end(actor=request.user, authorisation=obj, valid_to=obj.valid_to)
        return services.prescriber_authorise(
            actor=request.user,
            prescriber=obj.prescriber,
            centre=obj.centre,
            valid_from=obj.valid_from,
            valid_to=obj.valid_to,
        )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only."""

    list_display = ["occurred_at", "actor_username", "action", "object_type", "object_id", "sequence"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor_username", "action"]
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_module_permission(self, request):
        return actor_for(request.user).is_admin


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditAnchor)
class AuditAnchorAdmin(ReadOnlyAdmin):
    """Read-only, administrators only: the signed anchors of the audit chains' heads."""

    list_display = ["id", "created_at", "last_event_id", "event_count"]
    exclude = ["heads"]
    readonly_fields = ["created_at", "last_event_id", "event_count", "previous_signature", "signature"]

    def has_module_permission(self, request):
        return actor_for(request.user).is_admin

    def has_view_permission(self, request, obj=None):
        return actor_for(request.user).is_admin


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    """Who read which patient record: administrators see every entry, a regional officer their region's."""

    list_display = ["occurred_at", "username", "kind", "object_type", "object_id", "region"]
    list_filter = ["kind", "region"]
    search_fields = ["object_id", "username"]
    date_hierarchy = "occurred_at"

    def _may_read(self, request) -> bool:
        actor = actor_for(request.user)
        return actor.is_admin or actor.role == Role.REGIONAL_OFFICER

    def has_module_permission(self, request):
        return self._may_read(request)

    def has_view_permission(self, request, obj=None):
        if not self._may_read(request):
            return False
        actor = actor_for(request.user)
        return obj is None or actor.is_admin or obj.region_id == actor.region_id

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("region")
        actor = actor_for(request.user)
        if actor.is_admin:
            return queryset
        if actor.role == Role.REGIONAL_OFFICER:
            return queryset.filter(region_id=actor.region_id)
        return queryset.none()


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Administrators see who holds API tokens and revoke them (the keys themselves are never stored)."""

    list_display = ["user", "created_at", "expires_at"]
    search_fields = ["user__username"]
    actions = ["revoke"]

    def has_module_permission(self, request):
        return actor_for(request.user).is_admin

    def has_view_permission(self, request, obj=None):
        return actor_for(request.user).is_admin

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return actor_for(request.user).is_admin

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        token_revoke(actor=request.user, token=obj)

    @admin.action(description=_("Revoke the selected tokens"), permissions=["delete"])
    def revoke(self, request, queryset):
        for token in queryset.select_related("user"):
            token_revoke(actor=request.user, token=token)
        self.message_user(request, _("Tokens revoked."))


# DRF's own token table is no longer used (tokens are stored hashed in ApiToken).
# The admin's sign-in counts failures one attempt at a time, as the sign-in page does (registry/auth/lockout.py).
admin.site.login_form = AdminLoginForm

if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)
