"""Django groups mirroring the registry roles, with the admin permissions each role needs.

What a role may see or do in the registry itself is decided in ``registry.permissions``;
these model permissions only open the matching admin pages.
"""

from .models import Role

ADMIN_PERMISSIONS = {
    Role.REGIONAL_OFFICER: [
        ("registry", "view_region"),
        ("registry", "view_centre"),
        ("registry", "add_centre"),
        ("registry", "change_centre"),
        ("registry", "view_pharmacy"),
        ("registry", "add_pharmacy"),
        ("registry", "change_pharmacy"),
        ("registry", "view_centredesignation"),
        ("registry", "add_centredesignation"),
        ("registry", "change_centredesignation"),
        ("registry", "view_prescriberauthorisation"),
        ("registry", "add_prescriberauthorisation"),
        ("registry", "change_prescriberauthorisation"),
    ],
    Role.NATIONAL: [
        ("registry", "view_region"),
        ("prescriptions", "view_tocilizumabshortage"),
        ("prescriptions", "add_tocilizumabshortage"),
        ("prescriptions", "change_tocilizumabshortage"),
    ],
}


def sync_role_groups(sender=None, **kwargs):
    """Create one group per role and give it its admin permissions (idempotent, after every migrate).

    post_migrate is sent once per installed app; the groups are synced once, for the last app, when every app's
    permissions exist (a transactional test's flush sends it too: 13 syncs made each flush a second longer).
    """
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender is not None and sender is not with_models[-1]:
        return
    wanted = Q(pk__in=[])
    for app_label, codename in {pair for pairs in ADMIN_PERMISSIONS.values() for pair in pairs}:
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    by_key = {
        (permission.content_type.app_label, permission.codename): permission
        for permission in Permission.objects.filter(wanted).select_related("content_type")
    }
    for role in Role.values:
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set([by_key[key] for key in ADMIN_PERMISSIONS.get(role, []) if key in by_key])
