"""The admin, scoped by region and writing through the services (so every change is audited).

Regional officers manage the centres, pharmacies, designations and prescriber
authorisations of their own region; administrators everything. Nothing here is
deleted: a designation or an authorisation ends by setting its last day.
"""

import json

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db import connection, connections
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import TokenProxy

from . import services
from .audit_actions import AuditAction
from .auth.lockout import AdminLoginForm
from .auth.models import ApiToken
from .auth.otp import otp_reset
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
    list_select_related = ["region"]
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
    # The pharmacy may be empty, so Django's own select_related() would leave it out: a query per centre.
    list_select_related = ["region", "pharmacy"]
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
    list_select_related = ["centre", "designated_by"]
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
    list_select_related = ["prescriber", "centre", "granted_by"]
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


# The audit trail's list at millions of events (bench/admin_bench.py: 12 million). Exact counts up to this many
# events; above it, PostgreSQL's estimate: an exact COUNT(*) reads every matching event (the whole trail, unfiltered).
EXACT_COUNT_UP_TO = 1_000


class EstimatedCountPaginator(Paginator):
    """Counts at most ``EXACT_COUNT_UP_TO`` rows; past that, the planner's estimate of the rows (PostgreSQL).

    The whole table: ``pg_class.reltuples`` (kept by ANALYZE and autovacuum). A filtered or searched list:
    EXPLAIN's row estimate. Other databases count exactly.
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        narrow = queryset.order_by().values("pk")
        postgresql = connections[queryset.db].vendor == "postgresql"
        if postgresql and not queryset.query.where:
            estimate = _table_rows_estimate(queryset)
            if estimate is not None and estimate > EXACT_COUNT_UP_TO:
                return estimate
        capped = narrow[: EXACT_COUNT_UP_TO + 1].count()
        if capped <= EXACT_COUNT_UP_TO or not postgresql:
            return capped if capped <= EXACT_COUNT_UP_TO else narrow.count()
        plan = narrow.explain(format="json")
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return max(int(plan[0]["Plan"]["Plan Rows"]), EXACT_COUNT_UP_TO + 1)


def _table_rows_estimate(queryset) -> int | None:
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [queryset.model._meta.db_table]
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] >= 0 else None  # -1: never analysed


class AuditActionFilter(admin.SimpleListFilter):
    """The kinds of event from the list the code declares (registry.audit_actions), not a DISTINCT over the trail."""

    title = _("action")
    parameter_name = "action__exact"  # the address the field's own filter used

    def lookups(self, request, model_admin):
        return [(action.value, action.value) for action in sorted(AuditAction, key=lambda action: action.value)]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class ObjectTypeFilter(admin.SimpleListFilter):
    """The object types present in the trail, found by hopping from one to the next in the chains' index (a few
    index reads, one per type) instead of a DISTINCT that reads every event."""

    title = _("object type")
    parameter_name = "object_type__exact"

    def lookups(self, request, model_admin):
        table = connection.ops.quote_name(AuditEvent._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH RECURSIVE types(object_type) AS (
                    SELECT MIN(object_type) FROM {table}
                    UNION ALL
                    SELECT (SELECT MIN(object_type) FROM {table} WHERE object_type > types.object_type)
                    FROM types WHERE types.object_type IS NOT NULL
                )
                SELECT object_type FROM types WHERE object_type IS NOT NULL
                """  # noqa: S608 - the table's name from the model, no input
            )
            return [(name, name) for (name,) in cursor.fetchall()]

    def queryset(self, request, queryset):
        return queryset.filter(object_type=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only. Fast at millions of events (bench/admin_bench.py): newest first by
    id (its primary key), filters from fixed lists, a bounded count, a search by exact object id or username."""

    list_display = ["occurred_at", "actor_username", "action", "object_type", "object_id", "sequence"]
    list_filter = [AuditActionFilter, ObjectTypeFilter, ("occurred_at", admin.DateFieldListFilter)]
    # Exact values, each with its index: a "contains" search reads all the events.
    search_fields = ["object_id__exact", "actor_username__exact"]
    search_help_text = _("An object's id or a username, exactly.")
    ordering = ["-id"]
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False

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
    list_select_related = ["user"]
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


PERMISSION_ACTIONS = {
    "add": _("may add"),
    "change": _("may change"),
    "delete": _("may delete"),
    "view": _("may view"),
}


def permission_label(permission) -> str:
    """A permission in the reader's language: Django stores its name in English when the table is created
    ("Can add centre"); the model's verbose name and the action are translated instead."""
    action = permission.codename.split("_", 1)[0]
    model = permission.content_type.model_class()
    if action not in PERMISSION_ACTIONS or model is None:
        return permission.name
    return _("%(model)s: %(action)s") % {
        "model": capfirst(model._meta.verbose_name),
        "action": PERMISSION_ACTIONS[action],
    }


def group_label(group) -> str:
    """A role's group (``admin_groups``: named by the role's code) by the role's name in the reader's language."""
    return str(Role(group.name).label) if group.name in Role.values else group.name


class TranslatedPermissionsMixin:
    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name in ("permissions", "user_permissions") and field is not None:
            field.label_from_instance = permission_label
        elif db_field.name == "groups" and field is not None:
            field.label_from_instance = group_label
        return field


class _Labelled:
    """``obj`` as the change page names it (breadcrumbs, subtitle), every attribute still the object's own."""

    def __init__(self, obj, label: str):
        self._obj, self._label = obj, label

    def __getattr__(self, name):
        return getattr(self._obj, name)

    def __str__(self):
        return self._label


class GroupAdmin(TranslatedPermissionsMixin, DjangoGroupAdmin):
    list_display = ["role_name"]

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None:
            context["original"] = _Labelled(obj, group_label(obj))
            context["subtitle"] = group_label(obj)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    @admin.display(description=_("name"), ordering="name")
    def role_name(self, group):
        return group_label(group)


class RoleFilter(admin.SimpleListFilter):
    """Users by their role in the registry (instead of the groups' codes)."""

    title = _("role")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return Role.choices

    def queryset(self, request, queryset):
        return queryset.filter(staff__role=self.value()) if self.value() else queryset


class UserAdmin(TranslatedPermissionsMixin, DjangoUserAdmin):
    """Django's user admin, with the one second-factor task an administrator has: resetting a lost one."""

    actions = ["reset_second_factor"]
    list_filter = ["is_staff", "is_superuser", "is_active", RoleFilter]

    @admin.action(description=_("Reset the second factor (lost phone): set it up again at the next sign-in"))
    def reset_second_factor(self, request, queryset):
        for user in queryset:
            otp_reset(actor=request.user, user=user)
        self.message_user(request, _("Second factor reset: they set up a new one at their next sign-in."))

    def has_module_permission(self, request):
        return actor_for(request.user).is_admin


# The admin's sign-in counts failures one attempt at a time, as the sign-in page does (registry/auth/lockout.py).
admin.site.login_form = AdminLoginForm
admin.site.site_header = _("Registro 648 administration")
admin.site.site_title = _("Registro 648 administration")
admin.site.index_title = _("Administration")

for model, model_admin in ((User, UserAdmin), (Group, GroupAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)


def _hide_third_party_admin() -> None:
    """Pages of installed libraries nobody uses here, in English: DRF's token table (tokens are stored hashed in
    ApiToken), Celery beat's schedules (set by ``setup_report_schedules`` and the settings), django-axes' attempts
    (a lock ends by itself after LOGIN_LOCKOUT_MINUTES) and django-otp's devices (reset from the user's page)."""
    from axes.models import AccessAttempt, AccessFailureLog
    from axes.models import AccessLog as AxesAccessLog
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    for model in (
        TokenProxy,
        PeriodicTask,
        IntervalSchedule,
        CrontabSchedule,
        SolarSchedule,
        ClockedSchedule,
        AccessAttempt,
        AxesAccessLog,
        AccessFailureLog,
        TOTPDevice,
        StaticDevice,
    ):
        if admin.site.is_registered(model):
            admin.site.unregister(model)


_hide_third_party_admin()
