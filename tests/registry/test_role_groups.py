"""The role groups are brought up to date once per migrate (or per flush of a transactional test), after every
app's permissions exist: not once per installed app, which made every transactional test's flush a second longer."""

from django.contrib.auth.models import Group
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.admin_groups import ADMIN_PERMISSIONS
from registry.models import Role


def test_one_post_migrate_syncs_the_groups_once(db):
    with CaptureQueriesContext(connection) as queries:
        emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    on_groups = [q["sql"] for q in queries.captured_queries if '"auth_group"' in q["sql"]]
    # One get_or_create per role (a SELECT), nothing more: the groups exist already.
    assert len(on_groups) <= len(Role.values), len(on_groups)


def test_each_role_has_its_group_with_its_permissions(db):
    Group.objects.all().delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    for role in Role.values:
        group = Group.objects.get(name=role)
        have = set(group.permissions.values_list("content_type__app_label", "codename"))
        assert have == set(ADMIN_PERMISSIONS.get(role, [])), role
