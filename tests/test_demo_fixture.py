"""The ``demo`` fixture's copy of seed_demo (tests/demo_snapshot.py) is the command's demo, row for row."""

import io

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, transaction

from registry.audit_anchors import verify_trail
from tests import demo_snapshot
from tests.conftest import DEMO_PASSWORD

User = get_user_model()


class Rollback(Exception):
    pass


def every_row() -> dict[str, list[tuple]]:
    """Every table's rows, as the database holds them (JSON as text)."""
    tables = sorted({model._meta.db_table for model in apps.get_models(include_auto_created=True)})
    rows = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows[table] = sorted(cursor.fetchall(), key=repr)
    return rows


def test_the_copy_holds_what_the_command_wrote(db):
    try:
        with transaction.atomic():
            demo_snapshot.demo_build(fresh=True)  # the command runs, and its rows are copied
            made = every_row()
            raise Rollback
    except Rollback:
        pass
    assert not User.objects.exists()

    restored_before = demo_snapshot.stats["restored"]
    demo_snapshot.demo_build()
    assert demo_snapshot.stats["restored"] == restored_before + 1  # the copy, not the command
    assert every_row() == made


def test_a_copied_demo_is_complete_and_its_audit_trail_verifies(db):
    demo_snapshot.demo_build()
    assert list(verify_trail()) == []
    before = every_row()
    call_command("seed_demo", force=True, stdout=io.StringIO())  # idempotent: nothing is missing
    assert every_row() == before
    for user in User.objects.all():
        assert user.check_password(DEMO_PASSWORD), user.username


def test_rows_made_after_a_copied_demo_get_new_keys(demo):
    from registry.models import AuditEvent, Region, Role
    from registry.services import staff_create

    last_event = AuditEvent.objects.order_by("-id").first()
    user = staff_create(
        actor=demo["admin"],
        username="officer.veneto",
        password=None,
        role=Role.REGIONAL_OFFICER,
        region=Region.objects.get(code="050"),
    )
    assert user.pk not in {other.pk for other in demo.values()}
    assert AuditEvent.objects.order_by("-id").first().id > last_event.id
    assert list(verify_trail()) == []


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_gets_the_demo_committed(demo):
    assert set(demo) >= {"admin", "prescriber.milano", "aifa"}
    assert list(verify_trail()) == []


@pytest.mark.django_db(transaction=True)
def test_the_demo_after_a_flush_that_recreated_the_groups_with_new_keys():
    demo_snapshot.demo_build()
    groups = dict(Group.objects.values_list("name", "pk"))
    # What a transactional test's teardown does: every table emptied, then the regions, groups and permissions
    # made again by post_migrate (the groups with new keys).
    call_command("flush", interactive=False, reset_sequences=False, verbosity=0)
    assert dict(Group.objects.values_list("name", "pk")) != groups

    demo_snapshot.demo_build()
    prescriber = User.objects.get(username="prescriber.milano")
    assert prescriber.groups.get() == Group.objects.get(name="prescriber")
    assert list(verify_trail()) == []
