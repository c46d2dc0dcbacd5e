"""The ``demo`` fixture's copy of seed_demo (tests/demo_snapshot.py) is the command's demo, row for row, and the
copy of its history (``history_build``) is seed_history's."""

import io

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction

from prescriptions.management.commands.seed_demo import STORIES
from prescriptions.models import Prescription
from registry.audit_anchors import verify_trail
from registry.models import Notification
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


# --- The history (seed_history, seed_demo --history) -------------------------------------------------------------


def test_the_copied_history_holds_what_seed_history_wrote(db):
    try:
        with transaction.atomic():
            demo_snapshot.demo_build()
            assert demo_snapshot.history_build(fresh=True) == len(STORIES)  # the function runs, its rows copied
            made = every_row()
            raise Rollback
    except Rollback:
        pass
    assert not Prescription.objects.exists()

    demo_snapshot.demo_build()
    restored_before = demo_snapshot.stats["restored"]
    assert demo_snapshot.history_build() == len(STORIES)
    assert demo_snapshot.stats["restored"] == restored_before + 1  # the copy, not the function
    assert every_row() == made


def test_a_copied_history_is_complete_and_its_audit_trail_verifies(db):
    demo_snapshot.demo_build()
    demo_snapshot.history_build()
    assert list(verify_trail()) == []
    before = every_row()
    call_command("seed_demo", force=True, history=True, stdout=io.StringIO())  # nothing is missing
    assert every_row() == before
    assert demo_snapshot.history_build() == 0  # as seed_history: nothing made when prescriptions exist
    assert every_row() == before


def test_the_history_writes_nothing_after_commit_nor_a_file(db, django_capture_on_commit_callbacks, settings, tmp_path):
    """What the copy cannot repeat: the command's e-mails after commit (none: no demo recipient has an address, so
    no notification gets ``emailed_at``) and files (none)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    demo_snapshot.demo_build()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        demo_snapshot.history_build(fresh=True)
    assert callbacks  # the notifications' e-mails were asked for
    assert mail.outbox == []
    assert Notification.objects.exists()
    assert not Notification.objects.filter(emailed_at__isnull=False).exists()
    assert not (tmp_path / "media").exists()


def test_a_copy_of_the_history_is_not_used_when_a_moment_of_today_would_move(db, monkeypatch):
    try:
        with transaction.atomic():
            demo_snapshot.demo_build()
            demo_snapshot.history_build(fresh=True)
            raise Rollback
    except Rollback:
        pass
    demo_snapshot.demo_build()
    # As if the clock had passed the hour of one of today's moments since the copy: seed_history runs again.
    monkeypatch.setattr(demo_snapshot, "_at_branch", lambda days_ago, hour: "moved")
    seeded, restored = demo_snapshot.stats["seeded"], demo_snapshot.stats["restored"]
    assert demo_snapshot.history_build() == len(STORIES)
    assert (demo_snapshot.stats["seeded"], demo_snapshot.stats["restored"]) == (seeded + 1, restored)


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_gets_the_copied_history_committed_after_the_keys_restart():
    """What the browser tests' ``live_history`` does: every test meets the same keys, so the second is a copy."""
    made = []
    for _ in range(2):
        call_command("flush", interactive=False, reset_sequences=False, verbosity=0)  # a transactional teardown
        demo_snapshot.keys_restarted()
        demo_snapshot.demo_build()
        restored = demo_snapshot.stats["restored"]
        assert demo_snapshot.history_build() == len(STORIES)
        made.append(every_row())
    assert demo_snapshot.stats["restored"] == restored + 1
    assert made[1] == made[0]
    assert list(verify_trail()) == []


@pytest.mark.django_db(transaction=True)
def test_the_keys_restarted_are_a_flush_that_resets_the_sequences():
    call_command("flush", interactive=False, reset_sequences=False, verbosity=0)  # new keys, as after a test
    demo_snapshot.keys_restarted()
    restarted = every_row()
    call_command("flush", interactive=False, verbosity=0)  # reset_sequences=True
    assert every_row() == restarted
