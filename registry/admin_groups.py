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


def sync_role_groups(**kwargs):
    """Create one group per role and give it its admin permissions (idempotent, after every migrate)."""
    from django.contrib.auth.models import Group, Permission

    for role in Role.values:
        group, _created = Group.objects.get_or_create(name=role)
        wanted = ADMIN_PERMISSIONS.get(role, [])
        permissions = [
            permission
            for app_label, codename in wanted
            for permission in Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        ]
        group.permissions.set(permissions)
